"""Pieces every request action shares: the state-machine check, SLA due times and timeline entries."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import user_or_none
from core.exceptions import ConflictError
from services.models import TRANSITIONS, EntryKind, ServiceCategory, ServiceRequest, TimelineEntry


def sla_due(*, category: ServiceCategory, start: dt.datetime) -> dt.datetime:
    """Due time: `sla_hours` wall-clock hours after `start` (an aware datetime; shown in Asia/Shanghai)."""
    return start + dt.timedelta(hours=category.sla_hours)


def check_transition(request: ServiceRequest, to_status: str) -> None:
    """Refuse a change the state machine (services.models.TRANSITIONS) does not allow."""
    if to_status not in TRANSITIONS.get(request.status, ()):
        raise ConflictError(
            _("诉求当前为“%(status)s”，不能执行此操作。") % {"status": request.get_status_display()}
        )


def timeline_add(
    *,
    request: ServiceRequest,
    kind: str,
    actor=None,
    public: bool = False,
    body: str = "",
    from_status: str = "",
    to_status: str = "",
    from_org=None,
    to_org=None,
    by_requester: bool = False,
    at: dt.datetime | None = None,
) -> TimelineEntry:
    """Write one timeline entry (call inside the action's transaction). `actor` None or SYSTEM: no person
    (the requester or the system); the audit row is the calling action's job."""
    return TimelineEntry.objects.create(
        request=request, kind=kind, actor=user_or_none(actor), public=public, body=body, from_status=from_status,
        to_status=to_status, from_org=from_org, to_org=to_org, by_requester=by_requester,
        created_at=at or timezone.now(),
    )


__all__ = ["EntryKind", "check_transition", "sla_due", "timeline_add"]
