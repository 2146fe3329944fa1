"""URLs of the reminder rules pages under /reminders/ (names "reminders:rule_*")."""

from django.urls import path

from notifications.views import reminders as views

app_name = "reminders"

urlpatterns = [
    path("", views.rule_list, name="rule_list"),
    path("add/", views.rule_add, name="rule_add"),
    path("<int:pk>/", views.rule_edit, name="rule_edit"),
]
