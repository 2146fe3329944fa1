"""Rule-row pages (/rules/): the list with effective values, who changed each last and its recent history
(rule.view), and the edit form (rule.change at a root org). Others: 404. Thin: orgs.selectors.rules reads,
orgs.actions.rules writes."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.views.generic import ScopedFormView, ScopedListView
from orgs.actions.rules import rule_update
from orgs.forms.rules import RuleForm
from orgs.selectors import rules as selectors

NAV = "rules"


class RuleListView(ScopedListView):
    perm = "rule.view"
    nav_section = NAV
    title = gettext_lazy("规则参数")
    template_name = "orgs/rules/list.html"
    table_template_name = "orgs/rules/_table.html"
    ordering = ("key", "pk")

    def get_queryset(self):
        return selectors.rules_for(user=self.request.user)

    def decorate(self, rows: list) -> list:
        return selectors.rule_rows_of(rows)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update({"can_change": selectors.can_change_rules(self.request.user),
                        "history_size": selectors.HISTORY_SIZE})
        return context


class RuleEditView(ScopedFormView):
    """A new value and the reason; only for rule.change at a root org (404 otherwise). A refused value is a 400."""

    perm = "rule.change"
    nav_section = NAV
    template_name = "orgs/rules/form.html"
    form_class = RuleForm
    form_takes_user = False

    def check_permission(self) -> None:
        super().check_permission()
        self.row = selectors.rule_row(user=self.request.user, rule_id=self.kwargs["pk"])

    def get_title(self) -> str:
        return str(self.row.rule.label)

    def get_initial(self) -> dict:
        return {"value": self.row.value}

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "integer": self.row.integer}

    def perform(self, form):
        return rule_update(actor=self.request.user, rule=self.row.rule, value=form.cleaned_data["value"],
                           reason=form.cleaned_data["reason"])

    def get_success_message(self, result) -> str:
        return _("已将“%(label)s”改为 %(value)s%(unit)s。") % {
            "label": result.label, "value": selectors.plain_value(result.value), "unit": result.unit}

    def get_success_url(self, result) -> str:
        return reverse("orgs:rule_list")

    def get_cancel_url(self) -> str:
        return reverse("orgs:rule_list")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form again, with what was refused
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "row": self.row, "rule": self.row.rule,
                "history_size": selectors.HISTORY_SIZE}
