"""Every page of the coverage app (namespace "coverage"). Org and workplace pages with figures stay under
/orgs/ (users' bookmarks); coverage reports (snapshots) under /reports/. The home page is the project-level
"home" (portal/urls.py)."""

from django.urls import path

from coverage.views import orgs, snapshots

app_name = "coverage"

urlpatterns = [
    path("orgs/<int:pk>/", orgs.org_detail, name="org_detail"),
    path("orgs/workplaces/", orgs.workplace_list, name="workplace_list"),
    path("orgs/workplaces/<int:pk>/", orgs.workplace_detail, name="workplace_detail"),
    path("orgs/gaps/", orgs.gaps, name="gaps"),
    path("reports/", snapshots.snapshot_list, name="snapshot_list"),
    path("reports/<int:pk>/", snapshots.snapshot_detail, name="snapshot_detail"),
    path("reports/<int:pk>/download/", snapshots.snapshot_download, name="snapshot_download"),
]
