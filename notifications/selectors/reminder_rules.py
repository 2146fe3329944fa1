"""Reads for the reminder rules pages (district staff: reminder_rule.view).

Rules are global rows, not org-scoped: the permission is the whole check, and without it every read answers
404 (the same as "does not exist"). The list costs a constant number of queries however many rules, runs and
sends there are: the latest run's id and the send counts are correlated subqueries, the runs one more query.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from notifications.models import (
    KIND_DIRECTION,
    Channel,
    Direction,
    OffsetUnit,
    ReminderKind,
    ReminderRule,
    ReminderRun,
    ReminderSend,
    SendStatus,
)
from orgs.models import Role
from orgs.scoping import has_perm

__all__ = [
    "SEND_LOG_SIZE", "channel_labels", "describe_schedule", "recipient_labels", "reminder_rule_detail",
    "reminder_rule_list", "reminder_rules", "reminder_send_log", "require_rule_perm", "with_latest_runs",
]

SEND_LOG_SIZE = 50


def require_rule_perm(user, action: str = "view") -> None:
    """404 for users who may not see (or change) reminder rules."""
    if not has_perm(user, f"reminder_rule.{action}"):
        raise Http404


def _count_sends(**filters):
    counted = (ReminderSend.objects.filter(rule_id=OuterRef("pk"), **filters).order_by()
               .values("rule_id").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def reminder_rules(*, user) -> QuerySet[ReminderRule]:
    """Every rule annotated with `latest_run_id`, `sends_total` and `sends_sent` (one query; the API pages it)."""
    require_rule_perm(user)
    latest = ReminderRun.objects.filter(rule_id=OuterRef("pk")).order_by("-started_at", "-id").values("pk")[:1]
    return ReminderRule.objects.select_related("updated_by").annotate(
        latest_run_id=Subquery(latest), sends_total=_count_sends(), sends_sent=_count_sends(status=SendStatus.SENT)
    )


def with_latest_runs(rules) -> list[ReminderRule]:
    """Set `latest_run` (a ReminderRun or None) on rules read by `reminder_rules`: one query for all of them."""
    rules = list(rules)
    run_ids = [rule.latest_run_id for rule in rules if rule.latest_run_id]
    runs = ReminderRun.objects.in_bulk(run_ids) if run_ids else {}
    for rule in rules:
        rule.latest_run = runs.get(rule.latest_run_id)
    return rules


def reminder_rule_list(*, user) -> list[ReminderRule]:
    """Every rule with `latest_run` (a ReminderRun or None), `sends_total` and `sends_sent`: 2 queries."""
    rules = list(reminder_rules(user=user))
    order = {kind: position for position, kind in enumerate(ReminderKind.values)}
    rules.sort(key=lambda rule: (order.get(rule.kind, len(order)), rule.pk))  # the kinds in their declared order
    return with_latest_runs(rules)


def reminder_rule_detail(*, user, rule_id: int, action: str = "view") -> ReminderRule:
    require_rule_perm(user, action)
    rule = ReminderRule.objects.select_related("updated_by").filter(pk=rule_id).first()
    if rule is None:
        raise Http404
    return rule


def reminder_send_log(*, user, rule_id: int, limit: int = SEND_LOG_SIZE) -> QuerySet[ReminderSend]:
    """The latest sends of one rule, newest first (one query)."""
    require_rule_perm(user)
    return ReminderSend.objects.filter(rule_id=rule_id).select_related("recipient").order_by("-created_at", "-id")[:limit]


# ---------------------------------------------------------------- how a rule reads to a person
def describe_schedule(rule) -> str:
    """E.g. "参考日期前 7 天；每 4 天重复，最多 1 次" or "参考日期后 30 天" or "参考日期前 6 个月"."""
    direction = KIND_DIRECTION.get(rule.kind, rule.direction)
    if rule.offset_unit == OffsetUnit.MONTH:
        amount = _("%(n)s 个月") % {"n": rule.offset}
    else:
        amount = _("%(n)s 天") % {"n": rule.offset}
    if rule.offset == 0:
        text = _("参考日期当天")
    elif direction == Direction.BEFORE:
        text = _("参考日期前 %(amount)s") % {"amount": amount}
    else:
        text = _("参考日期后 %(amount)s") % {"amount": amount}
    if rule.repeat_limit and rule.repeat_every_days:
        text += _("；每 %(every)s 天重复，最多 %(limit)s 次") % {"every": rule.repeat_every_days, "limit": rule.repeat_limit}
    return text


def recipient_labels(values) -> list[str]:
    labels = dict(Role.choices)
    return [str(labels.get(value, value)) for value in values or ()]


def channel_labels(values) -> list[str]:
    labels = dict(Channel.choices)
    return [str(labels.get(value, value)) for value in values or ()]
