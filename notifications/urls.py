"""Every page of the notifications app (namespace "notifications"): the inbox under /inbox/ and the
reminder rules under /reminders/."""

from django.urls import path

from notifications.views import inbox, reminders

app_name = "notifications"

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/read-all/", inbox.mark_all_read, name="inbox_mark_all_read"),
    path("inbox/<int:pk>/open/", inbox.notification_open, name="inbox_open"),
    path("reminders/", reminders.rule_list, name="reminder_rule_list"),
    path("reminders/add/", reminders.rule_add, name="reminder_rule_add"),
    path("reminders/<int:pk>/", reminders.rule_edit, name="reminder_rule_edit"),
]
