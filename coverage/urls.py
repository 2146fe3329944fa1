"""Every page of the coverage app (namespace "coverage"). Org and workplace pages with figures stay under
/orgs/ (users' bookmarks); coverage reports (snapshots) under /reports/. The home page is the project-level
"home" (portal/urls.py)."""

from django.urls import path

from coverage.views import orgs, snapshots

app_name = "coverage"

urlpatterns = [
    path("orgs/<int:pk>/", orgs.OrgDetailView.as_view(), name="org_detail"),
    path("orgs/workplaces/", orgs.WorkplaceListView.as_view(), name="workplace_list"),
    path("orgs/workplaces/<int:pk>/", orgs.WorkplaceDetailView.as_view(), name="workplace_detail"),
    path("orgs/gaps/", orgs.GapsView.as_view(), name="gaps"),
    path("reports/", snapshots.SnapshotListView.as_view(), name="snapshot_list"),
    path("reports/<int:pk>/", snapshots.SnapshotDetailView.as_view(), name="snapshot_detail"),
    path("reports/<int:pk>/download/", snapshots.SnapshotDownloadView.as_view(), name="snapshot_download"),
]
