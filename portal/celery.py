"""The Celery app. Embedded: filesystem transport; production: Redis (CELERY_BROKER_URL)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Kept importable from here for scripts written before step 7.
from core.broker import ensure_filesystem_broker_dirs  # noqa: E402,F401
