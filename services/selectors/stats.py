"""Service request counts for the statistics API: by category and status, and overdue; counts only.

Scope: `stats.view`. The requests counted are those whose responsible org lies under the caller's stats.view
grants, selected with ServiceRequest's own scope predicate (scope_q, the one restrict() applies), so a caller never
counts another subtree's requests. Why stats.view and not service_request.view: these are aggregates without a
requester, a phone or a text (the coverage reports already show viewers the same kind of figures), and the
statistics role (viewer) and city dashboards' statistics tokens hold stats.view only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from orgs.models import Organization
from orgs.scoping import grant_paths
from services.models import OPEN_STATUSES, RequestStatus, ServiceCategory, ServiceRequest

STATUSES = tuple(RequestStatus.values)


@dataclass
class CategoryCounts:
    category: ServiceCategory
    total: int = 0
    open: int = 0
    overdue: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))


def requests_in_stats_scope(*, user) -> QuerySet[ServiceRequest]:
    """Requests under the caller's stats.view grants (everything for a superuser), for counting only."""
    if user.is_superuser:
        return ServiceRequest.objects.all()
    q = ServiceRequest.scope_q(user=user, paths=grant_paths(user, "stats.view"), action="view")
    return ServiceRequest.objects.filter(q) if q is not None else ServiceRequest.objects.none()


def request_counts_by_category(
    *,
    user,
    org: Organization | None = None,
    submitted_from: dt.date | None = None,
    submitted_to: dt.date | None = None,
    now: dt.datetime | None = None,
) -> list[CategoryCounts]:
    """One row per category (every category, in the intake order, zero rows included), counting the caller's
    requests, optionally under `org` and submitted within [submitted_from, submitted_to] (local dates, as the
    queue's filter). Overdue: still open and past its due time at `now`. Two queries: the categories and one
    grouped count."""
    now = now or timezone.now()
    qs = requests_in_stats_scope(user=user)
    if org is not None:
        qs = qs.filter(responsible_org__path__startswith=org.path)
    if submitted_from is not None:
        qs = qs.filter(submitted_at__date__gte=submitted_from)
    if submitted_to is not None:
        qs = qs.filter(submitted_at__date__lte=submitted_to)
    open_q = Q(status__in=OPEN_STATUSES)
    grouped = (
        qs.order_by()
        .values("category_id")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=open_q),
            overdue=Count("pk", filter=open_q & Q(due_at__lt=now)),
            **{f"status_{name}": Count("pk", filter=Q(status=name)) for name in STATUSES},
        )
    )
    rows = {c.pk: CategoryCounts(category=c) for c in ServiceCategory.objects.order_by("position", "id")}
    for values in grouped:
        row = rows[values["category_id"]]
        row.total, row.open, row.overdue = values["total"], values["open"], values["overdue"]
        row.statuses = {name: values[f"status_{name}"] for name in STATUSES}
    return list(rows.values())
