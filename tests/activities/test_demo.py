"""The demo's year of organizational life (activities/demo.py, loaded by load_demo)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from activities.models import Activity, ActivityKind, Attendance, AttendanceStatus, Exemption
from activities.selectors.compliance import compliance_report, period_containing
from core.models import User
from demo.activities import DEMO_ACTIVITIES_UNTIL, load_demo_activities
from orgs.models import Organization


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO(), stderr=io.StringIO())
    return Organization.objects.get(code="SFQ000"), User.objects.get(username="district")


def test_demo_has_a_year_of_meetings_with_attendance(demo):
    assert Activity.objects.count() > 500
    assert Activity.objects.filter(starts_at__date__gt=DEMO_ACTIVITIES_UNTIL).count() == 0
    assert Attendance.objects.filter(status=AttendanceStatus.LEAVE).exclude(leave_reason="").exists()
    assert Attendance.objects.filter(status=AttendanceStatus.ABSENT).exists()
    assert Activity.objects.filter(kind=ActivityKind.GROUP_MEETING, party_group__isnull=False).exists()
    assert load_demo_activities(None) == 0  # idempotent


def test_demo_board_shows_compliant_behind_and_exempt_branches(demo):
    root, district = demo
    report = compliance_report(user=district, root=root, period=period_containing("quarter", DEMO_ACTIVITIES_UNTIL),
                               as_of=DEMO_ACTIVITIES_UNTIL)
    behind_kinds = {g.rule.kind for b in report.behind() for g in b.missing}
    assert {ActivityKind.COMMITTEE_MEETING, ActivityKind.THEME_DAY} <= behind_kinds
    assert any(b.rate == 100.0 for b in report.branches)
    exempt = Exemption.objects.get()
    exempt_result = next(b for b in report.branches if b.org.pk == exempt.org_id)
    assert exempt_result.expected == 0 and not exempt_result.behind
