"""Issue 6, "done when": on the demo district one sweep produces exactly the reminders a person would expect
from the data, a second sweep produces none, and the monthly snapshot's figures equal the live figures.

The expectation is computed here by plain, object-by-object code (walk every member, transfer, org and
request; walk up the tree for recipients), written from the rule semantics in portal/models.py and the
seed migration, independently of the set-based finders in portal/selectors/reminders.py.
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from activities.models import Cycle
from activities.selectors.compliance import compliance_for_subtree, period_containing
from core.rules import rule_int
from members.models import OPEN_TRANSFER_STATUSES, RELATION_HERE, Member, RelationKind, Stage, Transfer
from members.selectors.registry import add_months
from notifications.models import Channel, Direction, Notification, OffsetUnit, ReminderRule, ReminderSend
from orgs.models import BRANCH_KINDS, Organization, OrgStatus, RoleGrant
from services.models import OPEN_STATUSES, ServiceRequest

TZ = ZoneInfo("Asia/Shanghai")
# The demo's organizational life runs until 2026-11-20; four days before November ends, meeting reminders
# for November (and Q4's quarterly rules are still weeks away) are due, and the demo's requests (dated
# relative to "now") are fresh.
NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=TZ)
TODAY = NOW.date()
GO_LIVE = dt.date(2026, 1, 1)  # the rules' effective-from date for this test: what went live on New Year's Day

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The demo loaded at NOW (requests are dated relative to now), in a transaction rolled back at the end."""
    with time_machine.travel(NOW, tick=False), django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("load_demo", stdout=io.StringIO(), stderr=io.StringIO())
            # load_demo ran today's sweep with the rules as seeded; start again from an empty send log.
            ReminderSend.objects.all().delete()
            Notification.objects.all().delete()
            ReminderRule.objects.update(effective_from=GO_LIVE)
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def demo(demo_world, db):
    with time_machine.travel(NOW, tick=False):
        yield


# ---------------------------------------------------------------- the person's expectation
def _nearest_holders(org: Organization, role: str) -> list[int]:
    """Users holding `role` at the org itself, else at its parent, and so on up (active users, active orgs)."""
    step = Organization.steplen
    by_path = {o.path: o for o in Organization.objects.filter(path__in=[org.path[:n] for n in range(step, len(org.path) + 1, step)])}
    for node in [by_path[org.path[:n]] for n in range(len(org.path), 0, -step)]:
        users = list(
            RoleGrant.objects.filter(org=node, role=role, user__is_active=True, org__status=OrgStatus.ACTIVE)
            .values_list("user_id", flat=True)
        )
        if users:
            return users
    return []


def _first_due(rule: ReminderRule, reference: dt.date) -> dt.date:
    months = rule.offset if rule.offset_unit == OffsetUnit.MONTH else 0
    days = rule.offset if rule.offset_unit == OffsetUnit.DAY else 0
    sign = -1 if rule.direction == Direction.BEFORE else 1
    return add_months(reference, sign * months) + dt.timedelta(days=sign * days)


def _repetition(rule: ReminderRule, reference: dt.date) -> int | None:
    """Which repetition is due today for an object with this reference date (None: nothing due)."""
    if reference < rule.effective_from:
        return None
    first = _first_due(rule, reference)
    if TODAY < first:
        return None
    if rule.direction == Direction.BEFORE and TODAY > reference:
        return None
    if not rule.repeat_every_days:
        return 0
    return min((TODAY - first).days // rule.repeat_every_days, rule.repeat_limit)


def _objects(rule: ReminderRule) -> list[tuple[int, dt.date, list[Organization]]]:
    """(object id, reference date, orgs whose people are told) for everything whose condition holds today."""
    kind = rule.kind
    found = []
    if kind == "meeting_due":
        month = period_containing(Cycle.MONTH, TODAY)
        for branch in Organization.objects.filter(kind__in=BRANCH_KINDS, status=OrgStatus.ACTIVE):
            report = compliance_for_subtree(root=branch, period=month, as_of=TODAY)
            ends = {gap.cycle.end for result in report.branches if result.org.pk == branch.pk for gap in result.missing}
            found += [(branch.pk, end, [branch]) for end in ends if end >= TODAY]
    elif kind in ("transfer_waiting", "letter_lapsing"):
        for transfer in Transfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES):
            orgs = [org for org in (transfer.from_org, transfer.to_org) if org is not None]
            if kind == "transfer_waiting":
                found.append((transfer.pk, transfer.requested_at.astimezone(TZ).date(), orgs))
            elif transfer.letter_valid_until:
                found.append((transfer.pk, transfer.letter_valid_until, orgs))
    elif kind == "probation_ending":
        months = rule_int("probation_months")
        for member in Member.objects.filter(stage=Stage.PROBATIONARY, relation_kind__in=RELATION_HERE, admitted_on__isnull=False):
            found.append((member.pk, add_months(member.admitted_on, months + member.probation_extended_months), [member.org]))
    elif kind == "activist_review_due":
        months = rule_int("activist_review_months")
        for member in Member.objects.filter(stage=Stage.ACTIVIST, relation_kind__in=RELATION_HERE, activist_on__isnull=False):
            n = 1
            while add_months(member.activist_on, n * months) < TODAY:
                n += 1
            found.append((member.pk, add_months(member.activist_on, n * months), [member.org]))
    elif kind == "term_ending":
        years = rule_int("committee_term_years")
        for org in Organization.objects.filter(status=OrgStatus.ACTIVE, has_committee=True, committee_elected_on__isnull=False):
            found.append((org.pk, add_months(org.committee_elected_on, 12 * years), [org]))
    elif kind in ("request_due_soon", "request_overdue"):
        for request in ServiceRequest.objects.filter(status__in=OPEN_STATUSES).select_related("responsible_org"):
            overdue = request.due_at < NOW
            if overdue == (kind == "request_overdue"):
                found.append((request.pk, request.due_at.astimezone(TZ).date(), [request.responsible_org]))
    elif kind == "mobile_card_expiring":
        for member in Member.objects.filter(relation_kind=RelationKind.MOBILE, mobile_card_valid_until__isnull=False):
            found.append((member.pk, member.mobile_card_valid_until, [member.org]))
    else:  # pragma: no cover - a new kind needs its expectation here
        raise AssertionError(f"no expectation for {kind}")
    return found


def _lead_days(rule: ReminderRule) -> int:
    return rule.offset * (31 if rule.offset_unit == OffsetUnit.MONTH else 1)


def _superseded(rule: ReminderRule, reference: dt.date, rules: list[ReminderRule]) -> bool:
    """A nearer rule of the same kind, reaching the same people by the same channels, is due for the object."""
    for other in rules:
        if other.pk == rule.pk or other.kind != rule.kind:
            continue
        nearer = _lead_days(other) < _lead_days(rule) if rule.direction == Direction.BEFORE else _lead_days(other) > _lead_days(rule)
        reaches = set(rule.recipients) <= set(other.recipients) and set(rule.channels) <= set(other.channels)
        if nearer and reaches and _repetition(other, reference) is not None:
            return True
    return False


def expected_sends() -> set[tuple]:
    expected = set()
    rules = list(ReminderRule.objects.filter(enabled=True))
    for rule in rules:
        for object_id, reference, orgs in _objects(rule):
            repetition = _repetition(rule, reference)
            if repetition is None or _superseded(rule, reference, rules):
                continue
            users = {user for org in orgs for role in rule.recipients for user in _nearest_holders(org, role)}
            for user in users:
                for channel in rule.channels:
                    expected.add((rule.pk, object_id, reference, repetition, user, channel))
    return expected


def actual_sends() -> set[tuple]:
    return set(ReminderSend.objects.values_list("rule_id", "object_id", "reference_date", "repetition", "recipient_id", "channel"))


# ---------------------------------------------------------------- the tests
def test_one_sweep_sends_exactly_what_a_person_expects_and_a_second_sends_nothing(demo):
    from notifications.actions.reminders import reminders_sweep

    expected = expected_sends()
    kinds = {ReminderRule.objects.get(pk=row[0]).kind for row in expected}
    # The demo is rich enough to exercise most kinds on this day (otherwise the comparison proves little).
    assert {"meeting_due", "probation_ending", "request_overdue"} <= kinds, kinds

    reminders_sweep(today=TODAY, now=NOW)

    actual = actual_sends()
    assert actual == expected, {"missing": sorted(expected - actual)[:10], "unexpected": sorted(actual - expected)[:10]}
    in_app = {row for row in expected if row[5] == Channel.IN_APP}
    assert Notification.objects.filter(kind="reminder").count() == len(in_app)
    # every notice points at its own in-app send-log row, addressed to the same person
    linked = Notification.objects.filter(kind="reminder").values_list("user_id", "reminder_send__recipient_id", "reminder_send__channel")
    assert all(user == recipient and channel == Channel.IN_APP for user, recipient, channel in linked)
    emails_sent = len(mail.outbox)
    assert emails_sent == ReminderSend.objects.filter(channel=Channel.EMAIL, status="sent").count() > 0

    counts = (ReminderSend.objects.count(), Notification.objects.count())
    reminders_sweep(today=TODAY, now=NOW)
    assert (ReminderSend.objects.count(), Notification.objects.count()) == counts
    assert len(mail.outbox) == emails_sent


def test_monthly_snapshot_equals_the_live_figures(demo):
    from core.models import User
    from coverage.actions.snapshots import snapshot_take, snapshots_monthly
    from coverage.models import CoverageSnapshot, SnapshotDimension
    from coverage.selectors.figures import coverage_by_industry, coverage_by_street, coverage_for_org

    root = Organization.objects.get(depth=1)
    district = User.objects.get(username="district")
    snapshots_monthly(today=TODAY)
    snapshots_monthly(today=TODAY)  # a second beat tick: still one snapshot for the month
    # (the demo already holds the monthly snapshots of the two months before it was loaded: the trend's points)
    october = CoverageSnapshot.objects.filter(kind="monthly", period_start=dt.date(2026, 10, 1))
    assert october.count() == 1
    snapshot = october.get(org=root)
    assert (snapshot.period_start, snapshot.period_end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    snapshot_take(snapshot_id=snapshot.pk)
    snapshot.refresh_from_db()
    assert snapshot.status == "ready"

    def figures(row_or_fig):
        names = ("workplaces", "org_covered", "work_covered", "uncovered", "gig_workers", "within_reach",
                 "gig_workers_within_reach", "needs_own_branch")
        return {name: getattr(row_or_fig, name) for name in names}

    total = snapshot.rows.get(dimension=SnapshotDimension.TOTAL)
    assert figures(total) == figures(coverage_for_org(user=district, org=root))
    by_street = {row.label: figures(row) for row in snapshot.rows.filter(dimension=SnapshotDimension.REGION)}
    assert by_street == {fig.label: figures(fig) for fig in coverage_by_street(user=district, org=root)}
    by_industry = {row.label: figures(row) for row in snapshot.rows.filter(dimension=SnapshotDimension.INDUSTRY)}
    assert by_industry == {fig.label: figures(fig) for fig in coverage_by_industry(user=district, org=root)}
