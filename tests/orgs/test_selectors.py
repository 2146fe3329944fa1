"""Reads: coverage states, figures, gap lists, their agreement with the workplace list, query counts.

Figures for the `world` fixture are worked out by hand in tests/conftest.py's table.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coverage.selectors.figures import (
    annotate_coverage,
    coverage_by_child,
    coverage_by_industry,
    coverage_by_street,
    coverage_for_org,
    org_member_counts,
    org_summary_counts,
    workplace_list,
)
from coverage.selectors.gaps import gap_missing_committees, gap_needs_own_branch, gap_oversized_branches, gap_uncovered_workplaces
from members.models import Member, RelationKind, Stage
from orgs.actions import org_dissolve
from orgs.models import Organization, Role, Workplace
from orgs.selectors import CoverageState, org_ancestors, org_children, org_scope_roots, orgs_where
from tests.factories import (
    AssignmentFactory,
    InstructorFactory,
    MemberFactory,
    UserFactory,
    WorkplaceFactory,
    fresh,
    grant,
    make_branch,
    make_committee,
    make_region,
    make_root,
    names,
    reload,
    set_rule,
)

FIGURE_FIELDS = ("workplaces", "org_covered", "work_covered", "uncovered", "gig_workers", "gig_workers_org_covered",
                 "gig_workers_work_covered", "needs_own_branch")


def figures(f) -> tuple:
    return tuple(getattr(f, name) for name in FIGURE_FIELDS)


# ================================================================ coverage states
def test_annotate_coverage_states(world):
    rows = {wp.name[0]: wp for wp in annotate_coverage(Workplace.objects.all())}
    assert {key: wp.coverage_state for key, wp in rows.items()} == {
        "A": CoverageState.ORG, "B": CoverageState.ORG, "C": CoverageState.ORG, "D": CoverageState.WORK_ONLY,
        "E": CoverageState.NONE, "F": CoverageState.ORG, "G": CoverageState.WORK_ONLY, "H": CoverageState.ORG,
    }
    assert {key for key, wp in rows.items() if wp.own_branch} == {"A"}  # br_f is area-based, jb joint
    assert {key for key, wp in rows.items() if wp.assigned} == {"D", "G"}
    assert {key: wp.full_members for key, wp in rows.items() if wp.full_members} == {"A": 3, "B": 3, "C": 2, "F": 2}


def test_dissolved_org_no_longer_covers(world):
    """wp_g is still linked to the dissolved branch: not org-covered (the instructor keeps it work-covered)."""
    assert world.wp_g in world.br_dead.workplaces.all()
    wp_g = annotate_coverage(Workplace.objects.filter(pk=world.wp_g.pk)).get()
    assert (wp_g.org_covered, wp_g.own_branch, wp_g.coverage_state) == (False, False, CoverageState.WORK_ONLY)


def test_assignment_dates_decide_work_coverage(world):
    def state(wp, today):
        return annotate_coverage(Workplace.objects.filter(pk=wp.pk), today=today).get().coverage_state

    assert state(world.wp_e, world.today) == CoverageState.NONE  # ended yesterday
    assert state(world.wp_e, world.today - dt.timedelta(days=1)) == CoverageState.WORK_ONLY  # the last day counts
    assert state(world.wp_g, world.asg_g.started_on) == CoverageState.WORK_ONLY
    assert state(world.wp_g, world.asg_g.started_on - dt.timedelta(days=1)) == CoverageState.NONE
    # an assignment to an org does not cover a workplace
    AssignmentFactory(instructor=world.lao_li, workplace=None, org=world.express)
    assert state(world.wp_e, world.today) == CoverageState.NONE


def test_org_coverage_wins_over_assignment(world):
    AssignmentFactory(instructor=world.lao_li, workplace=world.wp_a)
    assert annotate_coverage(Workplace.objects.filter(pk=world.wp_a.pk)).get().coverage_state == CoverageState.ORG


# ================================================================ figures
def test_coverage_for_org_exact_figures(world):
    user = world.district_user
    root = coverage_for_org(user=user, org=world.root)
    assert figures(root) == (7, 4, 6, 1, 145, 100, 140, 1)
    assert (root.org_rate, root.work_rate) == (57.1, 85.7)
    assert (root.label, root.key) == ("区委两新工委", str(world.root.pk))

    express = coverage_for_org(user=user, org=world.express)
    assert figures(express) == (5, 3, 4, 1, 90, 70, 85, 1)
    assert (express.org_rate, express.work_rate) == (60.0, 80.0)

    food = coverage_for_org(user=user, org=world.food)
    assert figures(food) == (3, 2, 3, 0, 65, 40, 65, 0)
    assert (food.org_rate, food.work_rate) == (66.7, 100.0)

    jb = coverage_for_org(user=user, org=world.jb)
    assert figures(jb) == (2, 2, 2, 0, 30, 30, 30, 1)


def test_coverage_for_org_counts_only_what_the_user_sees(world):
    # the instructor sees the express subtree plus the assigned wp_g
    assert figures(coverage_for_org(user=world.instructor, org=world.root)) == (6, 3, 5, 1, 115, 70, 110, 1)
    assert figures(coverage_for_org(user=world.secretary, org=world.root)) == (2, 2, 2, 0, 30, 30, 30, 1)
    assert figures(coverage_for_org(user=world.nobody, org=world.root)) == (0,) * 8


def test_empty_org_has_no_rates(world):
    empty = make_branch("空白支部", parent=world.food)
    result = coverage_for_org(user=world.district_user, org=empty)
    assert figures(result) == (0,) * 8
    assert (result.org_rate, result.work_rate) == (None, None)


def test_coverage_by_child_agrees_with_coverage_for_org_of_each_child(world):
    for user in (world.district_user, world.viewer, world.instructor, world.superuser):
        for parent in (world.root, world.express, world.food):
            rows = coverage_by_child(user=user, org=parent)
            children = list(org_children(user=user, parent=parent))
            assert [row.key for row in rows] == [str(child.pk) for child in children]
            for row, child in zip(rows, children, strict=True):
                assert figures(row) == figures(coverage_for_org(user=user, org=child)), (user, child)
                assert row.label == child.name


def test_coverage_by_child_exact_figures(world):
    rows = coverage_by_child(user=world.district_user, org=world.root)
    assert [(row.label, figures(row)) for row in rows] == [
        ("快递行业党委", (5, 3, 4, 1, 90, 70, 85, 1)),
        ("外卖配送行业党委", (3, 2, 3, 0, 65, 40, 65, 0)),
    ]
    # the dissolved branch is not a row
    assert [row.label for row in coverage_by_child(user=world.district_user, org=world.food)] == ["美团站点党支部"]
    assert coverage_by_child(user=world.district_user, org=world.group) == []


def test_coverage_by_industry_exact_figures(world):
    rows = coverage_by_industry(user=world.district_user)
    assert [(row.key, row.label, figures(row)) for row in rows] == [
        ("express", "快递", (5, 3, 4, 1, 90, 70, 85, 1)),
        ("food_delivery", "外卖配送", (2, 1, 2, 0, 55, 30, 55, 0)),
    ]
    rows = coverage_by_industry(user=world.district_user, org=world.food)
    assert [(row.key, figures(row)) for row in rows] == [
        ("express", (1, 1, 1, 0, 10, 10, 10, 0)),
        ("food_delivery", (2, 1, 2, 0, 55, 30, 55, 0)),
    ]


def test_coverage_by_street_exact_figures(world):
    rows = coverage_by_street(user=world.district_user)
    assert [(row.label, figures(row)) for row in rows] == [
        ("区直属", (1, 0, 0, 1, 5, 0, 0, 0)),
        ("东街道", (3, 3, 3, 0, 90, 90, 90, 1)),  # community 东一社区 rolls up into its street
        ("西街道", (3, 1, 3, 0, 50, 10, 50, 0)),
    ]
    assert [row.key for row in rows] == [world.district.path, world.east.path, world.west.path]
    rows = coverage_by_street(user=world.district_user, org=world.food)
    assert [(row.label, figures(row)) for row in rows] == [
        ("东街道", (1, 1, 1, 0, 30, 30, 30, 0)),
        ("西街道", (2, 1, 2, 0, 35, 10, 35, 0)),
    ]


def test_breakdowns_add_up_to_the_whole(world):
    whole = coverage_for_org(user=world.district_user, org=world.root)
    for rows in (coverage_by_industry(user=world.district_user, org=world.root), coverage_by_street(user=world.district_user, org=world.root)):
        for name in FIGURE_FIELDS:
            assert sum(getattr(row, name) for row in rows) == getattr(whole, name), name


# ================================================================ the key invariant
@pytest.mark.parametrize("who", ["district_user", "secretary", "instructor", "viewer", "superuser"])
def test_org_figures_equal_the_filtered_workplace_list(world, who):
    user = getattr(world, who)
    visible = list(Organization.objects.restrict(user, "view"))
    assert visible
    for org in visible:
        f = coverage_for_org(user=user, org=org)
        listed = workplace_list(user=user, filters={"org": org.pk})
        if org.is_active:
            assert f.workplaces == listed.count(), org
            assert f.org_covered == workplace_list(user=user, filters={"org": org.pk, "coverage": "org"}).count(), org
            assert f.work_covered == workplace_list(user=user, filters={"org": org.pk, "coverage": "work"}).count(), org
            assert f.uncovered == workplace_list(user=user, filters={"org": org.pk, "coverage": "none"}).count(), org
            assert f.needs_own_branch == workplace_list(user=user, filters={"org": org.pk, "coverage": "needs_branch"}).count()
            assert f.gig_workers == sum(wp.gig_worker_count for wp in listed), org
        else:
            assert f.workplaces == 0 == listed.count()


# ================================================================ gap lists
def test_gap_uncovered_workplaces(world):
    assert names(gap_uncovered_workplaces(user=world.district_user)) == {"E快递平台区办"}
    assert names(gap_uncovered_workplaces(user=world.district_user, org=world.food)) == set()
    big = WorkplaceFactory(name="Z大平台", responsible_org=world.express, region=world.east, gig_worker_count=500)
    WorkplaceFactory(name="Y停业站", responsible_org=world.express, region=world.east, is_active=False)
    assert [wp.name for wp in gap_uncovered_workplaces(user=world.district_user, org=world.express)] == [big.name, "E快递平台区办"]
    assert names(gap_uncovered_workplaces(user=world.secretary)) == set()


def test_gap_needs_own_branch(world):
    assert [wp.name for wp in gap_needs_own_branch(user=world.district_user)] == ["B中通东街网点"]
    # probationary members do not count: wp_c has 2 full + 2 probationary
    MemberFactory(org=world.jb, workplace=world.wp_c, stage=Stage.PROBATIONARY)
    assert "C韵达西分拣中心" not in names(gap_needs_own_branch(user=world.district_user))
    # a fourth full member at an uncovered workplace puts it first
    for _ in range(4):
        MemberFactory(org=world.express, workplace=world.wp_e)
    assert [wp.name for wp in gap_needs_own_branch(user=world.district_user)] == ["E快递平台区办", "B中通东街网点"]
    assert [wp.full_members for wp in gap_needs_own_branch(user=world.district_user)] == [4, 3]
    assert names(gap_needs_own_branch(user=world.district_user, org=world.food)) == set()
    assert names(gap_needs_own_branch(user=world.secretary)) == {"B中通东街网点"}


def test_own_branch_settles_the_gap_until_dissolved(world):
    branch = make_branch("中通网点党支部", parent=world.express, workplaces=[world.wp_b])
    assert "B中通东街网点" not in names(gap_needs_own_branch(user=world.district_user))
    Member.objects.filter(workplace=world.wp_b).update(org=world.jb)
    org_dissolve(actor=world.district_user, org=branch, reason="并入联合支部")
    assert "B中通东街网点" in names(gap_needs_own_branch(user=world.district_user))


def _members(org, n, **kw):
    relation = kw.get("relation_kind", RelationKind.HELD)
    lost_since = dt.date(2026, 1, 1) if relation == RelationKind.LOST_CONTACT else None
    Member.objects.bulk_create([Member(name=f"{org.name}{i}", org=org, stage=kw.get("stage", Stage.FULL),
                                       relation_kind=relation, lost_contact_since=lost_since) for i in range(n)])


def test_gap_oversized_branches(world):
    held = make_branch("五十一人支部", parent=world.food)
    _members(held, 48)
    _members(held, 2, relation_kind=RelationKind.POCKET)
    _members(held, 1, relation_kind=RelationKind.LOST_CONTACT, stage=Stage.PROBATIONARY)
    at_limit = make_branch("五十人支部", parent=world.food)
    _members(at_limit, 50)
    _members(at_limit, 10, relation_kind=RelationKind.MOBILE)  # mobile members belong elsewhere
    _members(at_limit, 5, stage=Stage.APPLICANT)  # not yet Party members
    result = list(gap_oversized_branches(user=world.district_user))
    assert [(org.name, org.member_count) for org in result] == [("五十一人支部", 51)]
    assert list(gap_oversized_branches(user=world.district_user, org=world.express)) == []
    assert list(gap_oversized_branches(user=world.secretary)) == []


def test_gap_missing_committees(world):
    seven = make_branch("七人支部", parent=world.food)
    _members(seven, 7)
    with_committee = make_branch("有支委会支部", parent=world.food, has_committee=True)
    _members(with_committee, 9)
    six_plus = make_branch("六人支部", parent=world.food)
    _members(six_plus, 6)
    _members(six_plus, 3, stage=Stage.PROBATIONARY)
    _members(six_plus, 2, relation_kind=RelationKind.MOBILE)
    result = list(gap_missing_committees(user=world.district_user))
    assert [(org.name, org.full_member_count) for org in result] == [("七人支部", 7)]
    set_rule("committee_min_full_members", 6)
    assert names(gap_missing_committees(user=world.district_user)) == {"七人支部", "六人支部"}
    assert names(gap_missing_committees(user=world.district_user, org=world.express)) == set()


# ================================================================ tree reads
def test_tree_reads(world):
    assert list(org_scope_roots(user=world.secretary)) == [world.jb]
    assert list(org_scope_roots(user=world.superuser)) == [world.root]
    assert list(org_scope_roots(user=world.nobody)) == []
    assert org_ancestors(user=world.district_user, org=world.group) == [world.root, world.express, world.jb]
    assert org_ancestors(user=world.secretary, org=world.group) == [world.jb]
    assert list(org_children(user=world.district_user, parent=world.food)) == [world.br_f]
    assert list(org_children(user=world.district_user, parent=world.food, include_dissolved=True)) == [world.br_f, world.br_dead]
    assert list(org_children(user=world.secretary, parent=world.express)) == [world.jb]


def test_orgs_where(world):
    assert set(orgs_where(user=world.district_user, perm="workplace.add")) == set(Organization.objects.active())
    assert list(orgs_where(user=world.secretary, perm="workplace.add")) == []
    assert set(orgs_where(user=world.secretary, perm="workplace.change")) == {world.jb, world.group}


def test_org_member_and_summary_counts(world):
    MemberFactory(org=world.jb, stage=Stage.APPLICANT)
    MemberFactory(org=world.jb, relation_kind=RelationKind.MOBILE)
    assert org_member_counts(org=world.express) == {
        "subtree_party": 12, "subtree_full": 9, "own_party": 0, "own_full": 0, "own_pipeline": 0}
    assert org_member_counts(org=world.jb) == {
        "subtree_party": 8, "subtree_full": 6, "own_party": 7, "own_full": 6, "own_pipeline": 1}
    assert org_summary_counts(user=world.district_user, org=world.root) == {
        "branches": 3, "committees": 2, "general_branches": 0, "party_groups": 1}
    assert org_summary_counts(user=world.secretary, org=world.root) == {
        "branches": 1, "committees": 0, "general_branches": 0, "party_groups": 1}


# ================================================================ query counts hold as rows grow
def _grow(committee, region, n, start):
    """n workplaces, each covered by its own branch with 2 members, half with an instructor assignment."""
    instructor = InstructorFactory(org=committee)
    for i in range(start, start + n):
        wp = WorkplaceFactory(name=f"站点{i:03d}", responsible_org=committee, region=region, gig_worker_count=i)
        branch = make_branch(f"站点{i:03d}党支部", parent=committee, workplaces=[wp])
        MemberFactory.create_batch(2, org=branch, workplace=wp)
        if i % 2:
            AssignmentFactory(instructor=instructor, workplace=wp)


def _query_counts(user, org) -> dict[str, int]:
    calls = {
        "coverage_for_org": lambda u: coverage_for_org(user=u, org=org),
        "coverage_by_child": lambda u: coverage_by_child(user=u, org=org),
        "coverage_by_industry": lambda u: coverage_by_industry(user=u, org=org),
        "coverage_by_street": lambda u: coverage_by_street(user=u, org=org),
        "gap_uncovered": lambda u: [(w.region.name, w.responsible_org.name) for w in gap_uncovered_workplaces(user=u, org=org)],
        "gap_needs_own_branch": lambda u: [(w.region.name, w.responsible_org.name) for w in gap_needs_own_branch(user=u, org=org)],
        "gap_oversized": lambda u: [str(o.region) for o in gap_oversized_branches(user=u, org=org)],
        "gap_missing_committees": lambda u: [str(o.region) for o in gap_missing_committees(user=u, org=org)],
        "workplace_list": lambda u: [(w.region.name, w.responsible_org.name, w.coverage_state)
                                     for w in workplace_list(user=u, filters={"org": org.pk, "coverage": "work"})],
        "org_summary_counts": lambda u: org_summary_counts(user=u, org=org),
    }
    counts = {}
    for name, call in calls.items():
        fresh_user = fresh(user)  # grants are cached per user object, as per request
        with CaptureQueriesContext(connection) as ctx:
            call(fresh_user)
        counts[name] = len(ctx.captured_queries)
    return counts


def test_query_counts_do_not_grow_with_rows(db):
    region = make_region("区")
    street = make_region("街道", parent=region)
    root = make_root(region=region)
    committee = make_committee("大行业党委", parent=root)
    user = UserFactory()
    grant(user, root, Role.DISTRICT)

    _grow(committee, street, 5, 0)
    small = _query_counts(user, reload(committee))
    _grow(committee, street, 45, 5)
    large = _query_counts(user, reload(committee))

    assert small == large
    assert coverage_for_org(user=user, org=committee).workplaces == 50
    assert len(coverage_by_child(user=user, org=committee)) == 50
    # the pins themselves: grants (1) + rule row (1) + one aggregate
    assert small["coverage_for_org"] == 3
    assert small["coverage_by_child"] == 4  # grants, children, rule row, one aggregate
