"""The transactional outbox: with the broker down, a snapshot request or a roster comparison still succeeds
and its task waits as a row; when the broker is back the sweep delivers it and a real worker runs it, once
even when the same row is delivered twice (at-least-once publishing, idempotent tasks).

"Broker down" is the project's Celery app pointed at Redis on a closed local port (a real refused
connection, nothing of ours mocked). "Broker back" is kombu's filesystem transport in temporary folders
and a real worker thread, as in tests/test_celery_worker.py.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections import Counter

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from core.actions.outbox import outbox_deliver_due, outbox_enqueue, outbox_purge_sent
from core.exceptions import ConflictError
from core.models import OutboxMessage
from core.tasks import outbox_deliver
from coverage.actions.snapshots import snapshot_request
from coverage.models import CoverageSnapshot, SnapshotStatus
from notifications.models import Notification, NotificationKind
from portal.celery import app
from tests.test_celery_worker import broker

LIST = reverse("coverage:snapshot_list")
TASK_TIMEOUT = 60


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: connections are refused


@pytest.fixture
def broker_down():
    with broker(f"redis://127.0.0.1:{closed_port()}/0", {"socket_connect_timeout": 1}):
        yield


@pytest.fixture
def silent_broker():
    """A "Redis" that accepts connections (the kernel's backlog) and never answers: a wedged server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(50)
        # The project's own transport options (no socket_timeout for the worker's blocking reads).
        with broker(f"redis://127.0.0.1:{sock.getsockname()[1]}/0", {"visibility_timeout": 3600, "socket_connect_timeout": 2}):
            yield


def filesystem_options(tmp_path) -> dict:
    for folder in ("queue", "processed", "control"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return {
        "data_folder_in": str(tmp_path / "queue"), "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"), "control_folder": str(tmp_path / "control"),
        "store_processed": False, "polling_interval": 0.1,
    }


class Finished:
    """Counts successful runs per task name, from the worker thread's `task_postrun`."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._cond = threading.Condition()

    def __call__(self, sender=None, state=None, **kwargs) -> None:
        with self._cond:
            self.counts[f"{sender.name}:{state}"] += 1
            self._cond.notify_all()

    def wait(self, name: str, times: int = 1, timeout: float = TASK_TIMEOUT) -> None:
        key = f"{name}:SUCCESS"
        with self._cond:
            if not self._cond.wait_for(lambda: self.counts[key] >= times, timeout=timeout):
                pytest.fail(f"{name} did not succeed {times} time(s) within {timeout}s (seen: {dict(self.counts)})")


@pytest.fixture
def finished():
    watcher = Finished()
    signals.task_postrun.connect(watcher, weak=False)
    yield watcher
    signals.task_postrun.disconnect(watcher)


# ---------------------------------------------------------------- broker down: the request succeeds
@pytest.mark.django_db
def test_snapshot_request_while_the_broker_is_down_succeeds_and_keeps_the_task(
    client, world, broker_down, django_capture_on_commit_callbacks,
):
    client.force_login(world.district_user)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LIST, {"org": world.express.pk})
    elapsed = time.monotonic() - started
    assert response.status_code == 302  # was a 500 after the commit
    assert elapsed < 3, f"the request waited {elapsed:.1f}s for the broker"
    snapshot = CoverageSnapshot.objects.get()
    assert snapshot.status == SnapshotStatus.PENDING
    message = OutboxMessage.objects.get()
    assert (message.task, message.kwargs, message.sent_at) == ("portal.snapshot_take", {"snapshot_id": snapshot.pk}, None)
    assert message.attempts == 1 and "OperationalError" in message.last_error
    assert message.available_at > timezone.now()  # backing off until the next sweep
    # A second click is told the snapshot is on its way (it is not lost), not refused with a 500.
    response = client.post(LIST, {"org": world.express.pk})
    assert response.status_code == 200 and "正在生成" in response.content.decode()
    assert CoverageSnapshot.objects.count() == 1 and OutboxMessage.objects.count() == 1


@pytest.mark.timeout(60)
@pytest.mark.django_db
def test_a_broker_that_never_answers_does_not_hang_the_request(client, world, silent_broker,
                                                              django_capture_on_commit_callbacks):
    client.force_login(world.district_user)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LIST, {"org": world.express.pk})
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 8, f"the request waited {elapsed:.1f}s for a silent broker"  # measured ~3 s (socket_timeout)
    message = OutboxMessage.objects.get()
    assert message.sent_at is None and message.attempts == 1 and "Timeout" in message.last_error


@pytest.mark.django_db
def test_a_pending_snapshot_whose_task_waits_in_the_outbox_keeps_blocking_after_two_hours(world, broker_down):
    snapshot = snapshot_request(actor=world.district_user, org=world.root)
    CoverageSnapshot.objects.filter(pk=snapshot.pk).update(requested_at=timezone.now() - dt.timedelta(hours=3))
    with pytest.raises(ConflictError):
        snapshot_request(actor=world.district_user, org=world.root)
    # Once delivered and still pending after two hours, the task is presumed lost: a new request is allowed.
    OutboxMessage.objects.update(sent_at=timezone.now())
    assert snapshot_request(actor=world.district_user, org=world.root).pk != snapshot.pk


@pytest.mark.django_db
def test_the_sweep_stops_at_the_first_broker_error_and_backs_off(world, broker_down):
    first = outbox_enqueue(task="portal.heartbeat", kwargs={"name": "a"})
    second = outbox_enqueue(task="portal.heartbeat", kwargs={"name": "b"})
    assert outbox_deliver_due() == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.attempts == 1 and first.last_error and first.available_at > timezone.now() + dt.timedelta(seconds=20)
    assert second.attempts == 0 and second.available_at <= timezone.now()  # untouched: due at the next sweep
    assert outbox_deliver_due() == 0  # only `second` is due
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.attempts, second.attempts) == (1, 1)  # `first` not due yet: no hammering a broker that is down
    assert outbox_deliver_due(now=timezone.now() + dt.timedelta(seconds=45)) == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.attempts, second.attempts) == (2, 1)  # the one due longest first; then it stopped
    assert first.available_at > timezone.now() + dt.timedelta(seconds=50)  # backing off further (60 s)


@pytest.mark.django_db
def test_outbox_kwargs_are_ids_only(db):
    with pytest.raises(ValueError):
        outbox_enqueue(task="portal.heartbeat", kwargs={"member": {"id_number": "x"}})
    assert not OutboxMessage.objects.exists()


# ---------------------------------------------------------------- broker back: delivered, run once
@pytest.mark.timeout(180)
@pytest.mark.usefixtures("seeded_transactional_db")
def test_snapshot_requested_during_an_outage_is_taken_once_when_the_broker_is_back(client, world, tmp_path, finished):
    client.force_login(world.district_user)
    with broker(f"redis://127.0.0.1:{closed_port()}/0", {"socket_connect_timeout": 1}):
        assert client.post(LIST, {"org": world.root.pk}).status_code == 302  # on_commit ran for real and failed
    message = OutboxMessage.objects.get()
    snapshot = CoverageSnapshot.objects.get()
    assert message.sent_at is None and message.attempts == 1 and snapshot.status == SnapshotStatus.PENDING
    OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now())  # the backoff has passed

    # SQLite's in-memory test database: this thread touches the database only while the worker is idle or stopped.
    with broker("filesystem://", filesystem_options(tmp_path)):
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            outbox_deliver.delay()  # what beat sends every minute; the sweep runs in the worker
            finished.wait("portal.outbox_deliver")
            finished.wait("portal.snapshot_take")
        # Delivered a second time (a sweep that published but could not record it): the work is done once.
        OutboxMessage.objects.filter(pk=message.pk).update(sent_at=None, available_at=timezone.now())
        assert outbox_deliver_due() == 1
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            finished.wait("portal.snapshot_take", times=2)

    message.refresh_from_db()
    snapshot.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 3
    assert snapshot.status == SnapshotStatus.READY and snapshot.rows.count() == 11
    notices = Notification.objects.filter(kind=NotificationKind.REPORT)
    assert sorted(notices.values_list("user_id", flat=True)) == sorted({world.district_user.pk, world.viewer.pk})


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("seeded_transactional_db")
def test_roster_comparison_requested_during_an_outage_runs_once_when_the_broker_is_back(world, tmp_path, finished):
    from members.models import RosterComparison, UploadStatus
    from tests.members.test_roster import Scenario, figures, start, xlsx_bytes

    scenario = Scenario(world, members=30, strangers=10)
    with broker(f"redis://127.0.0.1:{closed_port()}/0", {"socket_connect_timeout": 1}):
        comparison = start(world, xlsx_bytes(scenario.rows))  # the upload succeeds; was a 500 after commit
    comparison.refresh_from_db()
    assert comparison.status == UploadStatus.PENDING
    message = OutboxMessage.objects.get()
    assert (message.task, message.kwargs) == ("members.compare_roster", {"comparison_id": comparison.pk})
    assert message.sent_at is None and message.last_error

    with broker("filesystem://", filesystem_options(tmp_path)):
        # The sweep (in this process) publishes it; then, as if its `sent_at` had not been saved, again.
        assert outbox_deliver_due(now=timezone.now() + dt.timedelta(minutes=1)) == 1
        OutboxMessage.objects.filter(pk=message.pk).update(sent_at=None, available_at=timezone.now())
        assert outbox_deliver_due() == 1
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            finished.wait("members.compare_roster", times=2)

    comparison = RosterComparison.objects.get(pk=comparison.pk)
    assert comparison.status == UploadStatus.DONE and comparison.upload_encrypted == ""
    assert figures(comparison) == scenario.expected


@pytest.mark.django_db
def test_sent_messages_are_forgotten_after_a_week_unsent_ones_never(db):
    old_sent = outbox_enqueue(task="portal.heartbeat", kwargs={"name": "a"})
    recent_sent = outbox_enqueue(task="portal.heartbeat", kwargs={"name": "b"})
    unsent = outbox_enqueue(task="portal.heartbeat", kwargs={"name": "c"})
    OutboxMessage.objects.filter(pk=old_sent.pk).update(sent_at=timezone.now() - dt.timedelta(days=8))
    OutboxMessage.objects.filter(pk=recent_sent.pk).update(sent_at=timezone.now() - dt.timedelta(days=1))
    OutboxMessage.objects.filter(pk=unsent.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    assert outbox_purge_sent() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent_sent.pk, unsent.pk}


@pytest.mark.realservices
@pytest.mark.timeout(180)
@pytest.mark.skipif(
    not os.environ.get("CELERY_TEST_BROKER_URL"), reason="CELERY_TEST_BROKER_URL is not set (real-services leg only)"
)
@pytest.mark.usefixtures("seeded_transactional_db")
def test_on_redis_a_snapshot_requested_during_an_outage_is_taken_when_redis_is_back(client, world, finished):
    import redis

    url = os.environ["CELERY_TEST_BROKER_URL"]
    redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    client.force_login(world.district_user)
    with broker(f"redis://127.0.0.1:{closed_port()}/0", {"socket_connect_timeout": 1}):
        assert client.post(LIST, {"org": world.root.pk}).status_code == 302
    message = OutboxMessage.objects.get()
    assert message.sent_at is None
    OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now())
    with broker(url, {"visibility_timeout": 3600, "socket_connect_timeout": 2}), \
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        outbox_deliver.delay()
        finished.wait("portal.outbox_deliver")
        finished.wait("portal.snapshot_take")
    message.refresh_from_db()
    assert message.sent_at is not None
    assert CoverageSnapshot.objects.get().status == SnapshotStatus.READY
