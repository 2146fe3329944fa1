"""Audit rows of the service writes: intake (SYSTEM, note "public"), every staff step, the requester's
confirm/reopen, the beat's summary rows, categories, reply templates and service points. A refused write
leaves no row, `actor=None` raises, and the requester's phone never reaches the audit log."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from core.audit import SYSTEM
from core.exceptions import ConflictError, DomainError
from core.models import AuditEntry
from services.actions import handling
from services.actions.categories import category_update, reply_template_save
from services.actions.common import sla_due
from services.actions.intake import request_submit
from services.actions.points import service_point_create, service_point_update
from services.models import PointKind, PointStatus, ReplyTemplate, RequestStatus, Routing, ServiceRequest
from tests.factories import set_rule
from tests.services.factories import category, make_request

pytestmark = pytest.mark.django_db
PHONE = "13912345678"
NOON = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def rows(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def only(action: str) -> AuditEntry:
    found = rows(action)
    assert len(found) == 1, found
    return found[0]


def assert_no_phone_anywhere(*phones: str) -> None:
    """No audit row carries the phone, in any field, nor its ciphertext or blind index."""
    secrets = set(phones)
    for request in ServiceRequest.objects.all():
        secrets |= {request.requester_phone_encrypted, request.requester_phone_index}
    for entry in AuditEntry.objects.all():
        text = json.dumps([entry.action, entry.object_repr, entry.object_id, entry.actor_label, entry.changes],
                          ensure_ascii=False, default=str)
        for secret in secrets:
            assert secret not in text, entry.action


def submit(**overrides):
    kwargs = {
        "category": category("other"), "description": "小区门禁不让外卖骑手进入，送餐经常超时被罚款。",
        "requester_name": "王师傅", "phone": PHONE, "member_answer": "unknown", "extra": {}, "client_address": "10.0.0.1",
        "now": NOON,
    }
    kwargs.update(overrides)
    return request_submit(**kwargs)


# ---------------------------------------------------------------- intake
def test_submit_is_written_as_system_public_without_personal_data(world):
    request = submit(workplace=world.wp_b)
    entry = only("service_request.submit")
    assert (entry.actor, entry.actor_label) == (None, "system")
    assert entry.changes["note"] == "public"
    assert (entry.object_type, entry.object_id) == ("services.servicerequest", str(request.pk))
    assert entry.org_path == request.responsible_org.path
    assert entry.changes["responsible_org"] == [None, request.responsible_org_id]
    text = json.dumps(entry.changes, ensure_ascii=False)
    assert "王师傅" not in text and "门禁" not in text and request.access_secret_hash not in text
    assert_no_phone_anywhere(PHONE)


def test_refused_submit_writes_no_row(world):
    with pytest.raises(DomainError):
        submit(phone="123")
    with pytest.raises(DomainError):
        submit(description="太短")
    assert not rows("service_request.submit")


# ---------------------------------------------------------------- staff steps
def test_each_staff_step_writes_one_row_with_the_changes(world):
    request = make_request(org=world.jb, phone=PHONE)
    user = world.secretary
    handling.request_accept(actor=user, request=request)
    handling.request_start(actor=user, request=request)
    handling.request_set_priority(actor=user, request=request, priority="high", reason="涉及欠薪")
    note = handling.request_add_note(actor=user, request=request, body="已电话联系 13912345678")
    reply = handling.request_reply(actor=user, request=request, body="正在协调物业")
    handling.request_resolve(actor=user, request=request, reply="已协调解决")

    accept = only("service_request.accept")
    assert (accept.actor, accept.object_id, accept.org_path) == (user, str(request.pk), world.jb.path)
    assert accept.changes["status"] == [RequestStatus.SUBMITTED, RequestStatus.ACCEPTED]
    assert accept.changes["accepted_at"][0] is None and accept.changes["accepted_at"][1]
    assert only("service_request.start").changes["status"] == [RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS]
    priority = only("service_request.set_priority")
    assert priority.changes["priority"] == ["normal", "high"] and priority.changes["note"] == "涉及欠薪"
    # notes and replies: the timeline entry's id, never the text (a note may quote a phone)
    assert only("service_request.note").changes == {"timeline_entry": [None, note.pk]}
    assert only("service_request.reply").changes == {"timeline_entry": [None, reply.pk]}
    assert only("service_request.resolve").changes["status"] == [RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED]
    assert_no_phone_anywhere(PHONE)


def test_reject_reroute_and_assign(world):
    rejected = make_request(org=world.jb)
    handling.request_reject(actor=world.secretary, request=rejected, reason="不属于受理范围", redirect_to="12345 热线")
    entry = only("service_request.reject")
    assert entry.changes["status"] == [RequestStatus.SUBMITTED, RequestStatus.REJECTED]
    assert entry.changes["redirect_to"] == ["", "12345 热线"]

    moved = make_request(org=world.jb)
    handling.request_reroute(actor=world.secretary, request=moved, org=world.express, reason="需行业党委协调")
    entry = only("service_request.reroute")
    assert entry.changes["responsible_org_id"] == [world.jb.pk, world.express.pk]
    assert entry.changes["note"] == "需行业党委协调"
    assert entry.org_path == world.jb.path  # where it was: the org that let it go

    assigned = make_request(org=world.jb)
    handling.request_assign(actor=world.district_user, request=assigned, assignee=world.secretary)
    assert only("service_request.assign").changes == {"assignee_id": [None, world.secretary.pk]}


def test_reveal_logs_the_reason_never_the_number(world):
    request = make_request(org=world.jb, phone=PHONE)
    assert handling.request_reveal_phone(actor=world.secretary, request=request, reason="电话回访") == PHONE
    entry = only("service_request.reveal")
    assert entry.actor == world.secretary and entry.changes == {"note": "电话回访"}
    assert_no_phone_anywhere(PHONE)


def test_reveal_needs_a_person(world):
    request = make_request(org=world.jb)
    with pytest.raises(ValueError):
        handling.request_reveal_phone(actor=SYSTEM, request=request, reason="电话回访")
    assert not rows("service_request.reveal")


def test_refused_steps_write_no_rows(world):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError):
        handling.request_accept(actor=world.nobody, request=request)
    with pytest.raises(DomainError):
        handling.request_add_note(actor=world.viewer, request=request, body="看看")
    with pytest.raises(ConflictError):
        handling.request_resolve(actor=world.secretary, request=make_request(org=world.jb, status=RequestStatus.CLOSED),
                                 reply="x")
    with pytest.raises(DomainError):
        handling.request_reveal_phone(actor=world.viewer, request=request, reason="好奇")
    assert not AuditEntry.objects.filter(action__startswith="service_request.").exists()


STAFF_CALLS = {
    "accept": lambda actor, r: handling.request_accept(actor=actor, request=r),
    "start": lambda actor, r: handling.request_start(actor=actor, request=r),
    "resolve": lambda actor, r: handling.request_resolve(actor=actor, request=r, reply="x"),
    "reject": lambda actor, r: handling.request_reject(actor=actor, request=r, reason="x", redirect_to="y"),
    "reroute": lambda actor, r: handling.request_reroute(actor=actor, request=r, org=r.responsible_org, reason="x"),
    "assign": lambda actor, r: handling.request_assign(actor=actor, request=r, assignee=None),
    "priority": lambda actor, r: handling.request_set_priority(actor=actor, request=r, priority="high"),
    "note": lambda actor, r: handling.request_add_note(actor=actor, request=r, body="x"),
    "reply": lambda actor, r: handling.request_reply(actor=actor, request=r, body="x"),
    "reveal": lambda actor, r: handling.request_reveal_phone(actor=actor, request=r, reason="回访"),
}


@pytest.mark.parametrize("name", list(STAFF_CALLS))
def test_actor_none_raises(world, name):
    request = make_request(org=world.jb)
    with pytest.raises(ValueError):
        STAFF_CALLS[name](None, request)
    assert not AuditEntry.objects.filter(action__startswith="service_request.").exists()


def test_system_may_handle_and_is_written_as_system(world):
    request = make_request(org=world.jb)
    handling.request_accept(actor=SYSTEM, request=request)
    entry = only("service_request.accept")
    assert (entry.actor, entry.actor_label) == (None, "system")
    assert request.timeline.get(kind="accepted").actor is None


# ---------------------------------------------------------------- the requester (public session)
def test_confirm_and_reopen_are_system_with_the_public_note(world):
    closed = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=NOON, phone=PHONE)
    handling.request_confirm(request=closed, satisfaction=4, comment="满意，联系我 13912345678")
    entry = only("service_request.confirm")
    assert (entry.actor, entry.actor_label, entry.changes["note"]) == (None, "system", "public")
    assert entry.changes["satisfaction"] == [None, 4] and entry.changes["status"][1] == RequestStatus.CLOSED

    reopened = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=NOON, phone=PHONE)
    handling.request_reopen(request=reopened, reason="还没解决")
    entry = only("service_request.reopen")
    assert entry.changes["note"] == "public" and entry.changes["reopen_count"] == [0, 1]
    assert_no_phone_anywhere(PHONE)


def test_refused_confirm_writes_no_row(world):
    request = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=NOON)
    with pytest.raises(DomainError):
        handling.request_confirm(request=request, satisfaction=9)
    assert not rows("service_request.confirm")


# ---------------------------------------------------------------- the beat: one summary row per run
def test_escalation_writes_one_summary_row_per_run(world):
    submitted = dt.datetime(2026, 3, 1, 23, 30, tzinfo=NOON.tzinfo)
    due = sla_due(category=category("counseling"), start=submitted)
    for _ in range(3):
        make_request(org=world.jb, category_code="counseling", submitted_at=submitted, due_at=due)
    assert handling.requests_escalate_overdue(now=due + dt.timedelta(seconds=1)) == 3
    entry = only("service_request.escalate")
    assert (entry.actor_label, entry.changes["count"]) == ("system", 3)
    assert handling.requests_escalate_overdue(now=due + dt.timedelta(seconds=2)) == 0
    assert len(rows("service_request.escalate")) == 1  # a run that changes nothing writes nothing


def test_autoclose_writes_one_summary_row(world):
    set_rule("request_auto_close_days", 7)
    for _ in range(2):
        make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=NOON - dt.timedelta(days=8))
    assert handling.requests_autoclose_resolved(now=NOON) == 2
    entry = only("service_request.auto_close")
    assert (entry.actor, entry.actor_label, entry.changes["count"]) == (None, "system", 2)


# ---------------------------------------------------------------- categories and reply templates
def test_category_update_records_before_and_after(world):
    cat = category("other")
    old_hours = cat.sla_hours
    category_update(actor=world.district_user, category=cat, sla_hours=old_hours + 24, routing=Routing.CATEGORY_ORG,
                    default_org=world.root)
    entry = only("service_category.update")
    assert entry.actor == world.district_user and entry.object_id == str(cat.pk)
    assert entry.changes["sla_hours"] == [old_hours, old_hours + 24]
    assert entry.changes["default_org_id"][1] == world.root.pk


def test_category_refused_and_actor_none(world):
    with pytest.raises(DomainError):
        category_update(actor=world.secretary, category=category("other"), sla_hours=1)
    with pytest.raises(ValueError):
        category_update(actor=None, category=category("other"), sla_hours=1)
    assert not rows("service_category.update")


def test_reply_templates_create_and_update(world):
    cat = category("other")
    template = reply_template_save(actor=world.district_user, category=cat, title="已受理", body="您的诉求{code}已受理")
    created = only("reply_template.create")
    assert created.object_id == str(template.pk) and created.changes["title"] == [None, "已受理"]
    reply_template_save(actor=world.district_user, category=cat, title="已受理（新）", body="您的诉求{code}已受理",
                        template=template)
    assert only("reply_template.update").changes == {"title": ["已受理", "已受理（新）"]}
    with pytest.raises(DomainError):
        reply_template_save(actor=world.district_user, category=cat, title="", body="x")
    with pytest.raises(ValueError):
        reply_template_save(actor=None, category=cat, title="x", body="x")
    assert len(rows("reply_template.create")) == 1 and ReplyTemplate.objects.filter(category=cat, title="x").count() == 0


def test_system_category_update_skips_the_admin_log_but_is_audited(world):
    category_update(actor=SYSTEM, category=category("other"), enabled=False)
    assert only("service_category.update").actor_label == "system"


# ---------------------------------------------------------------- service points
def _point(world, **overrides) -> dict:
    data = {
        "name": "新驿站", "kind": PointKind.STATION, "status": PointStatus.OPEN, "address": "西大街8号",
        "latitude": Decimal("39.860000"), "longitude": Decimal("116.400000"), "region": world.west,
        "operator_org": world.jb, "opening_hours": "每天 08:00–22:00", "phone": "010-12345678",
    }
    data.update(overrides)
    return data


def test_point_create_update_close(world):
    point = service_point_create(actor=world.district_user, **_point(world))
    created = only("service_point.create")
    assert (created.object_id, created.org_path) == (str(point.pk), world.jb.path)
    assert created.changes["name"] == [None, "新驿站"]
    service_point_update(actor=world.secretary, point=point, opening_hours="每天 09:00–21:00")
    assert only("service_point.update").changes == {"opening_hours": ["每天 08:00–22:00", "每天 09:00–21:00"]}
    service_point_update(actor=world.secretary, point=point, status=PointStatus.CLOSED)
    assert only("service_point.close").changes == {"status": [PointStatus.OPEN, PointStatus.CLOSED]}


def test_point_refused_and_actor_none(world):
    with pytest.raises(DomainError):
        service_point_create(actor=world.secretary, **_point(world))  # secretaries may not add points
    with pytest.raises(DomainError):
        service_point_create(actor=world.district_user, **_point(world, latitude=Decimal("95")))
    with pytest.raises(ValueError):
        service_point_create(actor=None, **_point(world))
    point = service_point_create(actor=world.district_user, **_point(world))
    with pytest.raises(DomainError):
        service_point_update(actor=world.nobody, point=point, name="改名")
    with pytest.raises(ValueError):
        service_point_update(actor=None, point=point, name="改名")
    assert len(rows("service_point.create")) == 1 and not rows("service_point.update")
