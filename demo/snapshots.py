"""The demo district's monthly coverage snapshots: the last two months, so the trend (page and API) has points.

Taken now from the live figures (both points equal the figures at load time), through the same actions as the
monthly beat task; idempotent (one monthly snapshot per org and month; a ready one is left as it is)."""

import datetime as dt

from django.utils import timezone

from core.dates import add_months
from coverage.actions.snapshots import snapshot_take, snapshots_monthly
from coverage.models import CoverageSnapshot, SnapshotKind, SnapshotStatus


def ensure_demo_snapshots(*, today: dt.date | None = None) -> int:
    """Monthly snapshots of the previous two months for every top org; returns how many are ready."""
    first = (today or timezone.localdate()).replace(day=1)
    for month_start in (add_months(first, -1), first):  # snapshots_monthly takes the month before `today`
        for snapshot_id in snapshots_monthly(today=month_start):
            snapshot_take(snapshot_id=snapshot_id)
    return CoverageSnapshot.objects.filter(kind=SnapshotKind.MONTHLY, status=SnapshotStatus.READY).count()
