"""Two sweeps of the same rule and day at once send once (PostgreSQL: the real-services leg of .ci/run).

Each thread has its own database connection and its own transaction: the send log's unique constraint
(INSERT ... ON CONFLICT DO NOTHING) decides which sweep claims each row, and SELECT ... FOR UPDATE SKIP LOCKED
keeps the email delivery of the other sweep off rows being sent. SQLite serialises writers (and its
in-memory test database cannot be shared by two threads writing at once), so the test runs on PostgreSQL only.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, connections

from members.models import RelationKind
from notifications.actions.reminders import reminder_rule_sweep
from notifications.models import Notification, ReminderRule, ReminderRun, ReminderSend, RunStatus, SendStatus
from orgs.models import Role
from tests.factories import MemberFactory, UserFactory, grant, make_branch, make_root

pytestmark = [
    pytest.mark.realservices,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (row locks, concurrent transactions): set DATABASE_URL as the real-services leg does",
    ),
]

TODAY = dt.date(2026, 12, 1)
THREADS = 2


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_once(seeded_transactional_db):  # the sweep reads rule rows (message length limits)
    root = make_root("区委", code="CC-ROOT")
    branches = [make_branch(f"并发支部{i}", parent=root, code=f"CC-{i}") for i in range(5)]
    for i, branch in enumerate(branches):
        secretary = UserFactory(username=f"cc_sec{i}", email=f"cc{i}@example.cn")
        grant(secretary, branch, Role.SECRETARY)
        for _ in range(3):
            MemberFactory(org=branch, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20))
    rule = ReminderRule.objects.create(
        name="并发测试", kind="mobile_card_expiring", offset=30, offset_unit="day", direction="before",
        recipients=["secretary"], channels=["in_app", "email"], subject_template="{{ object }} {{ date }}",
        body_template="{{ org }}", effective_from=dt.date(2020, 1, 1),
    )

    barrier = threading.Barrier(THREADS)
    runs, errors = [], []

    def sweep():
        try:
            barrier.wait(timeout=30)
            runs.append(reminder_rule_sweep(rule_id=rule.pk, today=TODAY))
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(runs) == THREADS and {run.status for run in runs} == {RunStatus.OK}

    expected = 15  # 5 branches x 3 mobile members, one secretary each
    assert ReminderSend.objects.filter(rule=rule, channel="in_app").count() == expected
    assert ReminderSend.objects.filter(rule=rule, channel="email").count() == expected
    assert Notification.objects.count() == expected
    assert ReminderSend.objects.filter(rule=rule).exclude(status=SendStatus.SENT).count() == 0
    assert len(mail.outbox) == expected
    assert len({(m.to[0], m.subject) for m in mail.outbox}) == expected  # nobody got the same mail twice
    # Exactly one sweep claimed everything; the other found the same candidates and claimed nothing.
    claimed = sorted(ReminderRun.objects.get(pk=run.pk).sent for run in runs)
    assert claimed == [0, 2 * expected]
    assert sum(ReminderRun.objects.get(pk=run.pk).emailed for run in runs) == expected
    assert [ReminderRun.objects.get(pk=run.pk).candidates for run in runs] == [expected, expected]
