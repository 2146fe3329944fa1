"""Reminder rules pages (district staff): the list with each rule's last run and send counts, the edit page
(context keys, a preview of the saved rule, its latest sends) and adding a rule of a chosen kind.

Thin: notifications.selectors.reminder_rules reads (404 without reminder_rule.view), notifications.actions.reminder_rules
writes (re-checks reminder_rule.change).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, apply_to_form
from notifications.actions import reminder_rules as actions
from notifications.forms.reminders import KindChoiceForm, ReminderRuleForm
from notifications.models import KIND_DIRECTION, ReminderKind
from notifications.reminder_templates import (
    ALLOWED_FILTERS,
    ALLOWED_TAGS,
    COMMON_KEYS,
    KIND_KEYS,
    ReminderTemplateError,
    sample_context,
)
from notifications.reminder_templates import render as render_template
from notifications.selectors import reminder_rules as selectors
from orgs.scoping import has_perm

NAV = "reminders"

#: What each context key holds, for the people writing templates.
KEY_HELP = {
    "org": gettext_lazy("党组织名称"),
    "object": gettext_lazy("提醒对象：党员姓名、党组织名称或诉求查询码"),
    "date": gettext_lazy("参考日期（日期，可用 date 过滤器格式化，如 {{ date|date:'Y年n月j日' }}）"),
    "days": gettext_lazy("今天与参考日期相差的天数"),
    "repetition": gettext_lazy("第几次提醒（首次为 1）"),
    "url": gettext_lazy("办理页面的链接"),
    "rule": gettext_lazy("规则名称"),
    "details": gettext_lazy("未达标的各项组织生活及已开/应开次数"),
    "missing_count": gettext_lazy("未达标的项数"),
    "from_org": gettext_lazy("转出党组织"),
    "to_org": gettext_lazy("转入党组织"),
    "status": gettext_lazy("当前状态"),
    "letter_number": gettext_lazy("介绍信编号"),
    "activist_on": gettext_lazy("确定为积极分子的日期"),
    "elected_on": gettext_lazy("本届委员会选举日期"),
    "category": gettext_lazy("诉求类别"),
    "due_at": gettext_lazy("办理期限（文字）"),
}


def _keys(kind: str) -> list[tuple[str, str]]:
    return [(key, str(KEY_HELP.get(key, ""))) for key in (*COMMON_KEYS, *KIND_KEYS.get(kind, ()))]


def _rule_initial(rule) -> dict:
    return {name: getattr(rule, name) for name in actions.RULE_FIELDS}


def _preview(rule) -> dict:
    """Subject and body of the saved rule over the sample context, or the template error: a short translated
    message (tag, filter, line), never a traceback or the failing value."""
    try:
        subject, body = render_template(rule.subject_template, rule.body_template, sample_context(rule.kind))
    except ReminderTemplateError as exc:
        return {"error": str(exc)}
    return {"subject": subject, "body": body}


# ---------------------------------------------------------------- list
@login_required
def rule_list(request):
    rules = selectors.reminder_rule_list(user=request.user)
    rows = [{
        "rule": rule, "schedule": selectors.describe_schedule(rule), "run": rule.latest_run,
        "recipients": selectors.recipient_labels(rule.recipients), "channels": selectors.channel_labels(rule.channels),
    } for rule in rules]
    return render(request, "notifications/reminders/rule_list.html", {
        "nav_section": NAV, "rows": rows, "can_change": has_perm(request.user, "reminder_rule.change"),
    })


# ---------------------------------------------------------------- edit
def _form_page(request, *, form, kind: str, rule=None, status: int = 200):
    context = {
        "nav_section": NAV, "form": form, "kind": kind, "kind_label": ReminderKind(kind).label,
        "direction_label": KIND_DIRECTION[kind].label, "keys": _keys(kind), "rule": rule,
        "allowed_tags": ALLOWED_TAGS, "allowed_filters": ALLOWED_FILTERS,
        "can_change": has_perm(request.user, "reminder_rule.change"),
    }
    if rule is not None:
        context.update(
            preview=_preview(rule), schedule=selectors.describe_schedule(rule),
            sends=list(selectors.reminder_send_log(user=request.user, rule_id=rule.pk)),
            send_log_size=selectors.SEND_LOG_SIZE,
        )
    return render(request, "notifications/reminders/rule_form.html", context, status=status)


@login_required
def rule_edit(request, pk: int):
    rule = selectors.reminder_rule_detail(user=request.user, rule_id=pk)
    if request.method == "POST":
        selectors.require_rule_perm(request.user, "change")
        form = ReminderRuleForm(request.POST, kind=rule.kind, initial=_rule_initial(rule))
        if form.is_valid():
            try:
                actions.reminder_rule_update(actor=request.user, rule_id=rule.pk, data=form.cleaned_data)
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                messages.success(request, _("已保存提醒规则“%(name)s”。") % {"name": form.cleaned_data["name"]})
                return redirect("notifications:reminder_rule_edit", pk=rule.pk)
        return _form_page(request, form=form, kind=rule.kind, rule=rule, status=400)
    form = ReminderRuleForm(kind=rule.kind, initial=_rule_initial(rule))
    if not has_perm(request.user, "reminder_rule.change"):
        for field in form.fields.values():
            field.disabled = True  # read-only view of the rule
    return _form_page(request, form=form, kind=rule.kind, rule=rule)


# ---------------------------------------------------------------- add
def _new_rule_initial(kind: str) -> dict:
    return {"name": "", "kind": kind, "offset": 7, "offset_unit": "day", "repeat_every_days": 0, "repeat_limit": 0,
            "recipients": ["secretary"], "channels": ["in_app"], "enabled": True,
            "effective_from": timezone.localdate(), "subject_template": "", "body_template": ""}


@login_required
def rule_add(request):
    selectors.require_rule_perm(request.user, "change")
    kind = request.GET.get("kind", "")
    if kind not in ReminderKind.values:
        chooser = KindChoiceForm(request.GET or None)
        return render(request, "notifications/reminders/rule_add.html", {
            "nav_section": NAV, "form": chooser,
            "kinds": [(value, label, KIND_DIRECTION[value].label) for value, label in ReminderKind.choices],
        }, status=400 if kind else 200)
    if request.method == "POST":
        form = ReminderRuleForm(request.POST, kind=kind, initial=_new_rule_initial(kind))
        if form.is_valid():
            try:
                rule = actions.reminder_rule_create(actor=request.user, data=form.cleaned_data)
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                messages.success(request, _("已新增提醒规则“%(name)s”。") % {"name": rule.name})
                return redirect("notifications:reminder_rule_edit", pk=rule.pk)
        return _form_page(request, form=form, kind=kind, status=400)
    return _form_page(request, form=ReminderRuleForm(kind=kind, initial=_new_rule_initial(kind)), kind=kind)
