"""URLs of the rule-row pages under /rules/ (names "rules:*")."""

from django.urls import path

from orgs.views import rules as views

app_name = "rules"

urlpatterns = [
    path("", views.rule_list, name="rule_list"),
    path("<int:pk>/edit/", views.rule_edit, name="rule_edit"),
]
