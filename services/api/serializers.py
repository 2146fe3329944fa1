"""Serializers of the services API: output as the staff pages show it, input validated for the same actions.

Output never carries the requester's phone (only the staff mask: its first three digits), its cipher text or blind
index, nor the 查询密码 hash (services/credentials.py): nothing a staff client reads completes the public
tracking credential. Related rows are an id plus a name, read through the viewsets' select_related/prefetch.

Input ids are only those the page offers: an organization in the caller's scope (ScopedRelatedField), a reroute
target or an assignee by the request page's picker rules (services.selectors.requests); any other id reads as
"does not exist". Rules the actions check (texts required, a status that moved on) are left to them.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import crypto
from core.api.fields import ScopedRelatedField
from orgs.models import Organization
from services.credentials import requester_phone_mask
from services.models import (
    AMENITIES,
    ExtraField,
    Priority,
    ReplyTemplate,
    ServiceCategory,
    ServicePoint,
    ServiceRequest,
    TimelineEntry,
)
from services.selectors import points as point_selectors
from services.selectors import requests as request_selectors

SLA_HOURS_MAX = 24 * 90  # as the category page's form


def _name(obj) -> str | None:
    return str(obj) if obj is not None else None


# ---------------------------------------------------------------- categories
class ReplyTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReplyTemplate
        fields = ["id", "title", "body", "position"]
        read_only_fields = fields


class ServiceCategorySerializer(serializers.ModelSerializer):
    routing_display = serializers.CharField(source="get_routing_display", read_only=True)
    required_fields_display = serializers.SerializerMethodField()
    default_org_name = serializers.SerializerMethodField()
    reply_templates = ReplyTemplateSerializer(many=True, read_only=True)

    class Meta:
        model = ServiceCategory
        fields = [
            "id", "code", "name", "guidance", "required_fields", "required_fields_display", "routing", "routing_display",
            "default_org", "default_org_name", "sla_hours", "position", "enabled", "reply_templates",
        ]
        read_only_fields = fields

    def get_required_fields_display(self, obj) -> list[str]:
        labels = dict(ExtraField.choices)
        return [str(labels.get(key, key)) for key in obj.required_fields or []]

    def get_default_org_name(self, obj) -> str | None:
        return _name(obj.default_org)


class ServiceCategoryUpdateSerializer(serializers.ModelSerializer):
    """PATCH: the fields of the category page's form (validation only); services.actions.categories checks the
    rules (an active responsible org in the caller's scope, one when routing always goes to it)."""

    required_fields = serializers.ListField(child=serializers.ChoiceField(choices=ExtraField.choices), allow_empty=True,
                                            required=False)
    default_org = ScopedRelatedField(model=Organization, verb="view", allow_null=True, required=False)
    sla_hours = serializers.IntegerField(min_value=1, max_value=SLA_HOURS_MAX)

    class Meta:
        model = ServiceCategory
        fields = ["name", "guidance", "required_fields", "routing", "default_org", "sla_hours", "enabled"]


class ServiceCategoryCreateSerializer(ServiceCategoryUpdateSerializer):
    """POST: a new category; `code` (unique; letters, digits, - and _) names it in the intake page's URL."""

    class Meta(ServiceCategoryUpdateSerializer.Meta):
        fields = ["code", *ServiceCategoryUpdateSerializer.Meta.fields, "position"]


# ---------------------------------------------------------------- requests
class TimelineEntrySerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    from_status_display = serializers.CharField(source="get_from_status_display", read_only=True)
    to_status_display = serializers.CharField(source="get_to_status_display", read_only=True)
    from_org_name = serializers.SerializerMethodField()
    to_org_name = serializers.SerializerMethodField()
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = TimelineEntry
        fields = [
            "id", "kind", "kind_display", "public", "body", "from_status", "from_status_display", "to_status",
            "to_status_display", "from_org", "from_org_name", "to_org", "to_org_name", "actor", "actor_name",
            "by_requester", "created_at",
        ]
        read_only_fields = fields

    def get_from_org_name(self, obj) -> str | None:
        return obj.from_org.name if obj.from_org_id else None

    def get_to_org_name(self, obj) -> str | None:
        return obj.to_org.name if obj.to_org_id else None

    def get_actor_name(self, obj) -> str | None:
        return _name(obj.actor) if obj.actor_id else None


class ServiceRequestSerializer(serializers.ModelSerializer):
    """A request as the staff page shows it: the phone masked to its first three digits, the whole timeline
    (internal notes included, `public` says what the requester sees)."""

    display_code = serializers.CharField(read_only=True)
    category_name = serializers.SerializerMethodField()
    requester_phone_masked = serializers.SerializerMethodField()
    member_answer_display = serializers.CharField(source="get_member_answer_display", read_only=True)
    workplace_name = serializers.SerializerMethodField()
    region_name = serializers.SerializerMethodField()
    responsible_org_name = serializers.SerializerMethodField()
    escalated_to_name = serializers.SerializerMethodField()
    assignee_name = serializers.SerializerMethodField()
    priority_display = serializers.CharField(source="get_priority_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    overdue = serializers.SerializerMethodField()
    timeline = TimelineEntrySerializer(many=True, read_only=True)

    class Meta:
        model = ServiceRequest
        fields = [
            "id", "tracking_code", "display_code", "category", "category_name", "description", "extra",
            "requester_name", "requester_phone_masked", "member_answer", "member_answer_display", "workplace",
            "workplace_name", "place", "latitude", "longitude", "region", "region_name", "responsible_org",
            "responsible_org_name", "escalated_to", "escalated_to_name", "escalation_level", "assignee", "assignee_name",
            "priority", "priority_display", "status", "status_display", "overdue", "submitted_at", "due_at",
            "accepted_at", "resolved_at", "closed_at", "reopen_count", "satisfaction", "satisfaction_comment",
            "reject_reason", "redirect_to", "updated_at", "timeline",
        ]
        read_only_fields = fields

    def get_category_name(self, obj) -> str:
        return obj.category.name

    def get_requester_phone_masked(self, obj) -> str:
        return requester_phone_mask(crypto.decrypt(obj.requester_phone_encrypted))

    def get_workplace_name(self, obj) -> str | None:
        return obj.workplace.name if obj.workplace_id else None

    def get_region_name(self, obj) -> str | None:
        return obj.region.name if obj.region_id else None

    def get_responsible_org_name(self, obj) -> str:
        return obj.responsible_org.name

    def get_escalated_to_name(self, obj) -> str | None:
        return obj.escalated_to.name if obj.escalated_to_id else None

    def get_assignee_name(self, obj) -> str | None:
        return _name(obj.assignee) if obj.assignee_id else None

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue()


@extend_schema_field(OpenApiTypes.INT)
class _RequestChoiceField(serializers.PrimaryKeyRelatedField):
    """An id among the choices the request's page offers (the viewset puts the request in the context)."""

    def choices(self, user, request: ServiceRequest):
        raise NotImplementedError

    def get_queryset(self):
        return self.choices(self.context["request"].user, self.context["service_request"])

    def use_pk_only_optimization(self):
        return False


class AssigneeField(_RequestChoiceField):
    """Active users with a role that may handle requests at the responsible org or above it."""

    def choices(self, user, request):
        return request_selectors.assignable_users(request)


class RerouteTargetField(_RequestChoiceField):
    """Active orgs in the caller's change scope, or the current org's parent (sending it up)."""

    def choices(self, user, request):
        return request_selectors.reroute_targets(user=user, request=request)


def _text(**kwargs):
    """A text the action checks (required, length): optional here so the action's message is the one shown."""
    return serializers.CharField(required=False, allow_blank=True, default="", **kwargs)


class AcceptSerializer(serializers.Serializer):
    assignee = AssigneeField(required=False, allow_null=True, default=None,
                             help_text="a user to handle it; omitted or null keeps the current one")


class ResolveSerializer(serializers.Serializer):
    reply = _text(help_text="the reply the requester reads (required)")


class TextSerializer(serializers.Serializer):
    body = _text(help_text="the text (required)")


class AssignSerializer(serializers.Serializer):
    assignee = AssigneeField(allow_null=True, help_text="the user to handle it, or null to clear")


class PrioritySerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    reason = _text(max_length=200)


class RerouteSerializer(serializers.Serializer):
    org = RerouteTargetField(help_text="an active org in the caller's scope, or the current org's parent")
    reason = _text(help_text="why (required)")


class RejectSerializer(serializers.Serializer):
    reason = _text(help_text="why it is not taken (the requester reads it; required)")
    redirect_to = _text(help_text="where the requester can go instead (required)")


# ---------------------------------------------------------------- points
class ServicePointSerializer(serializers.ModelSerializer):
    """A point as its staff page shows it. `phone` is the point's published service phone, not a person's."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    region_name = serializers.SerializerMethodField()
    operator_org_name = serializers.SerializerMethodField()
    amenity_labels = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ServicePoint
        fields = [
            "id", "name", "kind", "kind_display", "status", "status_display", "address", "latitude", "longitude",
            "region", "region_name", "operator_org", "operator_org_name", "opening_hours", "phone", *AMENITIES,
            "amenity_labels", "other_amenities", "updated_at",
        ]
        read_only_fields = fields

    def get_region_name(self, obj) -> str:
        return obj.region.name

    def get_operator_org_name(self, obj) -> str:
        return obj.operator_org.name


class ServicePointWriteSerializer(serializers.ModelSerializer):
    """The point form's fields (validation only; services.actions.points saves and checks the operator org: the
    caller needs service_point.add there to register, service_point.change to edit or move a point)."""

    region = serializers.PrimaryKeyRelatedField(queryset=point_selectors.region_choices())
    operator_org = ScopedRelatedField(model=Organization, verb="view")

    class Meta:
        model = ServicePoint
        fields = [
            "name", "kind", "status", "address", "latitude", "longitude", "region", "operator_org", "opening_hours",
            "phone", *AMENITIES, "other_amenities",
        ]
