"""Rule-row pages (/rules/): the list with effective values, who changed each last and its recent history
(rule.view), and the edit form (rule.change at a root org). Others: 404. Thin: orgs.selectors.rules reads,
orgs.actions.rules writes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.exceptions import DomainError, apply_to_form
from orgs.actions.rules import rule_update
from orgs.forms.rules import RuleForm
from orgs.selectors import rules as selectors

NAV = "rules"


@login_required
def rule_list(request):
    rows = selectors.rule_rows(user=request.user)
    return render(request, "orgs/rules/rule_list.html", {
        "nav_section": NAV, "rows": rows, "can_change": selectors.can_change_rules(request.user),
        "history_size": selectors.HISTORY_SIZE,
    })


@login_required
def rule_edit(request, pk: int):
    row = selectors.rule_row(user=request.user, rule_id=pk)
    form = RuleForm(request.POST or None, integer=row.integer, initial={"value": row.value})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                rule = rule_update(actor=request.user, rule=row.rule, value=form.cleaned_data["value"],
                                   reason=form.cleaned_data["reason"])
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                messages.success(request, _("已将“%(label)s”改为 %(value)s%(unit)s。") % {
                    "label": rule.label, "value": selectors.plain_value(rule.value), "unit": rule.unit})
                return redirect("orgs:rule_list")
    return render(request, "orgs/rules/rule_form.html", {
        "nav_section": NAV, "row": row, "rule": row.rule, "form": form, "history_size": selectors.HISTORY_SIZE,
    }, status=status)
