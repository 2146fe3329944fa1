"""The org picker's search (core.forms.SearchSelect): the options of the orgs matching a name among those
where the user may do `perm`, at most LIMIT, for htmx to swap into the select. Never lists an org outside
the user's scope for that permission; an unknown permission lists nothing."""

from __future__ import annotations

from core.views.generic import PortalView
from orgs.permissions import ROLE_ACTIONS
from orgs.selectors import orgs_where

LIMIT = 20
KNOWN_PERMS = frozenset().union(*ROLE_ACTIONS.values())


class OrgPickView(PortalView):
    template_name = "core/widgets/_options.html"

    def get(self, request, *args, **kwargs):
        perm = request.GET.get("perm", "")
        name = request.GET.get("name", "org")
        q = (request.GET.get(f"{name}__q") or request.GET.get("q") or "").strip()[:60]
        options: list = []
        more = False
        if perm in KNOWN_PERMS:
            qs = orgs_where(user=request.user, perm=perm)
            if q:
                qs = qs.filter(name__icontains=q)
            rows = list(qs.order_by("path").values_list("pk", "name")[: LIMIT + 1])
            options, more = rows[:LIMIT], len(rows) > LIMIT
        return self.render_to_response({"options": options, "more": more})



class WorkplacePickView(PortalView):
    """The same for workplaces: matches by name among the workplaces the user may see (their subtree's)."""

    template_name = "core/widgets/_options.html"
    perm = "workplace.view"

    def get(self, request, *args, **kwargs):
        from orgs.models import Workplace

        name = request.GET.get("name", "workplace")
        q = (request.GET.get(f"{name}__q") or request.GET.get("q") or "").strip()[:60]
        qs = Workplace.objects.restrict(request.user, "view")
        if q:
            qs = qs.filter(name__icontains=q)
        rows = list(qs.order_by("name", "pk").values_list("pk", "name")[: LIMIT + 1])
        return self.render_to_response({"options": rows[:LIMIT], "more": len(rows) > LIMIT})
