"""The security-event log for district staff (/security/): roster uploads, "already registered" answers and
rate-limit refusals, newest first, filtered by kind. Thin: orgs.selectors.security reads."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from core.views.generic import ScopedListView
from orgs.filtersets import SecurityEventFilterSet
from orgs.selectors.security import security_events_for


class SecurityEventListView(ScopedListView):
    perm = "security_event.view"
    nav_section = "security"
    title = gettext_lazy("安全事件")
    template_name = "orgs/security/list.html"
    table_template_name = "orgs/security/_table.html"
    filterset_class = SecurityEventFilterSet
    ordering = ("-created_at", "-pk")

    def get_queryset(self):
        return security_events_for(user=self.request.user)
