"""Writes for compliance exemptions (组织生活豁免). District staff only (exemption.add scope).

The actor is required (None raises ValueError) and must be a user: an exemption names who approved it.
Each write leaves one audit row (core.audit)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from activities.models import ComplianceRule, Exemption
from core.audit import audit_record, diff, field_values, require_actor, user_or_none
from core.exceptions import DomainError
from orgs.models import Organization
from orgs.scoping import may

MAX_EXEMPTION_DAYS = 366 * 2  # a longer exemption is a standing decision, not an exemption


def _may_add_exemption(actor, org: Organization) -> bool:
    return may(actor, "exemption.add", org)


@transaction.atomic
def exemption_create(
    *, actor, org: Organization, rule: ComplianceRule | None, starts_on: dt.date, ends_on: dt.date, reason: str,
) -> Exemption:
    """Exempt `org` from `rule` (all rules when None) between two dates, approved by `actor`."""
    require_actor(actor)
    approver = user_or_none(actor)
    if approver is None:
        raise ValueError("an exemption names the person who approved it: pass a user, not SYSTEM")
    if not _may_add_exemption(actor, org):
        raise DomainError(_("您无权为该党组织登记豁免。"), field="org")
    if not org.is_active:
        raise DomainError(_("该党组织已撤销。"), field="org")
    if starts_on is None or ends_on is None:
        raise DomainError(_("请填写开始和结束日期。"), field="starts_on")
    if ends_on < starts_on:
        raise DomainError(_("结束日期不能早于开始日期。"), field="ends_on")
    if (ends_on - starts_on).days > MAX_EXEMPTION_DAYS:
        raise DomainError(_("豁免期限不能超过两年。"), field="ends_on")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写豁免原因。"), field="reason")
    exemption = Exemption(org=org, rule=rule, starts_on=starts_on, ends_on=ends_on, reason=reason, approved_by=approver)
    try:
        exemption.full_clean()
    except ValidationError as exc:
        raise DomainError("；".join(exc.messages)) from exc
    exemption.save()
    audit_record(actor=actor, action="exemption.create", obj=exemption, changes=diff({}, field_values(
        exemption, ["org_id", "rule_id", "starts_on", "ends_on", "reason"])))
    return exemption


__all__ = ["exemption_create"]
