"""Root URLs: each app's urls.py, mounted at its prefix."""

from django.contrib import admin
from django.urls import include, path

from coverage.views.home import home

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", home, name="home"),
    path("", include("core.urls")),
    path("", include("coverage.urls")),
    path("inbox/", include("notifications.inbox_urls")),
    path("reminders/", include("notifications.reminder_urls")),
    path("reports/", include("coverage.snapshot_urls")),
    path("security/", include("orgs.security_urls")),
    path("users/import/", include("orgs.onboarding_urls")),
    path("rules/", include("orgs.rules_urls")),
    path("audit/", include("orgs.audit_urls")),
    path("users/", include("orgs.users_urls")),
    path("orgs/", include("orgs.urls")),
    path("members/", include("members.urls")),
    path("activities/", include("activities.urls")),
    path("compliance/", include("activities.board_urls")),
    path("services/", include("services.urls")),
    path("s/", include("services.public_urls")),
    path("api/v1/", include("coverage.api.urls")),
]
