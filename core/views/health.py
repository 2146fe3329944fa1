"""Health checks for monitoring and the containers (public, JSON, no personal data)."""

from django.db import connection
from django.http import JsonResponse

from core.selectors import outbox as outbox_selectors
from core.selectors.heartbeat import worker_heartbeat_age_seconds


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return False


def healthz(request):
    """Monitoring: database, broker, worker heartbeat and the outbox backlog (no personal data). 200 only when
    the database and the broker answer and a worker's heartbeat is younger than rule worker_heartbeat_stale_seconds;
    otherwise 503 with the failed checks in "failed"."""
    db_ok = _database_ok()
    body = {"database": db_ok, "broker": outbox_selectors.broker_reachable(), "worker_heartbeat_age_seconds": None}
    failed = [name for name in ("database", "broker") if not body[name]]
    if db_ok:
        age = worker_heartbeat_age_seconds()
        stale_after = outbox_selectors.heartbeat_stale_seconds()
        body.update({"worker_heartbeat_age_seconds": age, "worker_heartbeat_stale_seconds": stale_after})
        body.update(outbox_selectors.outbox_pending())
        if age is None or age > stale_after:
            failed.append("worker_heartbeat")
    body["failed"] = failed
    body["ok"] = not failed
    return JsonResponse(body, status=200 if not failed else 503)


def healthz_live(request):
    """Liveness for the web container's healthcheck: the process answers and reaches its database. A broker or
    worker outage must not make compose restart the web (requests still succeed: tasks wait in the outbox)."""
    db_ok = _database_ok()
    return JsonResponse({"database": db_ok}, status=200 if db_ok else 503)
