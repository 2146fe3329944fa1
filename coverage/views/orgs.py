"""The org and workplace pages that show coverage figures (they count members, so they sit above members),
and the gap lists. Thin: selectors read; the forms these pages link to are orgs' own views."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.xlsx import workbook_response
from coverage.selectors import figures
from coverage.selectors import gaps as gaps_selectors
from orgs import selectors
from orgs.forms import AssignmentEndForm, AssignmentForm
from orgs.models import Organization
from orgs.scoping import get_scoped_or_404, has_perm
from orgs.views import PAGE_SIZE, _can


@login_required
def org_detail(request, pk: int):
    org = get_scoped_or_404(Organization.objects.select_related("region"), request.user, "view", pk=pk)
    user = request.user
    context = {
        "nav_section": "tree",
        "org": org,
        "ancestors": selectors.org_ancestors(user=user, org=org),
        "children": list(selectors.org_children(user=user, parent=org, include_dissolved=True)),
        "figures": figures.coverage_for_org(user=user, org=org),
        "by_child": figures.coverage_by_child(user=user, org=org),
        "members": figures.org_member_counts(org=org),
        "counts": figures.org_summary_counts(user=user, org=org),
        "covered_workplaces": figures.annotate_coverage(org.workplaces.restrict(user, "view")).select_related("region").order_by("name"),
        "events": selectors.org_events(org=org)[:50],
        "can_change": org.is_active and _can(user, "org.change", org),
        "can_change_structure": org.is_active and selectors.can_change_org_structure(user=user, org=org),
        "can_add": org.is_active and bool(org.kind != "party_group") and _can(user, "org.add", org),
        "can_delete": org.is_active and org.depth > 1 and _can(user, "org.delete", org)
        and selectors.can_change_org_structure(user=user, org=org),
    }
    return render(request, "coverage/orgs/org_detail.html", context)


WORKPLACE_EXPORT_HEADERS = [
    gettext_lazy("单位名称"), gettext_lazy("单位类型"), gettext_lazy("行业"), gettext_lazy("所在区域"), gettext_lazy("地址"),
    gettext_lazy("主管党组织"), gettext_lazy("从业人员数"), gettext_lazy("已建工会"), gettext_lazy("正式党员数"),
    gettext_lazy("覆盖状态"), gettext_lazy("在营"),
]


@login_required
def workplace_list(request):
    qs = figures.workplace_list(user=request.user, filters=request.GET)
    if request.GET.get("format") == "xlsx":
        return _workplace_export(qs)
    filterset = figures.workplace_filterset(user=request.user, data=request.GET or None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "coverage/orgs/workplace_list.html", {
        "nav_section": "workplaces", "filter": filterset, "page": page, "query": query.urlencode(),
        "state_labels": selectors.CoverageState.LABELS, "can_add": has_perm(request.user, "workplace.add"),
    })


def _workplace_export(qs):
    labels = selectors.CoverageState.LABELS
    yes, no = _("是"), _("否")
    rows = (
        [w.name, w.get_kind_display(), w.get_industry_display(), w.region.name, w.address, w.responsible_org.name,
         w.gig_worker_count, yes if w.has_trade_union else no, w.full_members, str(labels[w.coverage_state]),
         yes if w.is_active else no]
        for w in qs.iterator(chunk_size=2000)
    )
    title = _("覆盖单位")
    return workbook_response(filename=title, title=title, headers=[str(h) for h in WORKPLACE_EXPORT_HEADERS], rows=rows)


@login_required
def workplace_detail(request, pk: int):
    workplace = get_scoped_or_404(figures.workplace_detail_queryset(), request.user, "view", pk=pk)
    return render(request, "coverage/orgs/workplace_detail.html", {
        "nav_section": "workplaces", "workplace": workplace,
        "covering": selectors.workplace_covering_orgs(user=request.user, workplace=workplace),
        "assignments": selectors.workplace_assignments(workplace=workplace),
        "events": selectors.workplace_events(workplace=workplace),
        "state_labels": selectors.CoverageState.LABELS,
        "can_change": _can(request.user, "workplace.change", workplace),
        "can_assign": has_perm(request.user, "assignment.add"),
        "assignment_form": AssignmentForm(user=request.user, initial={"started_on": timezone.localdate()}),
        "end_form": AssignmentEndForm(initial={"ended_on": timezone.localdate()}),
    })


@login_required
def gaps(request):
    user = request.user
    org = None
    if request.GET.get("org"):
        org = get_scoped_or_404(Organization.objects, user, "view", pk=request.GET["org"])
    limit = 100
    return render(request, "coverage/orgs/gaps.html", {
        "nav_section": "gaps", "org": org,
        "uncovered": gaps_selectors.gap_uncovered_workplaces(user=user, org=org)[:limit],
        "needs_branch": gaps_selectors.gap_needs_own_branch(user=user, org=org)[:limit],
        "oversized": gaps_selectors.gap_oversized_branches(user=user, org=org)[:limit],
        "missing_committees": gaps_selectors.gap_missing_committees(user=user, org=org)[:limit],
        "outside_circle": gaps_selectors.gap_outside_circle(user=user, org=org)[:limit],
        "reach_km": selectors.figure_rules()[1] / 1000,
        "limit": limit,
    })
