"""A real Celery worker runs the reminder tasks (portal/reminder_tasks.py) end to end.

The approach of tests/test_celery_worker.py: a worker thread of this process (start_worker) on kombu's
filesystem transport in temporary folders (always), and on Redis when CELERY_TEST_BROKER_URL is set (the
real-services leg). The main thread reads the database only after the worker's `task_postrun` for the
awaited task (SQLite's in-memory test database must not be used by both threads at once).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading

import kombu.pools
import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.test import override_settings

import notifications.tasks  # noqa: F401 - registers the tasks (the worker imports it through CELERY_IMPORTS)
from members.models import RelationKind
from notifications.models import Notification, ReminderRule, ReminderRun, ReminderSend, RunStatus, SendStatus
from notifications.tasks import sweep_all, sweep_kind
from orgs.models import Role
from portal.celery import app
from tests.factories import MemberFactory, UserFactory, grant, make_branch, make_root
from tests.portal.test_reminders import FLAKY, FlakyBackend
from tests.test_celery_worker import broker

TASK_TIMEOUT = 40  # seconds; a retry waits up to retry_backoff (5 s, with jitter) before it runs again
TODAY = "2026-12-01"


class Watcher:
    """Every `task_postrun` of the worker thread: (task name, task id, state), in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self._cond = threading.Condition()

    def __call__(self, sender=None, task_id=None, state=None, **kwargs) -> None:
        with self._cond:
            self.events.append((getattr(sender, "name", ""), task_id, state))
            self._cond.notify_all()

    def wait(self, name: str, state: str = "SUCCESS", count: int = 1, timeout: float = TASK_TIMEOUT) -> list[str]:
        """Wait until tasks called `name` ended `count` times in `state`; returns the states `name` went through."""
        with self._cond:
            if not self._cond.wait_for(lambda: [(n, s) for n, _, s in self.events].count((name, state)) >= count, timeout=timeout):
                pytest.fail(f"the worker did not finish {name} in state {state} within {timeout}s: {self.events}")
            return [s for n, _, s in self.events if n == name]


@pytest.fixture
def watcher():
    w = Watcher()
    signals.task_postrun.connect(w, weak=False)
    yield w
    signals.task_postrun.disconnect(w)


@contextlib.contextmanager
def filesystem_broker(tmp_path):
    queue = tmp_path / "queue"
    for folder in ("queue", "processed", "control"):
        (tmp_path / folder).mkdir()
    options = {
        "data_folder_in": str(queue), "data_folder_out": str(queue), "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"), "store_processed": False, "polling_interval": 0.1,
    }
    with broker("filesystem://", options):
        yield


@contextlib.contextmanager
def redis_broker():
    import redis

    url = os.environ["CELERY_TEST_BROKER_URL"]
    redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    client = redis.Redis.from_url(url)
    client.delete("celery")  # no message left over from another test
    with broker(url, {"visibility_timeout": 3600}):
        yield


BROKERS = [
    pytest.param("filesystem", id="filesystem"),
    pytest.param("redis", id="redis", marks=[pytest.mark.realservices, pytest.mark.skipif(
        not os.environ.get("CELERY_TEST_BROKER_URL"), reason="CELERY_TEST_BROKER_URL is not set (real-services leg only)")]),
]


@pytest.fixture(params=BROKERS)
def worker(request, tmp_path):
    kombu.pools.reset()  # see below: a pool another test closed must not be reused
    transport = filesystem_broker(tmp_path) if request.param == "filesystem" else redis_broker()
    try:
        with transport, start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            yield request.param
    finally:
        # kombu keeps producer pools in a global registry keyed by connection: the next test on the same
        # Redis URL would otherwise get the pool closed when this one ended ("Acquire on closed pool").
        kombu.pools.reset()


@pytest.fixture
def data(transactional_db):
    """Rule rows again (a transactional test flushes what migrations seeded), the seeded reminder rules off,
    and a branch with a secretary (with email) and two mobile members whose cards expire on Dec 20."""
    from tests.conftest import reseed_data_migrations

    reseed_data_migrations()
    ReminderRule.objects.update(enabled=False)
    root = make_root("区委", code="W-ROOT")
    branch = make_branch("骑手党支部", parent=root, code="W-A")
    secretary = UserFactory(username="w_sec", email="w_sec@example.cn")
    grant(secretary, branch, Role.SECRETARY)
    for name in ("流动甲", "流动乙"):
        MemberFactory(org=branch, name=name, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20))
    rule = ReminderRule.objects.create(
        name="活动证到期", kind="mobile_card_expiring", offset=30, offset_unit="day", direction="before",
        recipients=["secretary"], channels=["in_app", "email"], subject_template="{{ object }} 的活动证将于 {{ date|date:'Y年n月j日' }} 到期",
        body_template="{{ org }}：还有 {{ days }} 天", effective_from=dt.date(2020, 1, 1),
    )
    return {"rule": rule, "secretary": secretary}


@pytest.mark.timeout(150)
@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_daily_sweep_end_to_end(data, worker, watcher):
    sweep_all.delay(today=TODAY)  # beat's entry: fans out one task per kind with enabled rules
    assert watcher.wait("portal.reminders_sweep_kind") == ["SUCCESS"]
    assert [n for n, _, s in watcher.events] == ["portal.reminders_sweep_all", "portal.reminders_sweep_kind"]

    titles = set(Notification.objects.filter(user=data["secretary"]).values_list("title", flat=True))
    assert titles == {"流动甲 的活动证将于 2026年12月20日 到期", "流动乙 的活动证将于 2026年12月20日 到期"}
    assert ReminderSend.objects.filter(rule=data["rule"], status=SendStatus.SENT).count() == 4
    assert sorted(m.subject for m in mail.outbox) == sorted(titles)
    run = ReminderRun.objects.get(rule=data["rule"])
    assert (run.day, run.status, run.candidates, run.sent, run.emailed) == (dt.date(2026, 12, 1), RunStatus.OK, 2, 4, 2)

    # A second delivery of the same day (a duplicate beat, a redelivered message) sends nothing more.
    sweep_kind.delay(kind="mobile_card_expiring", today=TODAY)
    assert watcher.wait("portal.reminders_sweep_kind", count=2) == ["SUCCESS", "SUCCESS"]
    assert Notification.objects.count() == 2 and len(mail.outbox) == 2
    assert ReminderRun.objects.filter(rule=data["rule"]).count() == 2


@pytest.mark.timeout(150)
@pytest.mark.django_db(transaction=True)
def test_worker_retries_a_transient_email_failure(data, worker, watcher):
    FlakyBackend.failures_left = 1
    try:
        with override_settings(EMAIL_BACKEND=FLAKY):
            sweep_kind.delay(kind="mobile_card_expiring", today=TODAY)
            states = watcher.wait("portal.reminders_sweep_kind", "SUCCESS")
    finally:
        FlakyBackend.failures_left = 0
    assert states == ["RETRY", "SUCCESS"]  # autoretry_for OSError (SMTPServerDisconnected), then it worked
    assert sorted(m.to[0] for m in mail.outbox) == ["w_sec@example.cn", "w_sec@example.cn"]
    assert Notification.objects.count() == 2  # the retry claimed nothing new
    sends = ReminderSend.objects.filter(rule=data["rule"], channel="email").order_by("pk")
    assert [(s.status, s.attempts) for s in sends] == [(SendStatus.SENT, 2), (SendStatus.SENT, 1)]
    runs = list(ReminderRun.objects.filter(rule=data["rule"]).order_by("pk"))
    assert [(r.status, r.sent, r.emailed) for r in runs] == [(RunStatus.FAILED, 4, 0), (RunStatus.OK, 0, 2)]
