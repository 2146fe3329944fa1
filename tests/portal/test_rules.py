"""Rule rows (DOMAIN.md *rule rows*): seeded defaults, and editing a row changes behaviour."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from core.exceptions import DomainError
from core.models import Rule
from core.rules import rule_int, rule_values
from coverage.selectors.gaps import gap_missing_committees, gap_needs_own_branch, gap_oversized_branches
from members.models import Stage
from orgs.actions import org_create, org_update
from orgs.models import OrgKind
from tests.factories import MemberFactory, WorkplaceFactory, make_branch, names, set_rule

SEEDED = {
    "own_branch_min_full_members": Decimal("3"),
    "branch_max_members": Decimal("50"),
    "committee_min_full_members": Decimal("7"),
    "joint_branch_max_units": Decimal("5"),
    "committee_term_years": Decimal("3"),
}


def test_seeded_rule_rows_hold_the_domain_defaults(db):
    rows = {rule.key: rule for rule in Rule.objects.filter(key__in=SEEDED)}
    assert {key: rows[key].value for key in rows} == SEEDED
    for rule in rows.values():
        assert rule.label  # shown to district staff who edit them
        assert rule.unit


def test_rule_values_reads_many_rows_in_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        values = rule_values("branch_max_members", "committee_min_full_members")
    assert values == {"branch_max_members": Decimal("50"), "committee_min_full_members": Decimal("7")}
    assert rule_int("joint_branch_max_units") == 5


def test_missing_rule_row_is_a_configuration_error_naming_the_key(db):
    Rule.objects.filter(key="branch_max_members").delete()
    with pytest.raises(ImproperlyConfigured, match="branch_max_members"):
        rule_values("branch_max_members", "joint_branch_max_units")


def test_rule_value_cannot_be_negative(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Rule.objects.filter(key="branch_max_members").update(value=Decimal("-1"))


# ---------------------------------------------------------------- editing a row changes behaviour
def _joint_branch(world, workplaces, code):
    return org_create(
        actor=world.district_user, parent=world.food, kind=OrgKind.JOINT_BRANCH, name=f"联合党支部{code}", code=code,
        formation_mode="joint", workplaces=workplaces,
    )


def test_joint_branch_limit_follows_the_rule_row(world):
    three = WorkplaceFactory.create_batch(3, responsible_org=world.food, region=world.west)
    assert _joint_branch(world, three, "J-OK").workplaces.count() == 3

    set_rule("joint_branch_max_units", 2)
    with pytest.raises(DomainError) as excinfo:
        _joint_branch(world, three, "J-NO")
    assert excinfo.value.field == "workplaces"
    assert "不能超过2个" in str(excinfo.value.message)
    assert "3个" in str(excinfo.value.message)


def test_joint_branch_limit_also_applies_when_coverage_changes(world):
    three = WorkplaceFactory.create_batch(3, responsible_org=world.food, region=world.west)
    branch = _joint_branch(world, three[:2], "J-2")
    set_rule("joint_branch_max_units", 2)
    with pytest.raises(DomainError, match="不能超过2个"):
        org_update(actor=world.district_user, org=branch, workplaces=three)
    assert branch.workplaces.count() == 2


def test_own_branch_threshold_follows_the_rule_row(world):
    # wp_b has 3 full members under a joint branch; wp_c has 2 full + 2 probationary.
    assert names(gap_needs_own_branch(user=world.district_user)) == {"B中通东街网点"}
    set_rule("own_branch_min_full_members", 2)
    assert names(gap_needs_own_branch(user=world.district_user)) == {"B中通东街网点", "C韵达西分拣中心", "F美团东街站"}
    set_rule("own_branch_min_full_members", 4)
    assert names(gap_needs_own_branch(user=world.district_user)) == set()


def test_branch_size_limit_follows_the_rule_row(world):
    # jb holds 5 full + 2 probationary members (all with their relation here).
    assert names(gap_oversized_branches(user=world.district_user)) == set()
    set_rule("branch_max_members", 6)
    assert names(gap_oversized_branches(user=world.district_user)) == {"快递联合党支部"}


def test_committee_threshold_follows_the_rule_row(world):
    branch = make_branch("大支部", parent=world.food)
    MemberFactory.create_batch(6, org=branch, stage=Stage.FULL)
    assert "大支部" not in names(gap_missing_committees(user=world.district_user))
    set_rule("committee_min_full_members", 6)
    assert "大支部" in names(gap_missing_committees(user=world.district_user))
