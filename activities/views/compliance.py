"""Compliance board (组织生活落实情况), its Excel export, and exemptions. Thin: selectors/compliance.py reads,
actions/exemptions.py writes.

The board is bounded whatever the size of the subtree: the chosen org's figures, a keyset page of its direct
children (each row drills down with `?org=<child>`, keeping the period), a breadcrumb back up, and at most
BEHIND_LIMIT of the branches behind. The export lists every branch of the subtree, up to BOARD_EXPORT_LIMIT."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities.actions.exemptions import exemption_create
from activities.forms.exemptions import ExemptionForm
from activities.models import Exemption
from activities.selectors import compliance
from core.views.generic import PortalView, ScopedFormView, ScopedListView, is_htmx
from core.xlsx import workbook_response

NAV = "compliance"


def bad_request_page(request, message: str, *, back: str):
    """The friendly 400 page for a query that cannot be answered as asked."""
    return render(request, "activities/bad_request.html", {"nav_section": NAV, "message": message, "back": back},
                  status=400)


class BoardMixin:
    """The org (inside the user's activity.view scope, else 404) and period a board URL names."""

    perm = "activity.view"
    nav_section = NAV

    @cached_property
    def root(self):
        user, org_pk = self.request.user, self.request.GET.get("org")
        root = compliance.compliance_org_or_none(user=user, pk=org_pk) if org_pk else compliance.compliance_roots(user=user).first()
        if root is None:
            raise Http404
        return root

    @cached_property
    def period_and_error(self):
        return compliance.period_or_error(self.request.GET.get("period_type"), self.request.GET.get("period"))


class ComplianceBoardView(BoardMixin, PortalView):
    template_name = "activities/compliance/board.html"
    #: the children table and its pager, rendered alone for the pager's htmx requests
    table_template_name = "activities/compliance/_children.html"
    title = gettext_lazy("组织生活落实情况")

    def get(self, request, *args, **kwargs):
        period, error = self.period_and_error
        if error:
            messages.warning(request, error)
        board = compliance.compliance_board(user=request.user, root=self.root, period=period,
                                            cursor=request.GET.get("cursor", ""))
        context = self.get_context_data(board=board, period=period)
        if is_htmx(request) and request.headers.get("HX-Target") == "list-body":
            return self.response_class(request=request, template=[self.table_template_name], context=context,
                                       using=self.template_engine)
        return self.render_to_response(context)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        board, period = context["board"], context["period"]
        query = self.request.GET.copy()
        query.pop("cursor", None)
        drill = QueryDict(mutable=True)
        drill.update({"period_type": period.kind, "period": period.key})
        context.update({
            "root": board.root, "report": board.report, "previous": board.previous, "page": board.children,
            "total": board.children_total,
            "period_kinds": compliance.PERIOD_KIND_LABELS, "roots": list(compliance.compliance_roots(user=self.request.user)),
            "can_add_exemption": self.may("exemption.add"), "query": query.urlencode(), "period_query": drill.urlencode(),
        })
        return context


EXPORT_HEADERS = [
    gettext_lazy("党组织"), gettext_lazy("组织类别"), gettext_lazy("期间"), gettext_lazy("应开展次数"),
    gettext_lazy("已达标次数"), gettext_lazy("实际开展次数"), gettext_lazy("完成率（%）"), gettext_lazy("未落实事项"),
    gettext_lazy("豁免"),
]


class ComplianceExportView(BoardMixin, PortalView):
    """Every branch of the subtree (at most BOARD_EXPORT_LIMIT; above that a message asks for a lower org)."""

    def get(self, request, *args, **kwargs):
        period, error = self.period_and_error
        if error:  # never export another period than the one asked for
            return bad_request_page(request, error, back=reverse("activities:compliance_board"))
        limit = compliance.BOARD_EXPORT_LIMIT
        if compliance.compliance_export_too_large(user=request.user, root=self.root, limit=limit):
            messages.warning(request, _("该党组织下的党支部超过 %(limit)s 个，未导出；请选择下级组织后再导出。") % {"limit": limit})
            return redirect(f"{reverse('activities:compliance_board')}?{request.GET.urlencode()}")
        report = compliance.compliance_report(user=request.user, root=self.root, period=period)
        rows = (
            [b.org.name, b.org.get_kind_display(), report.period.label, b.expected, b.met, b.held,
             b.rate if b.rate is not None else "", "；".join(str(g) for g in b.missing),
             "；".join(f"{e.starts_on}–{e.ends_on} {e.reason}" for e in b.exemptions)]
            for b in report.branches
        )
        title = _("组织生活落实情况")
        return workbook_response(filename=f"{title}-{report.period.key}", title=title,
                                 headers=[str(h) for h in EXPORT_HEADERS], rows=rows)


class ExemptionListView(ScopedListView):
    perm = "exemption.view"
    nav_section = NAV
    title = gettext_lazy("组织生活豁免")
    template_name = "activities/compliance/exemption_list.html"
    table_template_name = "activities/compliance/_exemption_table.html"
    ordering = ("-starts_on", "-pk")

    def get_queryset(self):
        return compliance.exemption_list(user=self.request.user)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_add"] = self.may("exemption.add")
        return context


class ExemptionCreateView(ScopedFormView):
    perm = "exemption.add"
    nav_section = NAV
    title = gettext_lazy("登记豁免")
    template_name = "activities/compliance/exemption_form.html"
    form_class = ExemptionForm
    success_message = gettext_lazy("已登记豁免。")

    def get_initial(self) -> dict:
        org_pk = self.request.GET.get("org")
        if not org_pk:
            return {}
        org = compliance.compliance_org_or_none(user=self.request.user, pk=org_pk)
        if org is None:
            raise Http404
        return {"org": org.pk}

    def perform(self, form) -> Exemption:
        return exemption_create(actor=self.request.user, **form.cleaned_data)

    def get_success_url(self, result) -> str:
        return reverse("activities:exemption_list")

    def get_cancel_url(self) -> str:
        return reverse("activities:exemption_list")
