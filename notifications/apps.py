from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The inbox and the reminders that fill it (above coverage: reminders read every domain app)."""

    name = "notifications"
    verbose_name = "通知与提醒"

    def ready(self) -> None:
        from notifications import navigation, receivers  # noqa: F401 - menu context; reactions to other apps' signals
