"""The inbox and reminder rules API: the same selectors and actions as the /inbox/ and /reminders/ pages."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ScopedViewSet, transition
from core.api.viewsets import UpdateMixin
from notifications.actions.inbox import notification_mark_read, notifications_mark_all_read
from notifications.actions.reminder_rules import reminder_rule_update
from notifications.api.serializers import (
    NotificationSerializer,
    ReadAllResultSerializer,
    ReminderRuleSerializer,
    ReminderRuleUpdateSerializer,
)
from notifications.filtersets import NotificationFilterSet
from notifications.models import Notification, ReminderRule
from notifications.selectors.inbox import notification_list
from notifications.selectors.reminder_rules import reminder_rules


class NotificationViewSet(ScopedViewSet):
    """The caller's own inbox, newest first: any signed-in account, no role needed (statistics-only tokens are
    refused). Another user's notification is 404. Filters: `unread`, `kind`, `date_from`/`date_to` (local dates)."""

    model = Notification
    resource = None  # one's own inbox: no role needed
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    ordering_fields = ["id", "created_at"]

    def scoped(self, user, verb: str):
        return notification_list(user=user)

    @transition("read", summary="Mark one notification read")
    def read(self, request, obj):
        """Mark the notification read (reading it again changes nothing)."""
        return notification_mark_read(user=request.user, notification_id=obj.pk)

    @extend_schema(request=None, responses=ReadAllResultSerializer, summary="Mark every unread notification read")
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark every unread notification of the caller read; answers how many were."""
        marked = notifications_mark_all_read(user=request.user)
        return Response(ReadAllResultSerializer({"marked": marked}).data)


class ReminderRuleViewSet(UpdateMixin, ScopedViewSet):
    """Reminder rules (district-wide settings, not org-scoped): reminder_rule.view to read, reminder_rule.change to
    PATCH. Each rule carries its schedule in words, its send counts and its latest run, as on the rules page.
    A template that does not compile or render with the kind's sample context is a field error."""

    model = ReminderRule
    queryset = ReminderRule.objects.none()  # for the schema only: every read goes through scoped()
    resource = "reminder_rule"
    serializer_class = ReminderRuleSerializer
    update_serializer_class = ReminderRuleUpdateSerializer
    filterset_fields = ["kind", "enabled"]
    ordering_fields = ["id", "kind"]

    def scoped(self, user, verb: str):
        return reminder_rules(user=user)

    def update_object(self, obj, data):
        return reminder_rule_update(actor=self.request.user, rule_id=obj.pk, data=data)
