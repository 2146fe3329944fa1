"""Serializers of the members API: output as the pages show it (personal data masked), input validated as the
page forms validate it, for the same actions.

The API never returns a full ID number or phone, an encrypted column or a blind index: `id_number_masked` and
`phone_masked` are the masks the list page shows. Revealing stays a UI action with its log."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import ScopedRelatedField
from core.dates import sane_date_validator
from members import selectors
from members.actions.transfers import transfer_available_steps
from members.filtersets import pid_kind
from members.forms.transfers import receiving_org_choices
from members.models import (
    Education,
    Gender,
    Member,
    MemberRole,
    Occupation,
    RelationKind,
    Stage,
    Transfer,
    TransferEvent,
    TransferKind,
)
from members.validators import normalize_phone, validate_id_number, validate_mobile
from orgs.models import Organization, Workplace


def _date(**kwargs) -> serializers.DateField:
    """A date a user types: inside core.dates bounds (rule rows), as on the pages."""
    return serializers.DateField(validators=[sane_date_validator], **kwargs)


# ---------------------------------------------------------------- shared pieces
class OrgRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class WorkplaceRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


@extend_schema_field(OpenApiTypes.INT)
class ScopedIdField(ScopedRelatedField):
    """core's ScopedRelatedField, documented as the integer id it takes (the schema cannot tell without a model)."""


class ActiveWorkplaceField(ScopedIdField):
    """A workplace in the caller's view scope that is still active (the page's choices)."""

    def get_queryset(self):
        return super().get_queryset().filter(is_active=True)


# ---------------------------------------------------------------- members
class MemberFlagsSerializer(serializers.Serializer):
    lost_contact = serializers.BooleanField(source="flag_lost_contact", read_only=True,
                                            help_text="lost contact for at least the rule's months")
    card_expired = serializers.BooleanField(source="flag_card_expired", read_only=True,
                                            help_text="a mobile member whose activity card has expired")
    no_life = serializers.BooleanField(source="flag_no_life", read_only=True,
                                       help_text="no organizational life attended in the rule's months")


class MemberSerializer(serializers.ModelSerializer):
    """A member as the list page shows it: masked ID number and phone, stage, relation, org, workplace, roles, flags."""

    gender_display = serializers.CharField(source="get_gender_display", read_only=True)
    education_display = serializers.CharField(source="get_education_display", read_only=True)
    occupation_display = serializers.CharField(source="get_occupation_display", read_only=True)
    stage_display = serializers.CharField(source="get_stage_display", read_only=True)
    relation_kind_display = serializers.CharField(source="get_relation_kind_display", read_only=True)
    org = OrgRefSerializer(read_only=True)
    workplace = WorkplaceRefSerializer(read_only=True, allow_null=True)
    id_number_masked = serializers.SerializerMethodField()
    phone_masked = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    flags = MemberFlagsSerializer(source="*", read_only=True)

    class Meta:
        model = Member
        fields = [
            "id", "name", "gender", "gender_display", "id_number_masked", "phone_masked", "ethnicity", "education",
            "education_display", "occupation", "occupation_display", "employer", "org", "workplace", "stage",
            "stage_display", "applied_on", "activist_on", "candidate_on", "training_hours", "admitted_on",
            "probation_extended_months", "full_on", "relation_kind", "relation_kind_display", "home_org_name",
            "mobile_card_valid_until", "lost_contact_since", "roles", "flags", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_id_number_masked(self, obj) -> str:
        return selectors.masked_id_number(obj)

    def get_phone_masked(self, obj) -> str:
        return selectors.masked_phone(obj)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=MemberRole.choices)))
    def get_roles(self, obj):
        return sorted(r.role for r in obj.roles.all())  # prefetched (MemberViewSet.prepare)


class MemberFieldsSerializer(serializers.Serializer):
    """The fields of the registry form shared by register and edit (members.forms.registry.MemberForm)."""

    name = serializers.CharField(max_length=50)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    birth_date = _date(required=False, allow_null=True, help_text="left out: the birth date in the ID number")
    id_number = serializers.CharField(max_length=30, write_only=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, write_only=True)
    ethnicity = serializers.CharField(max_length=20, required=False, allow_blank=True)
    education = serializers.ChoiceField(choices=Education.choices, required=False, allow_blank=True)
    occupation = serializers.ChoiceField(choices=Occupation.choices, required=False)
    employer = serializers.CharField(max_length=100, required=False, allow_blank=True)
    workplace = ActiveWorkplaceField(model=Workplace, verb="view", required=False, allow_null=True)
    applied_on = _date(required=False, allow_null=True)
    activist_on = _date(required=False, allow_null=True)
    candidate_on = _date(required=False, allow_null=True)
    training_hours = serializers.IntegerField(min_value=0, max_value=999, required=False)
    admitted_on = _date(required=False, allow_null=True)
    full_on = _date(required=False, allow_null=True)
    relation_kind = serializers.ChoiceField(choices=RelationKind.choices, required=False)
    home_org_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    mobile_card_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    mobile_card_valid_until = _date(required=False, allow_null=True)
    letter_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    lost_contact_since = _date(required=False, allow_null=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=MemberRole.choices), required=False)
    notes = serializers.CharField(required=False, allow_blank=True)

    def validate_id_number(self, value):
        """GB 11643 (length, characters, birth date, check digit), as the page form checks it."""
        try:
            return validate_id_number(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0]) from exc

    def validate_phone(self, value):
        if not value:
            return ""
        try:
            return validate_mobile(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0]) from exc


class MemberCreateSerializer(MemberFieldsSerializer):
    """POST /members/: register a person (members.actions.member_create). The org must be one in the caller's
    scope; the action checks the member.add right there, the duplicate ID number (logged, rate-limited: 429)
    and the stage rules."""

    org = ScopedIdField(model=Organization, verb="view")
    stage = serializers.ChoiceField(choices=Stage.choices)
    occupation = serializers.ChoiceField(choices=Occupation.choices, default=Occupation.OTHER)
    relation_kind = serializers.ChoiceField(choices=RelationKind.choices, default=RelationKind.HELD)
    ethnicity = serializers.CharField(max_length=20, required=False, allow_blank=True, default="汉族")


class MemberUpdateSerializer(MemberFieldsSerializer):
    """PATCH /members/{id}/: edit the record (members.actions.member_update); every field optional. The stage
    changes through `advance`, the org only through a transfer."""

    LOCKED = ("stage", "org")

    def validate(self, attrs):
        locked = [name for name in self.LOCKED if name in self.initial_data]
        if locked:
            message = _("发展阶段和所在党组织须通过发展流程或组织关系转接变更。")
            raise serializers.ValidationError({name: [message] for name in locked})
        return attrs


class MemberAdvanceSerializer(serializers.Serializer):
    """POST /members/{id}/advance/: one stage on (members.actions.member_advance, the rule rows decide)."""

    to_stage = serializers.ChoiceField(choices=Stage.choices, help_text="the next stage (no skipping, no going back)")
    on = _date(help_text="effective date, not after today")
    training_hours = serializers.IntegerField(min_value=0, max_value=999, required=False, allow_null=True,
                                              help_text="for candidate → probationary: training hours completed")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class MemberLookupSerializer(serializers.Serializer):
    """POST /members/lookup/: exactly one of a complete ID number or a complete mobile number."""

    id_number = serializers.CharField(max_length=30, required=False, write_only=True)
    phone = serializers.CharField(max_length=20, required=False, write_only=True)

    def validate(self, attrs):
        given = [name for name in ("id_number", "phone") if (attrs.get(name) or "").strip()]
        message = _("请输入完整的18位身份证号或11位手机号。")
        if len(given) != 1:
            raise serializers.ValidationError(message)
        name = given[0]
        value = attrs[name] if name == "id_number" else normalize_phone(attrs[name])
        try:
            found = pid_kind(value, strict=True)
        except DjangoValidationError as exc:  # django.forms.ValidationError is this class
            raise serializers.ValidationError({name: [message]}) from exc
        if found is None or found[0] != ("id" if name == "id_number" else "phone"):
            raise serializers.ValidationError({name: [message]})
        return {"kind": found[0], "value": found[1]}


# ---------------------------------------------------------------- transfers
class TransferEventSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    actor = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TransferEvent
        fields = ["id", "kind", "kind_display", "actor", "reason", "created_at"]
        read_only_fields = fields


class TransferMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class TransferSerializer(serializers.ModelSerializer):
    """A transfer as its page shows it: both sides, the letter, the status, its timeline, and the steps the
    caller may take now (`steps`: approve, receive, complete, send-back, withdraw). `version` is what a client
    passes back with a step so a stale click is a 409."""

    member = TransferMemberSerializer(read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    from_org = OrgRefSerializer(read_only=True, allow_null=True)
    to_org = OrgRefSerializer(read_only=True, allow_null=True)
    requested_by = UserRefSerializer(read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    steps = serializers.SerializerMethodField()
    events = TransferEventSerializer(many=True, read_only=True)

    class Meta:
        model = Transfer
        fields = [
            "id", "member", "kind", "kind_display", "status", "status_display", "is_open", "from_org", "to_org",
            "external_org_name", "cross_province", "letter_number", "letter_valid_until", "dues_paid_until", "reason",
            "requested_by", "requested_at", "closed_at", "version", "steps", "events",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(
        choices=["approve", "receive", "complete", "send-back", "withdraw"])))
    def get_steps(self, obj):
        request = self.context.get("request")
        steps = transfer_available_steps(actor=getattr(request, "user", None), transfer=obj)
        return ["send-back" if step == "return" else step for step in steps]


class TransferCreateSerializer(serializers.Serializer):
    """POST /transfers/: open a transfer (members.actions.transfer_request). `member` must be in the caller's
    scope; the receiving org (`to_org`) may be any active org in the district, as on the page's picker."""

    member = ScopedIdField(model=Member, verb="view")
    kind = serializers.ChoiceField(choices=TransferKind.choices, default=TransferKind.INTERNAL)
    to_org = serializers.PrimaryKeyRelatedField(queryset=receiving_org_choices(), required=False, allow_null=True,
                                                help_text="internal: required; in: defaults to the member's org")
    external_org_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    cross_province = serializers.BooleanField(required=False, default=False)
    letter_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                          help_text="in: the outside org's letter; otherwise issued at approval")
    dues_paid_until = _date()
    reason = serializers.CharField(max_length=1000)


class TransferStepSerializer(serializers.Serializer):
    """A step on a transfer. `version`: the transfer's version the client saw (a stale one answers 409)."""

    version = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class TransferApproveSerializer(TransferStepSerializer):
    letter_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                          help_text="the letter's number (left blank: generated)")


class TransferSendBackSerializer(TransferStepSerializer):
    reason = serializers.CharField(max_length=1000, help_text="required: refusing without cause is not allowed")
