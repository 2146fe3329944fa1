"""The transactional outbox: enqueue a Celery task as a row in the caller's transaction, deliver it to the
broker right after commit and, failing that, from the sweep (beat `portal.outbox_deliver`, every minute).

Why: publishing inside a web request after commit, with the broker down, answered 500 for a request whose
rows were already committed, and the task was lost. Now the request always succeeds; the row stays until
a publish succeeds. Delivery is at-least-once (a publish that worked but whose `sent_at` was not saved is
sent again), so every task sent through here must be idempotent; kwargs carry ids only, never personal data.

Claiming: a row is due when unsent and `available_at` has passed; whoever delivers it first moves
`available_at` a lease ahead (a conditional UPDATE, or select_for_update(skip_locked) in the sweep on
PostgreSQL; SQLite serializes writers), so the on-commit attempt and a sweep do not both publish it.
A failed publish records the error and backs off (30 s, 60 s, ... at most 15 minutes), never giving up.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import KombuError

from core.models import OutboxMessage

logger = logging.getLogger(__name__)

# Longer than one publish can take (a refused connection fails in milliseconds, a silent host after the
# broker's socket_connect_timeout): a claimed row is not claimed again before it is marked.
LEASE = dt.timedelta(seconds=60)
SENT_KEPT = dt.timedelta(days=7)
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 900
# One quick retry, no long waits: a web request must not hang while the broker is down. Measured with Redis:
# on a closed port ~0.05 s (Celery's default publish waited ~6 s); a host that accepts and never answers
# ~3 s (socket_timeout; without it the request hung for good). The worker's own connections keep their
# settings: a socket_timeout there would break its blocking reads (BRPOP).
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
PUBLISH_REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 3}
PUBLISH_CONNECT_TIMEOUT = 2
# kombu's OperationalError is a KombuError; OSError covers ConnectionError and TimeoutError.
BROKER_ERRORS = (KombuError, OSError)
_ID_TYPES = (int, str, bool, type(None))


def outbox_enqueue(*, task: str, kwargs: dict) -> OutboxMessage:
    """Write the task `task` (a registered Celery task name) with `kwargs` (ids and plain values) in the
    caller's transaction, and try to send it as soon as that transaction commits."""
    bad = [key for key, value in kwargs.items() if not isinstance(value, _ID_TYPES)]
    if bad:
        raise ValueError(f"outbox kwargs must be ids or plain values, not {bad}")
    with transaction.atomic():  # joins the caller's transaction; the row commits (or not) with its rows
        message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
        transaction.on_commit(lambda: _deliver_after_commit(message.pk))
    return message


def outbox_deliver_due(*, limit: int = 100, now: dt.datetime | None = None) -> int:
    """The sweep: send up to `limit` due messages, oldest first; returns how many were sent. Stops at the
    first broker error (the others stay due for the next sweep, without an attempt counted)."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, available_at__lte=now)
            .order_by("available_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        OutboxMessage.objects.filter(pk__in=ids).update(available_at=now + LEASE, attempts=F("attempts") + 1)
    sent = 0
    messages = list(OutboxMessage.objects.filter(pk__in=ids).order_by("available_at", "id"))
    if messages:
        with publish_connection() as connection:
            for index, message in enumerate(messages):
                if _publish_claimed(message, connection):
                    sent += 1
                    continue
                rest = [m.pk for m in messages[index + 1:]]
                OutboxMessage.objects.filter(pk__in=rest).update(available_at=now, attempts=F("attempts") - 1)
                break
    if ids:
        logger.info("outbox sweep: %s of %s sent", sent, len(ids))
    return sent


def outbox_purge_sent(*, now: dt.datetime | None = None) -> int:
    """Delete messages sent more than SENT_KEPT ago (kept a while for diagnosis); returns how many."""
    now = now or timezone.now()
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=now - SENT_KEPT).delete()
    return deleted


def _deliver_after_commit(message_id: int) -> None:
    """The first chance, in the process that wrote the row. Never raises: the user's request succeeded."""
    try:
        now = timezone.now()
        claimed = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True, available_at__lte=now).update(
            available_at=now + LEASE, attempts=F("attempts") + 1,
        )
        if claimed:
            with publish_connection() as connection:
                _publish_claimed(OutboxMessage.objects.get(pk=message_id), connection)
    except Exception:  # noqa: BLE001 - the sweep delivers it later
        logger.exception("outbox %s: delivery after commit failed; the sweep will retry", message_id)


def publish_connection():
    """A broker connection of its own for outbox publishes (not the pooled one), with short timeouts."""
    from celery import current_app as app

    options = PUBLISH_REDIS_OPTIONS if (app.conf.broker_url or "").startswith(("redis", "rediss")) else {}
    return app.connection_for_write(transport_options=options, connect_timeout=PUBLISH_CONNECT_TIMEOUT)


def _publish_claimed(message: OutboxMessage, connection) -> bool:
    from celery import current_app as app

    try:
        app.send_task(message.task, kwargs=message.kwargs, connection=connection, retry=True,
                      retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # noqa: BLE001 - recorded on the row and retried with backoff
        if isinstance(exc, BROKER_ERRORS):
            logger.warning("outbox %s (%s): broker unavailable: %s", message.pk, message.task, exc)
        else:
            logger.exception("outbox %s (%s): publish failed", message.pk, message.task)
        delay = min(BACKOFF_FIRST_SECONDS * 2 ** min(max(message.attempts - 1, 0), 10), BACKOFF_MAX_SECONDS)
        OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(
            available_at=timezone.now() + dt.timedelta(seconds=delay), last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), last_error="")
    logger.info("outbox %s (%s) sent", message.pk, message.task)
    return True


__all__ = ["outbox_deliver_due", "outbox_enqueue", "outbox_purge_sent"]
