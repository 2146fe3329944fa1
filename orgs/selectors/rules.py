"""Reads of the rule-row pages: every rule with its effective value, who changed it last and its recent
history, from the audit log (action "rule.update"), in two queries for all rules.

Rules are district-wide: reading needs rule.view somewhere; changing needs rule.change at a root org
(`can_change_rules`). Both answer 404 otherwise (`require_rule_view`, `require_rule_change`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from core.models import AuditEntry, Rule
from orgs.models import Organization
from orgs.scoping import grant_paths, has_perm

HISTORY_SIZE = 5
RULE_OBJECT_TYPE = Rule._meta.label_lower
#: Keys of rules counted in whole units (months, days, people, times...): their values must be integers.
INTEGER_SUFFIXES = (
    "_months", "_month", "_days", "_day", "_hours", "_hour", "_minutes", "_seconds", "_years", "_year",
    "_members", "_count", "_units", "_age", "_chars", "_mb", "_limit",
)


def is_integer_rule(rule: Rule) -> bool:
    """Counted in whole units: the key names such a unit and the current value has no fraction."""
    value = Decimal(rule.value)
    return rule.key.endswith(INTEGER_SUFFIXES) and value == value.to_integral_value()


def plain_value(value) -> str:
    """A rule value without trailing zeros: 3.00 → "3", 2.50 → "2.5"."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def can_change_rules(user) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(len(path) == Organization.steplen for path in grant_paths(user, "rule.change"))


def require_rule_view(user) -> None:
    if not has_perm(user, "rule.view"):
        raise Http404


def require_rule_change(user) -> None:
    if not can_change_rules(user):
        raise Http404


@dataclass
class RuleRow:
    rule: Rule
    integer: bool
    value: str
    history: list = field(default_factory=list)  # AuditEntry rows, newest first

    @property
    def last_change(self):
        return self.history[0] if self.history else None


def _history(rule_ids: list[int]) -> dict[str, list]:
    """The newest HISTORY_SIZE "rule.update" entries of each rule, in one query (a window per rule)."""
    if not rule_ids:
        return {}
    entries = (
        AuditEntry.objects.filter(action="rule.update", object_type=RULE_OBJECT_TYPE, object_id__in=[str(i) for i in rule_ids])
        .annotate(rank=Window(RowNumber(), partition_by=[F("object_id")], order_by=[F("created_at").desc(), F("id").desc()]))
        .filter(rank__lte=HISTORY_SIZE)
        .order_by("object_id", "-created_at", "-id")
    )
    found: dict[str, list] = {}
    for entry in entries:
        found.setdefault(entry.object_id, []).append(entry)
    return found


def _row(rule: Rule, history: dict[str, list]) -> RuleRow:
    return RuleRow(rule=rule, integer=is_integer_rule(rule), value=plain_value(rule.value), history=history.get(str(rule.pk), []))


def rules_for(*, user) -> QuerySet[Rule]:
    """Every rule (404 without rule.view): the list page's rows, before `rule_rows_of` adds their history."""
    require_rule_view(user)
    return Rule.objects.all()


def rule_rows_of(rules: list[Rule]) -> list[RuleRow]:
    """`rules` with their effective values and history: one query for any number of rules."""
    history = _history([r.pk for r in rules])
    return [_row(rule, history) for rule in rules]


def rule_row(*, user, rule_id: int) -> RuleRow:
    """One rule for its edit page (404 unless the user may change rules)."""
    require_rule_change(user)
    try:
        rule = Rule.objects.get(pk=rule_id)
    except Rule.DoesNotExist:
        raise Http404 from None
    return _row(rule, _history([rule.pk]))
