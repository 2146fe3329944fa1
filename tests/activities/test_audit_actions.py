"""Audit rows of the organizational-life writes: one per object written, in the action's transaction, with
the actor (or "system"), the object, its org path and the changed fields; none for a refused write; and a
missing actor is a programming error (ValueError), never "allowed"."""

from __future__ import annotations

import datetime as dt

import pytest

from activities.actions import (
    activity_add_file,
    activity_add_files,
    activity_create,
    activity_remove_file,
    activity_return,
    activity_update,
)
from activities.actions.exemptions import exemption_create
from activities.models import Activity, ActivityFile, ActivityKind, ActivityStatus, ComplianceRule
from core.audit import SYSTEM
from core.exceptions import DomainError
from core.models import AuditEntry
from tests.activities import JPEG, PDF, log, upload

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


def rows(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def only(action: str) -> AuditEntry:
    found = rows(action)
    assert len(found) == 1, [e.action for e in found]
    return found[0]


# ---------------------------------------------------------------- activities
def test_create_writes_one_row_with_actor_object_org_and_values(world):
    activity = log(world, topic="学习党章")
    entry = only("activity.create")
    assert (entry.actor, entry.actor_label) == (world.secretary, world.secretary.display_name)
    assert (entry.object_type, entry.object_id) == ("activities.activity", str(activity.pk))
    assert entry.org_path == world.jb.path
    assert entry.changes["topic"] == [None, "学习党章"]
    assert entry.changes["kind"] == [None, ActivityKind.THEME_DAY]
    assert "submission_token" not in entry.changes and "created_at" not in entry.changes


def test_create_with_files_writes_a_row_per_file(world):
    activity = log(world, files=[upload("a.jpg", JPEG), upload("b.pdf", PDF)])
    files = rows("activity_file.add")
    assert [e.object_id for e in files] == [str(f.pk) for f in activity.files.order_by("pk")]
    assert all(e.org_path == world.jb.path and e.actor == world.secretary for e in files)
    assert files[0].changes["original_name"] == [None, "a.jpg"]


def test_refused_create_writes_no_row(world):
    with pytest.raises(DomainError):
        log(world, actor=world.nobody)
    with pytest.raises(DomainError):
        log(world, topic="  ")  # invalid input
    assert not rows("activity.create") and not Activity.objects.exists()


def test_update_records_before_and_after(world):
    activity = log(world, topic="学习党章")
    activity_update(actor=world.secretary, activity=activity, topic="学习新党章", reason="补充议题")
    entry = only("activity.update")
    assert entry.changes["topic"] == ["学习党章", "学习新党章"]
    assert entry.changes["note"] == "补充议题"
    assert "updated_at" not in entry.changes
    assert entry.org_path == world.jb.path


def test_refused_update_writes_no_row(world):
    activity = log(world)
    with pytest.raises(DomainError):
        activity_update(actor=world.nobody, activity=activity, topic="别人改")
    assert not rows("activity.update")


def test_return_records_the_status_and_reason(world):
    activity = log(world)
    activity_return(actor=world.district_user, activity=activity, reason="缺少会议记录")
    entry = only("activity.return")
    assert entry.actor == world.district_user
    assert entry.changes == {"status": [ActivityStatus.SUBMITTED, ActivityStatus.RETURNED], "note": "缺少会议记录"}


def test_refused_return_writes_no_row(world):
    activity = log(world)
    with pytest.raises(DomainError):
        activity_return(actor=world.secretary, activity=activity, reason="缺照片")  # no activity.review
    assert not rows("activity.return")


def test_system_may_return_and_is_written_as_system(world):
    activity = log(world)
    activity_return(actor=SYSTEM, activity=activity, reason="数据清理")
    entry = only("activity.return")
    assert (entry.actor, entry.actor_label) == (None, "system")
    assert activity.events.get(kind="returned").actor is None


def test_add_and_remove_file(world, media):
    activity = log(world)
    record = activity_add_file(actor=world.secretary, activity=activity, upload=upload("现场.jpg", JPEG))
    added = only("activity_file.add")
    assert (added.object_type, added.object_id, added.org_path) == ("activities.activityfile", str(record.pk), world.jb.path)
    pk = record.pk
    activity_remove_file(actor=world.secretary, file=record)
    removed = only("activity_file.remove")
    assert (removed.object_id, removed.actor) == (str(pk), world.secretary)
    assert removed.changes["original_name"] == ["现场.jpg", None]


def test_refused_upload_and_removal_write_no_rows(world):
    activity = log(world)
    with pytest.raises(DomainError):
        activity_add_files(actor=world.secretary, activity=activity, uploads=[upload("x.exe", b"MZ")])
    with pytest.raises(DomainError):
        activity_add_file(actor=world.nobody, activity=activity, upload=upload("a.jpg", JPEG))
    record = activity_add_file(actor=world.secretary, activity=activity, upload=upload("a.jpg", JPEG))
    with pytest.raises(DomainError):
        activity_remove_file(actor=world.nobody, file=record)
    assert len(rows("activity_file.add")) == 1 and not rows("activity_file.remove")
    assert ActivityFile.objects.filter(pk=record.pk).exists()


# ---------------------------------------------------------------- exemptions
def test_exemption_create_writes_one_row(world):
    rule = ComplianceRule.objects.get(kind="theme_day")
    exemption = exemption_create(actor=world.district_user, org=world.br_a, rule=rule, starts_on=D(2026, 1, 1),
                                 ends_on=D(2026, 1, 31), reason="春节返乡")
    entry = only("exemption.create")
    assert (entry.actor, entry.object_id, entry.org_path) == (world.district_user, str(exemption.pk), world.br_a.path)
    assert entry.changes["reason"] == [None, "春节返乡"] and entry.changes["rule_id"] == [None, rule.pk]


def test_refused_exemption_writes_no_row(world):
    with pytest.raises(DomainError):
        exemption_create(actor=world.secretary, org=world.jb, rule=None, starts_on=D(2026, 1, 1),
                         ends_on=D(2026, 3, 31), reason="x")
    assert not rows("exemption.create")


# ---------------------------------------------------------------- the actor is required
def _calls(world):
    activity = log(world)
    return {
        "create": lambda actor: activity_create(actor=actor, org=world.jb, kind=ActivityKind.THEME_DAY,
                                                starts_at=activity.starts_at + dt.timedelta(days=1), topic="x"),
        "update": lambda actor: activity_update(actor=actor, activity=activity, topic="y"),
        "return": lambda actor: activity_return(actor=actor, activity=activity, reason="缺少记录"),
        "add_file": lambda actor: activity_add_file(actor=actor, activity=activity, upload=upload("a.jpg", JPEG)),
        "remove_file": lambda actor: activity_remove_file(
            actor=actor, file=activity_add_file(actor=world.secretary, activity=activity, upload=upload("b.jpg", JPEG))),
        "exemption": lambda actor: exemption_create(actor=actor, org=world.jb, rule=None, starts_on=D(2026, 1, 1),
                                                    ends_on=D(2026, 1, 2), reason="x"),
    }


@pytest.mark.parametrize("name", ["create", "update", "return", "add_file", "remove_file", "exemption"])
def test_actor_none_raises(world, name):
    call = _calls(world)[name]
    before = AuditEntry.objects.count()
    with pytest.raises(ValueError):
        call(None)
    # remove_file's setup uploaded one file; nothing else was written
    assert AuditEntry.objects.count() - before == (1 if name == "remove_file" else 0)


@pytest.mark.parametrize("name", ["create", "add_file", "exemption"])
def test_system_cannot_be_named_as_author(world, name):
    """A record names who logged, uploaded or approved it: SYSTEM is nobody, so these refuse it."""
    with pytest.raises(ValueError):
        _calls(world)[name](SYSTEM)
