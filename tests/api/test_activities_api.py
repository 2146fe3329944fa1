"""The organizational-life API: records with attendance (log idempotently, edit/resubmit, return for correction),
exemptions, and the compliance board's figures. The generic cases (401/403/404, own object, writes) are in
tests/api/test_every_endpoint.py; these are the resource's own behaviour."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities.models import (
    Activity,
    ActivityEvent,
    ActivityKind,
    ActivityStatus,
    Attendance,
    AttendanceStatus,
    ComplianceRule,
    Exemption,
)
from activities.selectors.compliance import compliance_board, period_containing
from core.crypto import blind_index, encrypt
from members.models import Stage
from orgs.models import OrgKind, Role
from tests.activities import log
from tests.factories import (
    ActivityFileFactory,
    UserFactory,
    grant,
    make_branch,
    make_committee,
    make_org,
    make_root,
    reload,
)
from tests.members import make_id

pytestmark = pytest.mark.django_db

ACTIVITIES = "/api/v1/activities/"
EXEMPTIONS = "/api/v1/exemptions/"
COMPLIANCE = "/api/v1/compliance/"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


def _start(hours_ago: int = 1) -> str:
    return (timezone.localtime() - dt.timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def _post(client, url, data, **headers):
    return client.post(url, data, content_type="application/json", headers=headers)


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["results"]


def _ids(response) -> list[int]:
    return [row["id"] for row in _rows(response)]


def _jb_members(world):
    full = list(world.jb.members.filter(stage=Stage.FULL).order_by("id"))
    probationary = list(world.jb.members.filter(stage=Stage.PROBATIONARY).order_by("id"))
    return full, probationary


def _meeting(world, **extra) -> dict:
    return {"org": world.jb.pk, "kind": ActivityKind.THEME_DAY, "topic": "晨会学习", "starts_at": _start(), **extra}


def _other_district_staff(world):
    """District staff of the food committee: the jb records are outside their subtree."""
    staff = UserFactory()
    grant(staff, world.food, Role.DISTRICT)
    return staff


# ---------------------------------------------------------------- log a meeting
def test_create_with_attendance_writes_the_rows_and_the_quorum(client, world):
    full, probationary = _jb_members(world)
    client.force_login(world.secretary)
    response = _post(client, ACTIVITIES, _meeting(
        world, kind=ActivityKind.GENERAL_MEETING, topic="支部党员大会：发展党员表决", makes_decision=True,
        attendance=[{"member": full[0].pk, "status": "absent"},
                    {"member": probationary[0].pk, "status": "leave", "leave_reason": "出车送件"}],
    ))
    assert response.status_code == 201, response.content
    body = response.json()
    activity = Activity.objects.get()
    assert body["id"] == activity.pk and activity.created_by == world.secretary and activity.org == world.jb
    statuses = {row["member"]: row["status"] for row in body["attendance"]}
    assert len(statuses) == 7  # everyone expected at jb; those not listed are present
    assert statuses[full[0].pk] == "absent" and statuses[probationary[0].pk] == "leave"
    assert sum(1 for s in statuses.values() if s == "present") == 5
    leave = next(row for row in body["attendance"] if row["member"] == probationary[0].pk)
    assert leave["leave_reason"] == "出车送件" and leave["member_name"] == probationary[0].name and leave["voting"] is False
    assert body["attendance_summary"] == {"expected": 7, "present": 5, "absent": 1, "leave": 1, "non_voting": 2}
    # 5 full members vote, 4 of them present: more than half
    assert (body["voting_expected"], body["voting_present"], body["quorum_met"]) == (5, 4, True)
    assert body["kind_display"] == "支部党员大会" and body["status"] == ActivityStatus.SUBMITTED
    assert Attendance.objects.filter(activity=activity).count() == 7
    assert list(activity.events.values_list("kind", flat=True)) == ["submitted"]
    assert "submission_token" not in body


def test_create_refuses_a_stranger_in_the_attendance_and_writes_nothing(client, world):
    outsider = world.br_a.members.first()
    client.force_login(world.secretary)
    response = _post(client, ACTIVITIES, _meeting(world, attendance=[{"member": outsider.pk, "status": "absent"}]))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "attendance" in response.json()["fields"]
    assert not Activity.objects.exists() and not Attendance.objects.exists()


def test_create_refuses_a_member_listed_twice(client, world):
    full, _probationary = _jb_members(world)
    client.force_login(world.secretary)
    rows = [{"member": full[0].pk, "status": "absent"}, {"member": full[0].pk, "status": "present"}]
    response = _post(client, ACTIVITIES, _meeting(world, attendance=rows))
    assert response.status_code == 400 and "attendance" in response.json()["fields"]
    assert not Activity.objects.exists()


def test_create_for_an_org_outside_the_callers_scope_reads_as_does_not_exist(client, world):
    client.force_login(world.secretary)  # jb only
    response = _post(client, ACTIVITIES, _meeting(world, org=world.br_a.pk))
    assert response.status_code == 400
    assert "does not exist" in response.json()["fields"]["org"][0] or "不存在" in response.json()["fields"]["org"][0]
    assert not Activity.objects.exists()


def test_create_refusal_from_the_action_lands_on_its_field(client, world):
    client.force_login(world.secretary)
    response = _post(client, ACTIVITIES, _meeting(world, kind=ActivityKind.PARTY_LECTURE))  # no lecturer
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": "党课须填写授课人。", "fields": {"lecturer": ["党课须填写授课人。"]}}


def test_create_needs_activity_add(client, world):
    client.force_login(world.instructor)  # activity.view only
    response = _post(client, ACTIVITIES, _meeting(world))
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Activity.objects.exists()


# ---------------------------------------------------------------- idempotency
def test_a_retry_with_the_same_idempotency_key_answers_the_saved_record(client, world):
    client.force_login(world.secretary)
    key = str(uuid.uuid4())
    data = _meeting(world)
    first = _post(client, ACTIVITIES, data, **{"Idempotency-Key": key})
    assert first.status_code == 201, first.content
    second = _post(client, ACTIVITIES, data, **{"Idempotency-Key": key})
    assert second.status_code == 200, second.content
    assert second.json()["id"] == first.json()["id"]
    assert Activity.objects.count() == 1 and ActivityEvent.objects.count() == 1
    assert Activity.objects.get().submission_token == key
    # a new key is a new request: the one-record-per-meeting rule refuses the copy instead
    third = _post(client, ACTIVITIES, data, **{"Idempotency-Key": str(uuid.uuid4())})
    assert third.status_code == 400 and "starts_at" in third.json()["fields"]
    assert Activity.objects.count() == 1


def test_client_token_in_the_body_is_the_same_key(client, world):
    client.force_login(world.secretary)
    token = "retry-token-0123456789"
    first = _post(client, ACTIVITIES, _meeting(world, client_token=token))
    second = _post(client, ACTIVITIES, _meeting(world, client_token=token, topic="重试时改了议题"))
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"] and second.json()["topic"] == "晨会学习"
    assert Activity.objects.count() == 1
    # the header and the body naming the same key agree
    third = _post(client, ACTIVITIES, _meeting(world, client_token=token), **{"Idempotency-Key": token})
    assert third.status_code == 200 and third.json()["id"] == first.json()["id"]


@pytest.mark.parametrize("headers, extra, field", [
    ({"Idempotency-Key": "short"}, {}, "Idempotency-Key"),
    ({"Idempotency-Key": "has spaces and ; semicolons!!"}, {}, "Idempotency-Key"),
    ({}, {"client_token": "bad token with spaces"}, "client_token"),
    ({"Idempotency-Key": "key-aaaaaaaaaaaaaaaa"}, {"client_token": "key-bbbbbbbbbbbbbbbb"}, "client_token"),
])
def test_a_malformed_or_contradictory_key_is_refused(client, world, headers, extra, field):
    client.force_login(world.secretary)
    response = _post(client, ACTIVITIES, _meeting(world, **extra), **headers)
    assert response.status_code == 400 and field in response.json()["fields"], response.content
    assert not Activity.objects.exists()


def test_another_users_key_saves_nothing_and_reveals_no_record(client, world):
    key = str(uuid.uuid4())
    client.force_login(world.secretary)
    first = _post(client, ACTIVITIES, _meeting(world), **{"Idempotency-Key": key})
    assert first.status_code == 201
    client.force_login(world.district_user)
    response = _post(client, ACTIVITIES, _meeting(world, topic="另一条"), **{"Idempotency-Key": key})
    assert response.status_code == 400 and str(first.json()["id"]) not in response.content.decode()
    assert Activity.objects.count() == 1


# ---------------------------------------------------------------- edit, return, resubmit
def test_patch_edits_the_given_fields_and_the_attendance(client, world):
    full, _probationary = _jb_members(world)
    activity = log(world, place="站点")
    client.force_login(world.secretary)
    response = client.patch(f"{ACTIVITIES}{activity.pk}/", {
        "topic": "改后的议题", "attendance": [{"member": full[1].pk, "status": "absent"}], "reason": "补记缺席",
    }, content_type="application/json")
    assert response.status_code == 200, response.content
    activity.refresh_from_db()
    assert activity.topic == "改后的议题" and activity.place == "站点"  # fields not given keep their values
    assert activity.attendance.get(member=full[1]).status == AttendanceStatus.ABSENT
    assert activity.attendance.filter(status=AttendanceStatus.PRESENT).count() == 6
    assert response.json()["events"][-1]["kind"] == "edited" and response.json()["events"][-1]["reason"] == "补记缺席"


def test_patch_attendance_rows_need_a_member_and_a_status(client, world):
    activity = log(world)
    client.force_login(world.secretary)
    response = client.patch(f"{ACTIVITIES}{activity.pk}/", {"attendance": [{"status": "absent"}]}, content_type="application/json")
    assert response.status_code == 400 and "attendance.0.member" in response.json()["fields"], response.content
    assert not activity.attendance.exclude(status=AttendanceStatus.PRESENT).exists()


def test_return_then_resubmit(client, world):
    activity = log(world)
    client.force_login(world.district_user)
    response = _post(client, f"{ACTIVITIES}{activity.pk}/return/", {"reason": "缺少会议照片"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ActivityStatus.RETURNED and response.json()["return_reason"] == "缺少会议照片"
    # a second return of the same record: the action refuses (the record already moved on)
    again = _post(client, f"{ACTIVITIES}{activity.pk}/return/", {"reason": "再次退回"})
    assert again.status_code == 409
    assert again.json()["message"] == "该记录已退回，等待修改后重新提交。"
    assert ActivityEvent.objects.filter(activity=activity, kind="returned").count() == 1

    client.force_login(world.secretary)
    response = client.patch(f"{ACTIVITIES}{activity.pk}/", {"minutes": "补充会议记录"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == ActivityStatus.RESUBMITTED and response.json()["return_reason"] == ""


def test_return_needs_review_and_is_404_outside_scope(client, world):
    activity = log(world)
    client.force_login(world.secretary)  # may change, may not review
    assert _post(client, f"{ACTIVITIES}{activity.pk}/return/", {"reason": "不行"}).status_code == 403
    client.force_login(_other_district_staff(world))
    response = _post(client, f"{ACTIVITIES}{activity.pk}/return/", {"reason": "缺少照片"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.SUBMITTED


def test_return_refusal_speaks_the_requests_language(client, world):
    activity = log(world)
    client.force_login(world.district_user)
    url = f"{ACTIVITIES}{activity.pk}/return/"
    assert _post(client, url, {"reason": "x"}).json()["message"] == "请填写退回原因。"
    response = _post(client, url, {"reason": "x"}, **{"Accept-Language": "en"})
    assert response.status_code == 400
    assert response.json()["message"] == "Enter the reason for returning it."
    assert response.json()["fields"] == {"reason": ["Enter the reason for returning it."]}


# ---------------------------------------------------------------- reading
def test_detail_shows_files_as_metadata_and_a_scoped_link(client, world):
    activity = log(world)
    stored = ActivityFileFactory(activity=activity, uploaded_by=world.secretary, original_name="签到表.pdf",
                                 content_type="application/pdf", size=7)
    client.force_login(world.instructor)
    body = client.get(f"{ACTIVITIES}{activity.pk}/").json()
    assert body["files"] == [{
        "id": stored.pk, "name": "签到表.pdf", "size": 7, "content_type": "application/pdf", "is_photo": False,
        "uploaded_at": body["files"][0]["uploaded_at"], "url": f"http://testserver/activities/files/{stored.pk}/",
    }]
    assert client.get(body["files"][0]["url"]).status_code == 200  # the page's view, same scope


@pytest.mark.parametrize("params, expected", [
    ({"kind": ActivityKind.PARTY_LECTURE}, {"B"}),
    ({"status": ActivityStatus.RETURNED}, {"C"}),
    ({"org": "br_a"}, {"D"}),
    ({"org": "express"}, {"A", "B", "C", "D"}),
    ({"online": "true"}, {"C"}),
    ({"online": "false"}, {"A", "B", "D"}),
    ({"date_from": "recent"}, {"A", "C", "D"}),
    ({"date_to": "recent"}, {"B"}),
    ({"date_from": "recent", "kind": ActivityKind.THEME_DAY}, {"A", "D"}),
])
def test_filters_narrow_the_list(client, world, params, expected):
    now = timezone.now()
    log(world, topic="A")
    log(world, topic="B", kind=ActivityKind.PARTY_LECTURE, starts_at=now - dt.timedelta(days=40))
    returned = log(world, topic="C", kind=ActivityKind.HEART_TALK, online=True)
    log(world, topic="D", org=world.br_a, actor=world.district_user)
    from activities.actions import activity_return

    activity_return(actor=world.district_user, activity=returned, reason="缺少照片")
    recent = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    query = {k: (recent if v == "recent" else getattr(world, v).pk if v in ("br_a", "express") else v) for k, v in params.items()}
    client.force_login(world.district_user)
    topics = {row["topic"] for row in _rows(client.get(ACTIVITIES, query))}
    assert topics == expected


def test_an_invalid_filter_is_a_400_not_everything(client, world):
    log(world)
    client.force_login(world.secretary)
    response = client.get(ACTIVITIES, {"org": world.br_a.pk})  # outside the secretary's scope: not a choice
    assert response.status_code == 400 and "org" in response.json()["fields"]
    assert client.get(ACTIVITIES, {"kind": "party"}).status_code == 400


def test_ordering(client, world):
    now = timezone.now()
    early = log(world, topic="早", starts_at=now - dt.timedelta(days=5))
    late = log(world, topic="晚", starts_at=now - dt.timedelta(days=1))
    middle = log(world, topic="中", starts_at=now - dt.timedelta(days=3))
    client.force_login(world.secretary)
    assert _ids(client.get(ACTIVITIES)) == [middle.pk, late.pk, early.pk]  # default: newest record first
    assert _ids(client.get(ACTIVITIES, {"ordering": "starts_at"})) == [early.pk, middle.pk, late.pk]
    assert _ids(client.get(ACTIVITIES, {"ordering": "-starts_at"})) == [late.pk, middle.pk, early.pk]


def test_cursor_pages_cover_every_record_once(client, world):
    made = {log(world, topic=f"第{i}次", starts_at=timezone.now() - dt.timedelta(hours=i)).pk for i in range(5)}
    client.force_login(world.secretary)
    seen, url, params = [], ACTIVITIES, {"per_page": 2}
    while url:
        body = client.get(url, params).json()
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], None
    assert sorted(seen) == sorted(made)


def test_no_full_id_number_or_phone_in_any_response(client, world):
    numbers, phones = [], []
    for i, member in enumerate(world.jb.members.order_by("id")):
        number, phone = make_id(dt.date(1990, 1, 1), 100 + i), f"1391234{i:04d}"
        numbers.append(number)
        phones.append(phone)
        type(member).objects.filter(pk=member.pk).update(
            id_number_encrypted=encrypt(number), id_number_index=blind_index(number, purpose="id_number"),
            phone_encrypted=encrypt(phone), phone_index=blind_index(phone, purpose="phone"),
        )
    client.force_login(world.district_user)
    key = "mask-check-token-0001"
    created = _post(client, ACTIVITIES, _meeting(world), **{"Idempotency-Key": key})
    assert created.status_code == 201
    pk = created.json()["id"]
    texts = [created.content.decode(), client.get(ACTIVITIES).content.decode(), client.get(f"{ACTIVITIES}{pk}/").content.decode(),
             _post(client, f"{ACTIVITIES}{pk}/return/", {"reason": "缺少照片"}).content.decode()]
    encrypted = list(type(world.jb.members.first()).objects.filter(org=world.jb).values_list("id_number_encrypted", "phone_encrypted"))
    for text in texts:
        assert json.loads(text)  # real bodies
        for secret in [*numbers, *phones, *(v for pair in encrypted for v in pair), key]:
            assert secret not in text


# ---------------------------------------------------------------- query counts
def _list_queries(client, url, params=None) -> tuple[int, int]:
    client.get(url, params)  # warm the session and the grants
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {**(params or {}), "per_page": 100})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    return len(ctx.captured_queries), len(body["results"])


def test_activity_list_queries_do_not_grow_with_records_attendance_and_files(client, world):
    client.force_login(world.district_user)
    moments = (timezone.now() - dt.timedelta(minutes=i) for i in range(1, 100))

    def add(n):
        for _ in range(n):  # each: a jb record (7 attendees) with a file, a br_a record (4 attendees)
            activity = log(world, org=world.jb, actor=world.district_user, starts_at=next(moments))
            ActivityFileFactory(activity=activity, uploaded_by=world.district_user)
            log(world, org=world.br_a, actor=world.district_user, starts_at=next(moments))

    add(1)
    small, rows_small = _list_queries(client, ACTIVITIES)
    add(4)
    large, rows_large = _list_queries(client, ACTIVITIES)
    assert (rows_small, rows_large) == (2, 10)
    assert large == small


def test_exemption_list_queries_do_not_grow(client, world):
    client.force_login(world.district_user)
    from activities.actions import exemption_create

    def add(n):
        for i in range(n):
            start = timezone.localdate() + dt.timedelta(days=40 * Exemption.objects.count())
            exemption_create(actor=world.district_user, org=[world.jb, world.br_a, world.br_f][i % 3],
                             rule=ComplianceRule.objects.order_by("pk")[i % 2] if i % 2 else None,
                             starts_on=start, ends_on=start + dt.timedelta(days=30), reason="测试")

    add(2)
    small, rows_small = _list_queries(client, EXEMPTIONS)
    add(6)
    large, rows_large = _list_queries(client, EXEMPTIONS)
    assert (rows_small, rows_large) == (2, 8)
    assert large == small


# ---------------------------------------------------------------- exemptions
def _exemption(org, **extra) -> dict:
    today = timezone.localdate()
    return {"org": org.pk, "starts_on": today.isoformat(), "ends_on": (today + dt.timedelta(days=60)).isoformat(),
            "reason": "站点搬迁", **extra}


def test_exemption_create(client, world):
    rule = ComplianceRule.objects.get(kind=ActivityKind.THEME_DAY)
    client.force_login(world.district_user)
    response = _post(client, EXEMPTIONS, _exemption(world.jb, rule=rule.pk))
    assert response.status_code == 201, response.content
    exemption = Exemption.objects.get()
    assert (exemption.org, exemption.rule, exemption.approved_by, exemption.reason) == (world.jb, rule, world.district_user, "站点搬迁")
    body = response.json()
    assert body["id"] == exemption.pk and body["org_name"] == world.jb.name and body["rule"] == rule.pk
    assert body["approved_by"] == world.district_user.pk
    # every rule when none is named
    assert _post(client, EXEMPTIONS, _exemption(world.br_a)).json()["rule"] is None


def test_exemption_create_outside_scope_and_retrieve_outside_scope(client, world):
    staff = _other_district_staff(world)
    client.force_login(world.district_user)
    theirs = _post(client, EXEMPTIONS, _exemption(world.jb)).json()["id"]
    client.force_login(staff)  # the food committee: jb is not theirs
    response = _post(client, EXEMPTIONS, _exemption(world.jb))
    assert response.status_code == 400 and "org" in response.json()["fields"]
    assert Exemption.objects.count() == 1
    response = client.get(f"{EXEMPTIONS}{theirs}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert theirs not in _ids(client.get(EXEMPTIONS))
    # a committee is not a branch: the page's choices are branches and Party groups
    response = _post(client, EXEMPTIONS, _exemption(world.food))
    assert response.status_code == 400 and "org" in response.json()["fields"]


def test_exemption_create_needs_exemption_add(client, world):
    client.force_login(world.secretary)  # exemption.view only
    response = _post(client, EXEMPTIONS, _exemption(world.jb))
    assert response.status_code == 403
    assert not Exemption.objects.exists()


def test_exemption_refusal_in_the_requests_language(client, world):
    client.force_login(world.district_user)
    today = timezone.localdate()
    data = _exemption(world.jb, starts_on=today.isoformat(), ends_on=(today - dt.timedelta(days=1)).isoformat())
    assert _post(client, EXEMPTIONS, data).json()["message"] == "结束日期不能早于开始日期。"
    response = _post(client, EXEMPTIONS, data, **{"Accept-Language": "en"})
    assert response.status_code == 400
    assert response.json()["message"] == "The end date cannot be earlier than the start date."
    assert not Exemption.objects.exists()


def test_exemption_filters(client, world):
    from activities.actions import exemption_create

    today = timezone.localdate()
    rule = ComplianceRule.objects.get(kind=ActivityKind.THEME_DAY)
    made = {
        "jb_now": exemption_create(actor=world.district_user, org=world.jb, rule=rule, starts_on=today, ends_on=today + dt.timedelta(days=10), reason="a"),
        "jb_later": exemption_create(actor=world.district_user, org=world.jb, rule=None, starts_on=today + dt.timedelta(days=100),
                                     ends_on=today + dt.timedelta(days=120), reason="b"),
        "food": exemption_create(actor=world.district_user, org=world.br_f, rule=None, starts_on=today, ends_on=today + dt.timedelta(days=5), reason="c"),
    }
    names = {v.pk: k for k, v in made.items()}
    client.force_login(world.district_user)

    def listed(**params):
        return {names[pk] for pk in _ids(client.get(EXEMPTIONS, params))}

    assert listed() == {"jb_now", "jb_later", "food"}
    assert listed(org=world.express.pk) == {"jb_now", "jb_later"}
    assert listed(rule=rule.pk) == {"jb_now"}
    assert listed(date_from=(today + dt.timedelta(days=50)).isoformat()) == {"jb_later"}
    assert listed(date_to=(today + dt.timedelta(days=50)).isoformat()) == {"jb_now", "food"}
    assert listed(date_from=(today + dt.timedelta(days=7)).isoformat(), date_to=(today + dt.timedelta(days=8)).isoformat()) == {"jb_now"}


# ---------------------------------------------------------------- compliance
Q1 = period_containing("quarter", dt.date(2026, 2, 1))


def _at(y, m, d):
    return dt.datetime(y, m, d, 10, 0, tzinfo=TZ)


def _held(org, kind, *moments, group=None):
    user = UserFactory()
    for moment in moments:
        Activity.objects.create(org=org, party_group=group, kind=kind, starts_at=moment, topic="t", created_by=user)


@pytest.fixture
def tree(db):
    """区委 > 行业党委 > {甲支部 (with a committee), 乙支部 (with a Party group)}, all founded in 2020; only the theme
    day (monthly), the general meeting (quarterly) and the group meeting (monthly per group) are due."""
    ComplianceRule.objects.exclude(kind__in=[ActivityKind.THEME_DAY, ActivityKind.GENERAL_MEETING, ActivityKind.GROUP_MEETING]).update(enabled=False)
    founded = dt.date(2020, 1, 1)
    root = make_root("区委", code="R", established_on=founded)
    committee = make_committee("行业党委", parent=root, code="C", established_on=founded)
    a = make_branch("甲支部", parent=committee, code="A", established_on=founded)
    b = make_branch("乙支部", parent=committee, code="B", established_on=founded)
    group = make_org("乙支部第一党小组", parent=b, kind=OrgKind.PARTY_GROUP, code="B-G", established_on=founded)
    staff = UserFactory()
    grant(staff, committee, Role.DISTRICT)
    return {"root": reload(root), "committee": reload(committee), "a": reload(a), "b": reload(b), "group": reload(group), "staff": staff}


def test_compliance_rows_equal_the_boards_figures(client, tree):
    a, b, group = tree["a"], tree["b"], tree["group"]
    _held(a, ActivityKind.THEME_DAY, _at(2026, 1, 5), _at(2026, 1, 20), _at(2026, 3, 3))  # February missing
    _held(a, ActivityKind.GENERAL_MEETING, _at(2026, 2, 10))
    _held(b, ActivityKind.THEME_DAY, _at(2026, 1, 6), _at(2026, 2, 6), _at(2026, 3, 6))
    _held(b, ActivityKind.GENERAL_MEETING, _at(2026, 3, 30))
    _held(b, ActivityKind.GROUP_MEETING, _at(2026, 1, 8), _at(2026, 2, 8), group=group)  # March missing
    client.force_login(tree["staff"])
    response = client.get(COMPLIANCE, {"org": tree["committee"].pk, "period": "2026-Q1"})  # a quarter, from the key's shape
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"] == {"kind": "quarter", "key": "2026-Q1", "label": "2026年第1季度", "start": "2026-01-01", "end": "2026-03-31"}

    board = compliance_board(user=tree["staff"], root=tree["committee"], period=Q1)
    expected_rows = [(org.pk, t.branches, t.behind, t.expected, t.met, t.held, t.rate) for org, t in board.children]
    got = [(r["org"], r["branches"], r["behind"], r["expected"], r["met"], r["held"], r["rate"]) for r in body["results"]]
    assert got == expected_rows
    t = board.report.root_totals
    assert (body["totals"]["expected"], body["totals"]["met"], body["totals"]["held"], body["totals"]["behind"]) == (t.expected, t.met, t.held, t.behind)
    assert body["children_total"] == board.children_total == 2 and body["next"] is None

    # and the figures, worked out by hand
    rows = {r["org_name"]: r for r in body["results"]}
    kinds_a = {k["kind"]: (k["expected"], k["held"], k["met"]) for k in rows["甲支部"]["kinds"]}
    assert kinds_a == {"theme_day": (3, 3, 2), "general_meeting": (1, 1, 1)}
    kinds_b = {k["kind"]: (k["expected"], k["held"], k["met"]) for k in rows["乙支部"]["kinds"]}
    assert kinds_b == {"theme_day": (3, 3, 3), "general_meeting": (1, 1, 1), "group_meeting": (3, 2, 2)}
    assert (rows["甲支部"]["expected"], rows["甲支部"]["met"], rows["甲支部"]["status"]) == (4, 3, "behind")
    assert (rows["乙支部"]["expected"], rows["乙支部"]["met"], rows["乙支部"]["status"]) == (7, 6, "behind")
    assert rows["甲支部"]["status_display"] == "未落实" and rows["甲支部"]["rate"] == 75.0
    totals_kinds = {k["kind"]: (k["expected"], k["met"]) for k in body["totals"]["kinds"]}
    assert totals_kinds == {"theme_day": (6, 5), "general_meeting": (2, 2), "group_meeting": (3, 2)}


def test_compliance_status_met_and_explicit_period_type(client, tree):
    for branch in (tree["a"], tree["b"]):
        _held(branch, ActivityKind.THEME_DAY, _at(2026, 3, 3))
    _held(tree["b"], ActivityKind.GROUP_MEETING, _at(2026, 3, 9), group=tree["group"])
    client.force_login(tree["staff"])
    body = client.get(COMPLIANCE, {"org": tree["committee"].pk, "period_type": "month", "period": "2026-03"}).json()
    assert body["period"]["key"] == "2026-03"
    # the quarterly general meeting is judged over its quarter (Q1 2026), which neither branch held
    assert {r["org_name"]: r["status"] for r in body["results"]} == {"甲支部": "behind", "乙支部": "behind"}
    _held(tree["a"], ActivityKind.GENERAL_MEETING, _at(2026, 1, 9))
    _held(tree["b"], ActivityKind.GENERAL_MEETING, _at(2026, 1, 9))
    body = client.get(COMPLIANCE, {"org": tree["committee"].pk, "period_type": "month", "period": "2026-03"}).json()
    assert {r["org_name"]: (r["status"], r["rate"]) for r in body["results"]} == {"甲支部": ("met", 100.0), "乙支部": ("met", 100.0)}
    assert body["totals"]["status"] == "met"


def test_compliance_scope_period_and_permission(client, tree):
    other = make_committee("另一行业党委", parent=tree["root"], code="O", established_on=dt.date(2020, 1, 1))
    client.force_login(tree["staff"])
    assert client.get(COMPLIANCE, {"org": tree["root"].pk, "period": "2026-Q1"}).status_code == 404  # above the grant
    assert client.get(COMPLIANCE, {"org": other.pk, "period": "2026-Q1"}).status_code == 404  # another subtree
    assert client.get(COMPLIANCE, {"org": 99_999_999}).json()["code"] == "not_found"
    bad = client.get(COMPLIANCE, {"org": tree["committee"].pk, "period": "2026-Q7"})
    assert bad.status_code == 400 and "period" in bad.json()["fields"]
    assert client.get(COMPLIANCE, {"org": tree["committee"].pk, "period_type": "week"}).status_code == 400
    # without org: the top of the caller's scope, the current period
    body = client.get(COMPLIANCE).json()
    assert body["totals"]["org"] == tree["committee"].pk
    assert body["period"]["key"] == timezone.localdate().strftime("%Y-%m")
    viewer = UserFactory()
    grant(viewer, tree["root"], Role.VIEWER)  # no activity.view
    client.force_login(viewer)
    assert client.get(COMPLIANCE).status_code == 403


def test_compliance_children_are_paged(client, tree):
    for i in range(3):
        make_branch(f"丙支部{i}", parent=tree["committee"], code=f"D{i}", established_on=dt.date(2020, 1, 1))
    client.force_login(tree["staff"])
    seen, url, params = [], COMPLIANCE, {"org": tree["committee"].pk, "period": "2026-Q1", "per_page": 2}
    while url:
        body = client.get(url, params).json()
        assert len(body["results"]) <= 2 and body["children_total"] == 5
        seen += [row["org_name"] for row in body["results"]]
        url, params = body["next"], None
    assert sorted(seen) == sorted(["甲支部", "乙支部", "丙支部0", "丙支部1", "丙支部2"])


def test_compliance_queries_do_not_grow_with_children_and_records(client, tree):
    client.force_login(tree["staff"])

    def add(n, start):
        for i in range(start, start + n):
            branch = make_branch(f"新支部{i}", parent=tree["committee"], code=f"N{i}", established_on=dt.date(2020, 1, 1))
            _held(branch, ActivityKind.THEME_DAY, _at(2026, 1, 5), _at(2026, 2, 5))
            make_org(f"新支部{i}党小组", parent=branch, kind=OrgKind.PARTY_GROUP, code=f"N{i}-G", established_on=dt.date(2020, 1, 1))

    def count():
        params = {"org": tree["committee"].pk, "period": "2026-Q1"}
        client.get(COMPLIANCE, params)
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(COMPLIANCE, params).json()
        return len(ctx.captured_queries), len(body["results"])

    add(1, 0)
    small, rows_small = count()
    add(5, 1)
    large, rows_large = count()
    assert (rows_small, rows_large) == (3, 8)
    assert large == small
