"""The security-event log for district staff (/security/): roster uploads, "already registered" answers and
rate-limit refusals, newest first, filtered by kind. Thin: orgs.selectors.security reads."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from orgs.models import SecurityEventKind
from orgs.scoping import has_perm
from orgs.selectors.security import security_events_for

PAGE_SIZE = 50


@login_required
def event_list(request):
    if not has_perm(request.user, "security_event.view"):
        raise Http404
    kind = request.GET.get("kind", "")
    kinds = [kind] if kind in SecurityEventKind.values else None
    page = Paginator(security_events_for(user=request.user, kinds=kinds), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orgs/security/event_list.html", {
        "nav_section": "security", "page": page, "kinds": SecurityEventKind.choices, "kind": kind if kinds else "",
        "query": f"kind={kind}" if kinds else "",
    })
