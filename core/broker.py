"""The broker as the foundation sees it: the embedded transport's folders."""

from pathlib import Path


def ensure_filesystem_broker_dirs() -> None:
    """kombu's filesystem transport needs its folders to exist before a worker or producer starts."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        opts = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            Path(opts[key]).mkdir(parents=True, exist_ok=True)
