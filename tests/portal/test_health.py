"""/healthz/ tells the truth: 200 only when the database and the broker answer and a worker's heartbeat is
fresh (rule worker_heartbeat_stale_seconds); 503 naming the failed checks otherwise. /healthz/live/ (the
web container's healthcheck) checks only the process and its database."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from core.actions.heartbeat import heartbeat_record
from core.actions.outbox import outbox_enqueue
from core.models import OutboxMessage, WorkerHeartbeat
from tests.factories import set_rule
from tests.portal.test_outbox import closed_port, filesystem_options
from tests.test_celery_worker import broker

pytestmark = pytest.mark.django_db
HEALTH = reverse("healthz")
LIVE = "/healthz/live/"


@pytest.fixture
def filesystem_broker(tmp_path):
    with broker("filesystem://", filesystem_options(tmp_path)):
        yield tmp_path


def test_all_fine_is_200_with_the_figures_and_no_personal_data(client, filesystem_broker):
    heartbeat_record(name="worker")
    response = client.get(HEALTH)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["failed"] == []
    assert body["database"] is True and body["broker"] is True
    assert 0 <= body["worker_heartbeat_age_seconds"] < 5
    assert body["worker_heartbeat_stale_seconds"] == 300
    assert (body["outbox_pending"], body["outbox_oldest_pending_age_seconds"]) == (0, None)
    assert set(body) == {"ok", "failed", "database", "broker", "worker_heartbeat_age_seconds",
                         "worker_heartbeat_stale_seconds", "outbox_pending", "outbox_oldest_pending_age_seconds"}


def test_no_heartbeat_is_503(client, filesystem_broker):
    response = client.get(HEALTH)
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["worker_heartbeat"] and body["worker_heartbeat_age_seconds"] is None


def test_a_stale_heartbeat_is_503_by_the_rule_row(client, filesystem_broker):
    heartbeat_record(name="worker")
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - dt.timedelta(seconds=120))
    assert client.get(HEALTH).status_code == 200  # within the default 300 s
    set_rule("worker_heartbeat_stale_seconds", 60)
    response = client.get(HEALTH)
    assert response.status_code == 503
    assert response.json()["failed"] == ["worker_heartbeat"] and response.json()["worker_heartbeat_age_seconds"] >= 120


def test_broker_down_is_503_and_answers_quickly(client):
    heartbeat_record(name="worker")
    with broker(f"redis://127.0.0.1:{closed_port()}/0", {"socket_connect_timeout": 1}):
        started = time.monotonic()
        response = client.get(HEALTH)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["broker"] is False and response.json()["failed"] == ["broker"]
    assert elapsed < 3, f"the health check waited {elapsed:.1f}s for the broker"


@pytest.mark.timeout(60)
def test_a_broker_that_never_answers_is_503_within_seconds(client):
    heartbeat_record(name="worker")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(50)  # connections are accepted by the kernel; nothing ever answers
        with broker(f"redis://127.0.0.1:{sock.getsockname()[1]}/0", {"visibility_timeout": 3600}):
            started = time.monotonic()
            response = client.get(HEALTH)
            elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.json()["failed"] == ["broker"]
    assert elapsed < 5, f"the health check waited {elapsed:.1f}s for a silent broker"


@pytest.mark.realservices
@pytest.mark.skipif(
    not os.environ.get("CELERY_TEST_BROKER_URL"), reason="CELERY_TEST_BROKER_URL is not set (real-services leg only)"
)
def test_a_real_redis_is_reachable(client):
    url = os.environ["CELERY_TEST_BROKER_URL"]
    heartbeat_record(name="worker")
    with broker(url, {"visibility_timeout": 3600}):
        response = client.get(HEALTH)
    assert response.status_code == 200 and response.json()["broker"] is True


def test_filesystem_broker_with_a_missing_folder_is_down(client, filesystem_broker):
    heartbeat_record(name="worker")
    (filesystem_broker / "queue").rmdir()
    response = client.get(HEALTH)
    assert response.status_code == 503 and response.json()["failed"] == ["broker"]


def test_outbox_backlog_is_reported(client, filesystem_broker):
    heartbeat_record(name="worker")
    outbox_enqueue(task="portal.heartbeat", kwargs={"name": "x"})  # not sent: no commit in this test
    sent = outbox_enqueue(task="portal.heartbeat", kwargs={"name": "y"})
    OutboxMessage.objects.filter(pk=sent.pk).update(sent_at=timezone.now())
    OutboxMessage.objects.filter(sent_at__isnull=True).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    body = client.get(HEALTH).json()
    assert body["outbox_pending"] == 1 and body["outbox_oldest_pending_age_seconds"] >= 600


def test_live_check_ignores_the_broker_and_the_worker(client):
    with broker(f"redis://127.0.0.1:{closed_port()}/0", {"socket_connect_timeout": 1}):
        response = client.get(LIVE)
    assert response.status_code == 200 and response.json() == {"database": True}
