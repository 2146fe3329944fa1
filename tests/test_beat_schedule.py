"""The beat schedule in code: every entry names a task the worker knows, in Asia/Shanghai, and the thin
services tasks do their actions' work when a worker runs them."""

import datetime as dt

import pytest
from celery.schedules import crontab
from django.conf import settings

from portal.celery import app


@pytest.fixture(scope="module")
def registered():
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery + CELERY_IMPORTS
    return set(app.tasks)


def test_every_beat_entry_names_a_registered_task(registered):
    missing = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if entry["task"] not in registered}
    assert not missing


def test_schedule_runs_in_shanghai_time():
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
    assert app.conf.timezone == "Asia/Shanghai"
    daily = settings.CELERY_BEAT_SCHEDULE["reminders-daily"]["schedule"]
    assert isinstance(daily, crontab)
    assert daily.hour == {7} and daily.minute == {30}
    monthly = settings.CELERY_BEAT_SCHEDULE["snapshots-monthly"]["schedule"]
    assert monthly.day_of_month == {1}


@pytest.mark.parametrize("entry", ["reminders-daily", "snapshots-monthly", "requests-escalate", "requests-autoclose",
                                   "public-hits-purge", "reach-refresh", "transfers-expire"])
def test_periodic_tasks_are_acked_late_and_retry_transient_errors(registered, entry):
    task = app.tasks[settings.CELERY_BEAT_SCHEDULE[entry]["task"]]
    assert task.acks_late is True
    assert OSError in tuple(task.autoretry_for) or ConnectionError in tuple(task.autoretry_for)
    assert task.max_retries and task.max_retries > 0


@pytest.mark.django_db
def test_escalation_task_escalates_an_overdue_request_once(world):
    from services.models import ServiceRequest
    from services.tasks import escalate_overdue
    from tests.services.factories import make_request

    request = make_request(org=world.br_a, due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert escalate_overdue.apply().get() >= 1
    row = ServiceRequest.objects.get(pk=request.pk)
    assert row.escalation_level >= 1 and row.escalated_to_id is not None
    level = row.escalation_level
    escalate_overdue.apply().get()  # a second beat tick in the same overdue period changes nothing
    assert ServiceRequest.objects.get(pk=request.pk).escalation_level == level
