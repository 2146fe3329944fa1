"""Logging a meeting is idempotent: a form's one-time token is consumed once (a second post of the same
form saves nothing and shows the record the first one saved), and one live record per org (or Party
group), kind and start time, held by the database."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from activities.actions import ActivityAlreadySaved, activity_return, activity_update
from activities.actions import records as actions
from activities.models import Activity, ActivityEvent, ActivityFile, ActivityKind, ActivityStatus, Attendance
from core.exceptions import DomainError
from tests.activities import JPEG, log, upload
from tests.factories import make_org

pytestmark = pytest.mark.django_db

CREATE = reverse("activities:activity_create")
SAVED = "该活动记录已保存，未重复提交。"
DUPLICATE = "同一开始时间已有一条"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


def _stored(media):
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def _token(html: str) -> str:
    match = re.search(r'name="submission_token" value="([^"]+)"', html)
    assert match, "the log form carries a one-time token"
    return match.group(1)


def _start(minutes_ago: int = 0) -> str:
    return (timezone.localtime() - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M")


def _form(world, **extra):
    member = world.jb.members.order_by("id").first()
    return {"org": world.jb.pk, "kind": ActivityKind.THEME_DAY, "topic": "晨会学习", "starts_at": _start(),
            f"att-{member.pk}": "absent", **extra}


def test_the_same_form_posted_twice_saves_one_record(client, world, media):
    client.force_login(world.secretary)
    token = _token(client.get(CREATE).content.decode())
    data = _form(world, submission_token=token)
    first = client.post(CREATE, {**data, "files": [upload("现场.jpg", JPEG)]})
    activity = Activity.objects.get()
    detail = reverse("activities:activity_detail", args=[activity.pk])
    assert first.status_code == 302 and first["Location"] == detail
    # a double tap, a retry on a slow phone: same token, same answer, nothing written
    second = client.post(CREATE, {**data, "files": [upload("现场.jpg", JPEG)]}, follow=True)
    assert second.redirect_chain == [(detail, 302)]
    assert SAVED in second.content.decode()
    assert Activity.objects.count() == 1 and ActivityEvent.objects.count() == 1
    assert Attendance.objects.count() == 7 and ActivityFile.objects.count() == 1 and len(_stored(media)) == 1
    # even when the copy's start time differs (a retry after editing a field): the token decides
    third = client.post(CREATE, {**data, "starts_at": _start(30)})
    assert third.status_code == 302 and third["Location"] == detail and Activity.objects.count() == 1


def test_each_form_gets_a_fresh_token(client, world):
    client.force_login(world.secretary)
    one, two = (_token(client.get(CREATE).content.decode()) for _ in range(2))
    assert one != two
    assert client.post(CREATE, _form(world, submission_token=one, starts_at=_start(60))).status_code == 302
    assert client.post(CREATE, _form(world, submission_token=two, starts_at=_start(0))).status_code == 302
    assert Activity.objects.count() == 2


def test_a_refused_post_keeps_its_token_for_the_corrected_one(client, world):
    client.force_login(world.secretary)
    token = _token(client.get(CREATE).content.decode())
    response = client.post(CREATE, _form(world, submission_token=token, kind=ActivityKind.PARTY_LECTURE))
    assert response.status_code == 200 and "党课须填写授课人" in response.content.decode()
    assert _token(response.content.decode()) == token and Activity.objects.count() == 0
    response = client.post(CREATE, _form(world, submission_token=token, kind=ActivityKind.PARTY_LECTURE, lecturer="王书记"))
    assert response.status_code == 302 and Activity.objects.count() == 1


def test_two_tabs_of_the_same_meeting_are_refused_by_the_uniqueness_rule(client, world):
    client.force_login(world.secretary)
    tab_one, tab_two = (_token(client.get(CREATE).content.decode()) for _ in range(2))
    start = _start()
    assert client.post(CREATE, _form(world, submission_token=tab_one, starts_at=start)).status_code == 302
    response = client.post(CREATE, _form(world, submission_token=tab_two, starts_at=start, topic="另一标签页"))
    html = response.content.decode()
    assert response.status_code == 200 and DUPLICATE in html and "主题党日" in html
    assert list(Activity.objects.values_list("topic", flat=True)) == ["晨会学习"]
    # without any token (an old page, a script) the rule holds as well
    response = client.post(CREATE, _form(world, starts_at=start))
    assert response.status_code == 200 and DUPLICATE in response.content.decode() and Activity.objects.count() == 1


def test_a_token_is_one_users(world):
    token = "t" * 32
    log(world, submission_token=token)
    with pytest.raises(DomainError) as exc:
        log(world, actor=world.district_user, submission_token=token, starts_at=timezone.now() - dt.timedelta(hours=1))
    assert "该表单已提交过" in str(exc.value.message) and Activity.objects.count() == 1


def test_replay_through_the_action(world):
    token = "a" * 40
    first = log(world, submission_token=token)
    with pytest.raises(ActivityAlreadySaved) as exc:
        log(world, submission_token=token, topic="再次提交")
    assert exc.value.activity == first and Activity.objects.count() == 1


def test_the_race_lost_at_the_insert_gives_the_same_answers(world, monkeypatch):
    """Two identical posts at once both pass the checks before the insert; the database's unique
    token (and the org + kind + start rule) lets one insert win, the other gets the saved record."""
    token = "r" * 32
    first = log(world, submission_token=token)
    real_replayed, real_duplicate = actions._replayed, actions._duplicate_of
    calls = {"replayed": 0}

    def replayed_late(actor, tok):  # the first look (before the insert) misses the concurrent row
        calls["replayed"] += 1
        return None if calls["replayed"] == 1 else real_replayed(actor, tok)

    monkeypatch.setattr(actions, "_replayed", replayed_late)
    monkeypatch.setattr(actions, "_duplicate_of", lambda activity: None)
    with pytest.raises(ActivityAlreadySaved) as exc:
        log(world, submission_token=token, starts_at=first.starts_at)
    assert exc.value.activity == first

    calls["replayed"] = 0
    monkeypatch.setattr(actions, "_duplicate_of", lambda activity: None if calls["replayed"] <= 1 else real_duplicate(activity))
    with pytest.raises(DomainError) as exc:
        log(world, submission_token="s" * 32, starts_at=first.starts_at)
    assert DUPLICATE in str(exc.value.message)
    assert Activity.objects.count() == 1 and Attendance.objects.count() == 7


def test_the_rule_is_held_by_the_database(world):
    start = timezone.now().replace(microsecond=0)
    first = log(world, starts_at=start)
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.create(org=world.jb, kind=first.kind, starts_at=start, topic="copy", created_by=world.secretary)
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.create(org=world.jb, kind=first.kind, starts_at=start + dt.timedelta(hours=1), topic="copy",
                                created_by=world.secretary, submission_token=None)
        Activity.objects.filter(topic="copy").update(starts_at=start)
    assert Activity.objects.count() == 1


def test_what_the_rule_allows(world):
    start = timezone.now().replace(microsecond=0)
    log(world, starts_at=start)
    log(world, starts_at=start, kind=ActivityKind.PARTY_LECTURE)  # another kind
    log(world, starts_at=start, org=world.br_a, actor=world.district_user)  # another branch
    second_group = make_org("第二党小组", parent=world.jb, kind="party_group", code="EXP-J-G2")
    log(world, starts_at=start, kind=ActivityKind.GROUP_MEETING, party_group=world.group)
    log(world, starts_at=start, kind=ActivityKind.GROUP_MEETING, party_group=second_group)  # two groups at once
    with pytest.raises(DomainError) as exc:
        log(world, starts_at=start, kind=ActivityKind.GROUP_MEETING, party_group=world.group)
    assert "该党小组在同一开始时间已有一条" in str(exc.value.message)
    assert Activity.objects.count() == 5


def test_a_returned_record_does_not_block_and_resubmitting_into_a_copy_is_refused(world):
    start = timezone.now().replace(microsecond=0)
    returned = log(world, starts_at=start, topic="退回的")
    activity_return(actor=world.district_user, activity=returned, reason="重复了")
    fresh = log(world, starts_at=start, topic="重新登记的")  # allowed: the earlier one was returned
    with pytest.raises(DomainError) as exc:  # resubmitting the returned one would make two live records
        activity_update(actor=world.secretary, activity=returned, topic="修改后")
    assert DUPLICATE in str(exc.value.message) and exc.value.field == "starts_at"
    returned.refresh_from_db()
    assert returned.status == ActivityStatus.RETURNED and returned.topic == "退回的"
    later = log(world, starts_at=start + dt.timedelta(hours=2), topic="另一次")
    with pytest.raises(DomainError):  # moving another record onto the same start time
        activity_update(actor=world.secretary, activity=later, starts_at=start)
    later.refresh_from_db()
    assert later.starts_at == start + dt.timedelta(hours=2) and fresh.pk != later.pk


def test_edit_page_shows_the_rule_on_the_start_time(client, world):
    start = timezone.localtime().replace(second=0, microsecond=0)
    log(world, starts_at=start)
    other = log(world, starts_at=start - dt.timedelta(days=1), topic="昨天的")
    client.force_login(world.secretary)
    response = client.post(reverse("activities:activity_edit", args=[other.pk]), {
        "kind": ActivityKind.THEME_DAY, "topic": "昨天的", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
    })
    assert response.status_code == 200 and DUPLICATE in response.content.decode()
    other.refresh_from_db()
    assert other.starts_at == start - dt.timedelta(days=1)


def test_log_page_after_a_replay_keeps_files_once(client, world, media):
    client.force_login(world.secretary)
    token = _token(client.get(CREATE).content.decode())
    for _ in range(3):
        client.post(CREATE, _form(world, submission_token=token, files=[upload("a.jpg", JPEG)]))
    assert Activity.objects.count() == 1 and len(_stored(media)) == 1


# serialized_rollback: the flush after a transactional test would also wipe the rows seeded by data migrations
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_returns_existing_copies_before_the_rule_holds(world):
    """Records logged twice before the rule existed: the first stays, each copy is returned for
    correction with a reason (nothing deleted), so the constraint can be added."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("activities", "0003_activity_submission_token")])
    try:
        start = timezone.now().replace(microsecond=0)
        keep, copy, other_copy = (
            Activity.objects.create(org=world.jb, kind=ActivityKind.THEME_DAY, starts_at=start, topic=f"t{i}",
                                    created_by=world.secretary) for i in range(3)
        )
        group_keep, group_copy = (
            Activity.objects.create(org=world.jb, party_group=world.group, kind=ActivityKind.GROUP_MEETING, starts_at=start,
                                    topic=f"g{i}", created_by=world.secretary) for i in range(2)
        )
        alone = Activity.objects.create(org=world.br_a, kind=ActivityKind.THEME_DAY, starts_at=start, topic="别的支部",
                                        created_by=world.district_user)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("activities"))
    status = dict(Activity.objects.values_list("pk", "status"))
    assert status[keep.pk] == status[group_keep.pk] == status[alone.pk] == ActivityStatus.SUBMITTED
    assert status[copy.pk] == status[other_copy.pk] == status[group_copy.pk] == ActivityStatus.RETURNED
    reasons = list(ActivityEvent.objects.filter(activity=copy).values_list("reason", flat=True))
    assert len(reasons) == 1 and f"#{keep.pk}" in reasons[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.filter(pk=copy.pk).update(status=ActivityStatus.SUBMITTED)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared, server-based test database")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_identical_posts_at_the_same_moment_save_one_record(world):
    import threading

    from django.db import connections

    token, outcomes, barrier = "c" * 32, [], threading.Barrier(2)
    start = timezone.now().replace(microsecond=0)

    def post() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(log(world, submission_token=token, starts_at=start).pk)
        except ActivityAlreadySaved as exc:
            outcomes.append(("saved", exc.activity.pk))
        except Exception as exc:  # noqa: BLE001 - reported below
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    saved = Activity.objects.get()
    assert sorted(outcomes, key=str) == sorted([saved.pk, ("saved", saved.pk)], key=str)
    assert Attendance.objects.count() == 7 and ActivityEvent.objects.count() == 1
