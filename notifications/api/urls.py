from rest_framework.routers import SimpleRouter

from notifications.api.views import NotificationViewSet, ReminderRuleViewSet

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="api-notification")
router.register("reminder-rules", ReminderRuleViewSet, basename="api-reminder-rule")
urlpatterns = router.urls
