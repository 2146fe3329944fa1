"""Reads for the health endpoint: the outbox backlog and whether the broker answers (no personal data)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.db.models import Count, Min
from django.utils import timezone

from core.models import OutboxMessage
from core.rules import rule_int

logger = logging.getLogger(__name__)

BROKER_CHECK_TIMEOUT = 1.5  # seconds; the health check must answer quickly when the broker is down
_FILESYSTEM_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def outbox_pending() -> dict:
    """Unsent outbox messages: how many, and the age in seconds of the oldest (None when there are none)."""
    figures = OutboxMessage.objects.filter(sent_at__isnull=True).aggregate(count=Count("id"), oldest=Min("created_at"))
    oldest = figures["oldest"]
    return {
        "outbox_pending": figures["count"],
        "outbox_oldest_pending_age_seconds": int((timezone.now() - oldest).total_seconds()) if oldest else None,
    }


def broker_reachable(*, timeout: float = BROKER_CHECK_TIMEOUT) -> bool:
    """True when a producer could publish now: for kombu's filesystem transport its folders exist and are
    writable; otherwise a connection is established within `timeout` (one quick retry)."""
    from celery import current_app as app

    url = app.conf.broker_url or ""
    if url.startswith("filesystem"):
        options = app.conf.broker_transport_options or {}
        folders = [Path(options[key]) for key in _FILESYSTEM_FOLDERS if options.get(key)]
        return bool(folders) and all(folder.is_dir() and os.access(folder, os.W_OK) for folder in folders)
    # Short socket timeouts for Redis too: a host that accepts and never answers must not hang the check.
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout} if url.startswith(("redis", "rediss")) else {}
    try:
        with app.connection_for_write(connect_timeout=timeout, transport_options=options) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
                                         timeout=timeout)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the broker is not usable
        logger.warning("health: broker unreachable: %s", type(exc).__name__)
        return False


def heartbeat_stale_seconds() -> int:
    return rule_int("worker_heartbeat_stale_seconds")


__all__ = ["broker_reachable", "heartbeat_stale_seconds", "outbox_pending"]
