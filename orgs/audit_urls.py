"""URLs of the audit log under /audit/ (names "audit:*")."""

from django.urls import path

from orgs.views import audit as views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list, name="list"),
]
