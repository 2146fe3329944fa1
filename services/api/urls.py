from rest_framework.routers import SimpleRouter

from services.api.views import ServiceCategoryViewSet, ServicePointViewSet, ServiceRequestViewSet

router = SimpleRouter()
router.register("service-categories", ServiceCategoryViewSet, basename="api-service-category")
router.register("service-requests", ServiceRequestViewSet, basename="api-service-request")
router.register("service-points", ServicePointViewSet, basename="api-service-point")
urlpatterns = router.urls
