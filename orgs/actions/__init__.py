"""Writes to the org tree, workplaces and assignments.

Every action needs an actor (a user, or core.audit.SYSTEM for background work; None is a programming
error), checks the actor's scope again (a form or URL is never trusted), runs in one transaction,
serializes tree changes by locking the tree root, and writes an OrgEvent history row and one AuditEntry
per object written (core.audit.audit_record, in the same transaction).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record, field_values, require_actor, user_or_none
from core.audit import diff as values_diff
from core.exceptions import ConflictError, DomainError
from core.rules import rule_int
from orgs.models import (
    ALLOWED_CHILD_KINDS,
    Assignment,
    FormationMode,
    Instructor,
    Organization,
    OrgEvent,
    OrgEventKind,
    OrgKind,
    OrgStatus,
    Workplace,
    WorkplaceEvent,
    WorkplaceEventKind,
)
from orgs.selectors import can_change_org_structure
from orgs.signals import org_dissolving, org_merging, workplace_changed

# What a secretary edits about their own org: names and contact/descriptive facts.
ORG_DESCRIPTIVE_FIELDS = ("name", "code", "industry", "region", "secretary_name")
# What decides what is expected of an org (compliance cycles, committee meetings, coverage): changed only by
# the level above (orgs.selectors.can_change_org_structure), with a document number and a reason.
ORG_STRUCTURAL_FIELDS = ("formation_mode", "established_on", "has_committee", "committee_elected_on")
ORG_EDITABLE_FIELDS = ORG_DESCRIPTIVE_FIELDS + ORG_STRUCTURAL_FIELDS
WORKPLACE_FIELDS = (
    "name", "kind", "industry", "address", "latitude", "longitude", "region",
    "responsible_org", "gig_worker_count", "has_trade_union", "is_active",
)


# ---------------------------------------------------------------- helpers
def _lock_tree() -> None:
    """Serialize tree edits: treebeard computes paths from siblings, so two concurrent
    adds or moves could otherwise pick the same path. PostgreSQL: row lock on the roots;
    SQLite: the IMMEDIATE transaction already holds the write lock."""
    list(Organization.objects.select_for_update().filter(depth=1).values_list("pk", flat=True))


def _reload(org: Organization) -> Organization:
    """Fresh copy after taking the lock: paths may have changed since the caller loaded it."""
    return Organization.objects.get(pk=org.pk)


def _in_scope(actor, model, action: str, pk) -> bool:
    return model.objects.restrict(actor, action).filter(pk=pk).exists()


def _require_scope(actor, model, action: str, obj, message: str) -> None:
    if obj is None or not _in_scope(actor, model, action, obj.pk):
        raise DomainError(message)


def _require_org_perm(actor, perm: str, org: Organization | None) -> None:
    """The actor holds `perm` at `org` or above it (e.g. may file a workplace under it)."""
    from orgs.selectors import orgs_where

    if org is None or not orgs_where(user=actor, perm=perm).filter(pk=org.pk).exists():
        raise DomainError(_("所选主管党组织不在您的管理范围内。"), field="responsible_org")


def _full_clean(obj, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


def _check_child_kind(parent: Organization, kind: str) -> None:
    if kind not in OrgKind.values:
        raise DomainError(_("未知的组织类别。"), field="kind")
    allowed = ALLOWED_CHILD_KINDS.get(parent.kind, ())
    if kind not in allowed:
        raise DomainError(
            _("“%(parent)s”（%(pkind)s）下不能设立%(kind)s。")
            % {"parent": parent.name, "pkind": parent.get_kind_display(), "kind": OrgKind(kind).label},
            field="kind",
        )


def _check_workplaces(actor, org_kind: str, formation_mode: str, workplaces: list[Workplace]) -> None:
    """The actor may see every workplace (SYSTEM, like a superuser, sees all), and the count rules hold."""
    for workplace in workplaces:
        _require_scope(actor, Workplace, "view", workplace, _("所选覆盖单位不在您的管理范围内。"))
    _check_workplace_counts(org_kind, formation_mode, workplaces)


def _check_workplace_counts(org_kind: str, formation_mode: str, workplaces: list[Workplace]) -> None:
    if org_kind == OrgKind.JOINT_BRANCH or formation_mode == FormationMode.JOINT:
        limit = rule_int("joint_branch_max_units")
        if len(workplaces) > limit:
            raise DomainError(
                _("联合党支部覆盖单位不能超过%(limit)d个（当前选择了%(count)d个）。") % {"limit": limit, "count": len(workplaces)},
                field="workplaces",
            )
    if formation_mode == FormationMode.SINGLE and len(workplaces) > 1:
        raise DomainError(_("单独组建的党支部只能覆盖一个单位。"), field="workplaces")


def _event(org, kind, *, actor, happened_on=None, document_number="", reason="", details=None) -> OrgEvent:
    return OrgEvent.objects.create(
        org=org,
        kind=kind,
        happened_on=happened_on or timezone.localdate(),
        document_number=document_number or "",
        reason=reason or "",
        details=details or {},
        actor=user_or_none(actor),
    )


# Bookkeeping columns that change on every save: left out of the audit diff.
_AUDIT_SKIP = ("created_at", "updated_at")
# More rows than this in one bulk write: one summary AuditEntry instead of one per object.
AUDIT_BULK_LIMIT = 1000


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [before, after]} for the audit row (core.audit.diff, personal fields masked), without timestamps."""
    return {k: v for k, v in values_diff(before, after).items() if k not in _AUDIT_SKIP}


def _workplace_ids(org: Organization) -> list[int]:
    return sorted(org.workplaces.values_list("pk", flat=True))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return str(value)
    return value


# ---------------------------------------------------------------- organizations
@transaction.atomic
def org_create(
    *,
    actor,
    parent: Organization | None,
    kind: str,
    name: str,
    code: str,
    formation_mode: str = "",
    industry: str = "",
    region=None,
    secretary_name: str = "",
    established_on: dt.date | None = None,
    document_number: str = "",
    has_committee: bool = False,
    committee_elected_on: dt.date | None = None,
    workplaces: list[Workplace] | None = None,
    reason: str = "",
) -> Organization:
    """Establish an org under `parent` (None only for the district root, superusers and SYSTEM only)."""
    require_actor(actor)
    workplaces = list(workplaces or [])
    _lock_tree()
    if parent is None:
        if not getattr(actor, "is_superuser", False):
            raise DomainError(_("只有系统管理员可以建立根组织。"))
        if Organization.objects.filter(depth=1).exists():
            raise DomainError(_("根组织已存在。"))
    else:
        _require_scope(actor, Organization, "add", parent, _("您无权在该党组织下设立组织。"))
        parent = _reload(parent)
        if parent.status != OrgStatus.ACTIVE:
            raise DomainError(_("上级党组织已撤销，不能在其下设立组织。"), field="parent")
        _check_child_kind(parent, kind)
    if Organization.objects.filter(code=code).exists():
        raise DomainError(_("组织代码“%(code)s”已被使用。") % {"code": code}, field="code")
    _check_workplaces(actor, kind, formation_mode, workplaces)
    org = Organization(
        kind=kind, name=name, code=code, formation_mode=formation_mode, industry=industry, region=region,
        secretary_name=secretary_name, established_on=established_on or timezone.localdate(),
        document_number=document_number, has_committee=has_committee, committee_elected_on=committee_elected_on,
    )
    _full_clean(org, exclude=["path", "depth", "numchild", "workplaces"])
    org = Organization.objects.add_root(instance=org) if parent is None else Organization.objects.add_child(parent, instance=org)
    if workplaces:
        org.workplaces.set(workplaces)
    _event(
        org, OrgEventKind.ESTABLISHED, actor=actor, happened_on=org.established_on, document_number=document_number,
        reason=reason, details={"parent": parent.name if parent else None, "workplaces": [w.name for w in workplaces]},
    )
    changes = _changes({}, field_values(org))
    if workplaces:
        changes["workplaces"] = [[], sorted(w.pk for w in workplaces)]
    audit_record(actor=actor, action="org.create", obj=org, changes=changes)
    return org


@transaction.atomic
def org_update(
    *, actor, org: Organization, workplaces: list[Workplace] | None = None, document_number: str = "",
    reason: str = "", happened_on: dt.date | None = None, **changes: Any,
) -> Organization:
    """Edit an org's attributes (and optionally the workplaces it covers); renames are recorded as such.

    Structural facts (ORG_STRUCTURAL_FIELDS) and coverage are changed only by the level above
    (can_change_org_structure); structural facts also need a document number and a reason, which the
    UPDATED event carries with the {field: [old, new]} diff. Kind and parent are never changed here."""
    require_actor(actor)
    if "kind" in changes:
        raise DomainError(_("组织类别不能直接修改，须由上级党组织撤销后重新设立。"), field="kind")
    if "parent" in changes:
        raise DomainError(_("隶属关系须由上级党组织通过“调整隶属关系”办理。"), field="parent")
    unknown = set(changes) - set(ORG_EDITABLE_FIELDS)
    if unknown:
        raise DomainError(_("不能修改字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    _require_scope(actor, Organization, "change", org, _("您无权修改该党组织。"))
    org = Organization.objects.select_for_update().get(pk=org.pk)
    if org.status != OrgStatus.ACTIVE:
        raise DomainError(_("已撤销的党组织不能修改。"))
    structural = {f for f in ORG_STRUCTURAL_FIELDS if f in changes and getattr(org, f) != changes[f]}
    coverage_changes = workplaces is not None and set(org.workplaces.values_list("pk", flat=True)) != {w.pk for w in workplaces}
    if (structural or coverage_changes) and not can_change_org_structure(user=actor, org=org):
        field = sorted(structural)[0] if structural else "workplaces"
        label = Organization._meta.get_field(field).verbose_name
        raise DomainError(
            _("“%(field)s”由上级党组织变更（需文号和原因），本组织只能修改名称和联系信息。") % {"field": label}, field=field,
        )
    if structural:
        if not (document_number or "").strip():
            raise DomainError(_("变更组织要素须填写文号。"), field="document_number")
        if not (reason or "").strip():
            raise DomainError(_("变更组织要素须填写原因。"), field="reason")
    if "code" in changes and Organization.objects.filter(code=changes["code"]).exclude(pk=org.pk).exists():
        raise DomainError(_("组织代码“%(code)s”已被使用。") % {"code": changes["code"]}, field="code")
    audit_before = field_values(org) | {"workplaces": _workplace_ids(org)}
    diff = {}
    for field, value in changes.items():
        old = getattr(org, field)
        if old != value:
            diff[field] = [_jsonable(old), _jsonable(value)]
            setattr(org, field, value)
    _full_clean(org, exclude=["path", "depth", "numchild", "workplaces"])
    if "formation_mode" in diff:
        # A new formation mode must still fit the workplaces the org will cover.
        _check_workplace_counts(org.kind, org.formation_mode, list(workplaces) if workplaces is not None else list(org.workplaces.all()))
    org.save()
    if workplaces is not None:
        workplaces = list(workplaces)
        before = set(org.workplaces.values_list("pk", flat=True))
        if before != {w.pk for w in workplaces}:
            _check_workplaces(actor, org.kind, org.formation_mode, workplaces)
            org.workplaces.set(workplaces)
            _event(org, OrgEventKind.COVERAGE, actor=actor, happened_on=happened_on, document_number=document_number,
                   reason=reason, details={"workplaces": [w.name for w in workplaces]})
    if "name" in diff:
        _event(org, OrgEventKind.RENAMED, actor=actor, happened_on=happened_on, document_number=document_number,
               reason=reason, details={"name": diff.pop("name")})
    if diff:
        _event(org, OrgEventKind.UPDATED, actor=actor, happened_on=happened_on, document_number=document_number,
               reason=reason, details=diff)
    audited = _changes(audit_before, field_values(org) | {"workplaces": _workplace_ids(org)})
    if audited:
        audit_record(actor=actor, action="org.update", obj=org, changes=audited)
    return org


@transaction.atomic
def org_move(
    *, actor, org: Organization, new_parent: Organization, happened_on: dt.date | None = None,
    document_number: str = "", reason: str = "",
) -> Organization:
    """Put `org` (with its subtree) under `new_parent`; refuses its own subtree."""
    require_actor(actor)
    _require_scope(actor, Organization, "change", org, _("您无权调整该党组织。"))
    _require_scope(actor, Organization, "add", new_parent, _("您无权将组织调整到目标上级党组织下。"))
    _lock_tree()
    org, new_parent = _reload(org), _reload(new_parent)
    if not can_change_org_structure(user=actor, org=org):
        raise DomainError(_("隶属关系由上级党组织调整。"))
    if org.depth == 1:
        raise DomainError(_("根组织不能调整隶属关系。"))
    if new_parent.pk == org.pk or new_parent.path.startswith(org.path):
        raise DomainError(
            _("不能把“%(org)s”调整到它自己或它的下级组织“%(target)s”之下。") % {"org": org.name, "target": new_parent.name},
            field="new_parent",
        )
    if new_parent.status != OrgStatus.ACTIVE:
        raise DomainError(_("目标上级党组织已撤销。"), field="new_parent")
    old_parent = Organization.objects.get_parent(org)
    if old_parent and old_parent.pk == new_parent.pk:
        raise DomainError(_("该组织已隶属于“%(p)s”。") % {"p": new_parent.name}, field="new_parent")
    _check_child_kind(new_parent, org.kind)
    old_path = org.path
    Organization.objects.move(org, new_parent, pos="last-child")
    org = _reload(org)
    _event(org, OrgEventKind.MOVED, actor=actor, happened_on=happened_on, document_number=document_number, reason=reason,
           details={"from": old_parent.name if old_parent else None, "to": new_parent.name})
    audit_record(actor=actor, action="org.move", obj=org, changes={
        "parent": [old_parent.pk if old_parent else None, new_parent.pk], "path": [old_path, org.path],
    })
    return org


def _require_reason(document_number: str, reason: str) -> None:
    if not (reason or "").strip():
        raise DomainError(_("请填写原因。"), field="reason")


@transaction.atomic
def org_dissolve(
    *, actor, org: Organization, happened_on: dt.date | None = None, document_number: str = "", reason: str = "",
) -> Organization:
    """Dissolve (撤销) an org that has no active sub-orgs and no members left."""
    require_actor(actor)
    _require_reason(document_number, reason)
    _require_scope(actor, Organization, "delete", org, _("您无权撤销该党组织。"))
    _lock_tree()
    org = _reload(org)
    if not can_change_org_structure(user=actor, org=org):
        raise DomainError(_("党组织由上级党组织撤销。"))
    if org.status != OrgStatus.ACTIVE:
        raise ConflictError(_("该党组织已经撤销。"))
    if org.depth == 1:
        raise DomainError(_("根组织不能撤销。"))
    if Organization.objects.filter(path__startswith=org.path, depth__gt=org.depth, status=OrgStatus.ACTIVE).exists():
        raise DomainError(_("请先撤销或调出其下级组织。"))
    org_dissolving.send(sender=Organization, org=org, actor=actor)  # members refuses while it has members
    happened_on = happened_on or timezone.localdate()
    before = field_values(org)
    org.status = OrgStatus.DISSOLVED
    org.dissolved_on = happened_on
    org.save(update_fields=["status", "dissolved_on", "updated_at"])
    _event(org, OrgEventKind.DISSOLVED, actor=actor, happened_on=happened_on, document_number=document_number, reason=reason)
    audit_record(actor=actor, action="org.dissolve", obj=org, changes=_changes(before, field_values(org)))
    return org


@transaction.atomic
def org_merge(
    *, actor, source: Organization, target: Organization, happened_on: dt.date | None = None,
    document_number: str = "", reason: str = "",
) -> Organization:
    """Merge `source` into `target`: members, covered workplaces and sub-orgs move, `source` is dissolved.
    Audit: "org.merge" for the source (dissolved, merged_into) and the target (workplaces, merged_from),
    "org.move" for each sub-org moved, and the members layer's one "member.move_on_merge" row."""
    require_actor(actor)
    _require_reason(document_number, reason)
    _require_scope(actor, Organization, "delete", source, _("您无权合并该党组织。"))
    _require_scope(actor, Organization, "change", target, _("您无权变更目标党组织。"))
    _lock_tree()
    source, target = _reload(source), _reload(target)
    if not can_change_org_structure(user=actor, org=source):
        raise DomainError(_("党组织合并由上级党组织决定。"))
    if source.pk == target.pk or target.path.startswith(source.path):
        raise DomainError(_("不能把组织合并到它自己或它的下级组织。"), field="target")
    if source.status != OrgStatus.ACTIVE or target.status != OrgStatus.ACTIVE:
        raise ConflictError(_("参与合并的组织必须都处于正常状态。"))
    if source.kind != target.kind and not (source.kind in ("branch", "joint_branch") and target.kind in ("branch", "joint_branch")):
        raise DomainError(_("只能合并同类组织。"), field="target")
    happened_on = happened_on or timezone.localdate()
    target_workplaces_before = _workplace_ids(target)
    for child in list(Organization.objects.filter(path__startswith=source.path, depth=source.depth + 1)):
        child = _reload(child)
        _check_child_kind(target, child.kind)
        old_path = child.path
        Organization.objects.move(child, _reload(target), pos="last-child")
        child = _reload(child)
        audit_record(actor=actor, action="org.move", obj=child, changes={
            "parent": [source.pk, target.pk], "path": [old_path, child.path], "note": f"merge {source.pk} -> {target.pk}",
        })
    merged_workplaces = list(source.workplaces.all())
    combined = {w.pk: w for w in [*target.workplaces.all(), *merged_workplaces]}
    _check_workplaces(actor, target.kind, target.formation_mode, list(combined.values()))
    # Members move through the members layer (a MemberOrgHistory row each); it answers with how many moved.
    moved_members = sum(
        moved for _receiver, moved in org_merging.send(sender=Organization, source=source, target=target, actor=actor,
                                                       happened_on=happened_on)
        if isinstance(moved, int)
    )
    target.workplaces.add(*merged_workplaces)
    source = _reload(source)
    source_before = field_values(source) | {"workplaces": _workplace_ids(source)}
    source.workplaces.clear()
    source.status = OrgStatus.DISSOLVED
    source.dissolved_on = happened_on
    source.save(update_fields=["status", "dissolved_on", "updated_at"])
    details = {"from": source.name, "into": target.name, "members": moved_members, "workplaces": [w.name for w in merged_workplaces]}
    _event(source, OrgEventKind.MERGED, actor=actor, happened_on=happened_on, document_number=document_number, reason=reason, details=details)
    _event(target, OrgEventKind.MERGED, actor=actor, happened_on=happened_on, document_number=document_number, reason=reason, details=details)
    audit_record(actor=actor, action="org.merge", obj=source, changes={
        **_changes(source_before, field_values(source) | {"workplaces": []}), "merged_into": [None, target.pk],
    })
    target = _reload(target)
    audit_record(actor=actor, action="org.merge", obj=target, changes={
        **_changes({"workplaces": target_workplaces_before}, {"workplaces": _workplace_ids(target)}),
        "merged_from": [None, source.pk],
    })
    return target


# ---------------------------------------------------------------- workplaces
def _workplace_values(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(WORKPLACE_FIELDS)
    if unknown:
        raise DomainError(_("不能修改字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    return data


@transaction.atomic
def workplace_create(*, actor, **data: Any) -> Workplace:
    require_actor(actor)
    data = _workplace_values(data)
    _require_org_perm(actor, "workplace.add", data.get("responsible_org"))
    workplace = Workplace(**data)
    _full_clean(workplace)
    workplace.save()
    audit_record(actor=actor, action="workplace.create", obj=workplace, org=workplace.responsible_org,
                 changes=_changes({}, field_values(workplace)))
    _refresh_reach_on_commit(workplace.pk)
    return workplace


@transaction.atomic
def workplace_update(*, actor, workplace: Workplace, source: str = "", **changes: Any) -> Workplace:
    require_actor(actor)
    changes = _workplace_values(changes)
    _require_scope(actor, Workplace, "change", workplace, _("您无权修改该单位。"))
    workplace = Workplace.objects.select_for_update().get(pk=workplace.pk)
    before = field_values(workplace)
    if "responsible_org" in changes and changes["responsible_org"] != workplace.responsible_org:
        _require_org_perm(actor, "workplace.change", changes["responsible_org"])
    diff = {
        field: [_jsonable(getattr(workplace, field)), _jsonable(value)]
        for field, value in changes.items()
        if getattr(workplace, field) != value
    }
    for field, value in changes.items():
        setattr(workplace, field, value)
    _full_clean(workplace)
    workplace.save()
    if diff:
        _workplace_event(workplace, WorkplaceEventKind.UPDATED, actor=actor, details=diff, source=source)
    audited = _changes(before, field_values(workplace))
    if audited:
        audit_record(actor=actor, action="workplace.update", obj=workplace, org=workplace.responsible_org, changes=audited)
    _refresh_reach_on_commit(workplace.pk)
    return workplace


def _workplace_event(workplace, kind, *, actor, details, source="") -> WorkplaceEvent:
    return WorkplaceEvent.objects.create(
        workplace=workplace, kind=kind, details=details, source=(source or "")[:200],
        actor=user_or_none(actor),
    )


@transaction.atomic
def workplace_headcounts_apply(*, actor, changes: dict[int, int], source: str) -> list[Workplace]:
    """Set gig-worker headcounts {workplace id: new count} as one confirmed change (e.g. a roster
    comparison's proposal). All or nothing: every workplace must be one the actor may change and every
    count a non-negative integer, else nothing is written. Each change writes a HEADCOUNT event with
    the old and new count and `source`, and an AuditEntry (one per workplace; one summary row beyond
    AUDIT_BULK_LIMIT). Counts equal to the current one are left alone."""
    require_actor(actor)
    if not changes:
        return []
    bad = [pk for pk, count in changes.items() if not isinstance(count, int) or isinstance(count, bool) or count < 0]
    if bad:
        raise DomainError(_("从业人数必须是非负整数。"))
    ids = sorted(changes)
    allowed = set(Workplace.objects.restrict(actor, "change").filter(pk__in=ids).values_list("pk", flat=True))
    if len(allowed) != len(ids):
        raise DomainError(_("%(n)d 个单位不在您可修改的范围内，未做任何修改。") % {"n": len(ids) - len(allowed)})
    locked = Workplace.objects.select_for_update().filter(pk__in=ids).in_bulk()
    changed: list[Workplace] = []
    events: list[WorkplaceEvent] = []
    actor_ref = user_or_none(actor)
    previous: dict[int, int] = {}
    for pk in ids:
        workplace = locked[pk]
        new = changes[pk]
        if workplace.gig_worker_count == new:
            continue
        events.append(
            WorkplaceEvent(
                workplace=workplace, kind=WorkplaceEventKind.HEADCOUNT, source=(source or "")[:200], actor=actor_ref,
                details={"gig_worker_count": [workplace.gig_worker_count, new]},
            )
        )
        previous[pk] = workplace.gig_worker_count
        workplace.gig_worker_count = new
        workplace.updated_at = timezone.now()
        changed.append(workplace)
    Workplace.objects.bulk_update(changed, ["gig_worker_count", "updated_at"], batch_size=500)
    WorkplaceEvent.objects.bulk_create(events, batch_size=500)
    if len(changed) > AUDIT_BULK_LIMIT:
        audit_record(actor=actor, action="workplace.headcounts_apply", object_type="orgs.workplace",
                     changes={"note": (source or "")[:200], "workplaces": len(changed)})
    else:
        for workplace in changed:
            audit_record(actor=actor, action="workplace.headcounts_apply", obj=workplace, org=workplace.responsible_org,
                         changes={"gig_worker_count": [previous[workplace.pk], workplace.gig_worker_count],
                                  "note": (source or "")[:200]})
    return changed


def _refresh_reach_on_commit(workplace_id: int) -> None:
    """Coordinates or is_active may have changed: services recomputes this workplace's nearest service point
    (the 15-minute circle) after commit, on this signal."""
    workplace_changed.send(sender=Workplace, workplace_id=workplace_id)


# ---------------------------------------------------------------- instructors
@transaction.atomic
def assignment_create(
    *, actor, instructor: Instructor, role: str, started_on: dt.date, workplace: Workplace | None = None,
    org: Organization | None = None, ended_on: dt.date | None = None,
) -> Assignment:
    require_actor(actor)
    _require_scope(actor, Instructor, "add", instructor, _("您无权为该指导员安排联系对象。"))
    if workplace is not None:
        _require_scope(actor, Workplace, "view", workplace, _("所选单位不在您的管理范围内。"))
    if org is not None:
        _require_scope(actor, Organization, "view", org, _("所选党组织不在您的管理范围内。"))
    assignment = Assignment(instructor=instructor, role=role, workplace=workplace, org=org, started_on=started_on, ended_on=ended_on)
    _full_clean(assignment)
    assignment.save()
    audit_record(actor=actor, action="assignment.create", obj=assignment, org=_assignment_org(assignment),
                 changes=_changes({}, field_values(assignment)))
    return assignment


@transaction.atomic
def assignment_end(*, actor, assignment: Assignment, ended_on: dt.date) -> Assignment:
    require_actor(actor)
    _require_scope(actor, Assignment, "change", assignment, _("您无权修改该选派记录。"))
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.ended_on is not None:
        raise ConflictError(_("该选派已经结束。"))
    before = field_values(assignment)
    assignment.ended_on = ended_on
    _full_clean(assignment)
    assignment.save(update_fields=["ended_on"])
    audit_record(actor=actor, action="assignment.end", obj=assignment, org=_assignment_org(assignment),
                 changes=_changes(before, field_values(assignment)))
    return assignment


def _assignment_org(assignment: Assignment):
    """Where an assignment sits in the tree: its org, else the workplace's responsible org, else the instructor's."""
    if assignment.org_id:
        return assignment.org
    if assignment.workplace_id and assignment.workplace.responsible_org_id:
        return assignment.workplace.responsible_org
    return getattr(assignment.instructor, "org", None)


__all__ = [
    "org_create", "org_update", "org_move", "org_dissolve", "org_merge",
    "workplace_create", "workplace_update", "workplace_headcounts_apply", "assignment_create", "assignment_end",
]
