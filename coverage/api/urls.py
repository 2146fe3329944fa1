"""Coverage's resources under /api/v1/ (portal/urls.py mounts orgs.api.urls first: its `orgs/<pk>/` routes do not
match `orgs/<pk>/coverage/`, which resolves here)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from coverage.api.views import OrgCoverageViewSet, WorkplaceViewSet

router = SimpleRouter()
router.register("workplaces", WorkplaceViewSet, basename="api-workplace")
urlpatterns = [
    path("orgs/<int:pk>/coverage/", OrgCoverageViewSet.as_view({"get": "coverage"}), name="api-org-coverage"),
    *router.urls,
]
