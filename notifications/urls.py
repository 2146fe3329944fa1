"""Every page of the notifications app (namespace "notifications"): the inbox under /inbox/ and the
reminder rules under /reminders/."""

from django.urls import path

from notifications.views import inbox, reminders

app_name = "notifications"

urlpatterns = [
    path("inbox/", inbox.InboxView.as_view(), name="inbox"),
    path("inbox/read-all/", inbox.MarkAllReadView.as_view(), name="inbox_mark_all_read"),
    path("inbox/<int:pk>/open/", inbox.NotificationOpenView.as_view(), name="inbox_open"),
    path("reminders/", reminders.RuleListView.as_view(), name="reminder_rule_list"),
    path("reminders/add/", reminders.RuleAddView.as_view(), name="reminder_rule_add"),
    path("reminders/<int:pk>/", reminders.RuleEditView.as_view(), name="reminder_rule_edit"),
]
