"""Writes of the security-event log, and the per-user rate limit that counts it.

`rate_limited_event` is the one way to do a limited thing: it locks the user's row (so two requests at
once cannot both pass the last free slot), counts the user's events of that kind in the window, refuses
with a RateLimitedError (HTTP 429 / a form message) when the rule-row limit is reached, and otherwise
records the event. Call it before (outside) the write it guards: a refusal is itself recorded (RATE_LIMITED) so district
staff see who hit the limit.

These writers are themselves a log, so they write no AuditEntry; they still need the user they are about
(None is a programming error, as for every action; SYSTEM is recorded without a user row).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import require_actor, user_or_none
from core.exceptions import RateLimitedError
from core.rules import rule_int
from orgs.models import SecurityEvent, SecurityEventKind
from orgs.selectors.security import security_events_in_window


def security_event_record(*, kind: str, user, org=None, address: str = "", details: dict | None = None) -> SecurityEvent:
    """Append one event (never personal data in `details`). `user` is required (a user or SYSTEM)."""
    require_actor(user)
    return SecurityEvent.objects.create(
        kind=kind, user=user_or_none(user) if user.is_authenticated else None, org=org,
        address=(address or "")[:64], details=details or {},
    )


def rate_limited_event(
    *, kind: str, user, limit_rule: str, window: dt.timedelta, org=None, address: str = "", details: dict | None = None,
) -> SecurityEvent:
    """Record `kind` for `user` unless the user already did it `rule_int(limit_rule)` times within `window`.
    The limit is per user row: `user` must be a real user (None or SYSTEM is a programming error)."""
    require_actor(user)
    if user_or_none(user) is None:
        raise ValueError("rate_limited_event counts a user's own events: SYSTEM has none")
    limit = rule_int(limit_rule)
    now = timezone.now()
    refused: RateLimitedError | None = None
    with transaction.atomic():
        # Serialize one user's attempts: the count and the insert must not interleave with another request's.
        get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        count, oldest = security_events_in_window(user=user, kind=kind, since=now - window)
        if count >= limit:
            retry_after = int(((oldest + window) - now).total_seconds()) if oldest else int(window.total_seconds())
            security_event_record(
                kind=SecurityEventKind.RATE_LIMITED, user=user, org=org, address=address,
                details={"limited": kind, "limit": limit, "window_seconds": int(window.total_seconds())},
            )
            refused = RateLimitedError(
                _("操作过于频繁：%(hours)s 小时内最多 %(limit)d 次，请在 %(minutes)d 分钟后再试。")
                % {"hours": _hours(window), "limit": limit, "minutes": max(1, (retry_after + 59) // 60)},
                retry_after=retry_after,
            )
        else:
            return security_event_record(kind=kind, user=user, org=org, address=address, details=details)
    raise refused  # outside the block: the RATE_LIMITED row is committed with it


def _hours(window: dt.timedelta) -> str:
    hours = window.total_seconds() / 3600
    return str(int(hours)) if hours == int(hours) else f"{hours:.1f}"
