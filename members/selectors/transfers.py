"""Reads for transfers, restricted to what the user may see; a fixed number of queries per page.

- inbox: open transfers waiting for a step by a side where the user holds transfer.change;
- outbox: transfers the user requested or that leave the user's orgs (any status);
- open list (district view): open transfers oldest first, with age in days and an ageing flag
  (older than the rule row `transfer_ageing_alert_days`, or a letter that lapses within a week or has lapsed);
- detail: one transfer with its timeline (events with actor).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from core.rules import rule_int
from members.actions.transfers import RECEIVING, SENDING
from members.models import OPEN_TRANSFER_STATUSES, Transfer, TransferEvent, TransferKind, TransferStatus
from orgs.scoping import get_scoped_or_404, grant_paths, path_q

__all__ = [
    "transfer_base_queryset", "transfer_inbox", "transfer_outbox", "transfer_open_list", "transfer_detail",
    "annotate_age", "LETTER_WARNING_DAYS",
]

# A letter this close to lapsing is flagged (a display hint, not a rule: the rule is the validity itself).
LETTER_WARNING_DAYS = 7


def transfer_base_queryset(*, user, action: str = "view") -> QuerySet[Transfer]:
    return Transfer.objects.restrict(user, action).select_related("member", "from_org", "to_org", "requested_by")


def _side_q(side: str, paths: list[str]) -> Q:
    field = "from_org__path" if side == SENDING else "to_org__path"
    return path_q(field, paths)


def _acting_side_q(side: str) -> Q:
    """Open transfers whose next forward step belongs to `side` (members.actions.transfers.acting_side)."""
    if side == SENDING:
        return Q(kind=TransferKind.OUT) | Q(kind=TransferKind.INTERNAL, status=TransferStatus.REQUESTED)
    return Q(kind=TransferKind.IN) | Q(kind=TransferKind.INTERNAL, status__in=[TransferStatus.APPROVED, TransferStatus.RECEIVED])


def transfer_inbox(*, user) -> QuerySet[Transfer]:
    """Open transfers waiting for the user's side to act, oldest first."""
    qs = transfer_base_queryset(user=user, action="change").filter(status__in=OPEN_TRANSFER_STATUSES)
    if not user.is_superuser:
        paths = grant_paths(user, "transfer.change")
        qs = qs.filter(
            (_acting_side_q(SENDING) & _side_q(SENDING, paths)) | (_acting_side_q(RECEIVING) & _side_q(RECEIVING, paths))
        )
    return qs.order_by("requested_at", "id")


def transfer_outbox(*, user) -> QuerySet[Transfer]:
    """Transfers the user requested or that leave the user's orgs, newest first."""
    qs = transfer_base_queryset(user=user)
    if not user.is_superuser:
        qs = qs.filter(Q(requested_by=user) | _side_q(SENDING, grant_paths(user, "transfer.view")))
    else:
        qs = qs.filter(Q(requested_by=user) | Q(from_org__isnull=False))
    return qs.order_by("-requested_at", "-id")


def transfer_open_list(*, user) -> QuerySet[Transfer]:
    """All open transfers the user may see, oldest first (the district's ageing list)."""
    return transfer_base_queryset(user=user).filter(status__in=OPEN_TRANSFER_STATUSES).order_by("requested_at", "id")


def annotate_age(transfers, *, today: dt.date | None = None, alert_days: int | None = None) -> list[Transfer]:
    """Set `age_days`, `letter_days_left` and `ageing` on each transfer of a page (no queries but one rule read)."""
    today = today or timezone.localdate()
    if alert_days is None:
        alert_days = rule_int("transfer_ageing_alert_days")
    rows = list(transfers)
    for transfer in rows:
        end = timezone.localtime(transfer.closed_at).date() if transfer.closed_at else today
        transfer.age_days = (end - timezone.localtime(transfer.requested_at).date()).days
        transfer.letter_days_left = (transfer.letter_valid_until - today).days if transfer.letter_valid_until else None
        transfer.ageing = transfer.is_open and (
            transfer.age_days > alert_days
            or (transfer.letter_days_left is not None and transfer.letter_days_left <= LETTER_WARNING_DAYS)
        )
    return rows


def transfer_detail(*, user, pk) -> Transfer:
    """One transfer in scope (404 otherwise) with its timeline prefetched as `timeline`."""
    events = Prefetch("events", queryset=TransferEvent.objects.select_related("actor").order_by("created_at", "id"),
                      to_attr="timeline")
    return get_scoped_or_404(
        Transfer.objects.select_related("member", "from_org", "to_org", "requested_by").prefetch_related(events),
        user, "view", pk=pk,
    )
