"""One-row rules of the org models: clean(), constraints, the kind table, the subtree predicate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from members.models import PARTY_MEMBER_STAGES, RELATION_HERE, RelationKind, Stage
from orgs.models import (
    ALLOWED_CHILD_KINDS,
    BRANCH_KINDS,
    Assignment,
    FormationMode,
    Organization,
    OrgEvent,
    OrgKind,
    OrgStatus,
    Role,
    RoleGrant,
    Workplace,
)
from tests.factories import AssignmentFactory, UserFactory, WorkplaceFactory, names, reload


def _org(**kw) -> Organization:
    defaults = {"kind": OrgKind.BRANCH, "name": "支部", "code": "C1", "formation_mode": FormationMode.SINGLE}
    defaults.update(kw)
    return Organization(**defaults)


# ---------------------------------------------------------------- organizations
def test_branch_needs_formation_mode():
    with pytest.raises(ValidationError) as excinfo:
        _org(formation_mode="").clean()
    assert excinfo.value.message_dict == {"formation_mode": ["党支部须填写组建方式。"]}
    with pytest.raises(ValidationError):
        _org(kind=OrgKind.JOINT_BRANCH, formation_mode="").clean()
    _org(kind=OrgKind.INDUSTRY_COMMITTEE, formation_mode="").clean()  # committees need none


def test_joint_branch_cannot_be_single_formation():
    with pytest.raises(ValidationError) as excinfo:
        _org(kind=OrgKind.JOINT_BRANCH, formation_mode=FormationMode.SINGLE).clean()
    assert "formation_mode" in excinfo.value.message_dict
    for mode in (FormationMode.JOINT, FormationMode.AREA, FormationMode.INDUSTRY):
        _org(kind=OrgKind.JOINT_BRANCH, formation_mode=mode).clean()


def test_org_properties_and_str():
    assert _org().is_branch and _org(kind=OrgKind.JOINT_BRANCH).is_branch
    assert not _org(kind=OrgKind.GENERAL_BRANCH).is_branch
    assert _org().is_active
    assert not _org(status=OrgStatus.DISSOLVED).is_active
    assert str(_org(name="快递联合党支部")) == "快递联合党支部"


def test_dissolved_on_must_match_status(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=world.br_a.pk).update(status=OrgStatus.DISSOLVED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=world.br_a.pk).update(dissolved_on=dt.date(2024, 1, 1))
    assert reload(world.br_dead).dissolved_on is not None


def test_org_code_is_unique(world):
    org = reload(world.jb)
    org.code = "EXP-A"
    with pytest.raises(ValidationError) as excinfo:
        org.validate_unique()
    assert "code" in excinfo.value.message_dict


def test_active_queryset(world):
    assert "已撤销党支部" not in names(Organization.objects.active())
    assert Organization.objects.active().count() == Organization.objects.count() - 1


# ---------------------------------------------------------------- the kind table
def test_allowed_child_kinds_cover_every_kind():
    assert set(ALLOWED_CHILD_KINDS) == set(OrgKind.values)
    for children in ALLOWED_CHILD_KINDS.values():
        assert set(children) <= set(OrgKind.values)


def test_party_groups_sit_only_under_branches_and_are_leaves():
    assert ALLOWED_CHILD_KINDS[OrgKind.PARTY_GROUP] == ()
    parents_of_groups = {parent for parent, children in ALLOWED_CHILD_KINDS.items() if OrgKind.PARTY_GROUP in children}
    assert parents_of_groups == set(BRANCH_KINDS)


def test_nothing_sits_under_a_branch_but_groups_and_nothing_above_the_district():
    for kind in BRANCH_KINDS:
        assert ALLOWED_CHILD_KINDS[kind] == (OrgKind.PARTY_GROUP,)
    assert all(OrgKind.DISTRICT_COMMITTEE not in children for children in ALLOWED_CHILD_KINDS.values())


# ---------------------------------------------------------------- workplaces
@pytest.mark.parametrize(
    "field,value",
    [("latitude", Decimal("90.000001")), ("latitude", Decimal("-90.5")), ("longitude", Decimal("180.5")), ("longitude", Decimal("-181"))],
)
def test_coordinates_out_of_range_are_refused_by_the_database(world, field, value):
    wp = WorkplaceFactory.build(responsible_org=world.express, region=world.east, **{field: value})
    with pytest.raises(ValidationError):
        wp.validate_constraints()
    with pytest.raises(IntegrityError), transaction.atomic():
        wp.save()


def test_coordinates_out_of_range_are_field_errors_in_chinese(world):
    wp = WorkplaceFactory.build(responsible_org=world.express, region=world.east, latitude=Decimal("91"), longitude=Decimal("181"))
    with pytest.raises(ValidationError) as excinfo:
        wp.full_clean()
    assert excinfo.value.message_dict["latitude"] == ["纬度应在 -90 到 90 之间。"]
    assert excinfo.value.message_dict["longitude"] == ["经度应在 -180 到 180 之间。"]


def test_coordinates_on_the_edge_are_fine(world):
    wp = WorkplaceFactory(responsible_org=world.express, region=world.east, latitude=Decimal("-90"), longitude=Decimal("180"))
    assert reload(wp).latitude == Decimal("-90")


def test_workplaces_are_ordered_by_name(world):
    assert [wp.name[0] for wp in Workplace.objects.all()] == list("ABCDEFGH")
    assert str(world.wp_a) == "A顺丰东一站"


def test_in_subtrees_q_responsible_or_covered_by_an_active_org_there(world):
    def under(*orgs):
        return names(Workplace.objects.filter(Workplace.in_subtrees_q([o.path for o in orgs])))

    assert under(world.jb) == {"B中通东街网点", "C韵达西分拣中心"}  # covered there, responsible elsewhere
    assert under(world.br_dead) == set()  # a dissolved org covers nothing
    assert under(world.food) == {"C韵达西分拣中心", "F美团东街站", "G饿了么西街站", "H外卖楼宇（停业）"}
    assert under(world.br_a, world.br_f) == {"A顺丰东一站", "F美团东街站", "H外卖楼宇（停业）"}


# ---------------------------------------------------------------- assignments
def test_assignment_clean_needs_exactly_one_target(world):
    both = Assignment(instructor=world.lao_li, workplace=world.wp_a, org=world.jb, started_on=world.today)
    with pytest.raises(ValidationError, match="请选择联系单位或联系党组织中的一项"):
        both.clean()
    neither = Assignment(instructor=world.lao_li, started_on=world.today)
    with pytest.raises(ValidationError, match="请选择联系单位或联系党组织中的一项"):
        neither.clean()


def test_assignment_clean_end_not_before_start(world):
    asg = Assignment(instructor=world.lao_li, workplace=world.wp_a, started_on=world.today, ended_on=world.today - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as excinfo:
        asg.clean()
    assert list(excinfo.value.message_dict) == ["ended_on"]
    Assignment(instructor=world.lao_li, workplace=world.wp_a, started_on=world.today, ended_on=world.today).clean()


def test_assignment_constraints_in_the_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        AssignmentFactory(instructor=world.lao_li, workplace=world.wp_a, org=world.jb)
    with pytest.raises(IntegrityError), transaction.atomic():
        AssignmentFactory(instructor=world.lao_li, workplace=None, org=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        AssignmentFactory(instructor=world.lao_li, workplace=world.wp_a, started_on=world.today, ended_on=world.today - dt.timedelta(days=1))


def test_assignment_str(world):
    assert str(world.asg_d) == "老李 → D圆通加盟公司"


# ---------------------------------------------------------------- events, grants, members
def test_org_events_newest_first(world):
    org = world.br_a
    OrgEvent.objects.create(org=org, kind="updated", happened_on=dt.date(2000, 1, 1))
    OrgEvent.objects.create(org=org, kind="renamed", happened_on=dt.date(2100, 1, 1))
    OrgEvent.objects.create(org=org, kind="coverage", happened_on=dt.date(2100, 1, 1))
    assert [event.kind for event in OrgEvent.objects.filter(org=org)] == ["coverage", "renamed", "established", "updated"]
    dissolved = OrgEvent.objects.get(org=world.br_dead, kind="dissolved")
    assert str(dissolved) == f"已撤销党支部 撤销 {dissolved.happened_on}"


def test_role_grant_is_unique_per_user_org_role(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(user=world.secretary, org=world.jb, role=Role.SECRETARY)
    RoleGrant.objects.create(user=world.secretary, org=world.jb, role=Role.VIEWER)


def test_user_str_prefers_display_name(db):
    assert str(UserFactory(username="li", display_name="李书记")) == "李书记"
    assert str(UserFactory(username="wang", display_name="")) == "wang"


def test_member_constants():
    assert RelationKind.MOBILE not in RELATION_HERE
    assert set(RELATION_HERE) == {RelationKind.HELD, RelationKind.POCKET, RelationKind.LOST_CONTACT}
    assert set(PARTY_MEMBER_STAGES) == {Stage.PROBATIONARY, Stage.FULL}
