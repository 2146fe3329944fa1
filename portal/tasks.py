"""Cross-cutting Celery tasks. Tasks are thin: they take ids or plain values and call actions."""

import logging

from celery import shared_task

from portal.actions import heartbeat_record

logger = logging.getLogger(__name__)


@shared_task(
    name="portal.heartbeat",
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def heartbeat(name: str = "worker") -> int:
    """Record that a worker is alive; beat sends it every minute. Idempotent: an upsert."""
    beat = heartbeat_record(name=name)
    logger.info("heartbeat %s count=%s", beat.name, beat.count)
    return beat.count
