"""The Celery app. Embedded: filesystem transport; production: Redis (CELERY_BROKER_URL)."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_filesystem_broker_dirs() -> None:
    """kombu's filesystem transport needs its folders to exist before a worker or producer starts."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        opts = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            Path(opts[key]).mkdir(parents=True, exist_ok=True)
