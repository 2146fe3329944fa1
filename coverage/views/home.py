"""The home page: the coverage overview for the top of the user's scope (any signed-in user; a user without
grants sees a note instead of figures). Thin: coverage.selectors.figures reads."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.views.generic import PortalView
from coverage.selectors import figures as figure_selectors
from orgs import selectors as org_selectors

#: at most this many children in the figures table and the chart; the org page pages through all of them
CHILDREN_SHOWN = 50


class HomeView(PortalView):
    nav_section = "home"
    title = gettext_lazy("覆盖概览")
    template_name = "coverage/home.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        roots = list(org_selectors.org_scope_roots(user=user))
        root = roots[0] if roots else None
        context.update(roots=roots, root=root)
        if root is None:
            return context
        by_child = figure_selectors.coverage_by_child(user=user, org=root)
        shown = by_child[:CHILDREN_SHOWN]
        context.update(
            figures=figure_selectors.coverage_for_org(user=user, org=root),
            by_child=shown,
            children_total=len(by_child),
            children_more=len(by_child) > len(shown),
            by_industry=figure_selectors.coverage_by_industry(user=user, org=root),
            by_street=figure_selectors.coverage_by_street(user=user, org=root),
            counts=figure_selectors.org_summary_counts(user=user, org=root),
            members=figure_selectors.org_member_counts(org=root),
            chart_children={
                "labels": [f.label for f in shown],
                "series": [
                    {"name": str(_("单位")), "values": [f.workplaces for f in shown]},
                    {"name": str(_("组织覆盖")), "values": [f.org_covered for f in shown]},
                    {"name": str(_("工作覆盖")), "values": [f.work_covered for f in shown]},
                ],
            },
        )
        return context
