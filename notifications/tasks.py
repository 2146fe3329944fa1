"""Reminder tasks: the daily sweep (beat, 07:30 Asia/Shanghai) fans out one task per reminder kind.

Thin: plain values in (an ISO date string or None for the local date, a kind), the work is
notifications.actions.reminders (idempotent: the send log's unique constraint means a retry, a duplicate delivery
or a second beat sends nothing twice). A transient email error raised by the sweep makes Celery retry the
kind's task with backoff (portal_task); the retry claims nothing new and sends only what is still pending.
Found by the worker through autodiscovery (`<app>.tasks`).
"""

import datetime as dt
import logging

from django.utils import timezone

from core.tasks import portal_task
from notifications.actions.reminders import reminders_sweep
from notifications.models import ReminderKind
from notifications.selectors.reminders import reminder_kinds_enabled

logger = logging.getLogger(__name__)


@portal_task("portal.reminders_sweep_all")
def sweep_all(today: str | None = None) -> list[str]:
    """Enqueue one `portal.reminders_sweep_kind` per kind that has enabled rules, all for the same day."""
    day = today or timezone.localdate().isoformat()  # fixed now: every kind sweeps the same day
    kinds = reminder_kinds_enabled()
    for kind in kinds:
        sweep_kind.delay(kind=kind, today=day)
    logger.info("reminder sweep for %s: %s kinds enqueued", day, len(kinds))
    return kinds


@portal_task("portal.reminders_sweep_kind")
def sweep_kind(kind: str, today: str | None = None) -> dict:
    """Sweep every enabled rule of one kind for one day (ISO date; default the local date)."""
    if kind not in ReminderKind.values:
        logger.warning("reminder sweep: unknown kind %r ignored", kind)
        return {}
    runs = reminders_sweep(kind=kind, today=dt.date.fromisoformat(today) if today else None)
    summary = {str(run.rule_id): {"status": run.status, "candidates": run.candidates, "sent": run.sent, "emailed": run.emailed}
               for run in runs}
    logger.info("reminder sweep %s on %s: %s", kind, today or "today", summary)
    return summary
