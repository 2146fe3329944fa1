from rest_framework.routers import SimpleRouter

from members.api.views import MemberViewSet, TransferViewSet

router = SimpleRouter()
router.register("members", MemberViewSet, basename="api-member")
router.register("transfers", TransferViewSet, basename="api-transfer")
urlpatterns = router.urls
