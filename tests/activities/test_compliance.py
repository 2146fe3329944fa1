"""Compliance figures on constructed calendars (activities/selectors/compliance.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities.models import Activity, ActivityKind, ComplianceRule, Exemption
from activities.selectors.compliance import compliance_for_subtree, compliance_report, parse_period, period_containing
from orgs.models import OrgKind, Role
from tests.factories import UserFactory, fresh, grant, make_branch, make_committee, make_org, make_root, reload

TZ = ZoneInfo("Asia/Shanghai")
Q1 = period_containing("quarter", dt.date(2026, 2, 1))
Q2 = period_containing("quarter", dt.date(2026, 5, 1))


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


def held(org, kind, *moments, group=None, user=None):
    user = user or UserFactory()
    Activity.objects.bulk_create(
        [Activity(org=org, party_group=group, kind=kind, starts_at=m, topic="t", created_by=user) for m in moments]
    )


def only_rules(*kinds):
    ComplianceRule.objects.exclude(kind__in=kinds).update(enabled=False)


def branch_result(report, org):
    return next(b for b in report.branches if b.org.pk == org.pk)


@pytest.fixture
def tree(db):
    root = make_root("区委", code="R", established_on=dt.date(2020, 1, 1))
    committee = make_committee("行业党委", parent=root, code="C", established_on=dt.date(2020, 1, 1))
    a = make_branch("甲支部", parent=committee, code="A", established_on=dt.date(2020, 1, 1), has_committee=True)
    b = make_branch("乙支部", parent=committee, code="B", established_on=dt.date(2020, 1, 1))
    return reload(root), reload(committee), reload(a), reload(b)


def test_periods_parse_and_bounds():
    assert parse_period("quarter", "2026-Q1") == Q1
    assert Q1.start == dt.date(2026, 1, 1) and Q1.end == dt.date(2026, 3, 31)
    assert parse_period("month", "2026-02").end == dt.date(2026, 2, 28)
    assert parse_period("year", "2026").key == "2026"
    assert Q1.previous().key == "2025-Q4"
    assert [c.key for c in Q1.cycles("month")] == ["2026-01", "2026-02", "2026-03"]
    assert parse_period("month", "junk", today=dt.date(2026, 5, 5)).key == "2026-05"


def test_monthly_rule_over_a_quarter_counts_each_month(tree):
    root, _c, a, b = tree
    only_rules(ActivityKind.THEME_DAY)
    held(a, ActivityKind.THEME_DAY, at(2026, 1, 5), at(2026, 1, 20), at(2026, 3, 5))  # two in Jan do not make up Feb
    report = compliance_for_subtree(root=root, period=Q1)
    ra = branch_result(report, a)
    assert (ra.expected, ra.met, ra.held) == (3, 2, 3)
    assert ra.rate == pytest.approx(66.7)
    assert [g.cycle.key for g in ra.missing] == ["2026-02"]
    rb = branch_result(report, b)
    assert (rb.expected, rb.met) == (3, 0) and len(rb.missing) == 3


def test_quarter_boundaries_in_shanghai_time(tree):
    root, _c, a, b = tree
    only_rules(ActivityKind.PARTY_LECTURE)
    # 2026-03-31 23:59 +08:00 is 15:59 UTC: Q1. 2026-04-01 00:30 +08:00 is 2026-03-31 16:30 UTC: Q2.
    held(a, ActivityKind.PARTY_LECTURE, at(2026, 3, 31, 23, 59))
    held(b, ActivityKind.PARTY_LECTURE, at(2026, 4, 1, 0, 30))
    q1 = compliance_for_subtree(root=root, period=Q1)
    q2 = compliance_for_subtree(root=root, period=Q2)
    assert branch_result(q1, a).met == 1 and branch_result(q1, b).met == 0
    assert branch_result(q2, a).met == 0 and branch_result(q2, b).met == 1


def test_late_evening_on_last_day_of_month_counts_in_that_month(tree):
    root, _c, a, _b = tree
    only_rules(ActivityKind.THEME_DAY)
    held(a, ActivityKind.THEME_DAY, at(2026, 3, 31, 23, 30))  # 15:30 UTC
    march = compliance_for_subtree(root=root, period=parse_period("month", "2026-03"))
    april = compliance_for_subtree(root=root, period=parse_period("month", "2026-04"))
    assert branch_result(march, a).met == 1
    assert branch_result(april, a).met == 0


def test_committee_rule_only_where_a_committee_exists(tree):
    root, _c, a, b = tree
    only_rules(ActivityKind.COMMITTEE_MEETING)
    report = compliance_for_subtree(root=root, period=Q1)
    assert branch_result(report, a).expected == 3
    assert branch_result(report, b).expected == 0 and branch_result(report, b).missing == []


def test_party_group_rule_counts_each_group(tree):
    root, _c, a, _b = tree
    g1 = make_org("一组", parent=a, kind=OrgKind.PARTY_GROUP, code="A-1", established_on=dt.date(2020, 1, 1))
    g2 = make_org("二组", parent=a, kind=OrgKind.PARTY_GROUP, code="A-2", established_on=dt.date(2020, 1, 1))
    only_rules(ActivityKind.GROUP_MEETING)
    a = reload(a)
    held(a, ActivityKind.GROUP_MEETING, at(2026, 1, 3), at(2026, 2, 3), at(2026, 3, 3), group=g1)
    held(a, ActivityKind.GROUP_MEETING, at(2026, 1, 4), group=g2)
    held(a, ActivityKind.GROUP_MEETING, at(2026, 2, 4))  # no group: counts for nobody's group
    ra = branch_result(compliance_for_subtree(root=root, period=Q1), a)
    assert ra.expected == 6 and ra.met == 4
    assert {(g.group.name, g.cycle.key) for g in ra.missing} == {("二组", "2026-02"), ("二组", "2026-03")}


def test_branch_founded_on_last_day_of_quarter_is_exempt_for_that_quarter(tree):
    root, committee, _a, _b = tree
    only_rules(ActivityKind.GENERAL_MEETING)
    late = make_branch("新支部", parent=committee, code="N", established_on=dt.date(2026, 3, 31))
    first_day = make_branch("首日支部", parent=committee, code="F", established_on=dt.date(2026, 1, 1))
    q1 = compliance_for_subtree(root=reload(root), period=Q1)
    assert branch_result(q1, late).expected == 0 and branch_result(q1, late).rules[0].exempt_cycles == 1
    assert branch_result(q1, first_day).expected == 1
    assert branch_result(compliance_for_subtree(root=reload(root), period=Q2), late).expected == 1


def test_dissolved_branch_is_not_expected_in_the_cycle_it_dissolved(tree):
    root, committee, _a, _b = tree
    only_rules(ActivityKind.GENERAL_MEETING)
    gone = make_branch("撤销支部", parent=committee, code="X", established_on=dt.date(2020, 1, 1))
    type(gone).objects.filter(pk=gone.pk).update(status="dissolved", dissolved_on=dt.date(2026, 3, 15))
    q1 = compliance_for_subtree(root=reload(root), period=Q1)
    assert branch_result(q1, gone).expected == 0
    q4 = compliance_for_subtree(root=reload(root), period=parse_period("quarter", "2025-Q4"))
    assert branch_result(q4, gone).expected == 1  # it existed through the whole of Q4 2025
    assert all(b.org.pk != gone.pk for b in compliance_for_subtree(root=reload(root), period=Q2).branches)


def test_explicit_exemptions_rule_specific_and_all_rules(tree):
    root, _c, a, b = tree
    only_rules(ActivityKind.THEME_DAY, ActivityKind.PARTY_LECTURE)
    theme = ComplianceRule.objects.get(kind=ActivityKind.THEME_DAY)
    approver = UserFactory()
    Exemption.objects.create(org=a, rule=theme, starts_on=dt.date(2026, 2, 10), ends_on=dt.date(2026, 2, 12),
                             reason="春节", approved_by=approver)
    Exemption.objects.create(org=b, rule=None, starts_on=dt.date(2025, 12, 1), ends_on=dt.date(2026, 1, 1),
                             reason="整顿", approved_by=approver)
    report = compliance_for_subtree(root=root, period=Q1)
    ra, rb = branch_result(report, a), branch_result(report, b)
    assert {r.rule.kind: r.expected for r in ra.rules} == {"theme_day": 2, "party_lecture": 1}
    # an all-rules exemption overlapping the quarter's first day exempts the quarter and January
    assert {r.rule.kind: r.expected for r in rb.rules} == {"theme_day": 2, "party_lecture": 0}


def test_roll_up_sums_to_the_root(tree):
    root, committee, a, b = tree
    other = make_committee("区域党委", parent=root, code="D", established_on=dt.date(2020, 1, 1))
    c = make_branch("丙支部", parent=other, code="CC", established_on=dt.date(2020, 1, 1))
    held(a, ActivityKind.THEME_DAY, at(2026, 1, 5), at(2026, 2, 5))
    held(c, ActivityKind.GENERAL_MEETING, at(2026, 3, 5))
    report = compliance_for_subtree(root=reload(root), period=Q1)
    total = report.root_totals
    assert total.expected == sum(x.expected for x in report.branches)
    assert total.met == sum(x.met for x in report.branches) == 3
    assert total.branches == 3
    children = dict((o.code, t) for o, t in report.children())
    assert children["C"].expected + children["D"].expected == total.expected
    assert report.totals(reload(committee)).met == 2


def test_scope_cuts_the_report(tree):
    root, _c, a, b = tree
    secretary = UserFactory()
    grant(secretary, a, Role.SECRETARY)
    report = compliance_report(user=fresh(secretary), root=root, period=Q1)
    assert [x.org.pk for x in report.branches] == [a.pk]


def _build(root, n_branches):
    committee = make_committee(parent=root, established_on=dt.date(2020, 1, 1))
    user = UserFactory()
    for i in range(n_branches):
        br = make_branch(parent=committee, established_on=dt.date(2020, 1, 1), has_committee=bool(i % 2))
        g = make_org(parent=br, kind=OrgKind.PARTY_GROUP, established_on=dt.date(2020, 1, 1))
        held(br, ActivityKind.GROUP_MEETING, at(2026, 1, 2), group=g, user=user)
        held(br, ActivityKind.THEME_DAY, at(2026, 2, 2), user=user)


@pytest.mark.parametrize("period_kind", ["month", "quarter", "year"])
def test_query_count_constant_for_the_whole_district(tree, period_kind):
    root = tree[0]
    _build(root, 2)
    period = parse_period(period_kind, {"month": "2026-01", "quarter": "2026-Q1", "year": "2026"}[period_kind])
    with CaptureQueriesContext(connection) as small:
        compliance_for_subtree(root=reload(root), period=period)
    _build(reload(root), 12)
    with CaptureQueriesContext(connection) as large:
        report = compliance_for_subtree(root=reload(root), period=period)
    assert len(report.branches) == 16
    assert len(small) == len(large) <= 5


def test_cycles_not_started_yet_are_not_expected(tree):
    root, _c, a, _b = tree
    only_rules(ActivityKind.THEME_DAY)
    report = compliance_for_subtree(root=root, period=Q1, as_of=dt.date(2026, 2, 1))
    assert branch_result(report, a).expected == 2  # January and February (in progress), not March
