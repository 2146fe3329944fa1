"""Writes to the org tree, workplaces and assignments (orgs/actions.py)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from core.audit import SYSTEM
from core.exceptions import ConflictError, DomainError
from members.models import Member, Stage
from orgs.actions import (
    assignment_create,
    assignment_end,
    org_create,
    org_dissolve,
    org_merge,
    org_move,
    org_update,
    workplace_create,
    workplace_update,
)
from orgs.models import (
    ALLOWED_CHILD_KINDS,
    Assignment,
    AssignmentRole,
    FormationMode,
    Organization,
    OrgEvent,
    OrgEventKind,
    OrgKind,
    OrgStatus,
    Role,
    Workplace,
    WorkplaceKind,
)
from tests.factories import (
    AssignmentFactory,
    InstructorFactory,
    MemberFactory,
    UserFactory,
    WorkplaceFactory,
    grant,
    make_branch,
    make_committee,
    make_joint_branch,
    make_org,
    make_region,
    make_root,
    names,
    reload,
    set_rule,
)


def assert_tree_consistent():
    assert Organization.objects.find_problems() == ([], [], [], [], [])


def events(org, kind=None):
    qs = OrgEvent.objects.filter(org=org)
    return list(qs.filter(kind=kind) if kind else qs)


def create(actor, parent, kind, code, **kw):
    kw.setdefault("name", f"新组织{code}")
    return org_create(actor=actor, parent=parent, kind=kind, code=code, **kw)


# ================================================================ org_create
@pytest.mark.parametrize("parent_kind", [k.value for k in OrgKind])
def test_org_create_allows_exactly_the_child_kinds_of_the_parent(db, parent_kind):
    root = make_root()
    admin = UserFactory(is_superuser=True)
    # build a parent of the wanted kind along an allowed chain
    chain = {
        OrgKind.DISTRICT_COMMITTEE: [],
        OrgKind.INDUSTRY_COMMITTEE: [OrgKind.INDUSTRY_COMMITTEE],
        OrgKind.REGIONAL_COMMITTEE: [OrgKind.REGIONAL_COMMITTEE],
        OrgKind.GENERAL_BRANCH: [OrgKind.GENERAL_BRANCH],
        OrgKind.BRANCH: [OrgKind.BRANCH],
        OrgKind.JOINT_BRANCH: [OrgKind.JOINT_BRANCH],
        OrgKind.PARTY_GROUP: [OrgKind.BRANCH, OrgKind.PARTY_GROUP],
    }[parent_kind]
    parent = root
    for kind in chain:
        parent = make_org(parent=parent, kind=kind)
    for i, kind in enumerate(OrgKind.values):
        mode = {OrgKind.BRANCH: "single", OrgKind.JOINT_BRANCH: "joint"}.get(kind, "")
        if kind in ALLOWED_CHILD_KINDS[parent_kind]:
            child = create(admin, parent, kind, f"K{i}", formation_mode=mode)
            assert Organization.objects.get_parent(reload(child)).pk == parent.pk
        else:
            with pytest.raises(DomainError) as excinfo:
                create(admin, parent, kind, f"K{i}", formation_mode=mode)
            assert excinfo.value.field == "kind"
            assert "下不能设立" in str(excinfo.value.message)
            assert str(OrgKind(kind).label) in str(excinfo.value.message)
    assert_tree_consistent()


def test_org_create_refusal_names_parent_and_kinds_in_chinese(world):
    with pytest.raises(DomainError) as excinfo:
        create(world.district_user, world.group, OrgKind.BRANCH, "X1", formation_mode="single")
    assert str(excinfo.value.message) == "“第一党小组”（党小组）下不能设立党支部。"


def test_org_create_unknown_kind_is_a_domain_error(world):
    with pytest.raises(DomainError) as excinfo:
        create(world.district_user, world.express, "bogus", "X2")
    assert (excinfo.value.field, str(excinfo.value.message)) == ("kind", "未知的组织类别。")
    assert not Organization.objects.filter(code="X2").exists()


def test_org_create_records_established_event_and_covers_workplaces(world):
    wp = WorkplaceFactory(name="新网点", responsible_org=world.express, region=world.east)
    org = org_create(
        actor=world.district_user, parent=world.express, kind=OrgKind.BRANCH, name="新网点党支部", code="EXP-N",
        formation_mode=FormationMode.SINGLE, workplaces=[wp], established_on=dt.date(2024, 7, 1),
        document_number="区两新工委〔2024〕12号", reason="单位党员达3人",
    )
    org = reload(org)
    assert org.status == OrgStatus.ACTIVE and org.dissolved_on is None
    assert org.depth == world.express.depth + 1 and org.path.startswith(world.express.path)
    assert list(org.workplaces.all()) == [wp]
    (event,) = events(org)
    assert event.kind == OrgEventKind.ESTABLISHED
    assert event.happened_on == dt.date(2024, 7, 1)
    assert event.document_number == "区两新工委〔2024〕12号"
    assert event.reason == "单位党员达3人"
    assert event.actor == world.district_user
    assert event.details == {"parent": "快递行业党委", "workplaces": ["新网点"]}
    assert reload(world.express).numchild == 3
    assert_tree_consistent()


def test_org_create_defaults_established_on_to_today(world):
    org = create(world.district_user, world.express, OrgKind.GENERAL_BRANCH, "EXP-G")
    assert org.established_on == world.today
    assert events(org)[0].happened_on == world.today


def test_org_create_refuses_duplicate_code(world):
    with pytest.raises(DomainError) as excinfo:
        create(world.district_user, world.express, OrgKind.GENERAL_BRANCH, "EXP-A")
    assert excinfo.value.field == "code"
    assert str(excinfo.value.message) == "组织代码“EXP-A”已被使用。"
    assert Organization.objects.filter(code="EXP-A").count() == 1


def test_org_create_refuses_under_a_dissolved_parent(world):
    with pytest.raises(DomainError) as excinfo:
        create(world.district_user, world.br_dead, OrgKind.PARTY_GROUP, "DEAD-G")
    assert excinfo.value.field == "parent"
    assert "已撤销" in str(excinfo.value.message)


def test_org_create_refuses_a_branch_without_formation_mode(world):
    with pytest.raises(DomainError) as excinfo:
        create(world.district_user, world.express, OrgKind.BRANCH, "EXP-NF", formation_mode="")
    assert excinfo.value.field == "formation_mode"
    assert "组建方式" in str(excinfo.value.message)


def test_org_create_refuses_single_formation_for_a_joint_branch(world):
    with pytest.raises(DomainError, match="联合党支部的组建方式不能是“单独组建”"):
        create(world.district_user, world.express, OrgKind.JOINT_BRANCH, "EXP-JS", formation_mode="single")


def test_single_formation_covers_at_most_one_workplace(world):
    two = WorkplaceFactory.create_batch(2, responsible_org=world.express, region=world.east)
    with pytest.raises(DomainError) as excinfo:
        create(world.district_user, world.express, OrgKind.BRANCH, "EXP-S2", formation_mode="single", workplaces=two)
    assert excinfo.value.field == "workplaces"
    assert str(excinfo.value.message) == "单独组建的党支部只能覆盖一个单位。"
    assert not Organization.objects.filter(code="EXP-S2").exists()
    assert create(world.district_user, world.express, OrgKind.BRANCH, "EXP-S1", formation_mode="single", workplaces=two[:1])


def test_joint_branch_covers_at_most_the_rule_row_of_workplaces(world):
    six = WorkplaceFactory.create_batch(6, responsible_org=world.express, region=world.east)
    with pytest.raises(DomainError) as excinfo:
        create(world.district_user, world.express, OrgKind.JOINT_BRANCH, "EXP-J6", formation_mode="joint", workplaces=six)
    assert str(excinfo.value.message) == "联合党支部覆盖单位不能超过5个（当前选择了6个）。"
    assert create(world.district_user, world.express, OrgKind.JOINT_BRANCH, "EXP-J5", formation_mode="joint", workplaces=six[:5])
    # a plain branch formed jointly counts the same way
    with pytest.raises(DomainError, match="不能超过5个"):
        create(world.district_user, world.express, OrgKind.BRANCH, "EXP-BJ", formation_mode="joint", workplaces=six)


def test_workplace_count_rules_hold_for_system_writes_too(world):
    set_rule("joint_branch_max_units", 2)
    three = WorkplaceFactory.create_batch(3, responsible_org=world.express, region=world.east)
    with pytest.raises(DomainError, match="不能超过2个"):
        make_joint_branch("系统导入联合支部", parent=world.express, workplaces=three)
    with pytest.raises(DomainError, match="只能覆盖一个单位"):
        make_branch("系统导入单独支部", parent=world.express, workplaces=three[:2])
    assert not Organization.objects.filter(name__startswith="系统导入").exists()


def test_org_create_refuses_workplaces_outside_the_actors_scope(world):
    staff = UserFactory()
    grant(staff, world.express, Role.DISTRICT)
    with pytest.raises(DomainError, match="所选覆盖单位不在您的管理范围内"):
        create(staff, world.express, OrgKind.BRANCH, "EXP-OUT", formation_mode="single", workplaces=[world.wp_f])


@pytest.mark.parametrize("who", ["secretary", "viewer", "instructor", "nobody"])
def test_org_create_refused_without_add_permission_at_parent(world, who):
    with pytest.raises(DomainError) as excinfo:
        create(getattr(world, who), world.jb, OrgKind.PARTY_GROUP, f"G-{who}")
    assert str(excinfo.value.message) == "您无权在该党组织下设立组织。"
    assert not Organization.objects.filter(code=f"G-{who}").exists()


def test_org_create_refused_outside_the_granted_subtree(world):
    staff = UserFactory()
    grant(staff, world.express, Role.DISTRICT)
    assert create(staff, world.express, OrgKind.GENERAL_BRANCH, "EXP-OK")
    with pytest.raises(DomainError, match="您无权在该党组织下设立组织"):
        create(staff, world.food, OrgKind.GENERAL_BRANCH, "FOOD-NO")


def test_root_org_only_once_and_only_by_the_system_or_a_superuser(db):
    district = UserFactory()
    with pytest.raises(DomainError, match="只有系统管理员可以建立根组织"):
        org_create(actor=district, parent=None, kind=OrgKind.DISTRICT_COMMITTEE, name="根", code="R1")
    admin = UserFactory(is_superuser=True)
    root = org_create(actor=admin, parent=None, kind=OrgKind.DISTRICT_COMMITTEE, name="根", code="R1")
    assert root.depth == 1 and events(root)[0].details["parent"] is None
    with pytest.raises(DomainError, match="根组织已存在"):
        org_create(actor=admin, parent=None, kind=OrgKind.DISTRICT_COMMITTEE, name="根2", code="R2")


# ================================================================ org_update
def test_org_update_rename_writes_renamed_event_with_old_and_new(world):
    org = org_update(actor=world.secretary, org=world.jb, name="快递第一联合党支部", document_number="文2024-3", reason="更名")
    assert reload(org).name == "快递第一联合党支部"
    (event,) = events(org, OrgEventKind.RENAMED)
    assert event.details == {"name": ["快递联合党支部", "快递第一联合党支部"]}
    assert event.document_number == "文2024-3"
    assert event.actor == world.secretary
    assert events(org, OrgEventKind.UPDATED) == []


def test_org_update_other_fields_write_updated_event_with_diff(world):
    org = org_update(actor=world.district_user, org=world.br_a, secretary_name="张三", has_committee=True,
                     committee_elected_on=dt.date(2024, 3, 1), document_number="文2024-9", reason="选举产生支委会")
    (event,) = events(org, OrgEventKind.UPDATED)
    assert event.details == {
        "secretary_name": ["", "张三"], "has_committee": [False, True], "committee_elected_on": [None, "2024-03-01"],
    }
    assert events(org, OrgEventKind.RENAMED) == []


def test_org_update_without_changes_writes_no_event(world):
    before = OrgEvent.objects.count()
    org_update(actor=world.district_user, org=world.br_a, name=world.br_a.name, workplaces=[world.wp_a])
    assert OrgEvent.objects.count() == before


def test_org_update_coverage_change_writes_coverage_event(world):
    new_wp = WorkplaceFactory(name="新增网点", responsible_org=world.express, region=world.east)
    org = org_update(actor=world.district_user, org=world.jb, workplaces=[world.wp_b, world.wp_c, new_wp], reason="扩大覆盖")
    assert names(org.workplaces.all()) == {"B中通东街网点", "C韵达西分拣中心", "新增网点"}
    (event,) = events(org, OrgEventKind.COVERAGE)
    assert sorted(event.details["workplaces"]) == sorted(["B中通东街网点", "C韵达西分拣中心", "新增网点"])
    assert event.reason == "扩大覆盖"


def test_org_update_coverage_obeys_single_formation(world):
    with pytest.raises(DomainError, match="只能覆盖一个单位"):
        org_update(actor=world.district_user, org=world.br_a, workplaces=[world.wp_a, world.wp_d])
    assert names(reload(world.br_a).workplaces.all()) == {"A顺丰东一站"}


def test_org_update_formation_change_rechecks_covered_workplaces(world):
    # br_f is formed area-wise and covers wp_f and wp_h
    with pytest.raises(DomainError) as excinfo:
        org_update(actor=world.district_user, org=world.br_f, formation_mode=FormationMode.SINGLE, document_number="文1", reason="改建")
    assert (excinfo.value.field, str(excinfo.value.message)) == ("workplaces", "单独组建的党支部只能覆盖一个单位。")
    assert reload(world.br_f).formation_mode == FormationMode.AREA
    # together with a coverage that fits, the change is fine
    org = org_update(actor=world.district_user, org=world.br_f, formation_mode=FormationMode.SINGLE, workplaces=[world.wp_f],
                     document_number="文1", reason="改建")
    assert (org.formation_mode, names(org.workplaces.all())) == (FormationMode.SINGLE, {"F美团东街站"})
    assert events(org, OrgEventKind.UPDATED)[0].details == {"formation_mode": ["area", "single"]}


def test_org_update_refuses_duplicate_code_and_unknown_fields(world):
    with pytest.raises(DomainError, match="组织代码“EXP-A”已被使用"):
        org_update(actor=world.district_user, org=world.jb, code="EXP-A")
    with pytest.raises(DomainError, match="不能修改字段：path, status"):
        org_update(actor=world.district_user, org=world.jb, status="dissolved", path="0001")


def test_org_update_out_of_scope_refused(world):
    with pytest.raises(DomainError, match="您无权修改该党组织"):
        org_update(actor=world.secretary, org=world.br_a, name="越权改名")
    with pytest.raises(DomainError, match="您无权修改该党组织"):
        org_update(actor=world.viewer, org=world.jb, name="越权改名")
    assert reload(world.br_a).name == "顺丰站点党支部"


def test_org_update_refuses_dissolved_org(world):
    with pytest.raises(DomainError, match="已撤销的党组织不能修改"):
        org_update(actor=world.district_user, org=world.br_dead, name="复活")


# ================================================================ org_move
def test_org_move_moves_the_subtree_and_records_from_and_to(world):
    old_jb_path, old_group_path = world.jb.path, world.group.path
    moved = org_move(actor=world.district_user, org=world.jb, new_parent=world.food, document_number="调2024-1", reason="划转")
    jb, group, food, express = reload(world.jb), reload(world.group), reload(world.food), reload(world.express)
    assert moved.pk == jb.pk
    assert jb.path.startswith(food.path) and jb.depth == food.depth + 1
    assert group.path.startswith(jb.path) and group.depth == jb.depth + 1
    assert (jb.path, group.path) != (old_jb_path, old_group_path)
    assert Organization.objects.get_parent(jb).pk == food.pk
    assert (express.numchild, food.numchild) == (1, 3)
    (event,) = events(jb, OrgEventKind.MOVED)
    assert event.details == {"from": "快递行业党委", "to": "外卖配送行业党委"}
    assert event.document_number == "调2024-1"
    assert_tree_consistent()


def test_org_move_carries_members_workplaces_and_scope(world):
    org_move(actor=world.district_user, org=world.jb, new_parent=world.food, reason="划转")
    food_staff = UserFactory()
    grant(food_staff, world.food, Role.DISTRICT)
    assert {"快递联合党支部", "第一党小组"} <= names(Organization.objects.restrict(food_staff, "view"))
    assert Member.objects.restrict(food_staff, "view").filter(org__code="EXP-J").count() == 7
    assert "B中通东街网点" in names(Workplace.objects.restrict(food_staff, "view"))
    # the secretary's grant sits on the moved node and still covers the same subtree
    assert names(Organization.objects.restrict(reload(world.secretary), "view")) == {"快递联合党支部", "第一党小组"}


def test_org_move_refuses_itself_and_own_descendants_naming_both(world):
    with pytest.raises(DomainError) as excinfo:
        org_move(actor=world.district_user, org=world.express, new_parent=world.group)
    assert excinfo.value.field == "new_parent"
    assert str(excinfo.value.message) == "不能把“快递行业党委”调整到它自己或它的下级组织“第一党小组”之下。"
    with pytest.raises(DomainError, match="不能把“快递行业党委”调整到它自己或它的下级组织“快递行业党委”之下"):
        org_move(actor=world.district_user, org=world.express, new_parent=world.express)
    assert reload(world.express).path == world.express.path
    assert_tree_consistent()


def test_org_move_refuses_disallowed_kinds(world):
    with pytest.raises(DomainError) as excinfo:
        org_move(actor=world.district_user, org=world.br_a, new_parent=world.jb)
    assert str(excinfo.value.message) == "“快递联合党支部”（联合党支部）下不能设立党支部。"
    with pytest.raises(DomainError, match="下不能设立行业党委"):
        org_move(actor=world.district_user, org=world.food, new_parent=world.br_a)


def test_org_move_refuses_root_same_parent_and_dissolved_target(world):
    with pytest.raises(DomainError, match="根组织不能调整隶属关系"):
        org_move(actor=world.superuser, org=world.root, new_parent=world.express)
    with pytest.raises(DomainError, match="该组织已隶属于“快递行业党委”"):
        org_move(actor=world.district_user, org=world.jb, new_parent=world.express)
    with pytest.raises(DomainError, match="目标上级党组织已撤销"):
        org_move(actor=world.district_user, org=world.group, new_parent=world.br_dead)


def test_org_move_out_of_scope_refused(world):
    staff = UserFactory()
    grant(staff, world.express, Role.DISTRICT)
    with pytest.raises(DomainError, match="您无权将组织调整到目标上级党组织下"):
        org_move(actor=staff, org=world.br_a, new_parent=world.food)
    with pytest.raises(DomainError, match="您无权调整该党组织"):
        org_move(actor=staff, org=world.br_f, new_parent=world.express)
    with pytest.raises(DomainError, match="您无权将组织调整到目标上级党组织下"):
        org_move(actor=world.secretary, org=world.group, new_parent=world.br_a)


def test_many_moves_keep_the_tree_consistent(world):
    gb = make_org("快递党总支", parent=world.express, kind=OrgKind.GENERAL_BRANCH)
    org_move(actor=world.district_user, org=world.br_a, new_parent=gb)
    org_move(actor=world.district_user, org=world.jb, new_parent=gb)
    org_move(actor=world.district_user, org=gb, new_parent=world.food)
    org_move(actor=world.district_user, org=world.br_f, new_parent=gb)
    gb = reload(gb)
    assert names(Organization.objects.filter(path__startswith=gb.path, depth=gb.depth + 1)) == {
        "顺丰站点党支部", "快递联合党支部", "美团站点党支部"}
    assert reload(world.group).depth == 5
    assert reload(world.express).numchild == 0
    assert_tree_consistent()


# ================================================================ org_dissolve
def test_org_dissolve_sets_status_date_and_event(world):
    branch = make_branch("待撤销党支部", parent=world.express, workplaces=[world.wp_d])
    day = world.today - dt.timedelta(days=2)
    org = org_dissolve(actor=world.district_user, org=branch, happened_on=day, document_number="撤2024-9", reason="站点关闭")
    org = reload(org)
    assert org.status == OrgStatus.DISSOLVED and org.dissolved_on == day and not org.is_active
    (event,) = events(org, OrgEventKind.DISSOLVED)
    assert (event.happened_on, event.document_number, event.reason, event.actor) == (day, "撤2024-9", "站点关闭", world.district_user)


@pytest.mark.parametrize("reason", ["", "   "])
def test_org_dissolve_needs_a_reason(world, reason):
    branch = make_branch("无理由党支部", parent=world.express)
    with pytest.raises(DomainError) as excinfo:
        org_dissolve(actor=world.district_user, org=branch, reason=reason)
    assert (excinfo.value.field, str(excinfo.value.message)) == ("reason", "请填写原因。")
    assert reload(branch).status == OrgStatus.ACTIVE


def test_org_dissolve_refuses_with_active_children(world):
    with pytest.raises(DomainError, match="请先撤销或调出其下级组织"):
        org_dissolve(actor=world.district_user, org=world.food, reason="调整")
    # dissolved children do not block
    committee = make_committee("空委员会", parent=world.root)
    child = make_branch("空支部", parent=committee)
    org_dissolve(actor=world.district_user, org=child, reason="调整")
    assert org_dissolve(actor=world.district_user, org=committee, reason="调整").status == OrgStatus.DISSOLVED


def test_org_dissolve_refuses_with_members_including_applicants(world):
    with pytest.raises(DomainError, match="该组织仍有党员或申请人"):
        org_dissolve(actor=world.district_user, org=world.br_f, reason="调整")
    branch = make_branch("只有申请人", parent=world.food)
    MemberFactory(org=branch, stage=Stage.APPLICANT)
    with pytest.raises(DomainError, match="该组织仍有党员或申请人"):
        org_dissolve(actor=world.district_user, org=branch, reason="调整")


def test_org_dissolve_twice_is_a_conflict(world):
    with pytest.raises(ConflictError) as excinfo:
        org_dissolve(actor=world.district_user, org=world.br_dead, reason="再撤一次")
    assert excinfo.value.status_code == 409
    assert str(excinfo.value.message) == "该党组织已经撤销。"


def test_org_dissolve_refuses_root_and_needs_delete_permission(world):
    with pytest.raises(DomainError, match="根组织不能撤销"):
        org_dissolve(actor=world.superuser, org=world.root, reason="x")
    with pytest.raises(DomainError, match="您无权撤销该党组织"):
        org_dissolve(actor=world.secretary, org=world.group, reason="x")
    assert reload(world.group).status == OrgStatus.ACTIVE


def test_dissolved_branch_no_longer_covers(world):
    from coverage.selectors.figures import annotate_coverage

    org_dissolve(actor=world.district_user, org=world.group, reason="合并小组")
    branch = make_branch("短命支部", parent=world.express, workplaces=[world.wp_e])
    assert annotate_coverage(Workplace.objects.filter(pk=world.wp_e.pk)).get().coverage_state == "org"
    org_dissolve(actor=world.district_user, org=branch, reason="站点关闭")
    assert annotate_coverage(Workplace.objects.filter(pk=world.wp_e.pk)).get().coverage_state == "none"


# ================================================================ org_merge
def test_org_merge_moves_members_workplaces_and_children_then_dissolves_source(world):
    target = make_joint_branch("快递第二联合党支部", parent=world.express, workplaces=[world.wp_d])
    merged = org_merge(actor=world.district_user, source=world.jb, target=target, document_number="并2024-1", reason="合并")
    source = reload(world.jb)
    assert merged.pk == target.pk
    assert source.status == OrgStatus.DISSOLVED and source.dissolved_on == world.today
    assert Member.objects.filter(org=source).count() == 0
    assert Member.objects.filter(org=merged).count() == 7
    assert names(merged.workplaces.all()) == {"B中通东街网点", "C韵达西分拣中心", "D圆通加盟公司"}
    assert source.workplaces.count() == 0
    group = reload(world.group)
    assert group.path.startswith(merged.path) and group.depth == merged.depth + 1
    assert reload(source).numchild == 0 and merged.numchild == 1
    for org in (source, merged):
        (event,) = events(org, OrgEventKind.MERGED)
        assert event.details == {"from": "快递联合党支部", "into": "快递第二联合党支部", "members": 7,
                                 "workplaces": ["B中通东街网点", "C韵达西分拣中心"]}
        assert event.document_number == "并2024-1"
    assert_tree_consistent()


def test_org_merge_refusals(world):
    with pytest.raises(DomainError, match="请填写原因"):
        org_merge(actor=world.district_user, source=world.br_a, target=world.jb, reason="")
    with pytest.raises(DomainError, match="不能把组织合并到它自己或它的下级组织"):
        org_merge(actor=world.district_user, source=world.br_a, target=world.br_a, reason="x")
    with pytest.raises(DomainError, match="不能把组织合并到它自己或它的下级组织"):
        org_merge(actor=world.district_user, source=world.express, target=world.jb, reason="x")
    with pytest.raises(DomainError, match="只能合并同类组织"):
        org_merge(actor=world.district_user, source=world.br_a, target=world.food, reason="x")
    with pytest.raises(ConflictError, match="参与合并的组织必须都处于正常状态"):
        org_merge(actor=world.district_user, source=world.br_f, target=world.br_dead, reason="x")
    with pytest.raises(DomainError, match="您无权合并该党组织"):
        org_merge(actor=world.secretary, source=world.jb, target=world.br_a, reason="x")
    assert reload(world.br_a).status == OrgStatus.ACTIVE
    assert_tree_consistent()


def test_org_merge_of_committees_moves_their_branches(world):
    org_merge(actor=world.district_user, source=world.food, target=world.express, reason="行业党委合并")
    express = reload(world.express)
    assert names(Organization.objects.filter(path__startswith=express.path, depth=express.depth + 1)) == {
        "顺丰站点党支部", "快递联合党支部", "美团站点党支部", "已撤销党支部"}
    assert reload(world.food).numchild == 0
    assert_tree_consistent()


def test_org_merge_respects_workplace_count_rules(world):
    six = WorkplaceFactory.create_batch(6, responsible_org=world.food, region=world.west)
    first = make_joint_branch("联合一", parent=world.food, workplaces=six[:3])
    second = make_joint_branch("联合二", parent=world.food, workplaces=six[3:])
    with pytest.raises(DomainError, match="联合党支部覆盖单位不能超过5个（当前选择了6个）"):
        org_merge(actor=world.district_user, source=first, target=second, reason="合并")
    assert reload(first).status == OrgStatus.ACTIVE and first.workplaces.count() == 3
    # a single-formation target takes over no second workplace
    with pytest.raises(DomainError, match="只能覆盖一个单位"):
        org_merge(actor=world.district_user, source=world.jb, target=world.br_a, reason="合并")


def test_refused_merge_leaves_everything_in_place(world):
    """Sub-orgs are moved before the coverage check: the refusal must roll all of it back."""
    four = WorkplaceFactory.create_batch(4, responsible_org=world.express, region=world.east)
    target = make_joint_branch("四单位联合支部", parent=world.express, workplaces=four)
    group_path = reload(world.group).path
    with pytest.raises(DomainError, match="不能超过5个"):
        org_merge(actor=world.district_user, source=world.jb, target=target, reason="合并")
    assert reload(world.group).path == group_path
    assert reload(world.jb).status == OrgStatus.ACTIVE
    assert Member.objects.filter(org=world.jb).count() == 7
    assert events(world.jb, OrgEventKind.MERGED) == []
    assert_tree_consistent()


# ================================================================ tree under many writes
def test_many_children_under_one_parent_get_unique_paths(world):
    parent = make_committee("大行业党委", parent=world.root)
    for i in range(40):
        create(world.district_user, parent, OrgKind.BRANCH, f"MANY-{i}", formation_mode="area")
    parent = reload(parent)
    children = list(Organization.objects.filter(path__startswith=parent.path, depth=parent.depth + 1))
    assert len(children) == 40 == parent.numchild
    assert len({child.path for child in children}) == 40
    assert_tree_consistent()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared, server-based test database")
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_under_one_parent_keep_the_tree_consistent():
    root = make_root()
    parent = make_committee("并发党委", parent=root)
    per_thread, errors = 15, []
    barrier = threading.Barrier(2)

    def work(tag: str) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(per_thread):
                org_create(actor=SYSTEM, parent=parent, kind=OrgKind.BRANCH, name=f"支部{tag}{i}", code=f"T{tag}-{i}",
                           formation_mode="area")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(tag,)) for tag in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    parent = reload(parent)
    paths = list(Organization.objects.filter(path__startswith=parent.path, depth=parent.depth + 1).values_list("path", flat=True))
    assert len(paths) == len(set(paths)) == 2 * per_thread == parent.numchild
    assert_tree_consistent()


# ================================================================ workplaces
def _workplace_data(world, **overrides):
    data = {
        "name": "新建配送站", "kind": WorkplaceKind.STATION, "industry": "food_delivery", "region": world.west,
        "responsible_org": world.food, "gig_worker_count": 12, "address": "西街88号",
    }
    data.update(overrides)
    return data


def test_workplace_create_by_district_staff(world):
    wp = workplace_create(actor=world.district_user, **_workplace_data(world, latitude=Decimal("39.9"), longitude=Decimal("116.4")))
    wp = reload(wp)
    assert (wp.name, wp.responsible_org, wp.gig_worker_count, wp.is_active) == ("新建配送站", world.food, 12, True)


@pytest.mark.parametrize("who", ["secretary", "viewer", "instructor", "nobody"])
def test_workplace_create_needs_workplace_add(world, who):
    with pytest.raises(DomainError) as excinfo:
        workplace_create(actor=getattr(world, who), **_workplace_data(world, responsible_org=world.jb))
    assert excinfo.value.field == "responsible_org"
    assert str(excinfo.value.message) == "所选主管党组织不在您的管理范围内。"


def test_workplace_create_refused_outside_the_granted_subtree_and_under_dissolved_org(world):
    staff = UserFactory()
    grant(staff, world.express, Role.DISTRICT)
    with pytest.raises(DomainError, match="所选主管党组织不在您的管理范围内"):
        workplace_create(actor=staff, **_workplace_data(world, responsible_org=world.food))
    with pytest.raises(DomainError, match="所选主管党组织不在您的管理范围内"):
        workplace_create(actor=world.district_user, **_workplace_data(world, responsible_org=world.br_dead))
    assert workplace_create(actor=staff, **_workplace_data(world, responsible_org=world.express))


@pytest.mark.parametrize(
    "field,value",
    [("latitude", Decimal("91")), ("latitude", Decimal("-90.5")), ("longitude", Decimal("181")), ("longitude", Decimal("-180.01"))],
)
def test_workplace_coordinates_out_of_range_are_domain_errors(world, field, value):
    with pytest.raises(DomainError):
        workplace_create(actor=world.district_user, **_workplace_data(world, **{field: value}))
    assert not Workplace.objects.filter(name="新建配送站").exists()


def test_workplace_latitude_error_is_clear_and_on_the_field(world):
    with pytest.raises(DomainError) as excinfo:
        workplace_create(actor=world.district_user, **_workplace_data(world, latitude=Decimal("91")))
    assert (excinfo.value.field, str(excinfo.value.message)) == ("latitude", "纬度应在 -90 到 90 之间。")
    with pytest.raises(DomainError) as excinfo:
        workplace_create(actor=world.district_user, **_workplace_data(world, longitude=Decimal("-181")))
    assert (excinfo.value.field, str(excinfo.value.message)) == ("longitude", "经度应在 -180 到 180 之间。")


def test_workplace_create_rejects_unknown_fields_and_missing_name(world):
    with pytest.raises(DomainError, match="不能修改字段：covering_orgs"):
        workplace_create(actor=world.district_user, covering_orgs=[], **_workplace_data(world))
    with pytest.raises(DomainError) as excinfo:
        workplace_create(actor=world.district_user, **_workplace_data(world, name=""))
    assert excinfo.value.field == "name"


def test_workplace_update_in_scope(world):
    wp = workplace_update(actor=world.secretary, workplace=world.wp_b, gig_worker_count=33, has_trade_union=False)
    assert (reload(wp).gig_worker_count, reload(wp).has_trade_union) == (33, False)


def test_workplace_update_out_of_scope_refused(world):
    with pytest.raises(DomainError, match="您无权修改该单位"):
        workplace_update(actor=world.secretary, workplace=world.wp_a, gig_worker_count=1)
    with pytest.raises(DomainError, match="您无权修改该单位"):
        workplace_update(actor=world.viewer, workplace=world.wp_b, gig_worker_count=1)
    with pytest.raises(DomainError, match="您无权修改该单位"):
        workplace_update(actor=world.instructor, workplace=world.wp_g, gig_worker_count=1)
    assert reload(world.wp_a).gig_worker_count == 40


def test_workplace_update_responsible_org_must_be_in_scope(world):
    with pytest.raises(DomainError) as excinfo:
        workplace_update(actor=world.secretary, workplace=world.wp_b, responsible_org=world.br_a)
    assert excinfo.value.field == "responsible_org"
    moved = workplace_update(actor=world.secretary, workplace=world.wp_b, responsible_org=world.group)
    assert reload(moved).responsible_org == world.group


def test_workplace_update_validates(world):
    with pytest.raises(DomainError):
        workplace_update(actor=world.district_user, workplace=world.wp_a, latitude=Decimal("-91"))
    with pytest.raises(DomainError, match="不能修改字段：id"):
        workplace_update(actor=world.district_user, workplace=world.wp_a, id=999)
    assert reload(world.wp_a).latitude is None


# ================================================================ assignments
def test_assignment_create_and_end(world):
    wp = world.wp_e
    asg = assignment_create(actor=world.district_user, instructor=world.lao_li, role=AssignmentRole.LIAISON,
                            workplace=wp, started_on=world.today)
    assert (asg.workplace, asg.org, asg.role, asg.ended_on) == (wp, None, "liaison", None)
    ended = assignment_end(actor=world.district_user, assignment=asg, ended_on=world.today + dt.timedelta(days=30))
    assert reload(ended).ended_on == world.today + dt.timedelta(days=30)
    with pytest.raises(ConflictError, match="该选派已经结束"):
        assignment_end(actor=world.district_user, assignment=asg, ended_on=world.today + dt.timedelta(days=40))


def test_assignment_to_an_org(world):
    asg = assignment_create(actor=world.district_user, instructor=world.lao_li, role=AssignmentRole.INSTRUCTOR,
                            org=world.jb, started_on=world.today)
    assert (asg.org, asg.workplace) == (world.jb, None)


def test_assignment_needs_exactly_one_target(world):
    for kwargs in ({}, {"workplace": world.wp_e, "org": world.jb}):
        with pytest.raises(DomainError, match="请选择联系单位或联系党组织中的一项"):
            assignment_create(actor=world.district_user, instructor=world.lao_li, role="instructor",
                              started_on=world.today, **kwargs)


def test_assignment_end_before_start_refused(world):
    with pytest.raises(DomainError) as excinfo:
        assignment_create(actor=world.district_user, instructor=world.lao_li, role="instructor", workplace=world.wp_e,
                          started_on=world.today, ended_on=world.today - dt.timedelta(days=1))
    assert excinfo.value.field == "ended_on"
    with pytest.raises(DomainError) as excinfo:
        assignment_end(actor=world.district_user, assignment=world.asg_d, ended_on=world.asg_d.started_on - dt.timedelta(days=1))
    assert excinfo.value.field == "ended_on"
    assert reload(world.asg_d).ended_on is None


def test_assignment_scope_checks(world):
    staff = UserFactory()
    grant(staff, world.express, Role.DISTRICT)
    food_instructor = InstructorFactory(name="外卖指导员", org=world.food)
    with pytest.raises(DomainError, match="您无权为该指导员安排联系对象"):
        assignment_create(actor=staff, instructor=food_instructor, role="instructor", workplace=world.wp_d, started_on=world.today)
    with pytest.raises(DomainError, match="所选单位不在您的管理范围内"):
        assignment_create(actor=staff, instructor=world.lao_li, role="instructor", workplace=world.wp_f, started_on=world.today)
    with pytest.raises(DomainError, match="所选党组织不在您的管理范围内"):
        assignment_create(actor=staff, instructor=world.lao_li, role="instructor", org=world.br_f, started_on=world.today)
    with pytest.raises(DomainError, match="您无权为该指导员安排联系对象"):
        assignment_create(actor=world.secretary, instructor=world.lao_li, role="instructor", workplace=world.wp_b,
                          started_on=world.today)
    with pytest.raises(DomainError, match="您无权修改该选派记录"):
        assignment_end(actor=world.viewer, assignment=world.asg_d, ended_on=world.today)
    assert Assignment.objects.count() == 3


def test_instructor_cannot_assign_themselves(world):
    with pytest.raises(DomainError, match="您无权为该指导员安排联系对象"):
        assignment_create(actor=world.instructor, instructor=world.xiao_wang, role="instructor", workplace=world.wp_e,
                          started_on=world.today)
    with pytest.raises(DomainError, match="您无权修改该选派记录"):
        assignment_end(actor=world.instructor, assignment=world.asg_g, ended_on=world.today)
    assert reload(world.asg_g).ended_on is None
    assert Assignment.objects.count() == 3


def test_ended_assignment_stops_work_coverage(world):
    from coverage.selectors.figures import annotate_coverage

    wp = WorkplaceFactory(responsible_org=world.express, region=world.east)
    asg = AssignmentFactory(instructor=world.lao_li, workplace=wp, started_on=world.today - dt.timedelta(days=5))
    assert annotate_coverage(Workplace.objects.filter(pk=wp.pk)).get().coverage_state == "work_only"
    assignment_end(actor=world.district_user, assignment=asg, ended_on=world.today - dt.timedelta(days=1))
    assert annotate_coverage(Workplace.objects.filter(pk=wp.pk)).get().coverage_state == "none"


def test_region_helpers_build_a_consistent_tree(db):
    district = make_region("区")
    street = make_region("街道", parent=district)
    community = make_region("社区", parent=street)
    assert (district.kind, street.kind, community.kind) == ("district", "street", "community")
    assert community.path.startswith(street.path) and street.path.startswith(district.path)
    from orgs.models import Region

    assert Region.objects.find_problems() == ([], [], [], [], [])
