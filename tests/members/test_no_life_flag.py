"""The "no organizational life for N months" flag (rule row no_life_flag_months) on the member list."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityKind, Attendance, AttendanceStatus
from members.models import Member, Stage
from members.selectors.registry import member_list, months_before
from tests.factories import MemberFactory, set_rule

LIST = reverse("members:member_list")


def _names(response) -> set[str]:
    return {m.name for m in response.context["page"].object_list}


def _registered_long_ago(*members):
    Member.objects.filter(pk__in=[m.pk for m in members]).update(created_at=timezone.now() - dt.timedelta(days=400))


def _activity(org, user, when):
    return Activity.objects.create(org=org, kind=ActivityKind.THEME_DAY, starts_at=when, topic="主题党日", created_by=user)


def _scenario(world):
    now = timezone.now()
    jb = world.jb
    attended = MemberFactory(name="常参加", org=jb)
    absent = MemberFactory(name="常缺席", org=jb)
    on_leave = MemberFactory(name="总请假", org=jb)
    old_only = MemberFactory(name="很久以前", org=jb)
    newcomer = MemberFactory(name="新登记", org=jb)  # registered today: not flagged
    applicant = MemberFactory(name="积极分子", org=jb, stage=Stage.ACTIVIST)  # not yet a Party member
    _registered_long_ago(attended, absent, on_leave, old_only, applicant)
    recent = _activity(jb, world.district_user, now - dt.timedelta(days=30))
    old = _activity(jb, world.district_user, now - dt.timedelta(days=300))
    Attendance.objects.bulk_create([
        Attendance(activity=recent, member=attended, status=AttendanceStatus.PRESENT),
        Attendance(activity=recent, member=absent, status=AttendanceStatus.ABSENT),
        Attendance(activity=recent, member=on_leave, status=AttendanceStatus.LEAVE, leave_reason="跑单"),
        Attendance(activity=old, member=old_only, status=AttendanceStatus.PRESENT),
    ])
    return attended, absent, on_leave, old_only, newcomer, applicant


def test_flag_marks_members_without_present_attendance_in_the_window(client, world):
    _scenario(world)
    client.force_login(world.district_user)
    flagged = _names(client.get(LIST, {"flag": "no_life", "org": world.jb.pk}))
    assert flagged == {"常缺席", "总请假", "很久以前"}
    html = client.get(LIST, {"q": "常缺席"}).content.decode()
    assert 'data-flag="no_life"' in html


def test_flag_follows_its_rule_row(client, world):
    _scenario(world)
    set_rule("no_life_flag_months", 12)  # the 300-day-old meeting is inside a 12-month window
    client.force_login(world.district_user)
    assert _names(client.get(LIST, {"flag": "no_life", "org": world.jb.pk})) == {"常缺席", "总请假"}


def test_window_starts_on_the_same_day_n_months_ago():
    assert months_before(dt.date(2026, 8, 31), 6) == dt.date(2026, 2, 28)


def test_flag_adds_no_query_per_row(world):
    _scenario(world)
    with CaptureQueriesContext(connection) as small:
        list(member_list(user=world.district_user))
    for _ in range(10):
        _registered_long_ago(MemberFactory(org=world.jb))
    with CaptureQueriesContext(connection) as large:
        rows = list(member_list(user=world.district_user))
    assert len(small) == len(large)
    assert sum(m.flag_no_life for m in rows) >= 13
