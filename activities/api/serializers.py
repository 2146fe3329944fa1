"""Serializers of the organizational-life API: output (what a client reads) and input (validation only; the viewsets
hand the validated data to the same actions as the pages).

Output never carries a member's ID number or phone (attendance rows are member id + name), no file contents (a file
is its metadata plus the link to the page's scope-checked file view) and not the log form's one-time token."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from activities import selectors
from activities.actions import SUBMISSION_TOKEN_RE, quorum_statement
from activities.forms.records import loggable_orgs
from activities.models import (
    Activity,
    ActivityEvent,
    ActivityEventKind,
    ActivityFile,
    ActivityKind,
    ActivityStatus,
    Attendance,
    AttendanceStatus,
    ComplianceRule,
    Exemption,
)
from core.api.fields import ScopedRelatedField
from core.dates import sane_date_validator
from orgs.models import BRANCH_KINDS, Organization, OrgKind
from orgs.scoping import orgs_where

IDEMPOTENCY_HEADER = "Idempotency-Key"


# ---------------------------------------------------------------- input fields
@extend_schema_field(OpenApiTypes.INT)  # spectacular cannot see the model of a queryset built per request
class OrgIdField(ScopedRelatedField):
    """An org id inside `Organization.objects.restrict(user, verb)`."""

    def __init__(self, **kwargs):
        super().__init__(model=Organization, **kwargs)


class OrgChoiceField(OrgIdField):
    """An org id among the same choices the page's form offers (`orgs(user)`); any other id reads as "does not
    exist", never as "exists but not yours"."""

    def __init__(self, *, orgs, **kwargs):
        self.orgs_for = orgs
        super().__init__(**kwargs)

    def get_queryset(self):
        user = getattr(self.context.get("request"), "user", None)
        return self.orgs_for(user) if user is not None else Organization.objects.none()


def exemption_orgs(user):
    """The exemption page's org choices: branches and Party groups where the user may add exemptions."""
    return orgs_where(user=user, perm="exemption.add").filter(kind__in=[*BRANCH_KINDS, OrgKind.PARTY_GROUP]).order_by("path")


# ---------------------------------------------------------------- activities: output
class AttendanceSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Attendance
        fields = ["member", "member_name", "status", "status_display", "leave_reason", "voting"]


class ActivityFileSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    url = serializers.SerializerMethodField(help_text="the page's scope-checked file view (needs a logged-in session)")

    class Meta:
        model = ActivityFile
        fields = ["id", "name", "size", "content_type", "is_photo", "uploaded_at", "url"]

    def get_url(self, obj) -> str:
        path = reverse("activities:activity_file", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ActivityEventSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = ActivityEvent
        fields = ["kind", "kind_display", "actor", "actor_name", "reason", "created_at"]

    def get_actor_name(self, obj) -> str | None:
        return str(obj.actor) if obj.actor_id else None


class AttendanceSummarySerializer(serializers.Serializer):
    expected = serializers.IntegerField()
    present = serializers.IntegerField()
    absent = serializers.IntegerField()
    leave = serializers.IntegerField()
    non_voting = serializers.IntegerField()


class ActivitySerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    party_group_name = serializers.SerializerMethodField()
    created_by_name = serializers.SerializerMethodField()
    quorum_statement = serializers.SerializerMethodField()
    return_reason = serializers.SerializerMethodField(help_text="why the record was returned, while it awaits correction")
    attendance_summary = serializers.SerializerMethodField()
    attendance = serializers.SerializerMethodField(help_text="every expected member, by name")
    files = ActivityFileSerializer(many=True, read_only=True)
    events = ActivityEventSerializer(many=True, read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id", "kind", "kind_display", "org", "org_name", "party_group", "party_group_name", "starts_at", "ends_at",
            "place", "online", "topic", "host", "recorder", "lecturer", "minutes", "decisions", "makes_decision",
            "voting_expected", "voting_present", "quorum_met", "quorum_statement", "status", "status_display",
            "return_reason", "created_by", "created_by_name", "created_at", "updated_at", "attendance_summary",
            "attendance", "files", "events",
        ]

    def get_party_group_name(self, obj) -> str | None:
        return obj.party_group.name if obj.party_group_id else None

    def get_created_by_name(self, obj) -> str:
        return str(obj.created_by)

    def get_quorum_statement(self, obj) -> str:
        return quorum_statement(obj)

    def get_return_reason(self, obj) -> str:
        if obj.status != ActivityStatus.RETURNED:
            return ""
        returns = [e for e in obj.events.all() if e.kind == ActivityEventKind.RETURNED]  # prefetched, in order
        return returns[-1].reason if returns else ""

    @extend_schema_field(AttendanceSerializer(many=True))
    def get_attendance(self, obj) -> list:
        rows = sorted(obj.attendance.all(), key=lambda row: (row.member.name, row.member_id))  # prefetched
        return AttendanceSerializer(rows, many=True, context=self.context).data

    @extend_schema_field(AttendanceSummarySerializer)
    def get_attendance_summary(self, obj) -> dict:
        return selectors.attendance_summary(obj)  # from the prefetched rows


# ---------------------------------------------------------------- activities: input
class AttendanceInputSerializer(serializers.Serializer):
    member = serializers.IntegerField(min_value=1, help_text="a member id among the org's expected attendees")
    status = serializers.ChoiceField(choices=AttendanceStatus.choices)
    leave_reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        # Inside a PATCH (partial) DRF skips the required check of nested fields: a row still needs both.
        missing = {name: [self.fields[name].error_messages["required"]] for name in ("member", "status") if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class ActivityFieldsSerializer(serializers.Serializer):
    """The record's fields as the page's form has them. Attendance lists only the exceptions: every expected
    member not listed is present (as on the page)."""

    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    party_group = OrgIdField(verb="view", required=False, allow_null=True, help_text="the Party group (党小组会 only)")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    online = serializers.BooleanField(required=False)
    topic = serializers.CharField(max_length=200)
    host = serializers.CharField(max_length=50, required=False, allow_blank=True)
    recorder = serializers.CharField(max_length=50, required=False, allow_blank=True)
    lecturer = serializers.CharField(max_length=50, required=False, allow_blank=True)
    minutes = serializers.CharField(required=False, allow_blank=True)
    decisions = serializers.CharField(required=False, allow_blank=True)
    makes_decision = serializers.BooleanField(required=False)
    attendance = AttendanceInputSerializer(many=True, required=False)

    def validate_attendance(self, rows) -> dict[int, tuple[str, str]]:
        """The action's shape: {member id: (status, leave reason)}."""
        ids = [row["member"] for row in rows]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("出席名单中有重复的人员。"))
        return {row["member"]: (row["status"], row.get("leave_reason", "")) for row in rows}


class ActivityCreateSerializer(ActivityFieldsSerializer):
    """Log a record (the page's "log a meeting"). Idempotent with an `Idempotency-Key` header or `client_token`
    (16-64 letters, digits, "-" or "_", e.g. a UUID): a retried POST answers 200 with the record the first saved."""

    org = OrgChoiceField(orgs=loggable_orgs, help_text="a branch (or other org, not a Party group) you may log for")
    client_token = serializers.CharField(required=False, min_length=16, max_length=64,
                                         help_text="alternative to the Idempotency-Key header")

    def validate_client_token(self, value: str) -> str:
        return _valid_token(value)

    def validate(self, attrs):
        request = self.context.get("request")
        header = request.headers.get(IDEMPOTENCY_HEADER) if request is not None else None
        body = attrs.pop("client_token", None)
        if header is not None:
            header = _valid_token(header.strip(), field=IDEMPOTENCY_HEADER)
            if body is not None and body != header:
                raise serializers.ValidationError({"client_token": [_("client_token 与请求头 Idempotency-Key 不一致。")]})
        attrs["submission_token"] = header or body
        return attrs


def _valid_token(value: str, *, field: str | None = None) -> str:
    if not SUBMISSION_TOKEN_RE.fullmatch(value or ""):
        message = _("幂等键须为 16 至 64 位字母、数字、“-”或“_”。")
        raise serializers.ValidationError({field: [message]} if field else message)
    return value


class ActivityUpdateSerializer(ActivityFieldsSerializer):
    """PATCH: the fields given change (the page's edit); a returned record becomes resubmitted. `attendance`
    rewrites the rows of the record's attendees (listed: that status; not listed: present)."""

    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, help_text="a note for the history")


class ActivityReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


# ---------------------------------------------------------------- exemptions
class ExemptionSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)
    rule_name = serializers.SerializerMethodField(help_text="the rule exempted from; null: every rule")
    approved_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Exemption
        fields = ["id", "org", "org_name", "rule", "rule_name", "starts_on", "ends_on", "reason", "approved_by",
                  "approved_by_name", "created_at"]

    def get_rule_name(self, obj) -> str | None:
        return str(obj.rule) if obj.rule_id else None

    def get_approved_by_name(self, obj) -> str:
        return str(obj.approved_by)


class ExemptionCreateSerializer(serializers.Serializer):
    org = OrgChoiceField(orgs=exemption_orgs, help_text="a branch or Party group where you may add exemptions")
    rule = serializers.PrimaryKeyRelatedField(queryset=ComplianceRule.objects.filter(enabled=True), required=False,
                                              allow_null=True, default=None, help_text="null: every rule")
    starts_on = serializers.DateField(validators=[sane_date_validator])
    ends_on = serializers.DateField(validators=[sane_date_validator])
    reason = serializers.CharField(max_length=200)


# ---------------------------------------------------------------- compliance (the board's figures)
class ComplianceStatus(models.TextChoices):
    MET = "met", _("已落实")
    BEHIND = "behind", _("未落实")
    NOT_EXPECTED = "not_expected", _("无应开展")


class ComplianceKindSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    kind_display = serializers.CharField()
    expected = serializers.IntegerField(help_text="meetings due in the period's cycles (exempt cycles not counted)")
    held = serializers.IntegerField(help_text="meetings held")
    met = serializers.IntegerField(help_text="held, capped at the rule's count per cycle")
    exempt_cycles = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class ComplianceFiguresSerializer(serializers.Serializer):
    org = serializers.IntegerField(source="org.pk")
    org_name = serializers.CharField(source="org.name")
    org_kind = serializers.CharField(source="org.kind")
    org_kind_display = serializers.CharField(source="org.get_kind_display")
    branches = serializers.IntegerField(help_text="branches in the subtree")
    behind = serializers.IntegerField(help_text="branches with a rule not met")
    expected = serializers.IntegerField()
    met = serializers.IntegerField()
    held = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="met / expected in %")
    status = serializers.ChoiceField(choices=ComplianceStatus.choices)
    status_display = serializers.CharField()
    kinds = ComplianceKindSerializer(many=True)


class CompliancePeriodSerializer(serializers.Serializer):
    kind = serializers.CharField()
    key = serializers.CharField()
    label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()


@extend_schema_serializer(many=False)  # the `list` action answers one object (figures + a page of rows), not an array
class ComplianceBoardSerializer(serializers.Serializer):
    period = CompliancePeriodSerializer()
    totals = ComplianceFiguresSerializer(help_text="the chosen org's subtree")
    children_total = serializers.IntegerField(help_text="direct children on all pages")
    next = serializers.URLField(allow_null=True, help_text="the next page of children, or null")
    results = ComplianceFiguresSerializer(many=True, help_text="one row per direct child (not Party groups)")


class ComplianceQuerySerializer(serializers.Serializer):
    org = serializers.IntegerField(required=False, min_value=1, help_text="default: the top of your scope")
    period_type = serializers.ChoiceField(choices=[("month", "month"), ("quarter", "quarter"), ("year", "year")],
                                          required=False, help_text="default: from the shape of `period`, else month")
    period = serializers.CharField(required=False, max_length=20, help_text="2026-03, 2026-Q4 or 2026; default: the current one")
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)
    per_page = serializers.IntegerField(required=False, min_value=1, max_value=50)
