"""The org tree (/orgs/): the roots of the user's scope, and the htmx fragment that lazily lists one node's
visible children. Thin: orgs.selectors reads (only nodes inside the user's subtrees)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from core.views.generic import PortalView
from orgs import selectors
from orgs.models import Organization
from orgs.scoping import get_scoped_or_404


class TreeView(PortalView):
    """Any signed-in user: a user without grants sees a note instead of a tree."""

    nav_section = "tree"
    title = gettext_lazy("组织体系")
    template_name = "orgs/tree/tree.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["roots"] = list(selectors.org_scope_roots(user=self.request.user))
        return context


class TreeChildrenView(PortalView):
    """htmx partial: the visible children of one node (404 outside the user's scope)."""

    template_name = "orgs/tree/_nodes.html"

    def get(self, request, *args, **kwargs):
        parent = get_scoped_or_404(Organization.objects, request.user, "view", pk=kwargs["pk"])
        show_dissolved = request.GET.get("dissolved") == "1"
        children = selectors.org_children(user=request.user, parent=parent, include_dissolved=show_dissolved)
        return self.render_to_response({"nodes": children})
