"""URLs of the security-event log under /security/ (names "security:*")."""

from django.urls import path

from orgs.views import security as views

app_name = "security"

urlpatterns = [
    path("", views.event_list, name="event_list"),
]
