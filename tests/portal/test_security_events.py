"""The security-event log: per-user rate limits counted from it, refusals logged, and the page district staff
review (scoped, constant queries)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.exceptions import RateLimitedError
from orgs.actions.security import rate_limited_event, security_event_record
from orgs.models import SecurityEvent, SecurityEventKind
from tests.factories import set_rule

DAY = dt.timedelta(hours=24)
URL = reverse("orgs:security_event_list")


def _attempt(world, org=None):
    return rate_limited_event(
        kind=SecurityEventKind.ROSTER_UPLOAD, user=world.secretary, limit_rule="roster_uploads_per_user_per_day",
        window=DAY, org=org or world.jb, details={"rows": 1},
    )


def test_limit_counts_the_users_events_in_the_window_and_logs_the_refusal(world):
    set_rule("roster_uploads_per_user_per_day", 2)
    _attempt(world)
    _attempt(world)
    with pytest.raises(RateLimitedError) as refused:
        _attempt(world)
    assert refused.value.status_code == 429
    assert 0 < refused.value.retry_after <= DAY.total_seconds()
    assert "24 小时内最多 2 次" in str(refused.value.message)
    kinds = list(SecurityEvent.objects.filter(user=world.secretary).values_list("kind", flat=True))
    assert kinds.count(SecurityEventKind.ROSTER_UPLOAD) == 2
    assert kinds.count(SecurityEventKind.RATE_LIMITED) == 1


def test_limit_is_per_user_and_frees_up_when_the_window_passes(world):
    set_rule("roster_uploads_per_user_per_day", 1)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _attempt(world)
        with pytest.raises(RateLimitedError):
            _attempt(world)
        # another user is not affected
        rate_limited_event(kind=SecurityEventKind.ROSTER_UPLOAD, user=world.district_user,
                           limit_rule="roster_uploads_per_user_per_day", window=DAY)
    with time_machine.travel(start + DAY + dt.timedelta(seconds=1), tick=False):
        assert _attempt(world).kind == SecurityEventKind.ROSTER_UPLOAD


def test_page_is_for_district_staff_and_scoped(client, world):
    security_event_record(kind=SecurityEventKind.DUPLICATE_REFUSED, user=world.secretary, org=world.jb)
    security_event_record(kind=SecurityEventKind.ROSTER_UPLOAD, user=world.secretary, org=world.br_f)
    for user in (world.secretary, world.viewer, world.instructor):
        client.force_login(user)
        assert client.get(URL).status_code == 404
    client.force_login(world.district_user)
    html = client.get(URL).content.decode()
    assert html.count("data-event=") == 2
    html = client.get(URL, {"kind": SecurityEventKind.DUPLICATE_REFUSED}).content.decode()
    assert html.count("data-event=") == 1 and 'data-event="duplicate_refused"' in html


def test_page_queries_do_not_grow_with_rows(client, world):
    client.force_login(world.district_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        security_event_record(kind=SecurityEventKind.ROSTER_UPLOAD, user=world.secretary, org=world.jb, details={"rows": 3})
    small = count()
    for _ in range(30):
        security_event_record(kind=SecurityEventKind.RATE_LIMITED, user=world.secretary, org=world.br_a)
    assert count() == small
