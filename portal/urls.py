from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("portal.web_urls")),
    path("inbox/", include("portal.inbox_urls")),
    path("reminders/", include("portal.reminder_urls")),
    path("reports/", include("portal.snapshot_urls")),
    path("security/", include("portal.security_urls")),
    path("orgs/", include("orgs.urls")),
    path("members/", include("members.urls")),
    path("activities/", include("activities.urls")),
    path("compliance/", include("activities.board_urls")),
    path("services/", include("services.urls")),
    path("s/", include("services.public_urls")),
    path("api/v1/", include("orgs.api.urls")),
]
