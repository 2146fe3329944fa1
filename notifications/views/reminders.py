"""Reminder rules pages (district staff): the list with each rule's last run and send counts, the edit page
(context keys, a preview of the saved rule, its latest sends) and adding a rule of a chosen kind. Without
reminder_rule.view every page is 404; adding and saving need reminder_rule.change (404 otherwise). A refused
form answers 400.

Thin: notifications.selectors.reminder_rules reads, notifications.actions.reminder_rules writes (re-checks
reminder_rule.change).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.views.generic import PortalView, ScopedFormView
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
class RuleListView(PortalView):
    """Every rule with its schedule, latest run and send counts (the selector: two queries however many rules,
    runs and sends). Not a ScopedListView: rules are a handful of global configuration rows (a few per kind),
    not org-scoped, and the selector returns them as a list in the kinds' declared order; there is nothing to
    page."""

    perm = "reminder_rule.view"
    nav_section = NAV
    title = gettext_lazy("提醒规则")
    template_name = "notifications/reminders/list.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rules = selectors.reminder_rule_list(user=self.request.user)
        context.update({
            "rows": [{
                "rule": rule, "schedule": selectors.describe_schedule(rule), "run": rule.latest_run,
                "recipients": selectors.recipient_labels(rule.recipients), "channels": selectors.channel_labels(rule.channels),
            } for rule in rules],
            "can_change": self.may("reminder_rule.change"),
        })
        return context


# ---------------------------------------------------------------- add and edit
class RuleFormMixin:
    """What the add and edit pages share: the form of the rule's kind, the template help, 400 when refused."""

    nav_section = NAV
    template_name = "notifications/reminders/form.html"
    form_class = ReminderRuleForm
    form_takes_user = False
    rule = None
    kind = ""

    def get_title(self) -> str:
        return self.rule.name if self.rule is not None else str(_("新增规则"))

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "kind": self.kind}

    def get_success_url(self, result) -> str:
        return reverse("notifications:reminder_rule_edit", args=[result.pk])

    def get_cancel_url(self) -> str:
        return reverse("notifications:reminder_rule_list")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form again, with what was refused
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        kind, rule = self.kind, self.rule
        context.update({
            "kind": kind, "kind_label": ReminderKind(kind).label, "direction_label": KIND_DIRECTION[kind].label,
            "keys": _keys(kind), "rule": rule, "allowed_tags": ALLOWED_TAGS, "allowed_filters": ALLOWED_FILTERS,
            "can_change": self.may("reminder_rule.change"),
        })
        if rule is not None:
            context.update(
                preview=_preview(rule), schedule=selectors.describe_schedule(rule),
                sends=list(selectors.reminder_send_log(user=self.request.user, rule_id=rule.pk)),
                send_log_size=selectors.SEND_LOG_SIZE,
            )
        return context


class RuleEditView(RuleFormMixin, ScopedFormView):
    """A rule's settings (read-only without reminder_rule.change), its preview and latest sends."""

    perm = "reminder_rule.view"

    def check_permission(self) -> None:
        super().check_permission()
        if self.request.method == "POST":
            selectors.require_rule_perm(self.request.user, "change")
        self.rule = selectors.reminder_rule_detail(user=self.request.user, rule_id=self.kwargs["pk"])
        self.kind = self.rule.kind

    def get_initial(self) -> dict:
        return _rule_initial(self.rule)

    def get_form(self):
        form = super().get_form()
        if not self.may("reminder_rule.change"):
            for field in form.fields.values():
                field.disabled = True  # read-only view of the rule
        return form

    def perform(self, form):
        return actions.reminder_rule_update(actor=self.request.user, rule_id=self.rule.pk, data=form.cleaned_data)

    def get_success_message(self, result) -> str:
        return _("已保存提醒规则“%(name)s”。") % {"name": result.name}


def _new_rule_initial(kind: str) -> dict:
    return {"name": "", "kind": kind, "offset": 7, "offset_unit": "day", "repeat_every_days": 0, "repeat_limit": 0,
            "recipients": ["secretary"], "channels": ["in_app"], "enabled": True,
            "effective_from": timezone.localdate(), "subject_template": "", "body_template": ""}


class RuleAddView(RuleFormMixin, ScopedFormView):
    """Step one chooses the kind (?kind=; an unknown one is a 400 with the chooser again), step two is the
    form of that kind."""

    perm = "reminder_rule.change"

    def check_permission(self) -> None:
        super().check_permission()
        self.kind = self.request.GET.get("kind", "")

    def get(self, request, *args, **kwargs):
        if self.kind not in ReminderKind.values:
            return self.kind_chooser()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.kind not in ReminderKind.values:
            return self.kind_chooser()
        return super().post(request, *args, **kwargs)

    def kind_chooser(self):
        context = PortalView.get_context_data(self, form=KindChoiceForm(self.request.GET or None), kinds=[
            (value, label, KIND_DIRECTION[value].label) for value, label in ReminderKind.choices])
        return self.response_class(request=self.request, template=["notifications/reminders/kind.html"], context=context,
                                   using=self.template_engine, status=400 if self.kind else 200)

    def get_initial(self) -> dict:
        return _new_rule_initial(self.kind)

    def perform(self, form):
        return actions.reminder_rule_create(actor=self.request.user, data=form.cleaned_data)

    def get_success_message(self, result) -> str:
        return _("已新增提醒规则“%(name)s”。") % {"name": result.name}
