from rest_framework.routers import DefaultRouter

from coverage.api.views import OrganizationViewSet, WorkplaceViewSet

router = DefaultRouter()
router.register("orgs", OrganizationViewSet, basename="api-org")
router.register("workplaces", WorkplaceViewSet, basename="api-workplace")
urlpatterns = router.urls
