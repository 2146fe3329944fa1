"""Reads of the security-event log: counts for per-user rate limits and the list district staff review."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min, QuerySet

from orgs.models import SecurityEvent


def security_events_in_window(*, user, kind: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    """(number of `kind` events by `user` after `since`, the oldest of them) in one query."""
    found = SecurityEvent.objects.filter(user=user, kind=kind, created_at__gt=since).aggregate(n=Count("id"), oldest=Min("created_at"))
    return found["n"], found["oldest"]


def security_events_for(*, user, kinds: list[str] | None = None) -> QuerySet[SecurityEvent]:
    """Events district staff may review: those by users, or about orgs, inside the viewer's scope
    (superusers see all). Events without an org are shown only to district staff at a root."""
    from orgs.scoping import grant_paths, has_perm

    qs = SecurityEvent.objects.select_related("user", "org").order_by("-created_at", "-id")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if user.is_superuser:
        return qs
    if not has_perm(user, "security_event.view"):
        return qs.none()
    from django.db.models import Q

    paths = grant_paths(user, "security_event.view")
    q = Q()
    for path in paths:
        q |= Q(org__path__startswith=path)
    if any(len(p) == 4 for p in paths):  # a grant at a root also sees events without an org
        q |= Q(org__isnull=True)
    return qs.filter(q) if paths else qs.none()
