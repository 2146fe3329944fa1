"""Compliance board (组织生活落实情况), its Excel export, and exemptions. Thin: compliance.py reads,
exemption_actions.py writes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities import compliance
from activities.exemption_actions import exemption_create as exemption_create_action
from activities.exemption_forms import ExemptionForm
from core.exceptions import DomainError, apply_to_form
from core.xlsx import workbook_response
from orgs.scoping import has_perm


class _BadQuery(Exception):
    """A query parameter an export cannot honour: answered with a 400 page, never another period."""


def bad_request_page(request, message: str, *, back: str):
    """The friendly 400 page for a query that cannot be answered as asked."""
    return render(request, "activities/bad_request.html", {"nav_section": "compliance", "message": message, "back": back},
                  status=400)


def _board_context(request, *, export: bool = False) -> dict:
    user = request.user
    if not has_perm(user, "activity.view"):
        raise Http404
    org_pk = request.GET.get("org")
    if org_pk:
        root = compliance.compliance_org_or_none(user=user, pk=org_pk)
    else:
        root = compliance.compliance_roots(user=user).first()
    if root is None:
        raise Http404
    period, error = compliance.period_or_error(request.GET.get("period_type"), request.GET.get("period"))
    if error and export:
        raise _BadQuery(error)
    if error:
        messages.warning(request, error)
    report = compliance.compliance_report(user=user, root=root, period=period)
    previous = compliance.compliance_report(user=user, root=root, period=period.previous())
    return {
        "nav_section": "compliance", "root": root, "period": period, "report": report, "previous": previous,
        "period_kinds": compliance.PERIOD_KIND_LABELS, "roots": list(compliance.compliance_roots(user=user)),
    }


@login_required
def compliance_board(request):
    context = _board_context(request)
    context["can_add_exemption"] = has_perm(request.user, "exemption.add")
    context["query"] = request.GET.urlencode()
    return render(request, "activities/board/board.html", context)


EXPORT_HEADERS = [
    gettext_lazy("党组织"), gettext_lazy("组织类别"), gettext_lazy("期间"), gettext_lazy("应开展次数"),
    gettext_lazy("已达标次数"), gettext_lazy("实际开展次数"), gettext_lazy("完成率（%）"), gettext_lazy("未落实事项"),
    gettext_lazy("豁免"),
]


@login_required
def compliance_export(request):
    try:
        context = _board_context(request, export=True)
    except _BadQuery as exc:
        return bad_request_page(request, str(exc), back=reverse("activities:compliance_board"))
    report = context["report"]
    rows = (
        [b.org.name, b.org.get_kind_display(), report.period.label, b.expected, b.met, b.held,
         b.rate if b.rate is not None else "", "；".join(str(g) for g in b.missing),
         "；".join(f"{e.starts_on}–{e.ends_on} {e.reason}" for e in b.exemptions)]
        for b in report.branches
    )
    title = _("组织生活落实情况")
    return workbook_response(filename=f"{title}-{report.period.key}", title=title,
                             headers=[str(h) for h in EXPORT_HEADERS], rows=rows)


@login_required
def exemption_list(request):
    if not has_perm(request.user, "exemption.view"):
        raise Http404
    page = Paginator(compliance.exemption_list(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "activities/board/exemption_list.html", {
        "nav_section": "compliance", "page": page, "query": "",
        "can_add": has_perm(request.user, "exemption.add"),
    })


@login_required
def exemption_create(request):
    if not has_perm(request.user, "exemption.add"):
        raise Http404
    initial = {}
    if request.GET.get("org"):
        org = compliance.compliance_org_or_none(user=request.user, pk=request.GET["org"])
        if org is None:
            raise Http404
        initial["org"] = org.pk
    form = ExemptionForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            exemption_create_action(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已登记豁免。"))
            return redirect("activities:exemption_list")
    return render(request, "activities/board/exemption_form.html", {"nav_section": "compliance", "form": form})
