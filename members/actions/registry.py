"""Member registry writes: create, update, reveal. The joining pipeline lives in members.actions.pipeline.

Each write needs an actor (a user or core.audit.SYSTEM) and records an AuditEntry in its transaction. The
audit row never holds personal data: encrypted columns and blind indexes are never copied, and a changed
ID number or phone shows only as a mask ("***" → "***"); a reveal records which field, never its value."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from core.audit import audit_record, field_values, require_actor, user_or_none
from core.audit import diff as values_diff
from core.exceptions import DomainError
from core.rules import rule_int
from members.models import Member, MemberRoleAssignment, RelationKind, RevealField, RevealLog, Stage, StageEvent
from members.validators import age_on, id_birth_date, validate_id_number, validate_mobile
from orgs.models import Organization, OrgStatus, Workplace

DUPLICATE_WINDOW = dt.timedelta(hours=24)

__all__ = [
    "member_create", "member_update", "member_reveal", "duplicate_refusals_record", "DuplicateRegistrationError",
    "MEMBER_FIELDS", "ID_PURPOSE", "PHONE_PURPOSE",
]

ID_PURPOSE = "member.id_number"
PHONE_PURPOSE = "member.phone"

# Plain fields a form or import may set (personal data and org/workplace are handled separately).
MEMBER_FIELDS = (
    "name", "gender", "birth_date", "ethnicity", "education", "occupation", "employer", "stage",
    "applied_on", "activist_on", "candidate_on", "training_hours", "admitted_on", "full_on",
    "relation_kind", "home_org_name", "mobile_card_number", "mobile_card_valid_until", "letter_number",
    "lost_contact_since", "notes",
)


def _as_domain_error(exc: ValidationError, field: str | None = None) -> DomainError:
    if hasattr(exc, "error_dict"):
        name, messages = next(iter(exc.message_dict.items()))
        return DomainError(messages[0], field=None if name == "__all__" else name)
    return DomainError(exc.messages[0], field=field)


def _set_id_number(member: Member, id_number: str, *, today: dt.date) -> None:
    try:
        value = validate_id_number(id_number, birth_date=member.birth_date, today=today)
    except ValidationError as exc:
        raise _as_domain_error(exc, "id_number") from exc
    if member.birth_date is None:
        member.birth_date = id_birth_date(value)
    member.id_number_encrypted = crypto.encrypt(value)
    member.id_number_index = crypto.blind_index(value, purpose=ID_PURPOSE)


def _set_phone(member: Member, phone: str) -> None:
    if not phone:
        member.phone_encrypted, member.phone_index = "", None
        return
    try:
        value = validate_mobile(phone)
    except ValidationError as exc:
        raise _as_domain_error(exc, "phone") from exc
    member.phone_encrypted = crypto.encrypt(value)
    member.phone_index = crypto.blind_index(value, purpose=PHONE_PURPOSE)


class DuplicateRegistrationError(DomainError):
    """"Already registered": a necessary answer, but an oracle ("is this person a Party member?"), so each
    one is logged and rate-limited per user (member_create/member_update record it outside their transaction)."""


def duplicate_refusals_record(*, actor, org: Organization | None, source: str, count: int = 1) -> None:
    """Log `count` duplicate-ID refusals for `actor` (SecurityEventKind.DUPLICATE_REFUSED, no personal data).
    Raises RateLimitedError instead once the user reached rule `duplicate_refusals_per_user_per_day` in 24 h.
    Call it outside any transaction that the refusal rolls back, so the rows survive."""
    require_actor(actor)
    if user_or_none(actor) is None or count <= 0:  # SYSTEM has no per-user limit to count against
        return
    from orgs.actions.security import rate_limited_event
    from orgs.models import SecurityEventKind

    for _i in range(count):
        rate_limited_event(
            kind=SecurityEventKind.DUPLICATE_REFUSED, user=actor, limit_rule="duplicate_refusals_per_user_per_day",
            window=DUPLICATE_WINDOW, org=org, details={"source": source},
        )


def _check_duplicate(actor, member: Member) -> None:
    """The same person cannot be registered twice; say where only if the actor may see that record."""
    if not member.id_number_index:
        return
    existing = Member.objects.filter(id_number_index=member.id_number_index).exclude(pk=member.pk).select_related("org").first()
    if existing is None:
        return
    if Member.objects.restrict(actor, "view").filter(pk=existing.pk).exists():
        raise DuplicateRegistrationError(
            _("该身份证号已登记：%(name)s（%(org)s）。") % {"name": existing.name, "org": existing.org.name}, field="id_number"
        )
    raise DuplicateRegistrationError(_("该身份证号已在系统中登记，请联系区委组织部核实。"), field="id_number")


def _check_rules(member: Member, *, today: dt.date) -> None:
    if member.stage == Stage.APPLICANT and member.birth_date is not None:
        min_age = rule_int("applicant_min_age")
        if age_on(member.birth_date, member.applied_on or today) < min_age:
            raise DomainError(_("入党申请人须年满%(age)d周岁。") % {"age": min_age}, field="birth_date")
    if member.relation_kind == RelationKind.MOBILE and not member.home_org_name:
        raise DomainError(_("流动党员须填写流出地党组织。"), field="home_org_name")
    if member.relation_kind == RelationKind.LOST_CONTACT and not member.lost_contact_since:
        raise DomainError(_("失联党员须填写失联起始日期。"), field="lost_contact_since")


def _check_org(actor, org: Organization | None, workplace: Workplace | None) -> None:
    if org is None or org.status != OrgStatus.ACTIVE:
        raise DomainError(_("请选择一个正常状态的党组织。"), field="org")
    if workplace is not None and not Workplace.objects.restrict(actor, "view").filter(pk=workplace.pk).exists():
        raise DomainError(_("所选工作单位不在您的管理范围内。"), field="workplace")


def _require_member_perm(actor, action: str, org: Organization) -> None:
    """The actor holds member.<action> at `org` or above it (superusers and SYSTEM everywhere)."""
    require_actor(actor)
    if actor.is_superuser:
        return
    from orgs.scoping import grant_paths

    if not any(org.path.startswith(path) for path in grant_paths(actor, f"member.{action}")):
        raise DomainError(_("您无权在该党组织登记或修改党员。"), field="org")


def _audit_values(member: Member) -> dict[str, Any]:
    """The member's fields for the audit diff: plain columns, plus markers for the ID number and phone (their
    blind indexes under the personal names, so core.audit.diff shows a change as a mask, never a value)."""
    values = {k: v for k, v in field_values(member).items() if k not in ("created_at", "updated_at")}
    values["id_number"] = member.id_number_index
    values["phone"] = member.phone_index
    values["roles"] = sorted(member.roles.values_list("role", flat=True)) if member.pk else []
    return values


def _save(member: Member) -> None:
    try:
        member.full_clean(exclude=["id_number_index", "phone_index", "org", "workplace"])
    except ValidationError as exc:
        raise _as_domain_error(exc) from exc
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as exc:  # a concurrent registration of the same ID number
        raise DuplicateRegistrationError(_("该身份证号已在系统中登记。"), field="id_number") from exc


def member_create(*, actor, org: Organization, **kwargs: Any) -> Member:
    """Register a person. Validates the ID number (GB 11643) and phone; stores both encrypted.

    A refused duplicate ID number is logged (and rate-limited) after the write's transaction rolled back:
    beyond the daily limit the user gets the rate-limit message instead of the duplicate answer."""
    require_actor(actor)
    try:
        return _member_create(actor=actor, org=org, **kwargs)
    except DuplicateRegistrationError:
        duplicate_refusals_record(actor=actor, org=org, source="member_create")
        raise


@transaction.atomic
def _member_create(
    *, actor, org: Organization, id_number: str, phone: str = "", workplace: Workplace | None = None,
    roles: list[str] | None = None, today: dt.date | None = None, _audit: bool = True, **fields: Any,
) -> Member:
    """`_audit=False` only for member_import_confirm beyond its bulk limit (it writes one summary row instead)."""
    unknown = set(fields) - set(MEMBER_FIELDS)
    if unknown:
        raise DomainError(_("不能设置字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    today = today or timezone.localdate()
    _require_member_perm(actor, "add", org)
    _check_org(actor, org, workplace)
    member = Member(org=org, workplace=workplace, **fields)
    if not member.name.strip():
        raise DomainError(_("请填写姓名。"), field="name")
    _set_id_number(member, id_number, today=today)
    _set_phone(member, phone)
    _check_duplicate(actor, member)
    _check_rules(member, today=today)
    _save(member)
    if roles:
        MemberRoleAssignment.objects.bulk_create([MemberRoleAssignment(member=member, role=role) for role in set(roles)])
    StageEvent.objects.create(member=member, from_stage="", to_stage=member.stage, happened_on=today, note=_("登记"),
                              actor=user_or_none(actor))
    if _audit:
        audit_record(actor=actor, action="member.create", obj=member, changes=values_diff({"roles": []}, _audit_values(member)))
    return member


def member_update(*, actor, member: Member, **kwargs: Any) -> Member:
    """Edit a member's record. Stage and org are not edited here: the pipeline and transfers change them.
    A refused duplicate ID number is logged and rate-limited like in member_create."""
    require_actor(actor)
    try:
        return _member_update(actor=actor, member=member, **kwargs)
    except DuplicateRegistrationError:
        duplicate_refusals_record(actor=actor, org=member.org, source="member_update")
        raise


@transaction.atomic
def _member_update(
    *, actor, member: Member, id_number: str | None = None, phone: str | None = None,
    workplace: Workplace | None | type[Ellipsis] = ..., roles: list[str] | None = None,
    today: dt.date | None = None, **fields: Any,
) -> Member:
    forbidden = set(fields) & {"stage", "org"}
    if forbidden:
        raise DomainError(_("发展阶段和所在党组织须通过发展流程或组织关系转接变更。"))
    unknown = set(fields) - set(MEMBER_FIELDS)
    if unknown:
        raise DomainError(_("不能设置字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    today = today or timezone.localdate()
    if not Member.objects.restrict(actor, "change").filter(pk=member.pk).exists():
        raise DomainError(_("您无权修改该党员信息。"))
    member = Member.objects.select_for_update().get(pk=member.pk)
    before = _audit_values(member)
    for field, value in fields.items():
        setattr(member, field, value)
    if workplace is not ...:
        if workplace is not None and not Workplace.objects.restrict(actor, "view").filter(pk=workplace.pk).exists():
            raise DomainError(_("所选工作单位不在您的管理范围内。"), field="workplace")
        member.workplace = workplace
    if id_number:
        _set_id_number(member, id_number, today=today)
        _check_duplicate(actor, member)
    elif "birth_date" in fields and member.id_number_encrypted:
        _set_id_number(member, crypto.decrypt(member.id_number_encrypted), today=today)  # re-check the match
    if phone is not None:
        _set_phone(member, phone)
    _check_rules(member, today=today)
    _save(member)
    if roles is not None:
        member.roles.exclude(role__in=roles).delete()
        existing = set(member.roles.values_list("role", flat=True))
        MemberRoleAssignment.objects.bulk_create([MemberRoleAssignment(member=member, role=r) for r in set(roles) - existing])
    changes = values_diff(before, _audit_values(member))
    if changes:
        audit_record(actor=actor, action="member.update", obj=member, changes=changes)
    return member


@transaction.atomic
def member_reveal(*, actor, member: Member, field: str, reason: str) -> str:
    """Return the full ID number or phone of a member the actor may see, and log the reveal.

    Needs the separate permission members.reveal_personal_data and a reason. A person looks, so the actor
    is a user (SYSTEM is refused). The audit row names the field and the RevealLog row, never the value.
    """
    require_actor(actor)
    if user_or_none(actor) is None:
        raise ValueError("member_reveal needs a user: a reveal is a person looking, never background work")
    if field not in RevealField.values:
        raise DomainError(_("未知的查看内容。"), field="field")
    if not Member.objects.restrict(actor, "view").filter(pk=member.pk).exists():
        raise DomainError(_("您无权查看该党员信息。"))
    if not actor.has_perm("members.reveal_personal_data"):
        raise DomainError(_("您没有查看完整身份证号和手机号的权限。"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise DomainError(_("请填写查看事由。"), field="reason")
    log = RevealLog.objects.create(actor=actor, member=member, field=field, reason=reason[:200])
    audit_record(actor=actor, action="member.reveal", obj=member, changes={"field": field, "reveal_log": log.pk})
    token = member.id_number_encrypted if field == RevealField.ID_NUMBER else member.phone_encrypted
    return crypto.decrypt(token)
