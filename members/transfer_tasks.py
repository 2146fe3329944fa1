"""Periodic task for transfers: close transfers whose letter (介绍信) has lapsed.

Thin: it takes a plain value and calls members.actions.transfers.transfers_expire, which is idempotent
(a second run, or a duplicate delivery, finds nothing left to expire). Not picked up by
`app.autodiscover_tasks()` (that imports `<app>.tasks` only): the worker imports this module through
CELERY_IMPORTS (see ARCHITECTURE.md / the beat entry "members.transfers_expire").
"""

import datetime as dt
import logging

from celery import shared_task

from members.actions.transfers import transfers_expire

logger = logging.getLogger(__name__)


@shared_task(
    name="members.transfers_expire",
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def expire_transfers(today: str | None = None) -> int:
    """Expire open transfers whose letter lapsed before `today` (ISO date; default: the local date)."""
    count = transfers_expire(today=dt.date.fromisoformat(today) if today else None)
    logger.info("transfers expired: %s", count)
    return count
