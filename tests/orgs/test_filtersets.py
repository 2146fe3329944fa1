"""WorkplaceFilterSet, through workplace_list (the one way the UI and API use it) and directly."""

from __future__ import annotations

from coverage.filtersets import WorkplaceFilterSet
from coverage.selectors.figures import annotate_coverage, workplace_list
from orgs.models import Workplace
from tests.factories import names

A, B, C, D, E, F, G, H = "A顺丰东一站", "B中通东街网点", "C韵达西分拣中心", "D圆通加盟公司", "E快递平台区办", "F美团东街站", "G饿了么西街站", "H外卖楼宇（停业）"
ACTIVE = {A, B, C, D, E, F, G}


def listed(world, user=None, **filters) -> set[str]:
    return names(workplace_list(user=user or world.district_user, filters=filters))


# ---------------------------------------------------------------- status (default hides closed workplaces)
def test_default_hides_closed_workplaces(world):
    assert listed(world) == ACTIVE
    assert listed(world, status="") == ACTIVE


def test_status_closed_and_all(world):
    assert listed(world, status="closed") == {H}
    assert listed(world, status="all") == ACTIVE | {H}


def test_status_active_lists_only_active(world):
    assert listed(world, status="active") == ACTIVE


# ---------------------------------------------------------------- one filter at a time
Q_CASES = [("顺丰", {A}), ("a顺丰", {A}), ("大道", {E}), ("  西  ", {C, G}), ("   ", ACTIVE), ("不存在", set())]
INDUSTRY_CASES = [("express", {A, B, C, D, E}), ("food_delivery", {F, G}), ("domestic", set())]
KIND_CASES = [("station", {A, B, F, G}), ("sorting_center", {C}), ("franchise", {D}), ("platform", {E}), ("park", set())]
COVERAGE_CASES = [("org", {A, B, C, F}), ("work", {A, B, C, D, F, G}), ("work_only", {D, G}), ("none", {E}), ("needs_branch", {B})]
ORG_CASES = [("root", ACTIVE), ("express", {A, B, C, D, E}), ("jb", {B, C}), ("group", set()), ("food", {C, F, G}), ("br_a", {A})]
TRADE_UNION_CASES = [("true", {B, F}), ("false", {A, C, D, E, G}), ("", ACTIVE)]
# One world per filter: each case is checked in a loop and named in the failure message.


def check_cases(world, name, cases):
    wrong = {value: (got, expected) for value, expected in cases if (got := listed(world, **{name: value})) != expected}
    assert wrong == {}, f"{name}: value -> (got, expected)"


def test_q_searches_name_and_address(world):
    check_cases(world, "q", Q_CASES)


def test_region_filter_covers_the_region_subtree(world):
    assert listed(world, region=world.east.pk) == {A, B, F}  # A sits in a community of the street
    assert listed(world, region=world.east_one.pk) == {A}
    assert listed(world, region=world.east_one.pk, status="all") == {A, H}
    assert listed(world, region=world.west.pk) == {C, D, G}
    assert listed(world, region=world.district.pk) == ACTIVE


def test_industry_filter(world):
    check_cases(world, "industry", INDUSTRY_CASES)


def test_kind_filter(world):
    check_cases(world, "kind", KIND_CASES)


def test_coverage_filter(world):
    check_cases(world, "coverage", COVERAGE_CASES)


def test_coverage_states_match_the_annotation(world):
    rows = {wp.name: wp.coverage_state for wp in annotate_coverage(Workplace.objects.filter(is_active=True))}
    for state in ("org", "work_only", "none"):
        assert listed(world, coverage=state) == {name for name, s in rows.items() if s == state}


def test_org_filter_covers_the_org_subtree(world):
    check_cases(world, "org", [(getattr(world, attr).pk, expected) for attr, expected in ORG_CASES])


def test_org_filter_refuses_dissolved_and_out_of_scope_orgs(world):
    assert listed(world, org=world.br_dead.pk) == set()
    assert listed(world, user=world.secretary, org=world.express.pk) == set()
    assert listed(world, user=world.secretary, org=world.jb.pk) == {B, C}


def test_has_trade_union_filter(world):
    check_cases(world, "has_trade_union", TRADE_UNION_CASES)


# ---------------------------------------------------------------- combinations, scope and bad input
def test_filters_combine(world):
    assert listed(world, industry="express", coverage="org", region=world.west.pk) == {C}
    assert listed(world, org=world.express.pk, coverage="none") == {E}
    assert listed(world, org=world.food.pk, kind="station", coverage="work_only") == {G}


def test_filters_stay_inside_the_users_scope(world):
    assert listed(world, user=world.secretary) == {B, C}
    assert listed(world, user=world.instructor, industry="food_delivery") == {G}
    assert listed(world, user=world.nobody) == set()


def test_invalid_filter_values_list_nothing(world):
    for bad in ({"coverage": "bogus"}, {"industry": "mining"}, {"region": "999999"}, {"org": "abc"}, {"status": "gone"}):
        assert listed(world, **bad) == set(), bad


def test_filterset_org_choices_are_the_users_visible_active_orgs(world):
    fs = WorkplaceFilterSet({}, queryset=Workplace.objects.all(), request_user=world.secretary)
    assert list(fs.filters["org"].queryset) == [world.jb, world.group]
    fs = WorkplaceFilterSet({}, queryset=Workplace.objects.all(), request_user=world.district_user)
    assert world.br_dead not in fs.filters["org"].queryset
    fs = WorkplaceFilterSet({}, queryset=Workplace.objects.all())
    assert not fs.filters["org"].queryset.exists()


def test_unbound_filterset_hides_closed_workplaces(world):
    fs = WorkplaceFilterSet(None, queryset=annotate_coverage(Workplace.objects.all()), request_user=world.district_user)
    assert names(fs.qs) == ACTIVE
