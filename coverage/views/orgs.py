"""The org and workplace pages that show coverage figures (they count members, so they sit above members),
and the gap lists. Thin: selectors read; the forms these pages link to are orgs' own views.

Every list on these pages is bounded, however large the district: an org's children are paged (keyset, by
tree path), its directly covered workplaces and each gap list show their first rows with a link to the full,
filtered list (coverage:workplace_list, services:point_circle)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.pagination import keyset_page
from core.views.generic import PortalView, ScopedDetailView, ScopedListView
from coverage.filtersets import WorkplaceFilterSet
from coverage.selectors import figures
from coverage.selectors import gaps as gaps_selectors
from orgs import selectors
from orgs.forms import AssignmentEndForm
from orgs.models import Organization, Workplace
from orgs.scoping import get_scoped_or_404, may

#: children of an org per page of its "下级组织" table (?children=<cursor> pages on)
CHILDREN_PAGE = 50
#: directly covered workplaces shown on an org's page (the rest: the workplace list filtered by the org)
WORKPLACES_SHOWN = 20
#: rows shown per gap kind (the rest: the filtered lists the headings link to)
GAP_ROWS = 50


def _first(qs, limit: int) -> tuple[list, bool]:
    """The first `limit` rows of `qs` and whether there are more, in one query."""
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


class OrgDetailView(ScopedDetailView):
    """An org with its figures, children (paged), directly covered workplaces (bounded) and history (the
    latest 50 events). 404 outside the user's subtree."""

    perm = "org.view"
    nav_section = "tree"
    template_name = "coverage/orgs/org_detail.html"
    queryset = Organization.objects.select_related("region")
    context_object_name = "org"

    def get_title(self) -> str:
        return self.object.name

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user, org = self.request.user, self.object
        children = keyset_page(selectors.org_children(user=user, parent=org, include_dissolved=True),
                               ordering=("path", "pk"), cursor=self.request.GET.get("children", ""), size=CHILDREN_PAGE)
        keys = {str(child.pk) for child in children}
        workplaces, more_workplaces = _first(
            figures.annotate_coverage(org.workplaces.restrict(user, "view")).select_related("region").order_by("name", "pk"),
            WORKPLACES_SHOWN,
        )
        structure = selectors.can_change_org_structure(user=user, org=org)
        context.update({
            "ancestors": selectors.org_ancestors(user=user, org=org),
            "children": children.object_list,
            "children_page": children,
            "figures": figures.coverage_for_org(user=user, org=org),
            "by_child": [f for f in figures.coverage_by_child(user=user, org=org) if f.key in keys],
            "members": figures.org_member_counts(org=org),
            "counts": figures.org_summary_counts(user=user, org=org),
            "covered_workplaces": workplaces,
            "more_workplaces": more_workplaces,
            "events": selectors.org_events(org=org)[:50],
            "can_change": org.is_active and may(user, "org.change", org),
            "can_change_structure": org.is_active and structure,
            "can_add": org.is_active and org.kind != "party_group" and may(user, "org.add", org),
            "can_delete": org.is_active and org.depth > 1 and may(user, "org.delete", org) and structure,
        })
        return context


WORKPLACE_EXPORT_HEADERS = [
    gettext_lazy("单位名称"), gettext_lazy("单位类型"), gettext_lazy("行业"), gettext_lazy("所在区域"), gettext_lazy("地址"),
    gettext_lazy("主管党组织"), gettext_lazy("从业人员数"), gettext_lazy("已建工会"), gettext_lazy("正式党员数"),
    gettext_lazy("覆盖状态"), gettext_lazy("在营"),
]


class WorkplaceListView(ScopedListView):
    """Workplaces in scope with their coverage state, filtered by WorkplaceFilterSet; `?format=xlsx` exports
    what the filters select (core.xlsx escapes formulas). An invalid filter value lists nothing."""

    perm = "workplace.view"
    nav_section = "workplaces"
    title = gettext_lazy("覆盖单位")
    template_name = "coverage/orgs/workplace_list.html"
    table_template_name = "coverage/orgs/_workplace_table.html"
    filterset_class = WorkplaceFilterSet
    ordering = ("name", "pk")
    export_headers = WORKPLACE_EXPORT_HEADERS
    export_title = gettext_lazy("覆盖单位")

    def get_queryset(self):
        return figures.workplace_list(user=self.request.user)

    def export_row(self, w) -> list:
        yes, no = _("是"), _("否")
        return [w.name, w.get_kind_display(), w.get_industry_display(), w.region.name, w.address, w.responsible_org.name,
                w.gig_worker_count, yes if w.has_trade_union else no, w.full_members,
                str(selectors.CoverageState.LABELS[w.coverage_state]), yes if w.is_active else no]

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(state_labels=selectors.CoverageState.LABELS, can_add=self.may("workplace.add"))
        return context


class WorkplaceDetailView(ScopedDetailView):
    """A workplace with its coverage state, covering orgs, instructors and history. 404 outside scope (an
    instructor also sees the workplaces assigned to them)."""

    perm = "workplace.view"
    nav_section = "workplaces"
    template_name = "coverage/orgs/workplace_detail.html"
    context_object_name = "workplace"

    def get_base_queryset(self):
        # built per request: the coverage annotations depend on today's date
        return figures.workplace_detail_queryset()

    def get_title(self) -> str:
        return self.object.name

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user, workplace = self.request.user, self.object
        context.update({
            "covering": selectors.workplace_covering_orgs(user=user, workplace=workplace),
            "assignments": selectors.workplace_assignments(workplace=workplace),
            "events": selectors.workplace_events(workplace=workplace),
            "state_labels": selectors.CoverageState.LABELS,
            "can_change": Workplace.objects.restrict(user, "change").filter(pk=workplace.pk).exists(),
            "can_assign": self.may("assignment.add"),
            "end_form": AssignmentEndForm(initial={"ended_on": timezone.localdate()}),
        })
        return context


class GapsView(PortalView):
    """The gap lists (空白点 and the other problems), for the user's scope or one org's subtree (?org=, 404
    outside scope); each shows its first GAP_ROWS rows."""

    perm = "workplace.view"
    nav_section = "gaps"
    title = gettext_lazy("空白点")
    template_name = "coverage/orgs/gaps.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        org = None
        if self.request.GET.get("org"):
            org = get_scoped_or_404(Organization.objects, user, "view", pk=self.request.GET["org"])
        lists = {
            "uncovered": gaps_selectors.gap_uncovered_workplaces(user=user, org=org),
            "needs_branch": gaps_selectors.gap_needs_own_branch(user=user, org=org),
            "oversized": gaps_selectors.gap_oversized_branches(user=user, org=org),
            "missing_committees": gaps_selectors.gap_missing_committees(user=user, org=org),
            "outside_circle": gaps_selectors.gap_outside_circle(user=user, org=org),
        }
        more = {}
        for name, qs in lists.items():
            context[name], more[name] = _first(qs, GAP_ROWS)
        context.update(org=org, more=more, limit=GAP_ROWS, reach_km=selectors.figure_rules()[1] / 1000)
        return context
