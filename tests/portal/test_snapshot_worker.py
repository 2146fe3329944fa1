"""A real Celery worker takes coverage snapshots end to end (PRACTICES.md: eager mode is not a test of Celery).

The beat task `portal.snapshots_monthly` creates last month's snapshot and, after its commit, sends
`portal.snapshot_take`; the worker takes it: rows, the .xlsx report and the in-app notice. A transient
database error is retried with backoff and then succeeds. Same set-up as tests/test_celery_worker.py:
kombu's filesystem transport in temporary folders (every run), Redis when CELERY_TEST_BROKER_URL is set.
The worker runs in a thread of this process; the test waits for `task_postrun` before it reads (SQLite's
in-memory test database must not be used by both threads at once). seeded_transactional_db (tests/conftest.py)
puts back the rows seeded by data migrations (rules), which an earlier transactional test's flush wiped.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
from collections import defaultdict

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.db import OperationalError
from openpyxl import load_workbook

from coverage.models import CoverageSnapshot, SnapshotKind, SnapshotStatus
from coverage.tasks import take_monthly_snapshots
from notifications.models import Notification, NotificationKind
from portal.celery import app
from tests.test_celery_worker import broker

TASK_TIMEOUT = 60


class TaskStates:
    """Collects (task name → states) from the worker thread's `task_postrun`."""

    def __init__(self) -> None:
        self._states: dict[str, list[str]] = defaultdict(list)
        self._cond = threading.Condition()

    def __call__(self, sender=None, task_id=None, state=None, **kwargs) -> None:
        with self._cond:
            self._states[sender.name].append(state)
            self._cond.notify_all()

    def wait(self, name: str, state: str, timeout: float = TASK_TIMEOUT) -> list[str]:
        with self._cond:
            if not self._cond.wait_for(lambda: state in self._states[name], timeout=timeout):
                pytest.fail(f"no {name} ended in {state} within {timeout}s (seen: {dict(self._states)})")
            return list(self._states[name])


@pytest.fixture
def task_states():
    states = TaskStates()
    signals.task_postrun.connect(states, weak=False)
    yield states
    signals.task_postrun.disconnect(states)


@pytest.fixture
def filesystem_broker(tmp_path):
    for folder in ("queue", "processed", "control"):
        (tmp_path / folder).mkdir()
    options = {
        "data_folder_in": str(tmp_path / "queue"), "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"), "control_folder": str(tmp_path / "control"),
        "store_processed": False, "polling_interval": 0.1,
    }
    with broker("filesystem://", options):
        yield


def run_monthly_and_check(world, states: TaskStates) -> CoverageSnapshot:
    take_monthly_snapshots.delay(today="2026-12-01")
    states.wait("portal.snapshots_monthly", "SUCCESS")
    states.wait("portal.snapshot_take", "SUCCESS")
    snapshot = CoverageSnapshot.objects.get(kind=SnapshotKind.MONTHLY)
    assert snapshot.org_id == world.root.pk and snapshot.period_start == dt.date(2026, 11, 1)
    assert snapshot.status == SnapshotStatus.READY and snapshot.taken_at is not None and snapshot.error == ""
    assert snapshot.rows.count() == 11
    total = snapshot.rows.get(dimension="total")
    assert (total.workplaces, total.org_covered, total.work_covered, total.members_full) == (7, 4, 6, 10)
    ws = load_workbook(io.BytesIO(bytes(snapshot.report)))["总览"]
    assert ws.cell(row=3, column=3).value == 7
    notices = Notification.objects.filter(kind=NotificationKind.REPORT)
    assert {n.user_id for n in notices} == {world.district_user.pk, world.viewer.pk}
    assert all(n.url == f"/reports/{snapshot.pk}/" for n in notices)
    return snapshot


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("seeded_transactional_db")
def test_real_worker_takes_the_monthly_snapshot(world, filesystem_broker, task_states):
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        run_monthly_and_check(world, task_states)


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("seeded_transactional_db")
def test_a_transient_error_is_retried_and_succeeds(world, filesystem_broker, task_states, monkeypatch):
    from coverage.actions import snapshots as actions

    real = actions.build_report
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(actions, "build_report", flaky)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        run_monthly_and_check(world, task_states)
        assert task_states.wait("portal.snapshot_take", "SUCCESS") == ["RETRY", "SUCCESS"]
    assert len(calls) == 2


@pytest.mark.realservices
@pytest.mark.timeout(120)
@pytest.mark.skipif(
    not os.environ.get("CELERY_TEST_BROKER_URL"), reason="CELERY_TEST_BROKER_URL is not set (real-services leg only)"
)
@pytest.mark.usefixtures("seeded_transactional_db")
def test_real_worker_on_redis_takes_the_monthly_snapshot(world, task_states):
    import redis

    url = os.environ["CELERY_TEST_BROKER_URL"]
    redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    with broker(url, {"visibility_timeout": 3600}), start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        run_monthly_and_check(world, task_states)
