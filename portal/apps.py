from pathlib import Path

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "门户"

    def ready(self) -> None:
        from django.conf import settings

        from portal.celery import ensure_filesystem_broker_dirs

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        # whitenoise warns at start-up when STATIC_ROOT is missing (before the first collectstatic)
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        ensure_filesystem_broker_dirs()
