"""Coverage snapshot tasks: take one snapshot (on demand or monthly), and the monthly run (beat, the 1st
of each month). Thin adapters over coverage.actions.snapshots, which is idempotent: a duplicate delivery
finds the snapshot ready (or the monthly one already there) and does nothing more.

Found by autodiscovery (`<app>.tasks`); beat entry "snapshots-monthly".
"""

from __future__ import annotations

import datetime as dt
import logging

from core.tasks import portal_task
from coverage.actions.snapshots import snapshot_take, snapshots_monthly

logger = logging.getLogger(__name__)


@portal_task("portal.snapshot_take")
def take_snapshot(snapshot_id: int) -> str | None:
    """Compute the rows and the report of snapshot `snapshot_id`; returns its status."""
    snapshot = snapshot_take(snapshot_id=snapshot_id)
    if snapshot is None:
        logger.warning("snapshot %s not found", snapshot_id)
        return None
    logger.info("snapshot %s %s", snapshot_id, snapshot.status)
    return snapshot.status


@portal_task("portal.snapshots_monthly")
def take_monthly_snapshots(today: str | None = None) -> list[int]:
    """Create the previous month's snapshot of every top org (ISO `today`, default the local date) and
    schedule taking them; returns the ids scheduled."""
    ids = snapshots_monthly(today=dt.date.fromisoformat(today) if today else None)
    logger.info("monthly snapshots scheduled: %s", len(ids))
    return ids
