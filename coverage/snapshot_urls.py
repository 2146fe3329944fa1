"""URLs of the coverage snapshot pages (覆盖情况报表), mounted at /reports/."""

from django.urls import path

from coverage.views import snapshots as snapshot_views

app_name = "snapshots"

urlpatterns = [
    path("", snapshot_views.snapshot_list, name="snapshot_list"),
    path("<int:pk>/", snapshot_views.snapshot_detail, name="snapshot_detail"),
    path("<int:pk>/download/", snapshot_views.snapshot_download, name="snapshot_download"),
]
