"""Changing a rule row (district staff with rule.change at a root org: rules hold for the whole district).

`rule_update` locks the row, checks the value (non-negative, at most 2 decimals and 12 digits, a whole number for
rules counted in whole units: orgs.selectors.rules.is_integer_rule) and the reason, saves and writes an audit row
(action "rule.update", changes {"value": [old, new], "reason": ...}). The pages read the history from those rows.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record, require_actor
from core.exceptions import DomainError
from core.models import Rule
from orgs.selectors.rules import can_change_rules, is_integer_rule

REASON_MAX = 500
VALUE_MAX = Decimal("9999999999.99")  # max_digits=12, decimal_places=2
CENT = Decimal("0.01")


@transaction.atomic
def rule_update(*, actor, rule: Rule, value, reason: str) -> Rule:
    require_actor(actor)
    if not can_change_rules(actor):
        raise DomainError(_("只有区级党组织的区委组织部工作人员可以修改规则参数。"))
    locked = Rule.objects.select_for_update().get(pk=rule.pk)
    try:
        new = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError(_("请输入数字。"), field="value") from None
    if not new.is_finite():
        raise DomainError(_("请输入数字。"), field="value")
    if new < 0:
        raise DomainError(_("取值不能为负数。"), field="value")
    if new > VALUE_MAX:
        raise DomainError(_("取值过大。"), field="value")
    if new != new.quantize(CENT):
        raise DomainError(_("取值最多保留两位小数。"), field="value")
    if is_integer_rule(locked) and new != new.to_integral_value():
        raise DomainError(_("该规则以整数计（%(unit)s），请输入整数。") % {"unit": locked.unit or _("个")}, field="value")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写修改原因。"), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("修改原因不能超过 %(n)d 个字。") % {"n": REASON_MAX}, field="reason")
    new = new.quantize(CENT)
    old = locked.value
    if new == old:
        raise DomainError(_("新取值与当前取值相同，无需修改。"), field="value")
    locked.value = new
    locked.full_clean()
    locked.save(update_fields=["value", "updated_at"])
    audit_record(actor=actor, action="rule.update", obj=locked, changes={"value": [str(old), str(new)], "reason": reason})
    return locked
