"""Reads for service requests: the staff queue (FilterSet, overdue first), one request with its timeline,
people a request can be assigned to, reply templates and categories. Each read starts from
ServiceRequest.objects.restrict(user, action) and keeps a constant number of queries."""

from __future__ import annotations

from django.db.models import BooleanField, Case, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from core.models import User
from orgs.models import Organization, OrgKind, OrgStatus, Role, RoleGrant
from orgs.permissions import role_allows
from orgs.scoping import get_scoped_or_404, grant_paths, path_q
from services.filtersets import RequestFilterSet
from services.models import OPEN_STATUSES, ReplyTemplate, ServiceCategory, ServiceRequest, TimelineEntry

__all__ = [
    "request_base_queryset", "request_filterset", "request_queue", "request_detail", "assignable_users",
    "reroute_targets", "reply_templates_for", "category_list", "category_detail", "category_org_choices",
]


def request_base_queryset(*, user, action: str = "view") -> QuerySet[ServiceRequest]:
    return ServiceRequest.objects.restrict(user, action).select_related(
        "category", "responsible_org", "assignee", "escalated_to", "workplace", "region",
    )


def request_filterset(*, user, data=None, now=None) -> RequestFilterSet:
    return RequestFilterSet(data, queryset=request_base_queryset(user=user), request_user=user, now=now)


def request_queue(*, user, filters=None, now=None, filterset: RequestFilterSet | None = None) -> QuerySet[ServiceRequest]:
    """The queue: the user's requests filtered (open ones by default), overdue first, then by due time.

    Pass the `filterset` the page renders to build it (and its choice queries) only once."""
    from django.http import QueryDict

    now = now or timezone.now()
    if filterset is None:
        filterset = request_filterset(user=user, data=filters if filters is not None else QueryDict(), now=now)
    qs = filterset.qs if filterset.is_valid() else request_base_queryset(user=user).filter(status__in=OPEN_STATUSES)
    return qs.annotate(
        overdue_now=Case(When(status__in=OPEN_STATUSES, due_at__lt=now, then=Value(True)), default=Value(False),
                         output_field=BooleanField()),
    ).order_by("-overdue_now", "due_at", "id")


def request_detail(*, user, code: str) -> ServiceRequest:
    """One request by tracking code (dashes and case forgiven), with its timeline; 404 outside the user's scope."""
    code = (code or "").replace("-", "").upper()
    qs = request_base_queryset(user=user).prefetch_related(
        Prefetch("timeline", queryset=TimelineEntry.objects.select_related("actor", "from_org", "to_org").order_by("created_at", "id")),
    )
    return get_scoped_or_404(qs, user, "view", tracking_code=code)


def _ancestor_paths(org: Organization) -> list[str]:
    return [org.path[: i * org.steplen] for i in range(1, org.depth + 1)]


def assignable_users(request: ServiceRequest) -> QuerySet[User]:
    """Active users holding a role that allows service_request.change at the responsible org or above it."""
    roles = [role for role in Role.values if role_allows(role, "service_request.change")]
    grants = RoleGrant.objects.filter(
        org__path__in=_ancestor_paths(request.responsible_org), org__status=OrgStatus.ACTIVE, role__in=roles,
    )
    return User.objects.filter(is_active=True, pk__in=grants.values("user_id")).order_by("username")


def reroute_targets(*, user, request: ServiceRequest) -> QuerySet[Organization]:
    """Orgs `user` may hand the request to: active orgs in their change scope, plus the current org's parent."""
    current = request.responsible_org
    qs = Organization.objects.active().exclude(pk=current.pk).exclude(kind=OrgKind.PARTY_GROUP)
    if user.is_superuser:
        return qs.order_by("path")
    q = path_q("path", grant_paths(user, "service_request.change"))
    if current.depth > 1:
        q |= Q(path=current.path[: -current.steplen])
    return qs.filter(q).order_by("path")


def reply_templates_for(request: ServiceRequest) -> QuerySet[ReplyTemplate]:
    return ReplyTemplate.objects.filter(Q(category__isnull=True) | Q(category_id=request.category_id)).order_by(
        "category_id", "position", "id")


def category_list() -> QuerySet[ServiceCategory]:
    return ServiceCategory.objects.select_related("default_org").prefetch_related("reply_templates").order_by("position", "id")


def category_detail(pk: int) -> ServiceCategory:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(category_list(), pk=pk)


def category_org_choices(*, user) -> QuerySet[Organization]:
    """Orgs a category may be routed to by `user`: active orgs where they may change requests."""
    qs = Organization.objects.active().exclude(kind=OrgKind.PARTY_GROUP)
    if user.is_superuser:
        return qs.order_by("path")
    paths = grant_paths(user, "service_request.change")
    return qs.filter(path_q("path", paths)).order_by("path") if paths else qs.none()
