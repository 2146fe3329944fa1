"""The services API: categories (district-wide, nested reply templates), service requests with each handling step
(success, 409 when the request moved on, 404 outside scope, the action's field errors), no staff confirm/reopen,
the phone mask in every response, the queue's filters and ordering, service points, and constant list queries."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core.models import AuditEntry
from orgs.models import Role
from services.models import (
    EntryKind,
    Priority,
    RequestStatus,
    Routing,
    ServiceCategory,
    ServicePoint,
    ServiceRequest,
)
from tests.factories import ReplyTemplateFactory, UserFactory, grant
from tests.services.factories import make_point, make_request

pytestmark = pytest.mark.django_db

CATEGORIES = "/api/v1/service-categories/"
REQUESTS = "/api/v1/service-requests/"
POINTS = "/api/v1/service-points/"
PHONE = "13912345678"


def _request_url(r, step: str | None = None) -> str:
    return f"{REQUESTS}{r.pk}/" + (f"{step}/" if step else "")


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, content_type="application/json", **extra)


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:400]
    return response.json()["results"]


def _ids(response) -> set[int]:
    return {row["id"] for row in _rows(response)}


def _reload(r) -> ServiceRequest:
    return ServiceRequest.objects.get(pk=r.pk)


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    return body


# ---------------------------------------------------------------- categories
def test_categories_are_listed_with_their_reply_templates_for_request_readers(client, world):
    other = ServiceCategory.objects.get(code="other")
    template = ReplyTemplateFactory(category=other, title="接口模板", body="您好，{code}")
    client.force_login(world.instructor)  # service_request.view only
    rows = {row["code"]: row for row in _rows(client.get(CATEGORIES, {"per_page": 100}))}
    assert set(rows) == set(ServiceCategory.objects.values_list("code", flat=True))
    assert {"id": template.pk, "title": "接口模板", "body": "您好，{code}", "position": 0} in rows["other"]["reply_templates"]
    housing = rows["housing"]
    assert housing["required_fields"] == ["housing_area"] and housing["required_fields_display"] == ["意向居住片区"]
    assert housing["routing_display"] == "优先交覆盖所在单位的党支部，无则交类别责任组织"
    assert client.get(f"{CATEGORIES}{other.pk}/").json()["name"] == "其他"
    assert client.get(CATEGORIES, {"enabled": "false"}).json()["results"] == []
    client.force_login(world.viewer)
    _error(client.get(CATEGORIES), 403, "permission_denied")


def test_only_category_managers_add_and_edit_categories(client, world):
    other = ServiceCategory.objects.get(code="other")
    client.force_login(world.secretary)  # handles requests, may not change the settings
    _error(post(client, CATEGORIES, {"code": "x", "name": "x", "guidance": "x", "sla_hours": 1}), 403, "permission_denied")
    _error(client.patch(f"{CATEGORIES}{other.pk}/", {"sla_hours": 1}, content_type="application/json"), 403,
           "permission_denied")

    client.force_login(world.district_user)
    response = post(client, CATEGORIES, {"code": "parking", "name": " 停车 ", "guidance": "写明地点", "sla_hours": 24,
                                         "routing": "category_org", "default_org": world.express.pk})
    assert response.status_code == 201, response.content
    created = ServiceCategory.objects.get(code="parking")
    assert (created.name, created.routing, created.default_org, created.enabled) == ("停车", Routing.CATEGORY_ORG, world.express, True)
    assert response.json()["default_org_name"] == "快递行业党委"
    assert AuditEntry.objects.filter(action="service_category.create", object_id=str(created.pk)).exists()

    # the same code twice; routing to the category's org without one: field errors, nothing written
    _error(post(client, CATEGORIES, {"code": "parking", "name": "停车2", "guidance": "x", "sla_hours": 2}), 400, "invalid")
    body = _error(post(client, CATEGORIES, {"code": "no-org", "name": "无组织", "guidance": "x", "sla_hours": 2,
                                            "routing": "category_org"}), 400, "invalid")
    assert body["fields"] == {"default_org": ["“始终交类别责任组织”须选择责任党组织。"]}
    assert not ServiceCategory.objects.filter(code="no-org").exists()

    response = client.patch(f"{CATEGORIES}{other.pk}/", {"sla_hours": 12, "required_fields": ["employer"]},
                            content_type="application/json")
    assert response.status_code == 200 and response.json()["sla_hours"] == 12
    other.refresh_from_db()
    assert (other.sla_hours, other.required_fields) == (12, ["employer"])
    assert AuditEntry.objects.filter(action="service_category.update", object_id=str(other.pk)).exists()
    body = _error(client.patch(f"{CATEGORIES}{other.pk}/", {"default_org": world.group.pk}, content_type="application/json"),
                  400, "invalid")
    assert "default_org" in body["fields"]  # a Party group handles no requests (the action's rule)


# ---------------------------------------------------------------- requests: reading
def test_requests_are_scoped_to_the_subtree_and_out_of_scope_is_404(client, world):
    mine = make_request(org=world.jb)
    group = make_request(org=world.group)
    other = make_request(org=world.br_a)
    client.force_login(world.secretary)
    assert _ids(client.get(REQUESTS)) == {mine.pk, group.pk}
    _error(client.get(_request_url(other)), 404, "not_found")
    client.force_login(world.district_user)
    assert _ids(client.get(REQUESTS)) == {mine.pk, group.pk, other.pk}
    # the queue lists open requests by default; a closed one is still found by its id
    closed = make_request(org=world.jb, status=RequestStatus.CLOSED)
    assert closed.pk not in _ids(client.get(REQUESTS))
    assert client.get(_request_url(closed)).json()["status_display"] == "已关闭"
    client.force_login(world.viewer)
    _error(client.get(REQUESTS), 403, "permission_denied")


def test_a_request_carries_its_timeline_and_names(client, world):
    r = make_request(org=world.jb, workplace=world.wp_b, region=world.east, extra={"employer": "某平台"})
    client.force_login(world.secretary)
    post(client, _request_url(r, "accept"), {"assignee": world.secretary.pk})
    post(client, _request_url(r, "note"), {"body": "已电话联系站点负责人"})
    body = client.get(_request_url(r)).json()
    assert body["tracking_code"] == r.tracking_code and body["display_code"] == r.display_code
    assert (body["category_name"], body["responsible_org_name"], body["workplace_name"], body["region_name"]) == (
        "其他", "快递联合党支部", "B中通东街网点", "东街道")
    assert (body["status"], body["status_display"], body["assignee"], body["assignee_name"]) == (
        "accepted", "已受理", world.secretary.pk, str(world.secretary))
    assert body["extra"] == {"employer": "某平台"} and body["overdue"] is False
    kinds = [(e["kind"], e["public"]) for e in body["timeline"]]
    assert kinds == [("submitted", True), ("accepted", True), ("assigned", False), ("note", False)]
    note = body["timeline"][-1]
    assert note["body"] == "已电话联系站点负责人" and note["actor"] == world.secretary.pk and note["actor_name"] == str(world.secretary)


def test_no_response_carries_the_full_phone_or_the_tracking_credential(client, world):
    r = make_request(org=world.jb, phone=PHONE)
    closed = make_request(org=world.jb, phone=PHONE, status=RequestStatus.CLOSED)
    client.force_login(world.secretary)
    responses = [
        client.get(REQUESTS, {"status": "all"}),
        client.get(_request_url(r)),
        post(client, _request_url(r, "accept")),
        post(client, _request_url(r, "note"), {"body": "内部备注"}),
        post(client, _request_url(r, "reply"), {"body": "您好"}),
        post(client, _request_url(r, "priority"), {"priority": "high"}),
        post(client, _request_url(r, "start")),
        post(client, _request_url(r, "resolve"), {"reply": "已办结"}),
        post(client, _request_url(closed, "reply"), {"body": "x"}),  # a refusal too
    ]
    r.refresh_from_db()
    for response in responses:
        text = response.content.decode()
        assert PHONE not in text and PHONE[3:] not in text  # (the last four alone could match a timestamp)
        for secret in (r.requester_phone_encrypted, r.requester_phone_index, r.access_secret_hash):
            assert secret not in text
        assert "access_secret" not in text and "phone_encrypted" not in text and "phone_index" not in text
    assert responses[1].json()["requester_phone_masked"] == "139********"


# ---------------------------------------------------------------- requests: filters and ordering
def test_the_queue_filters_narrow_as_on_the_page(client, world):
    now = timezone.now()
    old = make_request(org=world.jb, submitted_at=now - dt.timedelta(days=10), due_at=now - dt.timedelta(days=7),
                       description="充电桩坏了")  # overdue
    fresh = make_request(org=world.br_a, category_code="housing", priority=Priority.URGENT, assignee=world.secretary)
    done = make_request(org=world.br_f, status=RequestStatus.CLOSED)
    rejected = make_request(org=world.jb, status=RequestStatus.REJECTED)
    client.force_login(world.district_user)

    def ids(**params):
        return _ids(client.get(REQUESTS, params))

    assert ids() == {old.pk, fresh.pk}  # the open queue by default
    assert ids(status="all") == {old.pk, fresh.pk, done.pk, rejected.pk}
    assert _ids(client.get(f"{REQUESTS}?status=closed&status=rejected")) == {done.pk, rejected.pk}
    assert ids(category=ServiceCategory.objects.get(code="housing").pk) == {fresh.pk}
    assert ids(org=world.express.pk) == {old.pk, fresh.pk}
    assert ids(org=world.jb.pk, status="all") == {old.pk, rejected.pk}
    assert ids(overdue="yes") == {old.pk}
    assert ids(overdue="no") == {fresh.pk}
    assert ids(priority="urgent") == {fresh.pk}
    assert ids(assignee=str(world.secretary.pk)) == {fresh.pk}
    assert ids(assignee="none") == {old.pk}
    today = timezone.localdate()
    assert ids(submitted_to=(today - dt.timedelta(days=5)).isoformat()) == {old.pk}
    assert ids(submitted_from=(today - dt.timedelta(days=1)).isoformat()) == {fresh.pk}
    assert ids(q="充电桩") == {old.pk}
    assert ids(q=fresh.display_code.lower()) == {fresh.pk}
    # a filter that does not validate is a 400 in the one error shape, never a guess
    body = _error(client.get(REQUESTS, {"priority": "whenever"}), 400, "invalid")
    assert "priority" in body["fields"]


def test_the_queue_orders_by_due_time_or_submission(client, world):
    now = timezone.now()
    rows = [make_request(org=world.jb, submitted_at=now - dt.timedelta(hours=h), due_at=now + dt.timedelta(hours=10 * h))
            for h in (3, 1, 2)]
    client.force_login(world.secretary)
    by_due = [row["id"] for row in _rows(client.get(REQUESTS, {"ordering": "due_at"}))]
    assert by_due == [rows[1].pk, rows[2].pk, rows[0].pk]
    by_submitted = [row["id"] for row in _rows(client.get(REQUESTS, {"ordering": "-submitted_at"}))]
    assert by_submitted == [rows[1].pk, rows[2].pk, rows[0].pk]
    assert [row["id"] for row in _rows(client.get(REQUESTS))] == sorted((r.pk for r in rows), reverse=True)  # -id


def test_the_request_list_costs_the_same_queries_at_two_sizes(client, world):
    client.force_login(world.district_user)

    def grow(n):
        for i in range(n):
            r = make_request(org=world.jb if i % 2 else world.br_a, workplace=world.wp_b, region=world.east,
                             assignee=world.secretary)
            post(client, _request_url(r, "note"), {"body": f"备注{i}"})
            post(client, _request_url(r, "accept"))
        client.get(REQUESTS)  # warm
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(REQUESTS, {"per_page": 100})
        return len(ctx.captured_queries), len(_rows(response))

    small, rows_small = grow(2)
    large, rows_large = grow(6)
    assert (rows_small, rows_large) == (2, 8)
    assert small == large


# ---------------------------------------------------------------- requests: steps
def test_accept_then_accepting_again_is_a_conflict(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    response = post(client, _request_url(r, "accept"), {"assignee": world.secretary.pk})
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    r = _reload(r)
    assert (r.status, r.assignee, r.accepted_at is not None) == (RequestStatus.ACCEPTED, world.secretary, True)
    body = _error(post(client, _request_url(r, "accept")), 409, "conflict")
    assert body["message"] == "诉求当前为“已受理”，不能执行此操作。"
    # the message follows the request's language
    body = _error(post(client, _request_url(r, "accept"), HTTP_ACCEPT_LANGUAGE="en"), 409, "conflict")
    assert body["message"] == "The request is now “Accepted”; this action is not possible."


def test_accept_names_only_someone_who_may_handle_it(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    for outsider in (world.viewer, world.instructor, world.inactive):
        body = _error(post(client, _request_url(r, "accept"), {"assignee": outsider.pk}), 400, "invalid")
        assert set(body["fields"]) == {"assignee"}
    assert _reload(r).status == RequestStatus.SUBMITTED


def test_start_and_resolve_with_the_actions_rules(client, world):
    r = make_request(org=world.jb, status=RequestStatus.ACCEPTED)
    client.force_login(world.secretary)
    assert post(client, _request_url(r, "start")).json()["status"] == "in_progress"
    _error(post(client, _request_url(r, "start")), 409, "conflict")
    body = _error(post(client, _request_url(r, "resolve"), {"reply": "  "}), 400, "invalid")
    assert body["fields"] == {"reply": ["办结须填写答复内容。"]}
    response = post(client, _request_url(r, "resolve"), {"reply": "已协调站点解决"})
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    assert response.json()["timeline"][-1]["body"] == "已协调站点解决"
    _error(post(client, _request_url(r, "resolve"), {"reply": "再次办结"}), 409, "conflict")


def test_reply_and_note_add_timeline_entries(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    response = post(client, _request_url(r, "reply"), {"body": "已收到，正在核实"})
    assert response.status_code == 200 and response.json()["id"] == r.pk
    assert (response.json()["timeline"][-1]["kind"], response.json()["timeline"][-1]["public"]) == ("reply", True)
    response = post(client, _request_url(r, "note"), {"body": "内部：联系物业"})
    assert (response.json()["timeline"][-1]["kind"], response.json()["timeline"][-1]["public"]) == ("note", False)
    assert _error(post(client, _request_url(r, "note"), {"body": ""}), 400, "invalid")["fields"] == {"body": ["请填写备注内容。"]}
    closed = make_request(org=world.jb, status=RequestStatus.CLOSED)
    _error(post(client, _request_url(closed, "reply"), {"body": "还有吗"}), 409, "conflict")
    assert not closed.timeline.filter(kind=EntryKind.REPLY).exists()


def test_assign_and_clear(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    response = post(client, _request_url(r, "assign"), {"assignee": world.district_user.pk})
    assert response.status_code == 200 and response.json()["assignee"] == world.district_user.pk
    body = _error(post(client, _request_url(r, "assign"), {"assignee": world.district_user.pk}), 400, "invalid")
    assert body["fields"] == {"assignee": ["经办人没有变化。"]}
    assert post(client, _request_url(r, "assign"), {"assignee": None}).json()["assignee"] is None
    assert _reload(r).assignee is None
    _error(post(client, _request_url(r, "assign"), {}), 400, "invalid")  # say whom, or null
    closed = make_request(org=world.jb, status=RequestStatus.CLOSED)
    _error(post(client, _request_url(closed, "assign"), {"assignee": world.secretary.pk}), 409, "conflict")


def test_priority(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    response = post(client, _request_url(r, "priority"), {"priority": "urgent", "reason": "涉及人身安全"})
    assert response.status_code == 200 and response.json()["priority_display"] == "特急"
    assert "涉及人身安全" in response.json()["timeline"][-1]["body"]
    _error(post(client, _request_url(r, "priority"), {"priority": "urgent"}), 400, "invalid")
    assert "priority" in _error(post(client, _request_url(r, "priority"), {"priority": "soon"}), 400, "invalid")["fields"]
    assert _reload(r).priority == Priority.URGENT


def test_reroute_within_scope_or_up_to_the_parent(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    # an org outside the secretary's scope that is not the parent reads as "does not exist"
    body = _error(post(client, _request_url(r, "reroute"), {"org": world.br_f.pk, "reason": "不归我们"}), 400, "invalid")
    assert set(body["fields"]) == {"org"}
    assert _error(post(client, _request_url(r, "reroute"), {"org": world.express.pk}), 400, "invalid")["fields"] == {
        "reason": ["改派须说明原因。"]}
    response = post(client, _request_url(r, "reroute"), {"org": world.express.pk, "reason": "需行业党委协调"})
    assert response.status_code == 200 and response.json()["responsible_org"] == world.express.pk
    assert _reload(r).responsible_org == world.express
    _error(client.get(_request_url(r)), 404, "not_found")  # sent up, out of the secretary's sight

    client.force_login(world.district_user)
    closed = make_request(org=world.jb, status=RequestStatus.CLOSED)
    _error(post(client, _request_url(closed, "reroute"), {"org": world.br_a.pk, "reason": "x"}), 409, "conflict")
    assert post(client, _request_url(r, "reroute"), {"org": world.br_a.pk, "reason": "站点承办"}).json()[
        "responsible_org_name"] == "顺丰站点党支部"


def test_reject_needs_a_reason_and_where_to_go(client, world):
    r = make_request(org=world.jb)
    client.force_login(world.secretary)
    body = _error(post(client, _request_url(r, "reject"), {"reason": "不属于受理范围"}), 400, "invalid")
    assert body["fields"] == {"redirect_to": ["请告知提出人可以到哪里办理。"]}
    response = post(client, _request_url(r, "reject"), {"reason": "不属于受理范围", "redirect_to": "12345 热线"})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    r = _reload(r)
    assert (r.reject_reason, r.redirect_to) == ("不属于受理范围", "12345 热线")
    _error(post(client, _request_url(r, "reject"), {"reason": "x", "redirect_to": "y"}), 409, "conflict")


STEP_PAYLOADS = {
    "accept": {}, "start": {}, "resolve": {"reply": "x"}, "reply": {"body": "x"}, "note": {"body": "x"},
    "assign": {"assignee": None}, "priority": {"priority": "high"}, "reroute": {"org": 1, "reason": "x"},
    "reject": {"reason": "x", "redirect_to": "y"},
}


@pytest.mark.parametrize("step", sorted(STEP_PAYLOADS))
def test_every_step_outside_scope_is_404_and_changes_nothing(client, world, step):
    other = make_request(org=world.br_a)
    entries = other.timeline.count()
    client.force_login(world.secretary)
    _error(post(client, _request_url(other, step), STEP_PAYLOADS[step]), 404, "not_found")
    assert _reload(other).status == RequestStatus.SUBMITTED and other.timeline.count() == entries


@pytest.mark.parametrize("step", sorted(STEP_PAYLOADS))
def test_a_role_that_only_reads_requests_gets_403_for_every_step(client, world, step):
    r = make_request(org=world.jb)
    client.force_login(world.instructor)  # service_request.view, not .change
    assert client.get(_request_url(r)).status_code == 200
    _error(post(client, _request_url(r, step), STEP_PAYLOADS[step]), 403, "permission_denied")


def test_staff_cannot_confirm_or_reopen_create_edit_or_delete_requests(client, world):
    r = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=timezone.now())
    client.force_login(world.district_user)
    for step in ("confirm", "reopen", "reveal"):
        with pytest.raises(NoReverseMatch):
            reverse(f"api-service-request-{step}", args=[r.pk])
        assert post(client, _request_url(r, step), {"satisfaction": 5, "reason": "x"}).status_code == 404
    assert post(client, REQUESTS, {"description": "x"}).status_code == 405
    assert client.patch(_request_url(r), {"status": "closed"}, content_type="application/json").status_code == 405
    assert client.delete(_request_url(r)).status_code == 405
    r = _reload(r)
    assert (r.status, r.satisfaction, r.reopen_count) == (RequestStatus.RESOLVED, None, 0)


# ---------------------------------------------------------------- service points
def _point(org, region, **kwargs) -> ServicePoint:
    return make_point(org=org, region=region, lat=Decimal("39.900000"), lon=Decimal("116.400000"), **kwargs)


def test_points_filter_as_on_the_registry_page(client, world):
    a = _point(world.br_a, world.east_one, name="甲驿站", has_charging=True)
    b = _point(world.jb, world.west, name="乙中心", kind="party_center", status="paused")
    c = _point(world.br_f, world.east, name="丙公寓", kind="apartment")
    client.force_login(world.district_user)

    def ids(**params):
        return _ids(client.get(POINTS, params))

    assert ids() == {a.pk, b.pk, c.pk}
    assert ids(kind="party_center") == {b.pk}
    assert ids(status="paused") == {b.pk}
    assert ids(region=world.east.pk) == {a.pk, c.pk}  # 东一社区 lies in 东街道
    assert ids(operator_org=world.express.pk) == {a.pk, b.pk}
    assert ids(amenity="has_charging") == {a.pk}
    assert [row["name"] for row in _rows(client.get(POINTS, {"ordering": "name"}))] == sorted(["甲驿站", "乙中心", "丙公寓"])
    row = client.get(f"{POINTS}{a.pk}/").json()
    assert (row["region_name"], row["operator_org_name"], row["kind_display"]) == ("东一社区", "顺丰站点党支部", "小哥驿站/暖心驿站")
    assert "充电" in row["amenity_labels"]
    _error(client.get(POINTS, {"kind": "castle"}), 400, "invalid")
    client.force_login(world.secretary)
    assert ids() == {b.pk}
    _error(client.get(f"{POINTS}{a.pk}/"), 404, "not_found")


def test_points_are_registered_and_edited_through_the_actions(client, world):
    payload = {"name": "接口驿站", "kind": "station", "address": "示范路1号", "latitude": "39.905000",
               "longitude": "116.405000", "region": world.east.pk, "operator_org": world.jb.pk,
               "opening_hours": "每天 08:00–22:00", "has_microwave": True}
    client.force_login(world.secretary)  # service_point.change only
    _error(post(client, POINTS, payload), 403, "permission_denied")

    committee_staff = UserFactory()
    grant(committee_staff, world.express, Role.DISTRICT)
    client.force_login(committee_staff)
    body = _error(post(client, POINTS, {**payload, "operator_org": world.br_f.pk}), 400, "invalid")
    assert set(body["fields"]) == {"operator_org"}  # outside the caller's scope: "does not exist"
    _error(post(client, POINTS, {**payload, "latitude": "95"}), 400, "invalid")
    response = post(client, POINTS, payload)
    assert response.status_code == 201, response.content
    point = ServicePoint.objects.get(pk=response.json()["id"])
    assert (point.operator_org, point.has_microwave, point.has_rest) == (world.jb, True, True)
    assert AuditEntry.objects.filter(action="service_point.create", object_id=str(point.pk)).exists()

    client.force_login(world.secretary)
    response = client.patch(f"{POINTS}{point.pk}/", {"status": "closed"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status_display"] == "已撤销"
    assert AuditEntry.objects.filter(action="service_point.close", object_id=str(point.pk)).exists()
    # moving it to an org where the secretary may not change points: the action's refusal on the field
    body = _error(client.patch(f"{POINTS}{point.pk}/", {"operator_org": world.br_a.pk}, content_type="application/json"),
                  400, "invalid")
    assert set(body["fields"]) == {"operator_org"}
    other = _point(world.br_a, world.east)
    _error(client.patch(f"{POINTS}{other.pk}/", {"name": "改名"}, content_type="application/json"), 404, "not_found")
    assert client.delete(f"{POINTS}{point.pk}/").status_code == 405


@pytest.mark.parametrize("url", [POINTS, CATEGORIES])
def test_point_and_category_lists_cost_the_same_queries_at_two_sizes(client, world, url):
    client.force_login(world.district_user)

    def grow(n):
        for i in range(n):
            _point(world.jb if i % 2 else world.br_a, world.east)
            ReplyTemplateFactory()  # a category with a template
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"per_page": 100})
        return len(ctx.captured_queries), len(_rows(response))

    small, rows_small = grow(2)
    large, rows_large = grow(6)
    assert rows_large == rows_small + 6
    assert small == large


def test_the_schema_documents_the_steps_bodies(client, world):
    client.force_login(world.district_user)
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for step in ("accept", "resolve", "reply", "note", "assign", "priority", "reroute", "reject"):
        assert "requestBody" in paths[f"/api/v1/service-requests/{{id}}/{step}/"]["post"], step
    assert not any(p.endswith(("/confirm/", "/reopen/")) and "service-requests" in p for p in paths)
    assert "requestBody" in paths["/api/v1/service-points/"]["post"]
    assert "requestBody" in paths["/api/v1/service-categories/"]["post"]
