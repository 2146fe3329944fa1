"""Root URLs: each app's one urls.py (namespace = app label), mounted at the root with its own paths.

Project-level names without a namespace: "home" (the landing page after login, coverage's home view),
and the foundation's "login", "logout", "healthz" (core/urls.py)."""

from django.contrib import admin
from django.urls import include, path, re_path

from core.api.not_found import ApiNotFoundView
from coverage.views.home import HomeView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", HomeView.as_view(), name="home"),
    path("", include("core.urls")),
    path("", include("coverage.urls")),
    path("", include("orgs.urls")),
    path("", include("members.urls")),
    path("", include("activities.urls")),
    path("", include("services.urls")),
    path("", include("notifications.urls")),
    # the REST API: the schema and its readers, then each app's resources (one router per app)
    path("api/v1/", include("core.api.urls")),
    path("api/v1/", include("orgs.api.urls")),
    path("api/v1/", include("members.api.urls")),
    path("api/v1/", include("activities.api.urls")),
    path("api/v1/", include("services.api.urls")),
    path("api/v1/", include("coverage.api.urls")),
    path("api/v1/", include("coverage.api.snapshot_urls")),
    path("api/v1/", include("coverage.api.stats_urls")),
    path("api/v1/", include("notifications.api.urls")),
    re_path(r"^api/", ApiNotFoundView.as_view()),  # anything else under /api/: a JSON 404, never the HTML page
]
