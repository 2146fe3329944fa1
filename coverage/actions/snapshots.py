"""Writes for coverage snapshots: requesting one, the monthly run, and taking a snapshot (rows, the
.xlsx report, the in-app notice).

Idempotent throughout (Celery is at-least-once, beat may tick twice): monthly snapshots are unique per
(org, month) in the database; taking a snapshot locks its row and returns a ready one as is; a retried
take deletes the rows of the failed attempt first, inside the same transaction that writes the new ones.

Audit (core.audit): a request is written as its actor ("snapshot.request"; the actor is required, None raises
ValueError); what the worker and the monthly beat do is written as SYSTEM ("snapshot.create" for a new
monthly snapshot, "snapshot.take" when one is ready, "snapshot.fail" when an attempt failed). The rows and
the report of a snapshot are its content, not separate audit rows.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Cycle
from activities.selectors.compliance import period_containing
from core.actions.outbox import outbox_enqueue
from core.audit import SYSTEM, audit_record, require_actor, user_or_none
from core.exceptions import ConflictError, DomainError
from core.models import OutboxMessage
from core.signals import notice_requested
from coverage.models import CoverageSnapshot, SnapshotKind, SnapshotRow, SnapshotStatus
from coverage.report import build_report
from coverage.selectors.snapshots import snapshot_figures, snapshot_period_label, snapshot_recipients
from orgs.models import Organization, OrgKind, OrgStatus
from orgs.scoping import grant_paths

logger = logging.getLogger(__name__)

IN_PROGRESS = (SnapshotStatus.PENDING, SnapshotStatus.RUNNING)
# A request older than this that is still pending or running lost its task (a broker wiped, a worker gone
# for good): it no longer blocks a new request. Taking a snapshot of a city takes seconds, not hours.
# One whose task still waits in the outbox (the broker was down) is not lost: it keeps blocking.
STALE_AFTER = dt.timedelta(hours=2)
TAKE_TASK = "portal.snapshot_take"


def may_request_snapshot(actor, org: Organization) -> bool:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    return any(org.path.startswith(path) for path in grant_paths(actor, "snapshot.add"))


def _schedule(snapshot_id: int) -> None:
    """Through the outbox, in the caller's transaction: a broker outage delays the snapshot, never loses it.
    A snapshot whose task is still waiting in the outbox is not scheduled twice."""
    if not _waiting_in_outbox(snapshot_id):
        outbox_enqueue(task=TAKE_TASK, kwargs={"snapshot_id": snapshot_id})


def _waiting_in_outbox(snapshot_id: int) -> bool:
    return OutboxMessage.objects.filter(task=TAKE_TASK, sent_at__isnull=True, kwargs__snapshot_id=snapshot_id).exists()


def _clean(snapshot: CoverageSnapshot) -> None:
    try:
        snapshot.full_clean()
    except ValidationError as exc:
        raise DomainError("；".join(exc.messages)) from exc


@transaction.atomic
def snapshot_request(*, actor, org: Organization) -> CoverageSnapshot:
    """An on-demand snapshot of `org`'s subtree for this month so far; taken by a worker after commit."""
    require_actor(actor)
    if not may_request_snapshot(actor, org):
        raise DomainError(_("您无权为该党组织生成覆盖情况快照。"), field="org")
    # Serialize two clicks for the same org: the second sees the first's pending snapshot.
    org = Organization.objects.select_for_update().get(pk=org.pk)
    if org.status != OrgStatus.ACTIVE or org.kind == OrgKind.PARTY_GROUP:
        raise DomainError(_("只能为正常状态的党组织（党小组除外）生成快照。"), field="org")
    in_progress = CoverageSnapshot.objects.filter(org=org, kind=SnapshotKind.ON_DEMAND, status__in=IN_PROGRESS)
    if in_progress.filter(requested_at__gte=timezone.now() - STALE_AFTER).exists() or any(
        _waiting_in_outbox(pk) for pk in in_progress.values_list("pk", flat=True)
    ):
        raise ConflictError(_("该党组织已有一份快照正在生成，请等待完成后再申请。"), field="org")
    today = timezone.localdate()
    snapshot = CoverageSnapshot(
        org=org, kind=SnapshotKind.ON_DEMAND, period_start=today.replace(day=1), period_end=today,
        status=SnapshotStatus.PENDING, requested_by=user_or_none(actor), requested_at=timezone.now(),
    )
    _clean(snapshot)
    snapshot.save()
    audit_record(actor=actor, action="snapshot.request", obj=snapshot, changes={
        "kind": [None, snapshot.kind], "period_start": [None, snapshot.period_start.isoformat()],
        "period_end": [None, snapshot.period_end.isoformat()]})
    _schedule(snapshot.pk)
    logger.info("snapshot %s requested (on demand)", snapshot.pk)
    return snapshot


def snapshots_monthly(*, today: dt.date | None = None) -> list[int]:
    """Ensure the previous month's snapshot of every active top org exists and schedule those not ready.
    Returns the ids scheduled. A second run (or a second beat) creates nothing new."""
    today = today or timezone.localdate()
    period = period_containing(Cycle.MONTH, today.replace(day=1) - dt.timedelta(days=1))
    scheduled: list[int] = []
    for org in Organization.objects.filter(depth=1, status=OrgStatus.ACTIVE).order_by("path"):
        snapshot = _monthly_snapshot(org=org, period_start=period.start, period_end=period.end)
        if snapshot.status != SnapshotStatus.READY:
            scheduled.append(snapshot.pk)
    return scheduled


@transaction.atomic
def _monthly_snapshot(*, org: Organization, period_start: dt.date, period_end: dt.date) -> CoverageSnapshot:
    try:
        with transaction.atomic():
            snapshot, created = CoverageSnapshot.objects.get_or_create(
                org=org, kind=SnapshotKind.MONTHLY, period_start=period_start,
                defaults={"period_end": period_end, "status": SnapshotStatus.PENDING},
            )
    except IntegrityError:  # a concurrent beat created it between our read and our insert
        snapshot, created = CoverageSnapshot.objects.get(org=org, kind=SnapshotKind.MONTHLY, period_start=period_start), False
    if created:
        audit_record(actor=SYSTEM, action="snapshot.create", obj=snapshot, changes={
            "note": "monthly", "period_start": [None, period_start.isoformat()], "period_end": [None, period_end.isoformat()]})
        logger.info("snapshot %s created (monthly %s)", snapshot.pk, period_start.isoformat())
    if snapshot.status != SnapshotStatus.READY:
        _schedule(snapshot.pk)
    return snapshot


def snapshot_take(*, snapshot_id: int, now: dt.datetime | None = None) -> CoverageSnapshot | None:
    """Compute the snapshot's rows, build its report, mark it ready and tell the people concerned.
    A ready snapshot is returned as is; a missing one gives None. On an error the snapshot is marked
    failed with the error text and the error is raised again (the task retries transient ones)."""
    try:
        with transaction.atomic():
            snapshot = CoverageSnapshot.objects.select_for_update().filter(pk=snapshot_id).first()
            if snapshot is None or snapshot.status == SnapshotStatus.READY:
                return snapshot
            snapshot.status = SnapshotStatus.RUNNING
            snapshot.save(update_fields=["status"])
        return _take(snapshot_id=snapshot_id, now=now or timezone.now())
    except Exception as exc:
        _mark_failed(snapshot_id, exc)
        logger.exception("snapshot %s failed", snapshot_id)
        raise


@transaction.atomic
def _take(*, snapshot_id: int, now: dt.datetime) -> CoverageSnapshot:
    snapshot = CoverageSnapshot.objects.select_for_update().select_related("org").get(pk=snapshot_id)
    if snapshot.status == SnapshotStatus.READY:  # another worker finished it while we waited for the lock
        return snapshot
    SnapshotRow.objects.filter(snapshot=snapshot).delete()  # rows of an earlier, failed attempt
    today = timezone.localdate(now)
    rows = []
    for values in snapshot_figures(org=snapshot.org, period_start=snapshot.period_start,
                                   period_end=snapshot.period_end, now=now, today=today):
        row = SnapshotRow(snapshot=snapshot, **values)
        row.full_clean(exclude=["snapshot"], validate_unique=False, validate_constraints=False)
        rows.append(row)
    SnapshotRow.objects.bulk_create(rows)
    snapshot.taken_at = now
    period_label = snapshot_period_label(snapshot)
    snapshot.report = build_report(snapshot=snapshot, rows=rows, period_label=period_label)
    snapshot.report_built_at = timezone.now()
    snapshot.status = SnapshotStatus.READY
    snapshot.error = ""
    snapshot.save(update_fields=["taken_at", "report", "report_built_at", "status", "error"])
    audit_record(actor=SYSTEM, action="snapshot.take", obj=snapshot,
                 changes={"status": [SnapshotStatus.RUNNING, SnapshotStatus.READY], "rows": [None, len(rows)]})

    recipients = snapshot_recipients(snapshot=snapshot)
    # The inbox sits above coverage: ask it through the foundation's signal (same transaction).
    notice_requested.send(
        sender=CoverageSnapshot,
        user_ids=recipients,
        title=_("覆盖情况报表已生成：%(org)s %(period)s") % {"org": snapshot.org.name, "period": period_label},
        body=_("%(org)s %(period)s 的覆盖情况快照已完成，可在“覆盖情况报表”中查看趋势并下载 Excel 报表。")
        % {"org": snapshot.org.name, "period": period_label},
        url=reverse("coverage:snapshot_detail", args=[snapshot.pk]),
        kind="report",
    )
    logger.info("snapshot %s ready: %s rows, %s recipients", snapshot.pk, len(rows), len(recipients))
    return snapshot


def _mark_failed(snapshot_id: int, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    try:
        with transaction.atomic():
            snapshot = CoverageSnapshot.objects.select_related("org").filter(pk=snapshot_id).first()
            marked = CoverageSnapshot.objects.filter(pk=snapshot_id).exclude(status=SnapshotStatus.READY).update(
                status=SnapshotStatus.FAILED, error=error,
            )
            if marked and snapshot is not None:  # the error text stays on the snapshot, the row says what kind
                audit_record(actor=SYSTEM, action="snapshot.fail", obj=snapshot,
                             changes={"status": [snapshot.status, SnapshotStatus.FAILED], "note": type(exc).__name__})
    except Exception:  # the database itself may be what failed; the task's retry will try again
        logger.exception("snapshot %s: could not record the failure", snapshot_id)


__all__ = ["may_request_snapshot", "snapshot_request", "snapshot_take", "snapshots_monthly"]
