"""The org-tree resources under /api/v1/ (mounted by portal/urls.py before coverage.api.urls, whose
`orgs/<id>/coverage/` does not collide with these routes)."""

from rest_framework.routers import SimpleRouter

from orgs.api.views import (
    AssignmentViewSet,
    AuditEntryViewSet,
    GrantViewSet,
    InstructorViewSet,
    OrganizationViewSet,
    RegionViewSet,
    UserViewSet,
)

router = SimpleRouter()
router.register("orgs", OrganizationViewSet, basename="api-org")
router.register("regions", RegionViewSet, basename="api-region")
router.register("instructors", InstructorViewSet, basename="api-instructor")
router.register("assignments", AssignmentViewSet, basename="api-assignment")
router.register("users", UserViewSet, basename="api-user")
router.register("grants", GrantViewSet, basename="api-grant")
router.register("audit", AuditEntryViewSet, basename="api-audit")
urlpatterns = router.urls
