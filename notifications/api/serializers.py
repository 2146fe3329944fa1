"""Serializers of the inbox and reminder rules API: output as the pages show it, input validated for the actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.actions.reminder_rules import template_errors
from notifications.models import RECIPIENT_ROLES, Channel, Notification, OffsetUnit, ReminderKind, ReminderRule, ReminderRun
from notifications.selectors import reminder_rules as selectors
from orgs.models import Role

RUN_ERROR_CHARS = 200  # as much of a failed run's error as the rules page shows


# ---------------------------------------------------------------- the inbox
class NotificationSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "kind_display", "title", "body", "url", "created_at", "read_at", "unread"]
        read_only_fields = fields

    def get_unread(self, obj) -> bool:
        return obj.read_at is None


class ReadAllResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="how many unread notifications were marked read")


# ---------------------------------------------------------------- reminder rules
class ReminderRunSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = ReminderRun
        fields = ["id", "day", "started_at", "finished_at", "status", "status_display", "candidates", "sent", "emailed", "error"]
        read_only_fields = fields

    def get_error(self, obj) -> str:
        return obj.error[:RUN_ERROR_CHARS]


class ReminderRuleListSerializer(serializers.ListSerializer):
    """A page of rules: their latest runs in one query (notifications.selectors.reminder_rules.with_latest_runs)."""

    def to_representation(self, data):
        return super().to_representation(selectors.with_latest_runs(data.all() if hasattr(data, "all") else data))


class ReminderRuleSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    offset_unit_display = serializers.CharField(source="get_offset_unit_display", read_only=True)
    direction_display = serializers.CharField(source="get_direction_display", read_only=True)
    schedule = serializers.SerializerMethodField()
    recipients_display = serializers.SerializerMethodField()
    channels_display = serializers.SerializerMethodField()
    updated_by_name = serializers.SerializerMethodField()
    sends_total = serializers.IntegerField(read_only=True)
    sends_sent = serializers.IntegerField(read_only=True)
    latest_run = serializers.SerializerMethodField()

    class Meta:
        model = ReminderRule
        list_serializer_class = ReminderRuleListSerializer
        fields = [
            "id", "name", "kind", "kind_display", "offset", "offset_unit", "offset_unit_display", "direction",
            "direction_display", "schedule", "repeat_every_days", "repeat_limit", "recipients", "recipients_display",
            "channels", "channels_display", "subject_template", "body_template", "enabled", "effective_from",
            "updated_at", "updated_by", "updated_by_name", "sends_total", "sends_sent", "latest_run",
        ]
        read_only_fields = fields

    def get_schedule(self, obj) -> str:
        return selectors.describe_schedule(obj)

    def get_recipients_display(self, obj) -> list[str]:
        return selectors.recipient_labels(obj.recipients)

    def get_channels_display(self, obj) -> list[str]:
        return selectors.channel_labels(obj.channels)

    def get_updated_by_name(self, obj) -> str | None:
        return str(obj.updated_by) if obj.updated_by_id else None

    @extend_schema_field(ReminderRunSerializer(allow_null=True))
    def get_latest_run(self, obj):
        if not hasattr(obj, "latest_run"):  # one rule (retrieve, update): its run read here
            selectors.with_latest_runs([obj])
        return ReminderRunSerializer(obj.latest_run).data if obj.latest_run is not None else None


ROLE_LABELS = dict(Role.choices)


class ReminderRuleUpdateSerializer(serializers.Serializer):
    """PATCH: the fields of the rules page's form (all optional). The kind is fixed (the action refuses a change);
    templates are checked with the kind's sample context, each error on its own field, as on the page."""

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ReminderKind.choices)
    offset = serializers.IntegerField(min_value=0, max_value=3650)
    offset_unit = serializers.ChoiceField(choices=OffsetUnit.choices)
    repeat_every_days = serializers.IntegerField(min_value=0, max_value=365)
    repeat_limit = serializers.IntegerField(min_value=0, max_value=50)
    recipients = serializers.ListField(
        child=serializers.ChoiceField(choices=[(str(role), ROLE_LABELS[role]) for role in RECIPIENT_ROLES]),
        allow_empty=False, error_messages={"empty": _("请至少选择一个接收角色。")},
    )
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), allow_empty=False,
                                     error_messages={"empty": _("请至少选择一个发送渠道。")})
    subject_template = serializers.CharField(max_length=200)
    body_template = serializers.CharField()
    enabled = serializers.BooleanField()
    effective_from = serializers.DateField()

    def validate(self, attrs):
        rule = self.instance
        if {"subject_template", "body_template"} & set(attrs) and rule is not None:
            errors = template_errors(attrs.get("subject_template", rule.subject_template),
                                     attrs.get("body_template", rule.body_template), rule.kind)
            if errors:
                raise serializers.ValidationError(errors)
        return attrs
