"""Member tasks. Thin adapters: ids in, the work is in members.actions (idempotent, safe to redeliver)."""

import datetime as dt
import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _

from core.audit import SYSTEM
from core.tasks import portal_task
from members.actions.imports import roster_comparison_fail, roster_comparison_run, uploads_purge
from members.actions.transfers import transfers_expire

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


class RosterTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Out of retries or a bug: show the comparison as failed instead of running for ever.
        Only the exception class is logged: messages could quote data."""
        comparison_id = kwargs.get("comparison_id", args[0] if args else None)
        logger.error("roster comparison %s failed: %s", comparison_id, type(exc).__name__)
        if comparison_id is not None:
            roster_comparison_fail(comparison_id=comparison_id, message=_("比对失败，请稍后重新上传或联系管理员。"))


@shared_task(
    base=RosterTask,
    name="members.compare_roster",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def compare_roster(comparison_id: int) -> None:
    """Compare an uploaded roster with the registry (数据比对). Re-running a finished comparison does nothing."""
    roster_comparison_run(comparison_id=comparison_id)


@portal_task("members.uploads_purge")
def purge_uploads() -> dict:
    """Daily (beat): delete unconfirmed imports and failed or unfinished roster comparisons older than rule
    `upload_retention_days`. Idempotent."""
    return uploads_purge(actor=SYSTEM)


# Transfers: close transfers whose letter (介绍信) has lapsed (idempotent: a second run finds nothing).
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
    count = transfers_expire(actor=SYSTEM, today=dt.date.fromisoformat(today) if today else None)
    logger.info("transfers expired: %s", count)
    return count
