from rest_framework.routers import SimpleRouter

from coverage.api.snapshots import SnapshotViewSet

router = SimpleRouter()
router.register("snapshots", SnapshotViewSet, basename="api-snapshot")
urlpatterns = router.urls
