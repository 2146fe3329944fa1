"""Writes for request categories and reply templates (district staff: service_category.change).

Each change writes one audit row (core.audit: "service_category.create" / "service_category.update",
"reply_template.create" / "reply_template.update", with before/after) and, for a user, a Django admin LogEntry too (who, when, which
fields) where superusers already look. The actor is required (None raises ValueError)."""

from __future__ import annotations

import json

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record, diff, field_values, require_actor
from core.exceptions import DomainError
from orgs.models import Organization, OrgKind, OrgStatus
from orgs.scoping import grant_paths, has_perm
from services.models import ExtraField, ReplyTemplate, Routing, ServiceCategory

__all__ = ["CATEGORY_FIELDS", "category_create", "category_update", "reply_template_save"]

CATEGORY_FIELDS = ("name", "guidance", "required_fields", "routing", "default_org", "sla_hours", "enabled")
AUDIT_CATEGORY_FIELDS = ("name", "guidance", "required_fields", "routing", "default_org_id", "sla_hours", "enabled")
TEMPLATE_FIELDS = ("category_id", "title", "body", "position")


def _check(actor) -> None:
    require_actor(actor)
    if not actor.is_authenticated or not has_perm(actor, "service_category.change"):
        raise DomainError(_("您无权修改诉求类别。"))


def _clean_save(obj) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        field = next(iter(exc.message_dict), None) if hasattr(exc, "error_dict") else None
        raise DomainError("；".join(exc.messages), field=field) from exc
    obj.save()


def _log(actor, obj, flag: int, changed: list[str]) -> None:
    if actor.pk is None:  # SYSTEM: the admin log needs a user; the audit row is enough
        return
    LogEntry.objects.create(
        user_id=actor.pk, content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk),
        object_repr=str(obj)[:200], action_flag=flag, change_message=json.dumps([{"changed": {"fields": changed}}]),
    )


def _refuse_unknown(fields: dict) -> None:
    unknown = set(fields) - set(CATEGORY_FIELDS)
    if unknown:
        raise DomainError(_("不能设置字段：%(f)s") % {"f": ", ".join(sorted(unknown))})


def _checked_fields(actor, fields: dict, *, routing: str, default_org) -> dict:
    """The category fields after the rules every write applies: known extra fields, a routing, an active
    responsible org (no Party group) in the actor's scope, and a responsible org when routing requires one.
    `routing`/`default_org` are the current values, used for fields not being set."""
    if "required_fields" in fields:
        values = list(dict.fromkeys(fields["required_fields"] or []))
        if set(values) - set(ExtraField.values):
            raise DomainError(_("未知的补充项。"), field="required_fields")
        fields["required_fields"] = values
    if "routing" in fields and fields["routing"] not in Routing.values:
        raise DomainError(_("请选择分派方式。"), field="routing")
    if "default_org" in fields:
        org = fields["default_org"]
        if org is not None:
            org = Organization.objects.filter(pk=org.pk).first()
            if org is None or org.status != OrgStatus.ACTIVE:
                raise DomainError(_("该党组织已撤销。"), field="default_org")
            if org.kind == OrgKind.PARTY_GROUP:
                raise DomainError(_("党小组不能承办诉求，请选择党支部或上级党组织。"), field="default_org")
            if not actor.is_superuser and not any(
                org.path.startswith(p) for p in grant_paths(actor, "service_request.change")
            ):
                raise DomainError(_("所选党组织不在您的管理范围内。"), field="default_org")
        fields["default_org"] = org
    routing = fields.get("routing", routing)
    default_org = fields["default_org"] if "default_org" in fields else default_org
    if routing == Routing.CATEGORY_ORG and default_org is None:
        raise DomainError(_("“始终交类别责任组织”须选择责任党组织。"), field="default_org")
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    return fields


@transaction.atomic
def category_create(*, actor, code: str, position: int = 0, **fields) -> ServiceCategory:
    """Add a category (offered on the intake page while enabled): a unique code plus the fields of
    category_update; the same rules apply."""
    _check(actor)
    _refuse_unknown(fields)
    fields = _checked_fields(actor, dict(fields), routing=Routing.WORKPLACE_FIRST, default_org=None)
    category = ServiceCategory(code=(code or "").strip(), position=position or 0, **fields)
    _clean_save(category)
    _log(actor, category, ADDITION, ["code", *fields])
    audit_record(actor=actor, action="service_category.create", obj=category,
                 changes=diff({}, field_values(category, ("code", "position", *AUDIT_CATEGORY_FIELDS))))
    return category


@transaction.atomic
def category_update(*, actor, category: ServiceCategory, **fields) -> ServiceCategory:
    """Change a category's texts, required fields, routing, responsible org, SLA or whether it is offered."""
    _check(actor)
    _refuse_unknown(fields)
    locked = ServiceCategory.objects.select_for_update().get(pk=category.pk)
    before = field_values(locked, AUDIT_CATEGORY_FIELDS)
    fields = _checked_fields(actor, fields, routing=locked.routing, default_org=locked.default_org)
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    for name, value in fields.items():
        setattr(locked, name, value)
    _clean_save(locked)
    if changed:
        _log(actor, locked, CHANGE, changed)
        audit_record(actor=actor, action="service_category.update", obj=locked,
                     changes=diff(before, field_values(locked, AUDIT_CATEGORY_FIELDS)))
    return locked


@transaction.atomic
def reply_template_save(
    *, actor, category: ServiceCategory, title: str, body: str, position: int = 0, template: ReplyTemplate | None = None,
) -> ReplyTemplate:
    """Add a reply template to `category` or change one of its own (general templates stay as seeded)."""
    _check(actor)
    if template is None:
        template = ReplyTemplate(category=category)
        flag = ADDITION
    else:
        template = ReplyTemplate.objects.select_for_update().filter(pk=template.pk, category=category).first()
        if template is None:
            raise DomainError(_("该回复模板不属于此类别。"))
        flag = CHANGE
    before = field_values(template, TEMPLATE_FIELDS) if flag == CHANGE else {}
    template.title = (title or "").strip()
    template.body = (body or "").strip()
    template.position = position or 0
    if not template.title:
        raise DomainError(_("请填写标题。"), field="title")
    if not template.body:
        raise DomainError(_("请填写内容。"), field="body")
    _clean_save(template)
    _log(actor, template, flag, ["title", "body", "position"])
    audit_record(actor=actor, action="reply_template.create" if flag == ADDITION else "reply_template.update", obj=template,
                 changes=diff(before, field_values(template, TEMPLATE_FIELDS)))
    return template
