"""The home page: the coverage overview for the top of the user's scope."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from coverage.selectors import figures as figure_selectors
from orgs import selectors as org_selectors


@login_required
def home(request):
    """Coverage overview for the top of the user's scope."""
    roots = list(org_selectors.org_scope_roots(user=request.user))
    root = roots[0] if roots else None
    context = {"nav_section": "home", "roots": roots, "root": root}
    if root is not None:
        context.update(
            figures=figure_selectors.coverage_for_org(user=request.user, org=root),
            by_child=figure_selectors.coverage_by_child(user=request.user, org=root),
            by_industry=figure_selectors.coverage_by_industry(user=request.user, org=root),
            by_street=figure_selectors.coverage_by_street(user=request.user, org=root),
            counts=figure_selectors.org_summary_counts(user=request.user, org=root),
            members=figure_selectors.org_member_counts(org=root),
        )
        context["chart_children"] = {
            "labels": [f.label for f in context["by_child"]],
            "series": [
                {"name": str(_("单位")), "values": [f.workplaces for f in context["by_child"]]},
                {"name": str(_("组织覆盖")), "values": [f.org_covered for f in context["by_child"]]},
                {"name": str(_("工作覆盖")), "values": [f.work_covered for f in context["by_child"]]},
            ],
        }
    return render(request, "coverage/home.html", context)
