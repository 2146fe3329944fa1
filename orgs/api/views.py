"""The org-tree resources of the REST API: orgs, regions, instructors, assignments, accounts, grants, the audit log.

Short viewsets on core.api.ScopedViewSet: scoping is `restrict(user, verb)` (or, for accounts, grants, regions and
the audit log, the orgs selectors), filters are the FilterSets the pages use (orgs.filtersets), writes call the same
actions as the pages (orgs.actions), whose refusals become the one error shape. An org's coverage figures
(`/orgs/{id}/coverage/`) count members, so they live in coverage.api.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend, OrderingFilter
from rest_framework.response import Response

from core.api import PathCursorPagination, PortalCursorPagination, ScopedViewSet, transition
from core.api.viewsets import CreateMixin, DestroyMixin, UpdateMixin
from core.models import AuditEntry, User
from orgs import actions, selectors
from orgs.actions import users as user_actions
from orgs.api import serializers as s
from orgs.filtersets import (
    AssignmentFilterSet,
    AuditEntryFilterSet,
    InstructorFilterSet,
    OrganizationFilterSet,
    RegionFilterSet,
    RoleGrantFilterSet,
    UserFilterSet,
)
from orgs.models import Assignment, Instructor, Organization, Region, RoleGrant, Workplace
from orgs.selectors import audit as audit_selectors
from orgs.selectors import users as user_selectors

# Request bodies of POST/PATCH are declared on the classes (CreateMixin/UpdateMixin would document the output
# serializer as the body); transitions document their input serializer themselves.


# ---------------------------------------------------------------- the org tree
@extend_schema_view(
    create=extend_schema(summary="Set up a child org", request=s.OrgCreateSerializer),
    partial_update=extend_schema(summary="Edit an org's names and contact facts", request=s.OrgUpdateSerializer),
)
class OrganizationViewSet(CreateMixin, UpdateMixin, ScopedViewSet):
    """Party organizations in the caller's subtrees, in tree order (materialized path: parents before children).

    POST sets up a child org (the parent is one where the caller may add); PATCH changes what the org itself may
    change (names, code, industry, region, secretary). Structural facts are changed by the level above:
    `restructure` (formation mode, dates, committee, covered workplaces), `move` and `dissolve`, each with a reason
    (and for `restructure` a document number)."""

    model = Organization
    serializer_class = s.OrganizationSerializer
    create_serializer_class = s.OrgCreateSerializer
    update_serializer_class = s.OrgUpdateSerializer
    filterset_class = OrganizationFilterSet
    pagination_class = PathCursorPagination
    ordering_fields = ["path", "name", "code", "established_on", "id"]

    def prepare(self, queryset):
        user = self.request.user
        covered = Prefetch("workplaces", queryset=Workplace.objects.restrict(user, "view").only("id").order_by("id"),
                           to_attr="visible_workplaces")
        visible = Organization.objects.restrict(user, "view")
        return selectors.tree_with_parent(queryset.select_related("region"), visible=visible).prefetch_related(covered)

    def filter_queryset(self, queryset):
        if self.action == "children":  # a collection under a detail: the list's filters and ordering apply
            return super(ScopedViewSet, self).filter_queryset(queryset)
        return super().filter_queryset(queryset)

    def create_object(self, data):
        return actions.org_create(actor=self.request.user, **data)

    def update_object(self, obj, data):
        return actions.org_update(actor=self.request.user, org=obj, **data)

    @extend_schema(responses=s.OrganizationSerializer(many=True))
    @action(detail=True, methods=["get"])
    def children(self, request, pk=None):
        """The org's direct children inside the caller's scope (dissolved ones too; `?status=active` to hide them)."""
        org = self.get_object()
        children = selectors.org_children(user=request.user, parent=org, include_dissolved=True)
        page = self.paginate_queryset(self.filter_queryset(self.prepare(children)))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses=s.OrganizationSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def ancestors(self, request, pk=None):
        """The chain from the root down to the org's parent, only the orgs inside the caller's scope."""
        org = self.get_object()
        chain = [ancestor.pk for ancestor in selectors.org_ancestors(user=request.user, org=org)]
        rows = self.prepare(self.scoped(request.user, "view")).filter(pk__in=chain).order_by("depth")
        return Response(self.get_serializer(rows, many=True).data)

    @transition("restructure", verb="change", input_serializer=s.OrgRestructureSerializer)
    def restructure(self, request, obj, **data):
        """变更组织要素 by the level above: formation mode, established date, committee and its election date, covered
        workplaces (only the facts sent change), with a document number and a reason."""
        s.committee_date_required(data, obj)
        return actions.org_update(actor=request.user, org=obj, **data)

    @transition("move", verb="change", input_serializer=s.OrgMoveSerializer)
    def move(self, request, obj, **data):
        """调整隶属关系: put the org (with its subtree) under another parent, by the level above, with a reason."""
        return actions.org_move(actor=request.user, org=obj, **data)

    @transition("dissolve", verb="delete", input_serializer=s.OrgDissolveSerializer)
    def dissolve(self, request, obj, **data):
        """撤销: an org without active sub-orgs and members, by the level above, with a reason; a second time is 409."""
        return actions.org_dissolve(actor=request.user, org=obj, **data)


class RegionViewSet(ScopedViewSet):
    """The region tree (district → street → community): district-wide reference data for anyone who may see orgs."""

    model = Region
    resource = "org"
    serializer_class = s.RegionSerializer
    filterset_class = RegionFilterSet
    pagination_class = PathCursorPagination
    ordering_fields = ["path", "code", "name", "id"]

    def scoped(self, user, verb: str):
        return selectors.regions_for(user=user)

    def prepare(self, queryset):
        return selectors.tree_with_parent(queryset)


# ---------------------------------------------------------------- instructors and assignments
class InstructorViewSet(ScopedViewSet):
    """Party-building instructors and liaisons of the orgs in the caller's subtrees (an instructor sees their own)."""

    model = Instructor
    serializer_class = s.InstructorSerializer
    filterset_class = InstructorFilterSet
    ordering_fields = ["id", "name"]

    def prepare(self, queryset):
        return queryset.select_related("org")


@extend_schema_view(create=extend_schema(summary="Assign an instructor or liaison", request=s.AssignmentCreateSerializer))
class AssignmentViewSet(CreateMixin, ScopedViewSet):
    """Instructors and liaisons assigned to a workplace or an org (work coverage). POST assigns; `end` ends one
    (a second time is 409)."""

    model = Assignment
    serializer_class = s.AssignmentSerializer
    create_serializer_class = s.AssignmentCreateSerializer
    filterset_class = AssignmentFilterSet
    ordering_fields = ["id", "started_on"]

    def prepare(self, queryset):
        return queryset.select_related("instructor", "workplace", "org")

    def create_object(self, data):
        return actions.assignment_create(actor=self.request.user, **data)

    @transition("end", verb="change", input_serializer=s.AssignmentEndSerializer)
    def end(self, request, obj, **data):
        """End the assignment on `ended_on` (today when not given)."""
        return actions.assignment_end(actor=request.user, assignment=obj, **data)


# ---------------------------------------------------------------- accounts and grants
class UserViewSet(ScopedViewSet):
    """Portal accounts holding a role inside the caller's subtrees (district staff), with those grants. POST creates
    an account with one role and no password: the answer carries its one-time set-password link, once."""

    model = User
    resource = "user"
    serializer_class = s.UserSerializer
    filterset_class = UserFilterSet
    ordering_fields = ["id", "username"]

    def scoped(self, user, verb: str):
        return user_selectors.users_for(actor=user, perm=f"user.{verb}")

    @extend_schema(request=s.UserCreateSerializer, responses={201: s.UserCreatedSerializer})
    def create(self, request, *args, **kwargs):
        link = user_actions.user_create(actor=request.user, **self.input(s.UserCreateSerializer))
        response = self.output(link.user, status_code=status.HTTP_201_CREATED)
        response.data["password_link"] = request.build_absolute_uri(link.path)
        response["Cache-Control"] = "no-store"  # the link is shown once: never cached
        return response

    @transition("deactivate", verb="change")
    def deactivate(self, request, obj):
        """Stop the account from signing in (every grant of it must lie inside the caller's subtrees)."""
        return user_actions.user_deactivate(actor=request.user, user=obj)

    @transition("reactivate", verb="change")
    def reactivate(self, request, obj):
        """Let a stopped account sign in again."""
        return user_actions.user_reactivate(actor=request.user, user=obj)


@extend_schema_view(create=extend_schema(summary="Grant a role at an org", request=s.GrantCreateSerializer))
class GrantViewSet(CreateMixin, DestroyMixin, ScopedViewSet):
    """Role grants at the orgs of the caller's subtrees. POST grants a role at an org to an account; DELETE revokes
    one (never an account's last grant)."""

    model = RoleGrant
    resource = "user"
    serializer_class = s.GrantSerializer
    create_serializer_class = s.GrantCreateSerializer
    filterset_class = RoleGrantFilterSet
    ordering_fields = ["id", "created_at"]
    #: granting and revoking change an account (`user.change`, as on the pages)
    write_verbs = {"create": "change", "destroy": "change"}

    def scope_verb(self) -> str:
        return self.write_verbs.get(self.action) or super().scope_verb()

    def scoped(self, user, verb: str):
        return user_selectors.grants_for(actor=user, perm=f"user.{verb}")

    def create_object(self, data):
        return user_actions.grant_add(actor=self.request.user, **data)

    def destroy_object(self, obj):
        user_actions.grant_revoke(actor=self.request.user, grant=obj)


# ---------------------------------------------------------------- the audit log
class AuditFilterBackend(BaseFilterBackend):
    """The audit page's filters (orgs.filtersets.AuditEntryFilterSet); here a bad value is a 400, not skipped."""

    TYPES = {"actor": "integer", "org": "integer", "date_from": "string", "date_to": "string"}
    FORMATS = {"date_from": "date", "date_to": "date"}
    CONTROL = ("cursor", "per_page", "ordering", "format")

    def filter_queryset(self, request, queryset, view):
        data = request.query_params.copy()
        for name in self.CONTROL:  # the API's own cursor, not the page's keyset position
            data.pop(name, None)
        filterset = AuditEntryFilterSet(data, queryset=queryset, request=request)
        if filterset.errors:
            raise ValidationError(filterset.errors)
        return filterset.qs

    def get_schema_operation_parameters(self, view):
        described = {
            "who": "actor name contains", "actor": "actor account id", "what": "an action (org.update) or a resource prefix (org.)",
            "date_from": "from this local date", "date_to": "up to this local date", "org": "rows of this org's subtree",
            "object_type": "app_label.model", "object_id": "the object's id",
        }
        parameters = []
        for name in AuditEntryFilterSet.parameters:
            schema = {"type": self.TYPES.get(name, "string")}
            if name in self.FORMATS:
                schema["format"] = self.FORMATS[name]
            parameters.append({"name": name, "required": False, "in": "query", "description": described[name], "schema": schema})
        return parameters


class AuditCursorPagination(PortalCursorPagination):
    ordering = "-created_at"


class AuditEntryViewSet(ScopedViewSet):
    """Every write made through an action, newest first, in the caller's subtrees (`audit.view`); read-only.
    Personal data was masked when each row was written."""

    model = AuditEntry
    resource = "audit"
    serializer_class = s.AuditEntrySerializer
    pagination_class = AuditCursorPagination
    filter_backends = [AuditFilterBackend, OrderingFilter]
    ordering_fields = ["created_at"]

    def scoped(self, user, verb: str):
        return audit_selectors.audit_entries_for(user=user)
