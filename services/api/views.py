"""The services API: request categories, service requests with their handling steps, service points.

Thin: the same FilterSets as the pages (services/filtersets.py), the same selectors and the same actions
(services.actions.categories / handling / points), which re-check scope and the state machine. No endpoint creates
a request (only the public intake does), confirms or reopens one (only the requester's tracking session does), or
reveals the requester's phone.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from core.api import IdCursorPagination, ScopedViewSet, transition
from core.api.viewsets import CreateMixin, UpdateMixin
from services.actions import categories as category_actions
from services.actions import handling
from services.actions import points as point_actions
from services.api import serializers as s
from services.filtersets import PointFilterSet, RequestFilterSet
from services.models import ServiceCategory, ServicePoint, ServiceRequest
from services.selectors import requests as selectors


# Request bodies and summaries are declared here: `transition`'s own extend_schema is overwritten by DRF's @action
# (it resets the function's `kwargs`), and CreateMixin/UpdateMixin validate a serializer other than the output one.
@extend_schema_view(
    create=extend_schema(summary="Add a category", request=s.ServiceCategoryCreateSerializer),
    partial_update=extend_schema(summary="Edit a category", request=s.ServiceCategoryUpdateSerializer),
)
class ServiceCategoryViewSet(CreateMixin, UpdateMixin, ScopedViewSet):
    """Request categories with their reply templates (district-wide settings, not org-scoped): every account with
    service_request.view reads them; service_category.change (district staff) adds and edits them."""

    model = ServiceCategory
    serializer_class = s.ServiceCategorySerializer
    create_serializer_class = s.ServiceCategoryCreateSerializer
    update_serializer_class = s.ServiceCategoryUpdateSerializer
    pagination_class = IdCursorPagination
    filterset_fields = ["enabled", "routing"]
    ordering_fields = ["id", "position", "code"]

    def required_perm(self, request) -> str:
        return "service_request.view" if self.scope_verb() == "view" else "service_category.change"

    def scoped(self, user, verb: str):
        return selectors.category_list()

    def create_object(self, data):
        return category_actions.category_create(actor=self.request.user, **data)

    def update_object(self, obj, data):
        return category_actions.category_update(actor=self.request.user, category=obj, **data)


@extend_schema_view(
    accept=extend_schema(summary="Accept (submitted → accepted)", request=s.AcceptSerializer),
    start=extend_schema(summary="Start handling (accepted/reopened → in progress)", request=None),
    resolve=extend_schema(summary="Resolve with a reply (→ resolved)", request=s.ResolveSerializer),
    reply=extend_schema(summary="Reply to the requester", request=s.TextSerializer),
    note=extend_schema(summary="Add an internal note", request=s.TextSerializer),
    assign=extend_schema(summary="Set or clear the assignee", request=s.AssignSerializer),
    priority=extend_schema(summary="Change the priority", request=s.PrioritySerializer),
    reroute=extend_schema(summary="Reroute to another org", request=s.RerouteSerializer),
    reject=extend_schema(summary="Reject with a reason (→ rejected)", request=s.RejectSerializer),
)
class ServiceRequestViewSet(ScopedViewSet):
    """Service requests in the caller's subtree, with their timelines; the requester's phone only masked.

    Filters are the queue page's: `status` (repeatable; default `open`, i.e. not yet resolved; `all` for every
    status), `category`, `org` (the responsible org's subtree), `overdue` (yes/no), `assignee` (me, none or a user
    id), `escalated` (mine/any), `priority`, `submitted_from`/`submitted_to` (local dates), `q` (tracking code or
    text). Each step is `POST /service-requests/<id>/<step>/` calling the page's action; a step the request's
    status no longer allows (someone moved it first) is 409."""

    model = ServiceRequest
    serializer_class = s.ServiceRequestSerializer
    filterset_class = RequestFilterSet
    ordering_fields = ["id", "submitted_at", "due_at"]

    def scoped(self, user, verb: str):
        return selectors.request_base_queryset(user=user, action=verb)

    def prepare(self, queryset):
        return queryset.prefetch_related("timeline__actor", "timeline__from_org", "timeline__to_org")

    def filter_queryset(self, queryset):
        # The queue's filters (open requests unless asked otherwise) are for the list: a request is found by its
        # id whatever its status, as the page finds it by its code.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_object(self):
        self.service_request = super().get_object()
        return self.service_request

    def get_serializer_context(self):
        # the request whose page rules decide an input id (assignees, reroute targets)
        return {**super().get_serializer_context(), "service_request": getattr(self, "service_request", None)}

    @transition("accept", input_serializer=s.AcceptSerializer)
    def accept(self, request, obj, assignee=None):
        """Accept the request, optionally naming who handles it."""
        return handling.request_accept(actor=request.user, request=obj, assignee=assignee)

    @transition("start")
    def start(self, request, obj):
        """Start handling the request."""
        return handling.request_start(actor=request.user, request=obj)

    @transition("resolve", input_serializer=s.ResolveSerializer)
    def resolve(self, request, obj, reply):
        """Resolve the request with the reply the requester reads; the requester then confirms or reopens it."""
        return handling.request_resolve(actor=request.user, request=obj, reply=reply)

    @transition("reply", input_serializer=s.TextSerializer)
    def reply(self, request, obj, body):
        """A reply the requester sees on the tracking page (open or resolved requests)."""
        handling.request_reply(actor=request.user, request=obj, body=body)

    @transition("note", input_serializer=s.TextSerializer)
    def note(self, request, obj, body):
        """An internal note (the requester never sees it)."""
        handling.request_add_note(actor=request.user, request=obj, body=body)

    @transition("assign", input_serializer=s.AssignSerializer)
    def assign(self, request, obj, assignee):
        """Set (or with null, clear) the person handling an open request."""
        return handling.request_assign(actor=request.user, request=obj, assignee=assignee)

    @transition("priority", input_serializer=s.PrioritySerializer)
    def priority(self, request, obj, priority, reason=""):
        """Change the priority of the request, with an optional reason."""
        return handling.request_set_priority(actor=request.user, request=obj, priority=priority, reason=reason)

    @transition("reroute", input_serializer=s.RerouteSerializer)
    def reroute(self, request, obj, org, reason):
        """Hand an open request to another org in the caller's scope, or send it up to the current org's parent."""
        return handling.request_reroute(actor=request.user, request=obj, org=org, reason=reason)

    @transition("reject", input_serializer=s.RejectSerializer)
    def reject(self, request, obj, reason, redirect_to):
        """Refuse the request, telling the requester why and where to go instead."""
        return handling.request_reject(actor=request.user, request=obj, reason=reason, redirect_to=redirect_to)


@extend_schema_view(
    create=extend_schema(summary="Register a service point", request=s.ServicePointWriteSerializer),
    partial_update=extend_schema(summary="Edit a service point", request=s.ServicePointWriteSerializer),
)
class ServicePointViewSet(CreateMixin, UpdateMixin, ScopedViewSet):
    """Service points (驿站, 党群服务中心 ...) run by orgs in the caller's subtree. Filters are the registry page's:
    `kind`, `status`, `region` and `operator_org` (each with its subtree), `amenity`. Registering needs
    service_point.add at the operator org, editing service_point.change; the 15-minute circle is recomputed after
    each write."""

    model = ServicePoint
    serializer_class = s.ServicePointSerializer
    create_serializer_class = s.ServicePointWriteSerializer
    update_serializer_class = s.ServicePointWriteSerializer
    filterset_class = PointFilterSet
    ordering_fields = ["id", "name"]

    def prepare(self, queryset):
        return queryset.select_related("region", "operator_org")

    def create_object(self, data):
        return point_actions.service_point_create(actor=self.request.user, **data)

    def update_object(self, obj, data):
        return point_actions.service_point_update(actor=self.request.user, point=obj, **data)
