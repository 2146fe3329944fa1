"""Organizational-life actions: logging every kind with attendance, kind rules, quorum, return → resubmit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from activities.actions import activity_return, activity_update, quorum_statement
from activities.models import (
    Activity,
    ActivityEvent,
    ActivityEventKind,
    ActivityKind,
    ActivityStatus,
    Attendance,
    AttendanceStatus,
)
from core.exceptions import DomainError
from members.models import RelationKind, Stage
from orgs.models import OrgKind
from tests.activities import log
from tests.factories import MemberFactory, make_org, set_rule

pytestmark = pytest.mark.django_db


def _jb_members(world):
    return list(world.jb.members.order_by("id"))


@pytest.mark.parametrize("kind", ActivityKind.values)
def test_each_kind_is_logged_with_attendance(world, kind):
    first, second, *_rest = _jb_members(world)
    activity = log(world, kind=kind, attendance={first.pk: ("absent", ""), second.pk: ("leave", "跑单高峰")},
                   place="站点会议室", online=True, minutes="讨论了……")
    assert activity.kind == kind and activity.status == ActivityStatus.SUBMITTED
    rows = {row.member_id: row for row in Attendance.objects.filter(activity=activity)}
    assert len(rows) == 7  # jb's 5 full + 2 probationary members, all expected
    assert rows[first.pk].status == AttendanceStatus.ABSENT
    assert (rows[second.pk].status, rows[second.pk].leave_reason) == (AttendanceStatus.LEAVE, "跑单高峰")
    assert sum(1 for r in rows.values() if r.status == AttendanceStatus.PRESENT) == 5
    assert list(activity.events.values_list("kind", flat=True)) == [ActivityEventKind.SUBMITTED]
    assert activity.party_group == (world.group if kind == ActivityKind.GROUP_MEETING else None)


def test_expected_attendees_are_party_members_here_and_mobile_members(world):
    MemberFactory(org=world.jb, name="积极分子", stage=Stage.ACTIVIST)
    MemberFactory(org=world.jb, name="流动", relation_kind=RelationKind.MOBILE, home_org_name="外省某支部")
    MemberFactory(org=world.jb, name="口袋", relation_kind=RelationKind.POCKET)
    names = set(Attendance.objects.filter(activity=log(world)).values_list("member__name", flat=True))
    assert "流动" in names and "口袋" in names and "积极分子" not in names
    assert len(names) == 9


def test_group_meeting_needs_a_party_group_of_the_branch(world):
    with pytest.raises(DomainError) as exc:
        log(world, kind=ActivityKind.GROUP_MEETING, party_group=None)
    assert exc.value.field == "party_group" and "党小组" in str(exc.value.message)
    other_group = make_org("外支部小组", parent=world.br_a, kind=OrgKind.PARTY_GROUP)
    with pytest.raises(DomainError) as exc:
        log(world, kind=ActivityKind.GROUP_MEETING, party_group=other_group, actor=world.district_user)
    assert exc.value.field == "party_group"
    assert Activity.objects.count() == 0


def test_party_lecture_needs_a_lecturer(world):
    with pytest.raises(DomainError) as exc:
        log(world, kind=ActivityKind.PARTY_LECTURE, lecturer="  ")
    assert exc.value.field == "lecturer" and "授课人" in str(exc.value.message)
    assert Activity.objects.count() == 0


@pytest.mark.parametrize("attendance,field", [
    ("leave-no-reason", "attendance"),
    ("stranger", "attendance"),
    ("bad-status", "attendance"),
])
def test_bad_attendance_writes_nothing(world, attendance, field):
    member = _jb_members(world)[0]
    stranger = world.br_a.members.first()
    value = {"leave-no-reason": {member.pk: ("leave", " ")}, "stranger": {stranger.pk: ("present", "")},
             "bad-status": {member.pk: ("maybe", "")}}[attendance]
    with pytest.raises(DomainError) as exc:
        log(world, attendance=value)
    assert exc.value.field == field
    assert Activity.objects.count() == 0 and Attendance.objects.count() == 0


def test_other_checks(world):
    now = timezone.now()
    with pytest.raises(DomainError):
        log(world, topic="  ")
    with pytest.raises(DomainError) as exc:
        log(world, starts_at=now, ends_at=now - dt.timedelta(hours=1))
    assert exc.value.field == "ends_at"
    with pytest.raises(DomainError):
        log(world, unknown_field=1)
    assert Activity.objects.count() == 0


def test_scope_is_rechecked(world):
    with pytest.raises(DomainError):
        log(world, org=world.br_a)  # the jb secretary logging for another branch
    with pytest.raises(DomainError):
        log(world, actor=world.instructor, org=world.br_a)  # instructors only view
    assert log(world, actor=world.district_user, org=world.br_a).org == world.br_a


# ---------------------------------------------------------------- quorum
def _general_meeting(world, absent: int, **kwargs):
    full = [m for m in _jb_members(world) if m.stage == Stage.FULL]
    probationary = [m for m in _jb_members(world) if m.stage == Stage.PROBATIONARY]
    attendance = {m.pk: ("absent", "") for m in full[:absent]}
    attendance.update({m.pk: ("absent", "") for m in probationary})  # not voting: does not change the count
    return log(world, kind=ActivityKind.GENERAL_MEETING, makes_decision=True, attendance=attendance, **kwargs)


def test_quorum_met_counts_only_full_members_here(world):
    MemberFactory(org=world.jb, name="流动正式", relation_kind=RelationKind.MOBILE, home_org_name="外省某支部")
    activity = _general_meeting(world, absent=2)
    assert (activity.voting_expected, activity.voting_present, activity.quorum_met) == (5, 3, True)
    assert "到会3人，超过半数，表决有效" in quorum_statement(activity)
    mobile_row = Attendance.objects.get(activity=activity, member__name="流动正式")
    assert mobile_row.voting is False and mobile_row.status == AttendanceStatus.PRESENT
    assert Attendance.objects.filter(activity=activity, voting=False).count() == 3  # 2 probationary + 1 mobile


def test_quorum_not_met(world):
    activity = _general_meeting(world, absent=3)
    assert (activity.voting_expected, activity.voting_present, activity.quorum_met) == (5, 2, False)
    assert "未达到法定人数，表决无效" in quorum_statement(activity)


def test_quorum_follows_the_rule_row(world):
    set_rule("quorum_percent", 60)
    activity = _general_meeting(world, absent=2)  # 3 of 5 = 60 %: not *more than* 60 %
    assert activity.quorum_met is False
    set_rule("quorum_percent", 50)
    activity = activity_update(actor=world.secretary, activity=activity, place="站点")
    assert activity.quorum_met is True and activity.voting_present == 3  # rows kept, recomputed
    activity = activity_update(actor=world.secretary, activity=activity, attendance={})  # everyone present
    assert activity.voting_present == 5


def test_no_quorum_without_a_decision_or_for_other_kinds(world):
    assert log(world, kind=ActivityKind.GENERAL_MEETING).quorum_met is None
    activity = log(world, kind=ActivityKind.COMMITTEE_MEETING, makes_decision=True)
    assert activity.quorum_met is None and activity.makes_decision is False
    assert quorum_statement(activity) == ""


# ---------------------------------------------------------------- return → edit → resubmit
def test_return_edit_resubmit_history(world):
    activity = log(world, kind=ActivityKind.PARTY_LECTURE)
    with pytest.raises(DomainError):
        activity_return(actor=world.secretary, activity=activity, reason="缺照片")  # no activity.review
    with pytest.raises(DomainError) as exc:
        activity_return(actor=world.district_user, activity=activity, reason=" ")
    assert exc.value.field == "reason"
    activity = activity_return(actor=world.district_user, activity=activity, reason="缺少会议记录")
    assert activity.status == ActivityStatus.RETURNED
    with pytest.raises(DomainError):
        activity_return(actor=world.district_user, activity=activity, reason="再退一次")
    activity = activity_update(actor=world.secretary, activity=activity, minutes="补充了会议记录")
    assert activity.status == ActivityStatus.RESUBMITTED and activity.minutes == "补充了会议记录"
    activity = activity_update(actor=world.secretary, activity=activity, topic="新题目")
    assert activity.status == ActivityStatus.RESUBMITTED
    events = list(ActivityEvent.objects.filter(activity=activity).values_list("kind", "reason"))
    assert events == [("submitted", ""), ("returned", "缺少会议记录"), ("resubmitted", ""), ("edited", "")]


def test_update_is_scoped_and_validated(world):
    activity = log(world, org=world.br_a, actor=world.district_user)
    with pytest.raises(DomainError):
        activity_update(actor=world.secretary, activity=activity, topic="改")
    with pytest.raises(DomainError):
        activity_update(actor=world.district_user, activity=activity, kind=ActivityKind.PARTY_LECTURE)
    with pytest.raises(DomainError):
        activity_update(actor=world.district_user, activity=activity, org=world.jb)
    activity.refresh_from_db()
    assert activity.kind == ActivityKind.THEME_DAY and activity.events.count() == 1
