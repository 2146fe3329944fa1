"""Every reminder kind on constructed data and explicit dates (portal/selectors/reminders.py): the window
of each kind, conditions, effective_from, repeats and their limit, month offsets, recipients, and the
rendering of every seeded rule with real objects."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from activities.models import Activity, ActivityKind, ComplianceRule
from core.models import Rule
from members.models import RelationKind, Stage, Transfer, TransferKind, TransferStatus
from notifications.actions.reminders import reminder_context, reminder_rule_sweep, reminders_sweep
from notifications.models import Notification, ReminderRule, ReminderSend, RunStatus
from notifications.reminder_templates import render
from notifications.selectors.reminders import next_review, reminder_candidates, resolve_recipients
from orgs.models import Organization, Role
from services.models import RequestStatus
from tests.factories import MemberFactory, UserFactory, grant
from tests.services.factories import make_request

TZ = ZoneInfo("Asia/Shanghai")
LONG_AGO = dt.date(2020, 1, 1)

DEFAULTS = {
    "meeting_due": (7, "day", "before", 0, 0),
    "transfer_waiting": (30, "day", "after", 7, 3),
    "letter_lapsing": (7, "day", "before", 0, 0),
    "probation_ending": (30, "day", "before", 0, 0),
    "activist_review_due": (7, "day", "before", 0, 0),
    "term_ending": (6, "month", "before", 0, 0),
    "request_due_soon": (1, "day", "before", 0, 0),
    "request_overdue": (0, "day", "after", 1, 2),
    "mobile_card_expiring": (30, "day", "before", 0, 0),
}


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


def make_rule(kind: str, **kwargs) -> ReminderRule:
    offset, unit, direction, every, limit = DEFAULTS[kind]
    values = {
        "name": f"测试{kind}", "kind": kind, "offset": offset, "offset_unit": unit, "direction": direction,
        "repeat_every_days": every, "repeat_limit": limit, "recipients": ["secretary"], "channels": ["in_app"],
        "subject_template": "{{ object }} {{ date|date:'Y-m-d' }} #{{ repetition }}", "body_template": "{{ org }} {{ days }}",
        "enabled": True, "effective_from": LONG_AGO,
    }
    values.update(kwargs)
    return ReminderRule.objects.create(**values)


def due(rule, today, now=None):
    """{object_id: (reference_date, repetition k)} of what `rule` finds due on `today`."""
    now = now or at(today.year, today.month, today.day, 7, 30)
    return {c.object_id: (c.reference_date, c.repetition) for c in reminder_candidates(rule, today=today, now=now)}


def sent_repetitions(rule, object_id) -> list[int]:
    return sorted(set(ReminderSend.objects.filter(rule=rule, object_id=object_id).values_list("repetition", flat=True)))


@pytest.fixture(autouse=True)
def _only_test_rules(db):
    """The seeded rules stay out of the way (tests that use them enable them)."""
    ReminderRule.objects.update(enabled=False)


def only_compliance(*kinds):
    """Only these compliance rules, and every org old enough to be expected in every cycle."""
    ComplianceRule.objects.exclude(kind__in=kinds).update(enabled=False)
    Organization.objects.update(established_on=LONG_AGO)


def held(org, kind, *moments, group=None):
    user = UserFactory()
    Activity.objects.bulk_create(
        [Activity(org=org, party_group=group, kind=kind, starts_at=m, topic="t", created_by=user) for m in moments]
    )


def open_transfer(world, *, member=None, requested_at=None, status=TransferStatus.REQUESTED, **kwargs) -> Transfer:
    member = member or MemberFactory(org=world.br_a, name="转接人甲")
    return Transfer.objects.create(
        member=member, kind=TransferKind.INTERNAL, from_org=world.br_a, to_org=world.br_f, reason="工作调动",
        status=status, requested_by=world.district_user, requested_at=requested_at or at(2026, 9, 1), **kwargs,
    )


@pytest.fixture
def sides(world):
    """Secretaries at both ends of a transfer (br_a sends, br_f receives)."""
    send = UserFactory(username="send_sec", email="send@example.cn")
    grant(send, world.br_a, Role.SECRETARY)
    recv = UserFactory(username="recv_sec", email="recv@example.cn")
    grant(recv, world.br_f, Role.SECRETARY)
    return send, recv


# ================================================================ timing helpers
def test_next_review_is_the_first_half_year_mark_on_or_after_today():
    assert next_review(dt.date(2026, 6, 10), 6, dt.date(2026, 12, 1)) == dt.date(2026, 12, 10)
    assert next_review(dt.date(2026, 6, 10), 6, dt.date(2026, 12, 10)) == dt.date(2026, 12, 10)
    assert next_review(dt.date(2026, 6, 10), 6, dt.date(2026, 12, 11)) == dt.date(2027, 6, 10)
    assert next_review(dt.date(2026, 6, 10), 6, dt.date(2026, 6, 10)) == dt.date(2026, 12, 10)  # n >= 1
    assert next_review(dt.date(2024, 8, 31), 6, dt.date(2025, 2, 1)) == dt.date(2025, 2, 28)


# ================================================================ meeting_due
def test_meeting_due_names_every_gap_ending_that_day(world):
    only_compliance(ActivityKind.THEME_DAY, ActivityKind.GROUP_MEETING)
    rule = make_rule("meeting_due")
    held(world.br_f, ActivityKind.THEME_DAY, at(2026, 11, 3))  # br_f met its month

    assert due(rule, dt.date(2026, 11, 22)) == {}  # D0 = Nov 30 - 7 = Nov 23
    found = {c.object_id: c for c in reminder_candidates(rule, today=dt.date(2026, 11, 25), now=at(2026, 11, 25))}
    assert set(found) == {world.br_a.pk, world.jb.pk}  # not br_f (met), not the dissolved branch
    jb = found[world.jb.pk]
    assert jb.reference_date == dt.date(2026, 11, 30)
    assert jb.extra["missing_count"] == 2
    assert jb.extra["details"].splitlines() == [
        "第一党小组 党小组会 2026年11月：已开 0 次，应开 1 次",
        "主题党日 2026年11月：已开 0 次，应开 1 次",
    ]
    assert found[world.br_a.pk].extra == {"details": "主题党日 2026年11月：已开 0 次，应开 1 次", "missing_count": 1}
    assert jb.url == f"/compliance/?org={world.jb.pk}"
    assert jb.days == 5

    # The jb catches up: its reminder goes, br_a's stays.
    held(world.jb, ActivityKind.THEME_DAY, at(2026, 11, 26))
    held(world.jb, ActivityKind.GROUP_MEETING, at(2026, 11, 26), group=world.group)
    assert set(due(rule, dt.date(2026, 11, 27))) == {world.br_a.pk}
    assert due(rule, dt.date(2026, 12, 1)) == {}  # a new month: Dec 31 is outside the window


def test_meeting_due_aggregates_quarter_and_month_gaps_of_the_same_day(world):
    only_compliance(ActivityKind.THEME_DAY, ActivityKind.GENERAL_MEETING)
    rule = make_rule("meeting_due")
    held(world.br_a, ActivityKind.THEME_DAY, at(2026, 12, 2))
    found = {c.object_id: c for c in reminder_candidates(rule, today=dt.date(2026, 12, 28), now=at(2026, 12, 28))}
    assert found[world.br_a.pk].extra == {"details": "支部党员大会 2026年第4季度：已开 0 次，应开 1 次", "missing_count": 1}
    assert found[world.jb.pk].extra["missing_count"] == 2
    assert found[world.jb.pk].reference_date == dt.date(2026, 12, 31)


# ================================================================ transfers
def test_transfer_waiting_repeats_up_to_the_limit_then_stops(world, sides):
    rule = make_rule("transfer_waiting")  # 30 days after, every 7 days, 3 repeats
    transfer = open_transfer(world, requested_at=at(2026, 9, 1, 23, 30))  # local date Sep 1 (15:30 UTC)
    assert due(rule, dt.date(2026, 9, 30)) == {}
    assert due(rule, dt.date(2026, 10, 1)) == {transfer.pk: (dt.date(2026, 9, 1), 0)}
    day = dt.date(2026, 9, 25)
    while day <= dt.date(2026, 11, 30):
        reminder_rule_sweep(rule_id=rule.pk, today=day)
        day += dt.timedelta(days=1)
    # Oct 1, 8, 15, 22 and nothing after: 4 sends to each side, each once.
    assert sent_repetitions(rule, transfer.pk) == [0, 1, 2, 3]
    assert ReminderSend.objects.filter(rule=rule).count() == 8
    sends = ReminderSend.objects.filter(rule=rule, repetition=2).order_by("sent_at")
    assert {s.created_at.astimezone(TZ).date() for s in sends} == {dt.date(2026, 10, 15)}
    assert Notification.objects.filter(user=sides[1]).count() == 4


def test_transfer_waiting_catch_up_sends_only_the_latest_repetition(world, sides):
    rule = make_rule("transfer_waiting")
    transfer = open_transfer(world, requested_at=at(2026, 9, 1))
    reminder_rule_sweep(rule_id=rule.pk, today=dt.date(2026, 10, 20))  # D2 = Oct 15 <= Oct 20 < D3
    assert sent_repetitions(rule, transfer.pk) == [2]
    reminder_rule_sweep(rule_id=rule.pk, today=dt.date(2027, 1, 5))
    assert sent_repetitions(rule, transfer.pk) == [2, 3]


def test_transfer_waiting_goes_to_both_sides_and_district_staff(world, sides):
    rule = make_rule("transfer_waiting", recipients=["secretary", "district"])
    transfer = open_transfer(world)
    run = reminder_rule_sweep(rule_id=rule.pk, today=dt.date(2026, 10, 2))
    recipients = set(ReminderSend.objects.filter(rule=rule).values_list("recipient__username", flat=True))
    assert recipients == {"send_sec", "recv_sec", "district"}  # the inactive district account gets nothing
    assert run.sent == 3
    note = Notification.objects.get(user=sides[0])
    assert note.title == "转接人甲 2026-09-01 #1"
    assert note.url == f"/members/transfers/{transfer.pk}/"
    context = reminder_context(rule, reminder_candidates(rule, today=dt.date(2026, 10, 2), now=at(2026, 10, 2))[0])
    assert (context["from_org"], context["to_org"], context["status"]) == ("顺丰站点党支部", "美团站点党支部", "已申请")
    assert context["days"] == 31


@pytest.mark.parametrize("status", [TransferStatus.COMPLETED, TransferStatus.RETURNED, TransferStatus.WITHDRAWN,
                                    TransferStatus.EXPIRED])
def test_closed_transfers_are_not_reminded(world, sides, status):
    open_transfer(world, status=status, letter_valid_until=dt.date(2026, 12, 10))
    assert due(make_rule("transfer_waiting"), dt.date(2026, 10, 2)) == {}
    assert due(make_rule("letter_lapsing"), dt.date(2026, 12, 5)) == {}


def test_letter_lapsing_window(world, sides):
    rule = make_rule("letter_lapsing")
    transfer = open_transfer(world, letter_valid_until=dt.date(2026, 12, 10), letter_number="JS-2026-018")
    assert due(rule, dt.date(2026, 12, 2)) == {}
    assert due(rule, dt.date(2026, 12, 3)) == {transfer.pk: (dt.date(2026, 12, 10), 0)}
    assert due(rule, dt.date(2026, 12, 10)) == {transfer.pk: (dt.date(2026, 12, 10), 0)}
    assert due(rule, dt.date(2026, 12, 11)) == {}  # after R: a before-kind is over
    candidate = reminder_candidates(rule, today=dt.date(2026, 12, 3), now=at(2026, 12, 3))[0]
    assert candidate.extra["letter_number"] == "JS-2026-018"
    assert candidate.days == 7


# ================================================================ members
def test_probation_ending_counts_the_extension(world):
    rule = make_rule("probation_ending")
    plain = MemberFactory(org=world.jb, stage=Stage.PROBATIONARY, admitted_on=dt.date(2025, 12, 31), name="预备甲")
    extended = MemberFactory(org=world.jb, stage=Stage.PROBATIONARY, admitted_on=dt.date(2025, 6, 30),
                             probation_extended_months=3, name="预备乙")
    MemberFactory(org=world.jb, stage=Stage.FULL, admitted_on=dt.date(2025, 12, 31))  # already full: not reminded
    assert due(rule, dt.date(2026, 11, 30)) == {}
    assert due(rule, dt.date(2026, 12, 1)) == {plain.pk: (dt.date(2026, 12, 31), 0)}  # R - 30 days
    Rule.objects.filter(key="probation_months").update(value=9)
    assert due(rule, dt.date(2026, 6, 1)) == {extended.pk: (dt.date(2026, 6, 30), 0)}  # 9 + 3 months


def test_activist_review_due_every_half_year(world):
    rule = make_rule("activist_review_due")
    activist = MemberFactory(org=world.jb, stage=Stage.ACTIVIST, activist_on=dt.date(2026, 6, 10), name="积极分子丙")
    MemberFactory(org=world.jb, stage=Stage.ACTIVIST, activist_on=None)
    MemberFactory(org=world.jb, stage=Stage.CANDIDATE, activist_on=dt.date(2026, 6, 10))
    assert due(rule, dt.date(2026, 12, 2)) == {}
    assert due(rule, dt.date(2026, 12, 3)) == {activist.pk: (dt.date(2026, 12, 10), 0)}
    assert due(rule, dt.date(2026, 12, 11)) == {}  # the next review is 2027-06-10
    assert due(rule, dt.date(2027, 6, 3)) == {activist.pk: (dt.date(2027, 6, 10), 0)}
    candidate = reminder_candidates(rule, today=dt.date(2026, 12, 3), now=at(2026, 12, 3))[0]
    assert candidate.extra == {"activist_on": dt.date(2026, 6, 10)}


def test_mobile_card_expiring_only_for_mobile_members(world):
    rule = make_rule("mobile_card_expiring")
    mobile = MemberFactory(org=world.br_f, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 31))
    MemberFactory(org=world.br_f, relation_kind=RelationKind.HELD, mobile_card_valid_until=dt.date(2026, 12, 31))
    assert due(rule, dt.date(2026, 11, 30)) == {}
    assert due(rule, dt.date(2026, 12, 1)) == {mobile.pk: (dt.date(2026, 12, 31), 0)}
    assert due(rule, dt.date(2027, 1, 1)) == {}


# ================================================================ committee terms (month offsets)
def test_term_ending_six_months_and_one_month_ahead(world):
    Organization.objects.filter(pk=world.jb.pk).update(has_committee=True, committee_elected_on=dt.date(2023, 12, 15))
    Organization.objects.filter(pk=world.br_a.pk).update(has_committee=False, committee_elected_on=dt.date(2023, 12, 15))
    six = make_rule("term_ending", offset=6)
    one = make_rule("term_ending", offset=1)
    R = dt.date(2026, 12, 15)
    assert due(six, dt.date(2026, 6, 14)) == {}
    assert due(six, dt.date(2026, 6, 15)) == {world.jb.pk: (R, 0)}
    assert due(one, dt.date(2026, 6, 15)) == {}
    assert due(one, dt.date(2026, 11, 14)) == {}
    assert due(one, dt.date(2026, 11, 15)) == {world.jb.pk: (R, 0)}
    assert due(six, dt.date(2026, 12, 16)) == {}
    # Both sweeps on their first days: one send each, never repeated.
    for day in (dt.date(2026, 6, 15), dt.date(2026, 6, 16), dt.date(2026, 11, 15), dt.date(2026, 11, 16)):
        reminders_sweep(today=day, kind="term_ending")
    assert ReminderSend.objects.filter(rule=six).count() == 1
    assert ReminderSend.objects.filter(rule=one).count() == 1
    assert ReminderSend.objects.get(rule=six).created_at.astimezone(TZ).date() == dt.date(2026, 6, 15)
    candidate = reminder_candidates(one, today=dt.date(2026, 11, 15), now=at(2026, 11, 15))[0]
    assert candidate.extra == {"elected_on": dt.date(2023, 12, 15)}
    assert candidate.url == f"/orgs/{world.jb.pk}/"


def test_a_closer_rule_of_the_same_kind_supersedes_a_farther_one(world):
    """First sweep 13 days before the term ends (the portal went live late, or the worker was down): the
    person gets the "1 month ahead" reminder, not a belated "6 months ahead" one as well."""
    Organization.objects.filter(pk=world.jb.pk).update(has_committee=True, committee_elected_on=dt.date(2023, 12, 15))
    six = make_rule("term_ending", offset=6)
    one = make_rule("term_ending", offset=1)
    R = dt.date(2026, 12, 15)
    assert due(six, dt.date(2026, 11, 14)) == {world.jb.pk: (R, 0)}  # the 1-month window has not opened
    assert due(six, dt.date(2026, 11, 15)) == {}
    reminders_sweep(today=dt.date(2026, 12, 2), kind="term_ending")
    assert list(ReminderSend.objects.values_list("rule_id", flat=True)) == [one.pk]
    # A closer rule that reaches fewer people does not silence the farther one for the others.
    wider = make_rule("term_ending", offset=2, recipients=["secretary", "district"])
    assert due(wider, dt.date(2026, 12, 2)) == {world.jb.pk: (R, 0)}
    # Nor does a closer rule that is switched off.
    ReminderRule.objects.filter(pk=one.pk).update(enabled=False)
    assert due(six, dt.date(2026, 12, 2)) == {}  # `wider` (2 months, covers secretary) is closer than six
    ReminderRule.objects.filter(pk=wider.pk).update(enabled=False)
    assert due(six, dt.date(2026, 12, 2)) == {world.jb.pk: (R, 0)}


def test_term_ending_month_offset_clamps_to_month_end(world):
    Organization.objects.filter(pk=world.jb.pk).update(has_committee=True, committee_elected_on=dt.date(2024, 8, 31))
    rule = make_rule("term_ending", offset=6)  # R = 2027-08-31, D0 = 2027-02-28
    assert due(rule, dt.date(2027, 2, 27)) == {}
    assert due(rule, dt.date(2027, 2, 28)) == {world.jb.pk: (dt.date(2027, 8, 31), 0)}


# ================================================================ service requests
def test_request_due_soon_and_overdue(world):
    soon = make_rule("request_due_soon")
    overdue = make_rule("request_overdue")  # on the due day, then daily, 2 repeats
    request = make_request(org=world.jb, submitted_at=at(2026, 11, 30, 9), due_at=at(2026, 12, 2, 18))
    make_request(org=world.jb, status=RequestStatus.CLOSED, submitted_at=at(2026, 11, 30, 9), due_at=at(2026, 12, 2, 18))
    make_request(org=world.jb, status=RequestStatus.RESOLVED, submitted_at=at(2026, 11, 30, 9), due_at=at(2026, 12, 1, 8))

    assert due(soon, dt.date(2026, 11, 30), at(2026, 11, 30, 9)) == {}
    assert due(soon, dt.date(2026, 12, 1), at(2026, 12, 1, 9)) == {request.pk: (dt.date(2026, 12, 2), 0)}
    assert due(soon, dt.date(2026, 12, 2), at(2026, 12, 2, 17)) == {request.pk: (dt.date(2026, 12, 2), 0)}
    assert due(overdue, dt.date(2026, 12, 2), at(2026, 12, 2, 17)) == {}
    assert due(soon, dt.date(2026, 12, 2), at(2026, 12, 2, 19)) == {}  # past its due time: overdue now
    assert due(overdue, dt.date(2026, 12, 2), at(2026, 12, 2, 19)) == {request.pk: (dt.date(2026, 12, 2), 0)}
    candidate = reminder_candidates(overdue, today=dt.date(2026, 12, 2), now=at(2026, 12, 2, 19))[0]
    assert candidate.extra == {"category": request.category.name, "due_at": "2026-12-02 18:00", "status": "已提交"}
    assert candidate.object_label == request.tracking_code
    assert candidate.url == f"/services/requests/{request.tracking_code}/"

    for day in range(2, 8):
        reminder_rule_sweep(rule_id=overdue.pk, today=dt.date(2026, 12, day), now=at(2026, 12, day, 20))
    assert sent_repetitions(overdue, request.pk) == [0, 1, 2]  # Dec 2, 3, 4 and no more

    request.status, request.closed_at = RequestStatus.CLOSED, at(2026, 12, 7, 21)
    request.save(update_fields=["status", "closed_at"])
    assert due(overdue, dt.date(2026, 12, 8), at(2026, 12, 8, 9)) == {}


# ================================================================ effective_from, disabled, direction
def test_effective_from_never_mails_the_past(world):
    transfer = open_transfer(world, requested_at=at(2026, 9, 1))
    old = make_rule("transfer_waiting", effective_from=dt.date(2026, 9, 2))
    assert due(old, dt.date(2026, 10, 20)) == {}  # requested before the rule took effect
    later = open_transfer(world, member=MemberFactory(org=world.br_a), requested_at=at(2026, 9, 2))
    assert set(due(old, dt.date(2026, 10, 20))) == {later.pk}
    card = make_rule("mobile_card_expiring", effective_from=dt.date(2027, 1, 1))
    MemberFactory(org=world.br_f, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 31))
    assert due(card, dt.date(2026, 12, 15)) == {}
    assert transfer.pk not in due(old, dt.date(2027, 1, 1))


def test_disabled_rules_and_wrong_directions_never_run(world):
    MemberFactory(org=world.br_f, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 31))
    make_rule("mobile_card_expiring", enabled=False, recipients=["district"])
    wrong = make_rule("mobile_card_expiring", direction="after", recipients=["district"])
    runs = reminders_sweep(today=dt.date(2026, 12, 10))
    assert [run.rule_id for run in runs] == [wrong.pk]
    assert runs[0].status == RunStatus.FAILED and "方向" in runs[0].error
    assert not ReminderSend.objects.exists()
    assert due(wrong, dt.date(2026, 12, 10)) == {}
    disabled = ReminderRule.objects.get(kind="mobile_card_expiring", enabled=False, name__startswith="测试")
    run = reminder_rule_sweep(rule_id=disabled.pk, today=dt.date(2026, 12, 10))
    assert run.status == RunStatus.FAILED and run.error == "该提醒规则已停用"
    assert not ReminderSend.objects.exists()


# ================================================================ recipients
def test_recipients_are_the_nearest_holders_of_each_role(world):
    rule = make_rule("mobile_card_expiring", recipients=["secretary", "instructor", "district"])
    at_jb = MemberFactory(org=world.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 31))
    at_a = MemberFactory(org=world.br_a, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 31))
    at_f = MemberFactory(org=world.br_f, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 31))
    express_secretary = UserFactory(username="express_sec")
    grant(express_secretary, world.express, Role.SECRETARY)
    gone = UserFactory(username="gone_sec", is_active=False)
    grant(gone, world.br_f, Role.SECRETARY)
    dead_secretary = UserFactory(username="dead_sec")
    grant(dead_secretary, world.br_dead, Role.SECRETARY)

    candidates = reminder_candidates(rule, today=dt.date(2026, 12, 10), now=at(2026, 12, 10))
    recipients = resolve_recipients(candidates, rule.recipients)
    by_member = {c.object_id: {r.user_id for r in users} for c, users in zip(candidates, recipients, strict=True)}
    # jb has its own secretary: the express secretary is further away.
    assert by_member[at_jb.pk] == {world.secretary.pk, world.instructor.pk, world.district_user.pk}
    # br_a has none: the nearest secretary is at express.
    assert by_member[at_a.pk] == {express_secretary.pk, world.instructor.pk, world.district_user.pk}
    # food has no secretary or instructor (the inactive account does not count): district staff only.
    assert by_member[at_f.pk] == {world.district_user.pk}


def test_one_send_per_candidate_for_a_user_holding_several_roles(world):
    rule = make_rule("mobile_card_expiring", recipients=["secretary", "district"], channels=["in_app", "email"])
    grant(world.district_user, world.jb, Role.SECRETARY)
    MemberFactory(org=world.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 31))
    reminder_rule_sweep(rule_id=rule.pk, today=dt.date(2026, 12, 10))
    assert ReminderSend.objects.filter(rule=rule, recipient=world.district_user).count() == 2  # in-app + email
    assert Notification.objects.filter(user=world.district_user).count() == 1


# ================================================================ every seeded template with real objects
@pytest.fixture
def everything(world, sides):
    """One object of every kind, all due on 2026-12-01 for the seeded rules (with effective_from moved back)."""
    ReminderRule.objects.update(enabled=True, effective_from=LONG_AGO)
    only_compliance(ActivityKind.THEME_DAY)
    Organization.objects.filter(pk=world.jb.pk).update(has_committee=True, committee_elected_on=dt.date(2023, 12, 20))
    objects = {
        "probation": MemberFactory(org=world.jb, stage=Stage.PROBATIONARY, admitted_on=dt.date(2025, 12, 20), name="预备王五"),
        "activist": MemberFactory(org=world.jb, stage=Stage.ACTIVIST, activist_on=dt.date(2026, 6, 5), name="积极分子赵六"),
        "mobile": MemberFactory(org=world.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20),
                                name="流动孙七"),
        "waiting": open_transfer(world, member=MemberFactory(org=world.br_a, name="转接周八"), requested_at=at(2026, 10, 1)),
        "letter": open_transfer(world, member=MemberFactory(org=world.br_a, name="介绍信吴九"), requested_at=at(2026, 11, 20),
                                letter_valid_until=dt.date(2026, 12, 5), letter_number="JS-88"),
        "soon": make_request(org=world.jb, submitted_at=at(2026, 11, 30, 9), due_at=at(2026, 12, 2, 9)),
        "overdue": make_request(org=world.jb, submitted_at=at(2026, 11, 20, 9), due_at=at(2026, 11, 30, 18)),
    }
    return objects


SEEDED_EXPECTATIONS = {
    # kind: (what the subject names, what else it shows)
    "meeting_due": ("快递联合党支部", "2026年12月31日"),
    "transfer_waiting": ("转接周八", "等待 61 天"),
    "letter_lapsing": ("介绍信吴九", "2026年12月5日"),
    "probation_ending": ("预备王五", "2026年12月20日"),
    "activist_review_due": ("积极分子赵六", "2026年12月5日"),
    "term_ending": ("快递联合党支部", "2026年12月20日"),
    "request_due_soon": ("{soon}", "2026-12-02 09:00"),
    "request_overdue": ("{overdue}", ""),
    "mobile_card_expiring": ("流动孙七", "2026年12月20日"),
}


def test_every_seeded_rule_renders_with_real_objects(world, everything):
    rules = list(ReminderRule.objects.filter(enabled=True).order_by("kind", "pk"))
    assert {r.kind for r in rules} == set(DEFAULTS)  # the seeds cover every kind
    today = dt.date(2026, 12, 1)
    # The meeting rule looks 7 days ahead: it runs on Dec 25. The 6-month term rule runs on Nov 1: from Nov 20
    # the 1-month rule supersedes it for a term ending on Dec 20.
    special = {"meeting_due": dt.date(2026, 12, 25), ("term_ending", 6): dt.date(2026, 11, 1)}
    for rule in rules:
        day = special.get(rule.kind) or special.get((rule.kind, rule.offset)) or today
        moment = at(day.year, day.month, day.day, 7, 30)
        candidates = reminder_candidates(rule, today=day, now=moment)
        assert candidates, f"{rule.name} found nothing"
        name, detail = SEEDED_EXPECTATIONS[rule.kind]
        name = name.format(soon=everything["soon"].tracking_code, overdue=everything["overdue"].tracking_code)
        rendered = [render(rule.subject_template, rule.body_template, reminder_context(rule, c)) for c in candidates]
        subject, body = next((s, b) for s, b in rendered if name in s)
        assert detail in subject or (rule.kind == "term_ending" and detail in body), (rule.name, subject)
        assert "{{" not in subject + body and "{%" not in body
        assert body  # every seeded body renders to text


def test_seeded_term_rules_on_the_real_clock(world, everything):
    """No explicit date: the sweep takes the local date from the clock (time-machine moves it)."""
    rules = ReminderRule.objects.filter(kind="term_ending").order_by("pk")
    assert [(r.offset, r.offset_unit) for r in rules] == [(6, "month"), (1, "month")]
    with time_machine.travel(at(2026, 6, 20, 7, 30), tick=False):
        runs = reminders_sweep(kind="term_ending")
    assert [(run.day, run.candidates) for run in runs] == [(dt.date(2026, 6, 20), 1), (dt.date(2026, 6, 20), 0)]
    note = Notification.objects.get(user=world.secretary)
    assert note.title == "快递联合党支部 支部委员会任期将于 2026年12月20日 届满"
    assert "2023年12月20日 选举产生" in note.body
    with time_machine.travel(at(2026, 11, 20, 7, 30), tick=False):
        reminders_sweep(kind="term_ending")
    titles = set(Notification.objects.filter(user=world.secretary).values_list("title", flat=True))
    assert titles == {"快递联合党支部 支部委员会任期将于 2026年12月20日 届满",
                      "快递联合党支部 支部委员会任期将于 2026年12月20日 届满，请按时换届"}


def test_month_arithmetic_at_the_calendar_edge_does_not_overflow():
    import datetime as _dt

    from notifications.selectors.reminders import SLACK, add_months

    assert add_months(_dt.date(9999, 12, 1), 6) + SLACK <= _dt.date.max
    assert add_months(_dt.date(1, 2, 1), -6) >= _dt.date.min
    assert add_months(_dt.date(2024, 1, 31), 1) == _dt.date(2024, 2, 29)
