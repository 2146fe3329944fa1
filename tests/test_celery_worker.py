"""A real Celery worker runs `portal.heartbeat` (PRACTICES.md: eager mode is not a test of Celery).

Two brokers, one scenario (send, the worker writes the row, send again, the count goes up):

* kombu's filesystem transport in temporary folders: no server, so it runs in every `make test`.
* Redis, when CELERY_TEST_BROKER_URL is set (the real-services leg of .ci/run, on PostgreSQL).

The worker runs in a thread of this process (`celery.contrib.testing.worker.start_worker`), so the
task writes through its own database connection: the tests use `transaction=True` so that both
threads see committed rows. On SQLite's in-memory test database (shared cache) the two connections
must never overlap, so the test waits for the worker's `task_postrun` signal before it reads; on
PostgreSQL, or a file-based SQLite test database (SQLITE_TEST_NAME), it could also poll freely.
"""

import contextlib
import os
import threading
import time
import uuid

import kombu.pools
import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker

from core.models import WorkerHeartbeat
from core.tasks import heartbeat
from portal.celery import app

TASK_TIMEOUT = 30  # seconds for one task to be received, run and committed


@contextlib.contextmanager
def broker(url: str, transport_options: dict):
    """Point the project's Celery app at another broker, then put everything back."""
    overrides = {
        "broker_url": url,
        "broker_transport_options": transport_options,
        # Keep pytest's log capture: don't let the worker replace the root logger's handlers.
        "worker_hijack_root_logger": False,
        "task_always_eager": False,
    }
    saved = {key: app.conf.get(key) for key in overrides}
    _reset_pools()
    app.conf.update(overrides)
    try:
        yield
    finally:
        _reset_pools()
        app.conf.update(saved)


def _reset_pools() -> None:
    """Drop pooled broker connections so the next producer connects to the configured broker."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    kombu.pools.reset()  # kombu's global pool registry, or a second Redis test finds a closed pool
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


class TaskWatcher:
    """Collects `task_postrun` from the worker thread, by task id."""

    def __init__(self) -> None:
        self._done: dict[str, str] = {}
        self._cond = threading.Condition()

    def __call__(self, sender=None, task_id=None, state=None, **kwargs) -> None:
        with self._cond:
            self._done[task_id] = state
            self._cond.notify_all()

    def wait(self, task_id: str, timeout: float) -> str:
        with self._cond:
            if not self._cond.wait_for(lambda: task_id in self._done, timeout=timeout):
                pytest.fail(f"the worker did not finish task {task_id} within {timeout}s")
            return self._done[task_id]


@pytest.fixture
def task_watcher():
    watcher = TaskWatcher()
    signals.task_postrun.connect(watcher, weak=False)
    yield watcher
    signals.task_postrun.disconnect(watcher)


def wait_for_count(name: str, expected: int, timeout: float = TASK_TIMEOUT) -> WorkerHeartbeat:
    """Poll the database (a fresh query each time) until the heartbeat row shows `expected`."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = WorkerHeartbeat.objects.filter(name=name).first()
        if row is not None and row.count >= expected:
            return row
        time.sleep(0.2)
    pytest.fail(f"heartbeat row {name!r} reached no count {expected} within {timeout}s (last seen: {row and row.count})")


def send_and_check(watcher: TaskWatcher) -> None:
    name = f"test-{uuid.uuid4().hex[:12]}"
    assert not WorkerHeartbeat.objects.filter(name=name).exists()

    for expected in (1, 2):
        result = heartbeat.delay(name=name)
        assert watcher.wait(result.id, TASK_TIMEOUT) == "SUCCESS"
        row = wait_for_count(name, expected)
        assert row.count == expected
        assert row.seen_at is not None

    assert WorkerHeartbeat.objects.filter(name=name).count() == 1


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_real_worker_on_filesystem_transport(tmp_path, task_watcher):
    """The embedded default broker (kombu filesystem://) with a real worker, no server needed."""
    queue = tmp_path / "queue"
    for folder in ("queue", "processed", "control"):
        (tmp_path / folder).mkdir()
    options = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    with broker("filesystem://", options), start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        send_and_check(task_watcher)


@pytest.mark.realservices
@pytest.mark.timeout(120)
@pytest.mark.skipif(
    not os.environ.get("CELERY_TEST_BROKER_URL"), reason="CELERY_TEST_BROKER_URL is not set (real-services leg only)"
)
@pytest.mark.django_db(transaction=True)
def test_real_worker_on_redis(task_watcher):
    """The production broker: a real redis-server started by .ci/run, and a real worker."""
    import redis

    url = os.environ["CELERY_TEST_BROKER_URL"]
    # Fail fast and clearly when the server is not there (the worker would otherwise retry forever).
    redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()

    with broker(url, {"visibility_timeout": 3600}), start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        send_and_check(task_watcher)
