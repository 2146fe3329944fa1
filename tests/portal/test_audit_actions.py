"""Audit rows of coverage snapshots, the inbox and reminders: the actor's request, SYSTEM for the worker,
the monthly beat and the sweeps (one summary row per run with the count, not one per notice), reminder rule
edits with before/after; nothing for refused writes or for marking one's own notices read; `actor=None` raises."""

from __future__ import annotations

import datetime as dt

import pytest

from core.audit import SYSTEM
from core.exceptions import DomainError
from core.models import AuditEntry
from coverage.actions.snapshots import snapshot_request, snapshot_take, snapshots_monthly
from coverage.models import CoverageSnapshot, SnapshotKind, SnapshotStatus
from notifications.actions.inbox import notification_mark_read, notifications_create, notifications_mark_all_read
from notifications.actions.reminder_rules import reminder_rule_create, reminder_rule_update
from notifications.actions.reminders import reminders_sweep
from notifications.models import ReminderKind, ReminderRule
from tests.portal.test_reminder_kinds import LONG_AGO
from tests.portal.test_reminders import NOW, TODAY, scenario
from tests.services.factories import make_request

pytestmark = pytest.mark.django_db


def rows(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def only(action: str) -> AuditEntry:
    found = rows(action)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- snapshots
def test_request_is_written_as_the_actor_and_take_as_system(world):
    snapshot = snapshot_request(actor=world.district_user, org=world.root)
    entry = only("snapshot.request")
    assert (entry.actor, entry.object_type, entry.object_id) == (world.district_user, "coverage.coveragesnapshot", str(snapshot.pk))
    assert entry.org_path == world.root.path
    assert entry.changes["kind"] == [None, SnapshotKind.ON_DEMAND]

    snapshot_take(snapshot_id=snapshot.pk)
    taken = only("snapshot.take")
    assert (taken.actor, taken.actor_label, taken.object_id) == (None, "system", str(snapshot.pk))
    assert taken.changes["status"] == [SnapshotStatus.RUNNING, SnapshotStatus.READY]
    # the notices the snapshot sends: one summary row, not one per recipient
    notices = only("notification.create")
    assert notices.actor_label == "system" and notices.changes["count"] >= 1

    snapshot_take(snapshot_id=snapshot.pk)  # a ready snapshot is returned as is: nothing new
    assert len(rows("snapshot.take")) == 1


def test_refused_request_writes_no_row_and_actor_none_raises(world):
    with pytest.raises(DomainError):
        snapshot_request(actor=world.secretary, org=world.jb)
    with pytest.raises(ValueError):
        snapshot_request(actor=None, org=world.root)
    assert not rows("snapshot.request") and not CoverageSnapshot.objects.exists()


def test_system_request_has_no_requester(world):
    snapshot = snapshot_request(actor=SYSTEM, org=world.root)
    assert snapshot.requested_by is None
    assert only("snapshot.request").actor_label == "system"


def test_monthly_run_writes_one_row_per_snapshot_created(world):
    snapshots_monthly(today=dt.date(2026, 3, 5))
    entry = only("snapshot.create")
    assert (entry.actor_label, entry.changes["note"], entry.org_path) == ("system", "monthly", world.root.path)
    snapshots_monthly(today=dt.date(2026, 3, 5))  # a second beat creates nothing
    assert len(rows("snapshot.create")) == 1


def test_failed_take_writes_a_fail_row(world, monkeypatch):
    snapshot = snapshot_request(actor=world.district_user, org=world.root)

    def broken(**kwargs):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr("coverage.actions.snapshots.build_report", broken)
    with pytest.raises(RuntimeError):
        snapshot_take(snapshot_id=snapshot.pk)
    entry = only("snapshot.fail")
    assert entry.changes == {"status": [SnapshotStatus.RUNNING, SnapshotStatus.FAILED], "note": "RuntimeError"}
    assert not rows("snapshot.take")


# ---------------------------------------------------------------- the inbox
def test_notifications_create_writes_one_summary_row(world):
    notifications_create(user_ids=[world.secretary.pk, world.district_user.pk, world.secretary.pk], title="张三的转接",
                         body="x")
    entry = only("notification.create")
    assert (entry.actor_label, entry.changes) == ("system", {"note": "system", "count": 2})
    assert "张三" not in entry.object_repr  # counts only: a title may name people


def test_nothing_to_notify_writes_nothing_and_marking_read_is_not_audited(world):
    notifications_create(user_ids=[], title="x")
    assert not rows("notification.create")
    [notice] = notifications_create(user_ids=[world.secretary.pk], title="提醒")
    before = AuditEntry.objects.count()
    notification_mark_read(user=world.secretary, notification_id=notice.pk)
    notifications_mark_all_read(user=world.secretary)
    assert AuditEntry.objects.count() == before


# ---------------------------------------------------------------- reminder rules
def _data(**changes) -> dict:
    data = {"name": "新规则", "kind": ReminderKind.LETTER_LAPSING, "offset": 3, "offset_unit": "day", "repeat_every_days": 0,
            "repeat_limit": 0, "recipients": ["secretary"], "channels": ["in_app"], "subject_template": "{{ object }}",
            "body_template": "{{ letter_number }}", "enabled": True, "effective_from": dt.date(2026, 12, 1)}
    data.update(changes)
    return data


def test_rule_create_and_update(world):
    rule = reminder_rule_create(actor=world.district_user, data=_data())
    created = only("reminder_rule.create")
    assert (created.actor, created.object_type, created.object_id) == (world.district_user, "notifications.reminderrule", str(rule.pk))
    assert created.changes["name"] == [None, "新规则"]
    reminder_rule_update(actor=world.district_user, rule_id=rule.pk, data={"offset": 5, "name": "改名"})
    updated = only("reminder_rule.update")
    assert updated.changes == {"offset": [3, 5], "name": ["新规则", "改名"]}


def test_rule_refused_and_actor_none(world):
    rule = ReminderRule.objects.order_by("pk").first()
    with pytest.raises(DomainError):
        reminder_rule_create(actor=world.secretary, data=_data())
    with pytest.raises(DomainError):
        reminder_rule_create(actor=world.district_user, data=_data(name=" "))
    with pytest.raises(DomainError):
        reminder_rule_update(actor=world.district_user, rule_id=rule.pk, data={"kind": "other"})
    with pytest.raises(ValueError):
        reminder_rule_create(actor=None, data=_data())
    with pytest.raises(ValueError):
        reminder_rule_update(actor=None, rule_id=rule.pk, data={"offset": 1})
    assert not AuditEntry.objects.filter(action__startswith="reminder_rule.").exists()


def test_system_rule_update_has_no_updated_by(world):
    rule = reminder_rule_create(actor=SYSTEM, data=_data())
    assert rule.updated_by is None and only("reminder_rule.create").actor_label == "system"


# ---------------------------------------------------------------- the sweep
@pytest.fixture
def seeded(world):
    """The seeded rules in force since long ago; recipients with email addresses (as in test_reminders)."""
    ReminderRule.objects.update(enabled=True, effective_from=LONG_AGO)
    for user, address in ((world.secretary, "jb@example.cn"), (world.district_user, "district@example.cn")):
        user.email = address
        user.save(update_fields=["email"])
    return world


def test_sweep_writes_summary_rows_not_one_per_send(seeded):
    scenario(seeded)
    runs = reminders_sweep(today=TODAY, now=NOW)
    sent = sum(run.sent for run in runs)
    claims = rows("reminder.sweep")
    assert claims and len(claims) == len([run for run in runs if run.sent])
    assert sum(e.changes["count"] for e in claims) == sent
    assert all(e.actor_label == "system" and e.object_type == "notifications.reminderrule" for e in claims)
    emails = rows("reminder.email")
    assert sum(e.changes["count"] for e in emails) == sum(run.emailed for run in runs)

    before = AuditEntry.objects.count()
    reminders_sweep(today=TODAY, now=NOW)  # the second sweep sends nothing: no rows
    assert AuditEntry.objects.count() == before


def test_sweep_never_logs_the_requester_phone(seeded):
    make_request(org=seeded.jb, phone="13912345678", submitted_at=NOW - dt.timedelta(days=10), due_at=NOW - dt.timedelta(days=1))
    reminders_sweep(today=TODAY, now=NOW)
    assert not [e for e in AuditEntry.objects.all() if "13912345678" in str(e.changes) + e.object_repr]
