"""Every write of the orgs app leaves exactly its AuditEntry rows (core.audit.audit_record, in the action's
transaction): who, what, on which object, where in the tree, what changed. A refused action leaves none, and
no action accepts a missing actor (None); background work passes core.audit.SYSTEM."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest

from core.audit import SYSTEM
from core.exceptions import DomainError
from core.models import AuditEntry
from members.models import Member
from orgs.actions import (
    assignment_create,
    assignment_end,
    org_create,
    org_dissolve,
    org_merge,
    org_move,
    org_update,
    workplace_create,
    workplace_headcounts_apply,
    workplace_update,
)
from orgs.actions.security import rate_limited_event, security_event_record
from orgs.models import Assignment, AssignmentRole, Organization, OrgEvent, OrgKind, Workplace, WorkplaceKind
from orgs.selectors import can_change_org_structure
from tests.factories import fresh, make_branch, make_org, reload, set_rule


@contextmanager
def audited():
    """Collects the AuditEntry rows written inside the block (oldest first)."""
    rows: list[AuditEntry] = []
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    yield rows
    rows.extend(AuditEntry.objects.filter(id__gt=last).order_by("id"))


def only(rows: list[AuditEntry]) -> AuditEntry:
    assert len(rows) == 1, [(r.action, r.object_repr) for r in rows]
    return rows[0]


def check(entry: AuditEntry, *, actor, action: str, obj, org) -> None:
    assert entry.action == action
    assert entry.actor_id == (actor.pk if actor is not SYSTEM else None)
    assert entry.actor_label == ("system" if actor is SYSTEM else (actor.display_name or actor.username))
    assert (entry.object_type, entry.object_id) == (obj._meta.label_lower, str(obj.pk))
    assert entry.org_path == org.path


# ---------------------------------------------------------------- organizations
def test_org_create_records_the_new_org_with_its_values_and_workplaces(world):
    district = fresh(world.district_user)
    with audited() as rows:
        org = org_create(actor=district, parent=world.express, kind=OrgKind.BRANCH, name="圆通党支部", code="EXP-D",
                         formation_mode="single", workplaces=[world.wp_d])
    entry = only(rows)
    check(entry, actor=district, action="org.create", obj=org, org=org)
    assert entry.object_repr == str(org)
    assert entry.changes["name"] == [None, "圆通党支部"] and entry.changes["code"] == [None, "EXP-D"]
    assert entry.changes["workplaces"] == [[], [world.wp_d.pk]]
    assert "updated_at" not in entry.changes and "created_at" not in entry.changes


def test_org_update_records_only_what_changed(world):
    district = fresh(world.district_user)
    with audited() as rows:
        org_update(actor=district, org=world.br_a, name="顺丰东一站党支部", secretary_name="王五")
    entry = only(rows)
    check(entry, actor=district, action="org.update", obj=world.br_a, org=reload(world.br_a))
    assert entry.changes == {"name": ["顺丰站点党支部", "顺丰东一站党支部"], "secretary_name": ["", "王五"]}


def test_org_update_of_the_covered_workplaces_records_them_before_and_after(world):
    district = fresh(world.district_user)
    set_rule("joint_branch_max_units", 5)
    with audited() as rows:
        org_update(actor=district, org=world.jb, workplaces=[world.wp_b, world.wp_c, world.wp_d], document_number="文1", reason="扩大覆盖")
    assert only(rows).changes == {
        "workplaces": [sorted([world.wp_b.pk, world.wp_c.pk]), sorted([world.wp_b.pk, world.wp_c.pk, world.wp_d.pk])],
    }


def test_org_move_records_the_old_and_new_parent_and_path(world):
    district = fresh(world.district_user)
    old_path = world.group.path
    with audited() as rows:
        group = org_move(actor=district, org=world.group, new_parent=world.br_a, reason="调整")
    entry = only(rows)
    check(entry, actor=district, action="org.move", obj=group, org=group)
    assert entry.changes == {"parent": [world.jb.pk, world.br_a.pk], "path": [old_path, group.path]}


def test_org_dissolve_records_status_and_date(world):
    district = fresh(world.district_user)
    empty = make_branch("空支部", parent=world.express, code="EXP-E", actor=SYSTEM)
    day = world.today - dt.timedelta(days=1)
    with audited() as rows:
        org_dissolve(actor=district, org=empty, reason="单位注销", happened_on=day)
    entry = only(rows)
    check(entry, actor=district, action="org.dissolve", obj=empty, org=empty)
    assert entry.changes == {"status": ["active", "dissolved"], "dissolved_on": [None, day.isoformat()]}


def test_org_merge_records_source_target_sub_orgs_and_one_row_for_the_members(world):
    district = fresh(world.district_user)
    set_rule("joint_branch_max_units", 5)
    child = make_org("顺丰党小组", parent=world.br_a, kind=OrgKind.PARTY_GROUP, code="EXP-A-G", actor=SYSTEM)
    moved = Member.objects.filter(org=world.br_a).count()
    with audited() as rows:
        org_merge(actor=district, source=reload(world.br_a), target=world.jb, reason="合并", document_number="文2")
    assert [r.action for r in rows] == ["org.move", "member.move_on_merge", "org.merge", "org.merge"]
    move, members, source, target = rows
    child = reload(child)
    assert move.object_id == str(child.pk) and move.org_path == child.path and move.changes["parent"] == [world.br_a.pk, world.jb.pk]
    check(members, actor=district, action="member.move_on_merge", obj=world.jb, org=world.jb)
    assert members.changes["members"] == moved and members.changes["org"] == [world.br_a.pk, world.jb.pk]
    check(source, actor=district, action="org.merge", obj=world.br_a, org=reload(world.br_a))
    assert source.changes["status"] == ["active", "dissolved"] and source.changes["merged_into"] == [None, world.jb.pk]
    assert source.changes["workplaces"] == [[world.wp_a.pk], []]
    assert target.object_id == str(world.jb.pk) and target.changes["merged_from"] == [None, world.br_a.pk]
    assert target.changes["workplaces"] == [sorted([world.wp_b.pk, world.wp_c.pk]), sorted([world.wp_a.pk, world.wp_b.pk, world.wp_c.pk])]


def test_a_merge_refused_halfway_leaves_no_audit_row_and_no_change(world):
    """The sub-org moves (and its audit row) come before the workplace-count check: all rolled back."""
    set_rule("joint_branch_max_units", 2)  # jb covers 2; br_a's workplace would make 3
    child = make_org("顺丰党小组", parent=world.br_a, kind=OrgKind.PARTY_GROUP, code="EXP-A-G", actor=SYSTEM)
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError, match="不能超过"):
        org_merge(actor=fresh(world.district_user), source=reload(world.br_a), target=world.jb, reason="合并")
    assert AuditEntry.objects.count() == before
    assert reload(child).path.startswith(reload(world.br_a).path)
    assert Member.objects.filter(org=world.br_a).exists()


@pytest.mark.parametrize("attempt", ["out_of_scope", "duplicate_code", "structural_by_own_secretary"])
def test_refused_org_writes_leave_no_audit_row(world, attempt):
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        if attempt == "out_of_scope":
            org_update(actor=fresh(world.secretary), org=world.br_f, name="别人的支部")
        elif attempt == "duplicate_code":
            org_create(actor=fresh(world.district_user), parent=world.express, kind=OrgKind.BRANCH, name="重号",
                       code="EXP-A", formation_mode="single")
        else:
            org_update(actor=fresh(world.secretary), org=world.jb, has_committee=True, document_number="x", reason="y")
    assert AuditEntry.objects.count() == before


def test_system_is_the_explicit_actor_of_background_writes(world):
    with audited() as rows:
        org = org_create(actor=SYSTEM, parent=world.express, kind=OrgKind.BRANCH, name="系统支部", code="EXP-S",
                         formation_mode="single")
    entry = only(rows)
    check(entry, actor=SYSTEM, action="org.create", obj=org, org=org)
    assert OrgEvent.objects.get(org=org).actor_id is None


def test_the_root_is_created_only_by_a_superuser_or_system(db):
    with pytest.raises(ValueError):
        org_create(actor=None, parent=None, kind=OrgKind.DISTRICT_COMMITTEE, name="区委", code="R")
    root = org_create(actor=SYSTEM, parent=None, kind=OrgKind.DISTRICT_COMMITTEE, name="区委", code="R")
    assert only(list(AuditEntry.objects.all())).object_id == str(root.pk)


def test_structure_decisions_need_a_user_or_system_never_none(world):
    assert can_change_org_structure(user=SYSTEM, org=world.jb)
    assert not can_change_org_structure(user=None, org=world.jb)


# ---------------------------------------------------------------- workplaces
def test_workplace_create_and_update_are_recorded_at_the_responsible_org(world):
    district = fresh(world.district_user)
    with audited() as rows:
        workplace = workplace_create(actor=district, name="新站点", kind=WorkplaceKind.STATION, responsible_org=world.express,
                                     region=world.east, industry=world.wp_a.industry, gig_worker_count=7)
    entry = only(rows)
    check(entry, actor=district, action="workplace.create", obj=workplace, org=world.express)
    assert entry.changes["name"] == [None, "新站点"] and entry.changes["gig_worker_count"] == [None, 7]

    with audited() as rows:
        workplace_update(actor=district, workplace=workplace, name="新站点（更名）", responsible_org=world.food)
    entry = only(rows)
    check(entry, actor=district, action="workplace.update", obj=workplace, org=world.food)
    assert entry.changes == {"name": ["新站点", "新站点（更名）"], "responsible_org_id": [world.express.pk, world.food.pk]}


def test_headcounts_apply_records_each_changed_workplace_with_its_source(world):
    district = fresh(world.district_user)
    with audited() as rows:
        workplace_headcounts_apply(actor=district, changes={world.wp_a.pk: 41, world.wp_b.pk: 20}, source="花名册比对 #9")
    entry = only(rows)  # wp_b already had 20: left alone
    check(entry, actor=district, action="workplace.headcounts_apply", obj=world.wp_a, org=world.express)
    assert entry.changes == {"gig_worker_count": [40, 41], "note": "花名册比对 #9"}


def test_a_refused_headcount_change_writes_nothing(world):
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        workplace_headcounts_apply(actor=fresh(world.secretary), changes={world.wp_b.pk: 3, world.wp_f.pk: 4}, source="x")
    assert AuditEntry.objects.count() == before
    assert Workplace.objects.get(pk=world.wp_b.pk).gig_worker_count == 20


def test_headcounts_beyond_the_bulk_limit_write_one_summary_row(world, monkeypatch):
    import orgs.actions as actions

    monkeypatch.setattr(actions, "AUDIT_BULK_LIMIT", 1)
    with audited() as rows:
        workplace_headcounts_apply(actor=SYSTEM, changes={world.wp_a.pk: 1, world.wp_b.pk: 2}, source="导入")
    entry = only(rows)
    assert entry.action == "workplace.headcounts_apply" and entry.changes == {"note": "导入", "workplaces": 2}


# ---------------------------------------------------------------- assignments
def test_assignment_create_and_end_are_recorded(world):
    district = fresh(world.district_user)
    with audited() as rows:
        assignment = assignment_create(actor=district, instructor=world.lao_li, role=AssignmentRole.INSTRUCTOR,
                                       started_on=world.today, org=world.br_a)
    entry = only(rows)
    check(entry, actor=district, action="assignment.create", obj=assignment, org=world.br_a)
    assert entry.changes["org_id"] == [None, world.br_a.pk] and entry.changes["started_on"] == [None, world.today.isoformat()]

    with audited() as rows:
        assignment_end(actor=district, assignment=world.asg_d, ended_on=world.today)
    entry = only(rows)
    check(entry, actor=district, action="assignment.end", obj=Assignment.objects.get(pk=world.asg_d.pk), org=world.express)
    assert entry.changes == {"ended_on": [None, world.today.isoformat()]}


# ---------------------------------------------------------------- no actor
NO_ACTOR_CALLS = {
    "org_create": lambda w: org_create(actor=None, parent=w.express, kind=OrgKind.BRANCH, name="x", code="X1", formation_mode="single"),
    "org_update": lambda w: org_update(actor=None, org=w.br_a, name="x"),
    "org_move": lambda w: org_move(actor=None, org=w.group, new_parent=w.br_a),
    "org_dissolve": lambda w: org_dissolve(actor=None, org=w.group, reason="x"),
    "org_merge": lambda w: org_merge(actor=None, source=w.br_a, target=w.jb, reason="x"),
    "workplace_create": lambda w: workplace_create(actor=None, name="x", kind=WorkplaceKind.STATION, responsible_org=w.express),
    "workplace_update": lambda w: workplace_update(actor=None, workplace=w.wp_a, name="x"),
    "workplace_headcounts_apply": lambda w: workplace_headcounts_apply(actor=None, changes={w.wp_a.pk: 1}, source="x"),
    "assignment_create": lambda w: assignment_create(actor=None, instructor=w.lao_li, role=AssignmentRole.INSTRUCTOR,
                                                     started_on=w.today, org=w.br_a),
    "assignment_end": lambda w: assignment_end(actor=None, assignment=w.asg_d, ended_on=w.today),
    "security_event_record": lambda w: security_event_record(kind="roster_upload", user=None),
    "rate_limited_event": lambda w: rate_limited_event(kind="roster_upload", user=None, limit_rule="roster_uploads_per_user_per_day",
                                                       window=dt.timedelta(hours=1)),
}


@pytest.mark.parametrize("name", sorted(NO_ACTOR_CALLS))
def test_no_action_accepts_a_missing_actor(world, name):
    before = (AuditEntry.objects.count(), Organization.objects.count(), Workplace.objects.count(), OrgEvent.objects.count())
    with pytest.raises(ValueError, match="actor"):
        NO_ACTOR_CALLS[name](world)
    assert (AuditEntry.objects.count(), Organization.objects.count(), Workplace.objects.count(), OrgEvent.objects.count()) == before
