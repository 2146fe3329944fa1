"""Cross-cutting writes."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.models import WorkerHeartbeat


@transaction.atomic
def heartbeat_record(*, name: str) -> WorkerHeartbeat:
    now = timezone.now()
    beat, created = WorkerHeartbeat.objects.get_or_create(name=name, defaults={"seen_at": now, "count": 1})
    if not created:
        WorkerHeartbeat.objects.filter(pk=beat.pk).update(seen_at=now, count=F("count") + 1)
        beat.refresh_from_db()
    return beat
