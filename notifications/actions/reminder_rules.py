"""Writes for reminder rules (district staff: reminder_rule.change).

A rule's direction is not chosen by people: it follows from its kind (KIND_DIRECTION). Templates are compiled
and rendered with the kind's sample context before anything is saved, so a rule that reaches the daily sweep
renders (a broken one would only fail that rule's run, but staff should hear about it while typing).

The actor is required (None raises ValueError); each write leaves one audit row ("reminder_rule.create" /
"reminder_rule.update", with the changed fields).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record, diff, field_values, require_actor, user_or_none
from core.exceptions import DomainError
from notifications.models import KIND_DIRECTION, RECIPIENT_ROLES, Channel, ReminderKind, ReminderRule
from notifications.reminder_templates import ReminderTemplateError, message_limits, render, sample_context
from orgs.scoping import has_perm

__all__ = ["RULE_FIELDS", "reminder_rule_create", "reminder_rule_update", "template_errors"]

RULE_FIELDS = (
    "name", "kind", "offset", "offset_unit", "repeat_every_days", "repeat_limit", "recipients", "channels",
    "subject_template", "body_template", "enabled", "effective_from",
)


def template_errors(subject_template: str, body_template: str, kind: str) -> dict[str, str]:
    """{field: message} for the templates that do not compile or render with the kind's sample context.

    Each template is tried on its own so the message lands on the field that is wrong. Refused: tags and
    filters outside notifications.reminder_templates' allow-list, and a subject or body longer than the rule rows
    reminder_subject_max_chars / reminder_body_max_chars once rendered."""
    context = sample_context(kind)
    limits = message_limits()
    errors: dict[str, str] = {}
    try:
        render(subject_template or "", "", context, limits=limits)
    except ReminderTemplateError as exc:
        errors["subject_template"] = str(exc)
    try:
        render("-", body_template or "", context, limits=limits)
    except ReminderTemplateError as exc:
        errors["body_template"] = str(exc)
    return errors


def _check(actor) -> None:
    require_actor(actor)
    if not actor.is_authenticated or not has_perm(actor, "reminder_rule.change"):
        raise DomainError(_("您无权修改提醒规则。"))


def _apply(rule: ReminderRule, data: dict) -> None:
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise DomainError(_("不能设置字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    for name, value in data.items():
        setattr(rule, name, value)
    if rule.kind not in ReminderKind.values:
        raise DomainError(_("请选择提醒类型。"), field="kind")
    rule.name = (rule.name or "").strip()
    if not rule.name:
        raise DomainError(_("请填写规则名称。"), field="name")
    recipients = [role for role in RECIPIENT_ROLES if role in set(rule.recipients or ())]
    if set(rule.recipients or ()) - set(RECIPIENT_ROLES):
        raise DomainError(_("未知的接收角色。"), field="recipients")
    if not recipients:
        raise DomainError(_("请至少选择一个接收角色。"), field="recipients")
    rule.recipients = [str(role) for role in recipients]
    channels = [channel for channel in Channel.values if channel in set(rule.channels or ())]
    if set(rule.channels or ()) - set(Channel.values):
        raise DomainError(_("未知的发送渠道。"), field="channels")
    if not channels:
        raise DomainError(_("请至少选择一个发送渠道。"), field="channels")
    rule.channels = channels
    if rule.repeat_limit and not rule.repeat_every_days:
        raise DomainError(_("设置了重复次数，请同时填写重复间隔（天）；不重复请把重复次数设为 0。"), field="repeat_every_days")
    rule.direction = KIND_DIRECTION[rule.kind]
    errors = template_errors(rule.subject_template, rule.body_template, rule.kind)
    if errors:
        field, message = next(iter(errors.items()))
        raise DomainError(message, field=field)


def _audit_values(rule: ReminderRule) -> dict:
    return field_values(rule, [*RULE_FIELDS, "direction"])


def _clean_save(rule: ReminderRule) -> None:
    try:
        rule.full_clean()
    except ValidationError as exc:
        field = next(iter(exc.message_dict), None) if hasattr(exc, "error_dict") else None
        raise DomainError("；".join(exc.messages), field=field) from exc
    rule.save()


@transaction.atomic
def reminder_rule_create(*, actor, data: dict) -> ReminderRule:
    """Add a rule of `data["kind"]`; its direction comes from the kind."""
    _check(actor)
    rule = ReminderRule()
    _apply(rule, dict(data))
    rule.updated_by = user_or_none(actor)
    _clean_save(rule)
    audit_record(actor=actor, action="reminder_rule.create", obj=rule, changes=diff({}, _audit_values(rule)))
    return rule


@transaction.atomic
def reminder_rule_update(*, actor, rule_id: int, data: dict) -> ReminderRule:
    """Change a rule's schedule, recipients, channels, templates, whether it runs, or its effective date.
    The kind stays: a rule of another kind is a new rule."""
    _check(actor)
    rule = ReminderRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise DomainError(_("该提醒规则不存在。"))
    data = dict(data)
    if "kind" in data and data["kind"] != rule.kind:
        raise DomainError(_("提醒类型不能修改，请新增一条规则。"), field="kind")
    before = _audit_values(rule)
    _apply(rule, data)
    rule.updated_by = user_or_none(actor)
    _clean_save(rule)
    audit_record(actor=actor, action="reminder_rule.update", obj=rule, changes=diff(before, _audit_values(rule)))
    return rule
