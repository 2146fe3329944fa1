"""Organizational-life pages: the log-a-meeting flow, list/filters/export, calendar, detail, return and
resubmit through the UI, scope 404s, nav item, query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from activities.actions import activity_return
from activities.models import Activity, ActivityKind, ActivityStatus, AttendanceStatus
from members.models import Stage
from tests.activities import JPEG, PDF, log, upload
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


def _start() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


# ---------------------------------------------------------------- log a meeting
def test_log_a_meeting_in_one_post(client, world):
    client.force_login(world.secretary)
    url = reverse("activities:activity_create")
    response = client.get(url)  # the secretary's one branch is picked without asking
    html = response.content.decode()
    assert response.status_code == 200 and response.context["org"] == world.jb
    members = list(world.jb.members.order_by("id"))
    assert all(m.name in html for m in members)
    assert 'accept="image/*' in html and "capture" in html and "multiple" in html
    assert html.count('class="btn-check" name="kind"') == len(ActivityKind.values)
    absent, on_leave = members[0], members[1]
    response = client.post(url, {
        "org": world.jb.pk, "kind": ActivityKind.THEME_DAY, "topic": "晨会学习", "starts_at": _start(),
        f"att-{absent.pk}": "absent", f"att-{on_leave.pk}": "leave", f"reason-{on_leave.pk}": "送件中",
        f"att-{members[2].pk}": "present", "minutes": "学习了……", "files": [upload("现场.jpg", JPEG), upload("签到.pdf", PDF)],
    })
    activity = Activity.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("activities:activity_detail", args=[activity.pk])
    statuses = dict(activity.attendance.values_list("member_id", "status"))
    assert len(statuses) == 7 and statuses[absent.pk] == AttendanceStatus.ABSENT and statuses[on_leave.pk] == AttendanceStatus.LEAVE
    assert list(statuses.values()).count(AttendanceStatus.PRESENT) == 5
    assert activity.attendance.get(member=on_leave).leave_reason == "送件中"
    assert activity.files.count() == 2 and activity.created_by == world.secretary


@pytest.mark.parametrize("extra,message", [
    ({"att": "leave"}, "请假须填写事由"),
    ({"kind": ActivityKind.GROUP_MEETING}, "党小组会须选择党小组"),
    ({"kind": ActivityKind.PARTY_LECTURE}, "党课须填写授课人"),
    ({"files": "bad"}, "内容与文件类型不符"),
    ({"kind": ""}, None),
])
def test_log_errors_keep_the_page_and_write_nothing(client, world, extra, message):
    client.force_login(world.secretary)
    member = world.jb.members.first()
    data = {"org": world.jb.pk, "kind": extra.get("kind", ActivityKind.THEME_DAY), "topic": "学习", "starts_at": _start()}
    if extra.get("att"):
        data[f"att-{member.pk}"] = extra["att"]
    if extra.get("files"):
        data["files"] = [upload("x.jpg", PDF)]
    response = client.post(reverse("activities:activity_create"), data)
    assert response.status_code == 200 and Activity.objects.count() == 0
    if message:
        assert message in response.content.decode()
    if extra.get("att"):  # the toggle keeps what was posted
        assert 'value="leave" checked' in response.content.decode()


def test_group_meeting_and_lecture_through_the_form(client, world):
    client.force_login(world.secretary)
    url = reverse("activities:activity_create")
    base = {"org": world.jb.pk, "topic": "小组学习", "starts_at": _start()}
    assert client.post(url, {**base, "kind": ActivityKind.GROUP_MEETING, "party_group": world.group.pk}).status_code == 302
    assert client.post(url, {**base, "kind": ActivityKind.PARTY_LECTURE, "lecturer": "王书记"}).status_code == 302
    assert set(Activity.objects.values_list("kind", flat=True)) == {ActivityKind.GROUP_MEETING, ActivityKind.PARTY_LECTURE}


def test_district_picks_the_org_first(client, world):
    client.force_login(world.district_user)
    response = client.get(reverse("activities:activity_create"))
    assert response.status_code == 200 and "activities/activity_pick_org.html" in [t.name for t in response.templates]
    response = client.get(reverse("activities:activity_create"), {"org": world.br_a.pk})
    assert response.status_code == 200 and response.context["org"] == world.br_a


def test_log_scope_404s(client, world):
    client.force_login(world.secretary)
    assert client.get(reverse("activities:activity_create"), {"org": world.br_a.pk}).status_code == 404
    assert client.get(reverse("activities:activity_create"), {"org": "x"}).status_code == 404
    assert client.post(reverse("activities:activity_create"), {"org": world.br_a.pk, "kind": "theme_day", "topic": "t",
                                                               "starts_at": _start()}).status_code == 404
    client.force_login(world.instructor)
    assert client.get(reverse("activities:activity_create")).status_code == 404
    assert Activity.objects.count() == 0


# ---------------------------------------------------------------- list, nav, export
def test_list_is_scoped_and_nav_item(client, world):
    mine = log(world, topic="联合支部学习")
    log(world, org=world.br_a, actor=world.district_user, topic="顺丰支部学习")
    client.force_login(world.secretary)
    response = client.get(reverse("activities:activity_list"))
    html = response.content.decode()
    assert [a.pk for a in response.context["page"].object_list] == [mine.pk]
    assert "顺丰支部学习" not in html and 'href="/activities/"' in html
    client.force_login(world.viewer)
    assert 'href="/activities/"' not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("activities:activity_list")).status_code == 404


@pytest.mark.parametrize("params,expected", [
    ({}, {"A", "B", "C"}),
    ({"kind": "party_lecture"}, {"B"}),
    ({"status": "returned"}, {"C"}),
    ({"org": "br_a"}, {"C"}),
    ({"date_from": "past"}, {"A", "C"}),
    ({"date_to": "past"}, {"B"}),
])
def test_list_filters(client, world, params, expected):
    now = timezone.now()
    log(world, topic="A")
    log(world, topic="B", kind=ActivityKind.PARTY_LECTURE, starts_at=now - dt.timedelta(days=40))
    c = log(world, topic="C", org=world.br_a, actor=world.district_user)
    activity_return(actor=world.district_user, activity=c, reason="补充")
    values = {"br_a": world.br_a.pk, "past": (timezone.localdate() - dt.timedelta(days=10)).isoformat()}
    params = {k: values.get(v, v) for k, v in params.items()}
    client.force_login(world.district_user)
    response = client.get(reverse("activities:activity_list"), params)
    assert {a.topic for a in response.context["page"].object_list} == expected


def test_export(client, world):
    log(world, topic="=HYPERLINK(1)", kind=ActivityKind.GENERAL_MEETING, makes_decision=True)
    client.force_login(world.secretary)
    response = client.get(reverse("activities:activity_list"), {"format": "xlsx"})
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "类型" and len(rows) == 2
    assert rows[1][0] == "支部党员大会" and rows[1][7] == "'=HYPERLINK(1)" and rows[1][11] == 7 and rows[1][12] == 7
    assert "表决有效" in rows[1][13]


# ---------------------------------------------------------------- calendar
def test_calendar(client, world):
    log(world, kind=ActivityKind.PARTY_LECTURE, topic="本月党课")
    log(world, org=world.br_a, actor=world.district_user, topic="别的支部")
    client.force_login(world.secretary)
    response = client.get(reverse("activities:activity_calendar"))
    assert response.status_code == 200 and response.context["org"] == world.jb
    html = response.content.decode()
    assert "本月党课" in html and "别的支部" not in html
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    response = client.get(reverse("activities:activity_calendar"), {"org": world.jb.pk, "month": last_month})
    assert "本月党课" not in response.content.decode()
    assert client.get(reverse("activities:activity_calendar"), {"month": "bad"}).status_code == 200
    assert client.get(reverse("activities:activity_calendar"), {"org": world.br_a.pk}).status_code == 404
    client.force_login(world.district_user)
    response = client.get(reverse("activities:activity_calendar"), {"org": world.express.pk})
    assert "本月党课" in response.content.decode() and "别的支部" in response.content.decode()


# ---------------------------------------------------------------- detail, return, resubmit
def test_detail_shows_quorum_attendance_files_and_history(client, world):
    MemberFactory(org=world.jb, name="预备某", stage=Stage.PROBATIONARY)
    full = list(world.jb.members.filter(stage=Stage.FULL).order_by("id"))
    activity = log(world, kind=ActivityKind.GENERAL_MEETING, makes_decision=True,
                   attendance={full[0].pk: ("leave", "出车")}, files=[upload("现场.jpg", JPEG)])
    client.force_login(world.instructor)
    response = client.get(reverse("activities:activity_detail", args=[activity.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "应到有表决权党员5人，到会4人，超过半数，表决有效" in html
    assert "应到 8 人，出席 7 人，缺席 0 人，请假 1 人" in html and "出车" in html
    assert reverse("activities:activity_file", args=[activity.files.get().pk]) in html
    assert response.context["can_change"] is False and response.context["can_review"] is False


def test_return_and_resubmit_through_the_pages(client, world):
    activity = log(world, kind=ActivityKind.THEME_DAY)
    member = world.jb.members.order_by("id").first()
    client.force_login(world.secretary)
    assert client.post(reverse("activities:activity_return", args=[activity.pk]), {"reason": "x"}).status_code == 404
    client.force_login(world.district_user)
    detail = client.get(reverse("activities:activity_detail", args=[activity.pk]))
    assert detail.context["can_review"] is True
    response = client.post(reverse("activities:activity_return", args=[activity.pk]), {"reason": ""})
    assert response.status_code == 200 and Activity.objects.get().status == ActivityStatus.SUBMITTED
    response = client.post(reverse("activities:activity_return", args=[activity.pk]), {"reason": "缺少照片和记录"})
    assert response.status_code == 302 and Activity.objects.get().status == ActivityStatus.RETURNED
    client.force_login(world.secretary)
    edit = reverse("activities:activity_edit", args=[activity.pk])
    response = client.get(edit)
    assert response.status_code == 200 and "修改后重新提交" in response.content.decode()
    assert "退回原因：缺少照片和记录" in response.content.decode()
    response = client.post(edit, {"kind": "theme_day", "topic": "补充后", "starts_at": _start(), "minutes": "补充记录",
                                  f"att-{member.pk}": "absent"})
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.RESUBMITTED and activity.minutes == "补充记录"
    assert activity.attendance.get(member=member).status == AttendanceStatus.ABSENT
    html = client.get(reverse("activities:activity_detail", args=[activity.pk])).content.decode()
    assert "缺少照片和记录" in html and "修改后重新提交" in html


def test_detail_and_edit_scope_404s(client, world):
    other = log(world, org=world.br_a, actor=world.district_user)
    client.force_login(world.secretary)
    for name in ("activity_detail", "activity_edit"):
        assert client.get(reverse(f"activities:{name}", args=[other.pk])).status_code == 404
    assert client.post(reverse("activities:activity_edit", args=[other.pk]), {"topic": "x"}).status_code == 404
    assert client.post(reverse("activities:activity_upload", args=[other.pk]), {}).status_code == 404
    client.force_login(world.instructor)  # view only
    mine = log(world)
    assert client.get(reverse("activities:activity_detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("activities:activity_edit", args=[mine.pk])).status_code == 404
    client.force_login(world.nobody)
    assert client.get(reverse("activities:activity_detail", args=[mine.pk])).status_code == 404


# ---------------------------------------------------------------- query counts
def _grow(world, n):
    for i in range(n):
        MemberFactory(org=world.jb, name=f"扩展{i}")
    for i in range(n):
        log(world, topic=f"学习{i}", kind=ActivityKind.GENERAL_MEETING, makes_decision=True,
            files=[upload("a.jpg", JPEG), upload("b.pdf", PDF)])


def _count(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page,params", [
    ("list", None), ("list", {"kind": "general_meeting", "org": "jb"}), ("list", {"format": "xlsx"}),
    ("calendar", None), ("detail", None), ("create", None),
])
def test_query_counts_constant(client, world, page, params):
    client.force_login(world.district_user)
    params = {k: (world.jb.pk if v == "jb" else v) for k, v in (params or {}).items()}

    def url():
        if page == "detail":
            return reverse("activities:activity_detail", args=[Activity.objects.order_by("id").last().pk])
        if page == "create":
            params["org"] = world.jb.pk
            return reverse("activities:activity_create")
        return reverse(f"activities:activity_{page}")

    _grow(world, 2)
    small = _count(client, url(), params)
    _grow(world, 12)
    large = _count(client, url(), params)
    assert small == large
