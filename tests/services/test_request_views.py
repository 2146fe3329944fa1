"""Staff request pages: queue scoping, filters and order, query counts, each action through its view (with
error display), the logged phone reveal, the export, category settings, and read-only instructors."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from services.models import (
    EntryKind,
    Priority,
    ReplyTemplate,
    RequesterRevealLog,
    RequestStatus,
    Routing,
    ServiceCategory,
    ServiceRequest,
)
from tests.services.factories import make_request

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
LIST = "services:request_list"


def _codes(response) -> set[str]:
    return {r.tracking_code for r in response.context["page"].object_list}


def _detail_url(r) -> str:
    return reverse("services:request_detail", args=[r.tracking_code])


def _act(client, r, step, data=None):
    return client.post(reverse(f"services:request_{step}", args=[r.tracking_code]), {f"{step}-{k}": v for k, v in (data or {}).items()})


def _reload(r) -> ServiceRequest:
    return ServiceRequest.objects.get(pk=r.pk)


# ---------------------------------------------------------------- queue: scope, filters, order
def test_secretary_sees_only_the_joint_branch_subtree(client, world):
    mine = make_request(org=world.jb)
    group = make_request(org=world.group)
    other = make_request(org=world.br_a)
    food = make_request(org=world.br_f)
    client.force_login(world.secretary)
    response = client.get(reverse(LIST))
    assert response.status_code == 200 and response.context["nav_section"] == "service_requests"
    assert _codes(response) == {mine.tracking_code, group.tracking_code}
    assert client.get(_detail_url(food)).status_code == 404
    assert client.get(_detail_url(other)).status_code == 404
    client.force_login(world.district_user)
    assert _codes(client.get(reverse(LIST))) == {r.tracking_code for r in (mine, group, other, food)}


@pytest.mark.parametrize("user", ["viewer", "nobody"])
def test_queue_is_404_without_view_permission(client, world, user):
    make_request(org=world.jb)
    client.force_login(getattr(world, user))
    assert client.get(reverse(LIST)).status_code == 404


def test_detail_accepts_the_display_code_with_dashes(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    response = client.get(reverse("services:request_detail", args=[r.display_code.lower()]))
    assert response.status_code == 200 and r.display_code in response.content.decode()


def test_queue_shows_open_by_default_overdue_first_then_by_due_time(client, world):
    now = timezone.now()
    late = make_request(org=world.jb, due_at=now - dt.timedelta(hours=1), escalated_to=world.express, escalation_level=1)
    soon = make_request(org=world.jb, due_at=now + dt.timedelta(hours=2))
    later = make_request(org=world.jb, due_at=now + dt.timedelta(hours=20))
    closed = make_request(org=world.jb, status=RequestStatus.CLOSED, due_at=now - dt.timedelta(days=3))
    client.force_login(world.secretary)
    response = client.get(reverse(LIST))
    codes = [r.tracking_code for r in response.context["page"].object_list]
    assert codes == [late.tracking_code, soon.tracking_code, later.tracking_code]
    html = response.content.decode()
    assert html.count("data-overdue") == 1 and "↑快递行业党委" in html
    all_codes = _codes(client.get(reverse(LIST), {"status": "all"}))
    assert closed.tracking_code in all_codes and len(all_codes) == 4
    assert _codes(client.get(reverse(LIST), {"status": RequestStatus.CLOSED})) == {closed.tracking_code}


def test_queue_filters(client, world):
    now = timezone.now()
    overdue = make_request(org=world.jb, category_code="wage_arrears", due_at=now - dt.timedelta(minutes=5),
                           assignee=world.secretary, priority=Priority.URGENT)
    escalated = make_request(org=world.br_a, escalated_to=world.express, escalation_level=1)
    food = make_request(org=world.br_f, submitted_at=dt.datetime(2026, 1, 10, 23, 30, tzinfo=SH),
                        due_at=now + dt.timedelta(days=1), description="充电桩不够用")
    client.force_login(world.district_user)

    def codes(**params):
        return _codes(client.get(reverse(LIST), params))

    assert codes(category=ServiceCategory.objects.get(code="wage_arrears").pk) == {overdue.tracking_code}
    assert codes(overdue="yes") == {overdue.tracking_code}
    assert codes(overdue="no") == {escalated.tracking_code, food.tracking_code}
    assert codes(assignee="none") == {escalated.tracking_code, food.tracking_code}
    assert codes(assignee=str(world.secretary.pk)) == {overdue.tracking_code}
    assert codes(org=world.express.pk) == {overdue.tracking_code, escalated.tracking_code}
    assert codes(org=world.food.pk) == {food.tracking_code}
    assert codes(escalated="any") == {escalated.tracking_code}
    assert codes(priority=Priority.URGENT) == {overdue.tracking_code}
    assert codes(q=food.display_code.lower()) == {food.tracking_code}
    assert codes(q="充电桩") == {food.tracking_code}
    # dates are Shanghai calendar days: 23:30 on 10 January is the 10th here (15:30 UTC)
    assert codes(submitted_from="2026-01-10", submitted_to="2026-01-10") == {food.tracking_code}
    assert codes(submitted_from="2026-01-11", submitted_to="2026-01-11") == set()

    client.force_login(world.secretary)
    assert codes(assignee="me") == {overdue.tracking_code}


def test_escalated_to_my_org_filter(client, world):
    to_express = make_request(org=world.br_a, escalated_to=world.express, escalation_level=1)
    make_request(org=world.br_a)
    make_request(org=world.br_f, escalated_to=world.root, escalation_level=2)
    client.force_login(world.instructor)  # instructor at express
    assert _codes(client.get(reverse(LIST), {"escalated": "mine"})) == {to_express.tracking_code}


# ---------------------------------------------------------------- query counts
def _count(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(world, n):
    for i in range(n):
        org = (world.jb, world.br_a, world.br_f)[i % 3]
        r = make_request(org=org, assignee=world.secretary if i % 2 else None, escalated_to=world.express if i % 4 == 0 else None,
                         due_at=timezone.now() + dt.timedelta(hours=i - 1))  # the first is overdue
        make_request(org=org, status=RequestStatus.CLOSED)
        r.timeline.create(kind=EntryKind.NOTE, body="备注", actor=world.district_user)


@pytest.mark.parametrize("params", [None, {"status": "all"}, {"overdue": "yes", "assignee": "none", "escalated": "any"}])
def test_queue_query_count_constant_as_rows_grow(client, world, params):
    client.force_login(world.district_user)
    _grow(world, 3)
    small = _count(client, reverse(LIST), params)
    _grow(world, 30)
    large = _count(client, reverse(LIST), params)
    assert small == large


def test_detail_query_count_constant_as_timeline_grows(client, world):
    r = make_request(org=world.jb, assignee=world.secretary)
    client.force_login(world.secretary)
    small = _count(client, _detail_url(r))
    for i in range(20):
        r.timeline.create(kind=EntryKind.NOTE, body=f"备注{i}", actor=world.secretary, from_org=world.jb, to_org=world.express)
    assert _count(client, _detail_url(r)) == small


# ---------------------------------------------------------------- actions through the views
def test_accept_start_resolve_through_the_page(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    html = client.get(_detail_url(r)).content.decode()
    assert f'action="{reverse("services:request_accept", args=[r.tracking_code])}"' in html
    assert reverse("services:request_resolve", args=[r.tracking_code]) not in html  # not valid before acceptance

    response = _act(client, r, "accept", {"assignee": world.secretary.pk})
    assert response.status_code == 302 and response["Location"] == _detail_url(r)
    assert _reload(r).status == RequestStatus.ACCEPTED and _reload(r).assignee == world.secretary
    assert "已受理。" in client.get(_detail_url(r)).content.decode()

    assert _act(client, r, "start").status_code == 302
    assert _reload(r).status == RequestStatus.IN_PROGRESS

    html = client.get(_detail_url(r)).content.decode()
    assert "使用回复模板" in html and f"您的诉求（查询码 {r.display_code}）已由快递联合党支部受理" in html
    response = _act(client, r, "resolve", {"reply": ""})
    assert response.status_code == 400 and "办结须填写答复内容。" in response.content.decode()
    assert _reload(r).status == RequestStatus.IN_PROGRESS
    assert _act(client, r, "resolve", {"reply": "已协调站点补发"}).status_code == 302
    assert _reload(r).status == RequestStatus.RESOLVED


def test_a_step_the_status_does_not_allow_is_a_message_not_a_500(client, world):
    r = make_request(org=world.jb, status=RequestStatus.CLOSED)
    client.force_login(world.secretary)
    response = _act(client, r, "start", {})
    assert response.status_code == 302
    follow = client.get(response["Location"]).content.decode()
    assert "不能执行此操作" in follow and _reload(r).status == RequestStatus.CLOSED


def test_reject_shows_errors_on_the_right_fields(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    response = _act(client, r, "reject", {"reason": "不属于受理范围", "redirect_to": ""})
    assert response.status_code == 400
    form = response.context["forms"]["reject"]
    assert form.errors["redirect_to"] == ["请告知提出人可以到哪里办理。"]
    assert _reload(r).status == RequestStatus.SUBMITTED
    assert _act(client, r, "reject", {"reason": "不属于受理范围", "redirect_to": "12345 热线"}).status_code == 302
    assert _reload(r).status == RequestStatus.REJECTED and _reload(r).redirect_to == "12345 热线"


def test_reroute_up_leaves_the_secretary_on_the_queue(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    form = client.get(_detail_url(r)).context["forms"]["reroute"]
    assert set(form.fields["org"].queryset) == {world.express}  # send up; Party groups do not handle requests
    response = _act(client, r, "reroute", {"org": world.food.pk, "reason": "x"})
    assert response.status_code == 400 and "org" in response.context["forms"]["reroute"].errors
    response = _act(client, r, "reroute", {"org": world.express.pk, "reason": "需行业党委协调"})
    assert response.status_code == 302 and response["Location"] == reverse(LIST)
    assert _reload(r).responsible_org == world.express
    assert client.get(_detail_url(r)).status_code == 404


def test_assign_priority_note_and_reply_through_the_page(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.district_user)
    assert _act(client, r, "assign", {"assignee": world.secretary.pk}).status_code == 302
    assert _act(client, r, "priority", {"priority": Priority.HIGH, "reason": "涉及安全"}).status_code == 302
    assert _act(client, r, "note", {"body": "已电话联系"}).status_code == 302
    assert _act(client, r, "reply", {"body": "正在协调"}).status_code == 302
    r = _reload(r)
    assert r.assignee == world.secretary and r.priority == Priority.HIGH
    html = client.get(_detail_url(r)).content.decode()
    assert "已电话联系" in html and "正在协调" in html
    assert 'data-entry="note" data-public="0"' in html and 'data-entry="reply" data-public="1"' in html
    response = _act(client, r, "assign", {"assignee": world.instructor.pk})
    assert response.status_code == 400 and response.context["forms"]["assign"].errors
    response = _act(client, r, "note", {"body": " "})
    assert response.status_code == 400 and "请填写备注内容。" in response.content.decode()


def test_instructor_sees_but_cannot_act(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.instructor)
    response = client.get(_detail_url(r))
    html = response.content.decode()
    assert response.status_code == 200 and response.context["forms"] == {} and "data-readonly" in html
    assert "查看完整号码" not in html
    response = _act(client, r, "accept", {})
    assert response.status_code == 302
    assert "您无权办理该诉求。" in client.get(response["Location"]).content.decode()
    assert _reload(r).status == RequestStatus.SUBMITTED


def test_out_of_scope_post_is_404(client, world):
    r = make_request(org=world.br_f)
    client.force_login(world.secretary)
    assert _act(client, r, "accept", {}).status_code == 404
    assert _reload(r).status == RequestStatus.SUBMITTED


# ---------------------------------------------------------------- reveal
def test_phone_is_masked_and_revealed_once_with_a_logged_reason(client, world):
    r = make_request(org=world.jb, phone="13912345678")
    client.force_login(world.secretary)
    html = client.get(_detail_url(r)).content.decode()
    assert "139********" in html and "13912345678" not in html and "****5678" not in html
    url = reverse("services:request_reveal", args=[r.tracking_code])
    response = client.post(url, {"reveal-reason": ""})
    assert response.status_code == 400 and "请填写查看事由。" in response.content.decode()
    assert not RequesterRevealLog.objects.exists()
    response = client.post(url, {"reveal-reason": "电话回访"})
    html = response.content.decode()
    assert response.status_code == 200 and "13912345678" in html and "no-store" in response["Cache-Control"]
    assert RequesterRevealLog.objects.get().actor == world.secretary
    assert "13912345678" not in client.get(_detail_url(r)).content.decode()


def test_instructor_cannot_reveal(client, world):
    r = make_request(org=world.jb, phone="13912345678")
    client.force_login(world.instructor)
    response = client.post(reverse("services:request_reveal", args=[r.tracking_code]), {"reveal-reason": "回访"})
    assert response.status_code == 302 and not RequesterRevealLog.objects.exists()


# ---------------------------------------------------------------- export
def test_export_is_filtered_scoped_masked_and_local(client, world):
    submitted = dt.datetime(2026, 3, 1, 23, 30, tzinfo=SH)
    r = make_request(org=world.jb, phone="13912345678", submitted_at=submitted, description="=cmd|' /C calc'!A0")
    make_request(org=world.br_f)
    make_request(org=world.jb, status=RequestStatus.CLOSED)
    client.force_login(world.secretary)
    response = client.get(reverse(LIST), {"format": "xlsx"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2
    header, row = rows
    values = dict(zip(header, row, strict=True))
    assert values["查询码"] == r.display_code and values["联系电话"] == "139********"
    assert values["提交时间"] == "2026-03-01 23:30" and values["诉求内容"].startswith("'=")
    assert "13912345678" not in str(rows)


# ---------------------------------------------------------------- categories
def test_category_edit_by_district_staff(client, world):
    category = ServiceCategory.objects.get(code="legal_aid")
    client.force_login(world.district_user)
    assert client.get(reverse("services:category_list")).status_code == 200
    url = reverse("services:category_edit", args=[category.pk])
    assert client.get(url).status_code == 200
    data = {"name": "法律援助", "guidance": "新的指引", "required_fields": ["employer"], "routing": Routing.CATEGORY_ORG,
            "default_org": "", "sla_hours": 48, "enabled": "on"}
    response = client.post(url, data)
    assert response.status_code == 400 and response.context["form"].errors["default_org"]
    response = client.post(url, {**data, "default_org": world.express.pk})
    assert response.status_code == 302
    category.refresh_from_db()
    assert category.default_org == world.express and category.sla_hours == 48 and category.required_fields == ["employer"]
    assert category.guidance == "新的指引" and LogEntry.objects.filter(object_id=str(category.pk)).exists()

    response = client.post(reverse("services:category_template_add", args=[category.pk]),
                           {"tpl-title": "援助律师", "tpl-body": "{org}已为您对接律师", "tpl-position": 1})
    assert response.status_code == 302
    assert ReplyTemplate.objects.filter(category=category, title="援助律师").exists()


@pytest.mark.parametrize("user", ["secretary", "instructor", "viewer"])
def test_category_pages_are_for_district_staff_only(client, world, user):
    category = ServiceCategory.objects.get(code="legal_aid")
    client.force_login(getattr(world, user))
    assert client.get(reverse("services:category_list")).status_code == 404
    url = reverse("services:category_edit", args=[category.pk])
    assert client.post(url, {"name": "x", "guidance": "x", "routing": Routing.WORKPLACE_FIRST, "sla_hours": 1}).status_code == 404
    category.refresh_from_db()
    assert category.name == "法律援助"
