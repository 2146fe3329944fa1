from rest_framework.routers import SimpleRouter

from activities.api.views import ActivityViewSet, ComplianceViewSet, ExemptionViewSet

router = SimpleRouter()
router.register("activities", ActivityViewSet, basename="api-activity")
router.register("exemptions", ExemptionViewSet, basename="api-exemption")
router.register("compliance", ComplianceViewSet, basename="api-compliance")
urlpatterns = router.urls
