"""Cross-cutting Celery tasks and the one task decorator every task uses.

Tasks are thin: they take ids or plain values and call actions. `portal_task` gives every task the same
delivery settings (PRACTICES.md, "Celery with Redis is at-least-once"): late acknowledgement, rejected back
to the queue when the worker dies, and retries with exponential backoff and jitter for transient errors
(network, broker, SMTP, a database connection that dropped). Domain errors are not retried.
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from core.actions.heartbeat import heartbeat_record
from core.actions.outbox import outbox_deliver_due, outbox_purge_sent

logger = logging.getLogger(__name__)

# OSError covers ConnectionError, TimeoutError and smtplib.SMTPException.
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


def portal_task(name: str, **options):
    """`@portal_task("app.verb")`: shared_task with acks_late, retries with backoff, and a fixed name."""
    defaults = {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": 5,
        "retry_backoff_max": 600,  # well under the broker's visibility timeout (1 hour)
        "retry_jitter": True,
        "max_retries": 5,
    }
    defaults.update(options)
    return shared_task(name=name, **defaults)


@portal_task("portal.heartbeat")
def heartbeat(name: str = "worker") -> int:
    """Record that a worker is alive; beat sends it every minute. Idempotent: an upsert."""
    beat = heartbeat_record(name=name)
    logger.info("heartbeat %s count=%s", beat.name, beat.count)
    return beat.count


@portal_task("portal.outbox_deliver")
def outbox_deliver(limit: int = 500) -> int:
    """Send the outbox messages that are due (beat, every minute): those whose publish after commit failed
    while the broker was down, and forget those sent a week ago. Idempotent: a sent message is never
    claimed again."""
    sent = outbox_deliver_due(limit=limit)
    outbox_purge_sent()
    return sent
