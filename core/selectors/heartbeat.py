"""Cross-cutting reads."""

from django.utils import timezone

from core.models import WorkerHeartbeat


def worker_heartbeat_age_seconds(name: str = "worker") -> int | None:
    """Seconds since a Celery worker last ran the heartbeat task, or None if never."""
    seen_at = WorkerHeartbeat.objects.filter(name=name).values_list("seen_at", flat=True).first()
    return int((timezone.now() - seen_at).total_seconds()) if seen_at else None
