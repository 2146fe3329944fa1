"""Handling service requests: the state machine, refusals, rerouting, assignment, the logged phone reveal,
SLA and escalation boundaries in Asia/Shanghai, the requester's confirm/reopen and auto-close."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from core.exceptions import ConflictError, DomainError
from orgs.models import Role
from services.actions import handling
from services.models import (
    TRANSITIONS,
    EntryKind,
    Priority,
    ReplyTemplate,
    RequesterRevealLog,
    RequestStatus,
    ServiceRequest,
    TimelineEntry,
)
from services.selectors.requests import assignable_users
from tests.factories import UserFactory, fresh, grant, set_rule
from tests.services.factories import make_request

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _entries(request, **kw):
    return list(TimelineEntry.objects.filter(request=request, **kw).exclude(kind=EntryKind.SUBMITTED).order_by("id"))


# ---------------------------------------------------------------- the state machine, table-driven
def _do(step, world, request):
    actor = world.district_user
    if step == RequestStatus.ACCEPTED:
        return handling.request_accept(actor=actor, request=request)
    if step == RequestStatus.IN_PROGRESS:
        return handling.request_start(actor=actor, request=request)
    if step == RequestStatus.RESOLVED:
        return handling.request_resolve(actor=actor, request=request, reply="已协调解决")
    if step == RequestStatus.REJECTED:
        return handling.request_reject(actor=actor, request=request, reason="不属于受理范围", redirect_to="12345 热线")
    if step == RequestStatus.CLOSED:
        return handling.request_confirm(request=request, satisfaction=5)
    if step == RequestStatus.REOPENED:
        return handling.request_reopen(request=request, reason="还没解决")
    raise AssertionError(step)


STEPS = [RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED, RequestStatus.REJECTED,
         RequestStatus.CLOSED, RequestStatus.REOPENED]
ALLOWED = [(src, dst) for src, targets in TRANSITIONS.items() for dst in targets]
REFUSED = [(src, dst) for src in TRANSITIONS for dst in STEPS if dst not in TRANSITIONS[src]]


@pytest.mark.parametrize("src,dst", ALLOWED, ids=[f"{s}->{d}" for s, d in ALLOWED])
def test_every_allowed_transition_changes_status_and_writes_a_public_entry(world, src, dst):
    extra = {"resolved_at": timezone.now()} if src == RequestStatus.RESOLVED else {}
    request = make_request(org=world.jb, status=src, **extra)
    result = _do(dst, world, request)
    request.refresh_from_db()
    assert result.status == request.status == dst
    [entry] = _entries(request)
    assert entry.public and entry.from_status == src and entry.to_status == dst


@pytest.mark.parametrize("src,dst", REFUSED, ids=[f"{s}->{d}" for s, d in REFUSED])
def test_every_step_from_a_wrong_state_is_refused_and_writes_nothing(world, src, dst):
    request = make_request(org=world.jb, status=src)
    with pytest.raises(ConflictError) as exc:
        _do(dst, world, request)
    assert "不能执行此操作" in str(exc.value.message)
    request.refresh_from_db()
    assert request.status == src and _entries(request) == []


def test_accept_names_the_org_and_keeps_or_sets_the_assignee(world):
    request = make_request(org=world.jb)
    handling.request_accept(actor=world.secretary, request=request, assignee=world.secretary)
    request.refresh_from_db()
    assert request.accepted_at is not None and request.assignee == world.secretary
    entry, assigned = _entries(request)
    assert entry.body == "已受理，承办单位：快递联合党支部" and entry.actor == world.secretary and entry.public
    assert assigned.kind == EntryKind.ASSIGNED and not assigned.public


def test_accept_refuses_an_assignee_without_rights_and_writes_nothing(world):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError) as exc:
        handling.request_accept(actor=world.secretary, request=request, assignee=world.instructor)
    assert exc.value.field == "assignee"
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.SUBMITTED and _entries(request) == []


def test_stale_copy_cannot_accept_twice(world):
    request = make_request(org=world.jb)
    stale = ServiceRequest.objects.get(pk=request.pk)
    handling.request_accept(actor=world.secretary, request=request)
    with pytest.raises(ConflictError):
        handling.request_accept(actor=world.district_user, request=stale)
    assert len(_entries(request, kind=EntryKind.ACCEPTED)) == 1


@pytest.mark.parametrize("user", ["instructor", "viewer", "nobody"])
def test_users_without_change_permission_are_refused(world, user):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError, match="无权办理"):
        handling.request_accept(actor=getattr(world, user), request=request)
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.SUBMITTED


def test_secretary_cannot_act_on_another_branch(world):
    request = make_request(org=world.br_f)
    with pytest.raises(DomainError, match="无权办理"):
        handling.request_start(actor=world.secretary, request=request)


# ---------------------------------------------------------------- required texts
def test_resolve_needs_a_reply(world):
    request = make_request(org=world.jb, status=RequestStatus.IN_PROGRESS)
    with pytest.raises(DomainError) as exc:
        handling.request_resolve(actor=world.secretary, request=request, reply="  ")
    assert exc.value.field == "reply"
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_PROGRESS and request.resolved_at is None and _entries(request) == []


@pytest.mark.parametrize("reason,where,field", [("", "12345", "reason"), ("不属于范围", " ", "redirect_to")])
def test_reject_needs_reason_and_where_to_go(world, reason, where, field):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError) as exc:
        handling.request_reject(actor=world.secretary, request=request, reason=reason, redirect_to=where)
    assert exc.value.field == field
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.SUBMITTED and _entries(request) == []


def test_reject_tells_the_requester_why_and_where(world):
    request = make_request(org=world.jb, status=RequestStatus.ACCEPTED)
    handling.request_reject(actor=world.secretary, request=request, reason="属于司法程序", redirect_to="区法律援助中心")
    request.refresh_from_db()
    assert request.reject_reason == "属于司法程序" and request.redirect_to == "区法律援助中心"
    [entry] = _entries(request)
    assert entry.public and "属于司法程序" in entry.body and "区法律援助中心" in entry.body


# ---------------------------------------------------------------- reroute
def test_secretary_can_send_up_to_the_parent_but_not_into_another_committee(world):
    request = make_request(org=world.jb, assignee=world.secretary, escalation_level=1, escalated_to=world.express)
    with pytest.raises(DomainError) as exc:
        handling.request_reroute(actor=world.secretary, request=request, org=world.food, reason="不归我们")
    assert exc.value.field == "org"
    assert ServiceRequest.objects.get(pk=request.pk).responsible_org == world.jb
    handling.request_reroute(actor=world.secretary, request=request, org=world.express, reason="需行业党委协调")
    request.refresh_from_db()
    assert request.responsible_org == world.express and request.assignee is None
    assert request.escalation_level == 0 and request.escalated_to is None
    internal, public = _entries(request)
    assert not internal.public and internal.from_org == world.jb and internal.to_org == world.express
    assert "需行业党委协调" in internal.body
    assert public.public and public.body == "已转交快递行业党委办理"


def test_district_can_reroute_anywhere_in_scope(world):
    request = make_request(org=world.jb)
    handling.request_reroute(actor=world.district_user, request=request, org=world.br_f, reason="属地")
    assert ServiceRequest.objects.get(pk=request.pk).responsible_org == world.br_f


@pytest.mark.parametrize("target,reason,field", [
    ("jb", "原因", "org"), ("br_dead", "原因", "org"), ("group", "原因", "org"), ("express", "", "reason"),
])
def test_reroute_refusals(world, target, reason, field):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError) as exc:
        handling.request_reroute(actor=world.district_user, request=request, org=getattr(world, target), reason=reason)
    assert exc.value.field == field
    assert _entries(request) == []


def test_closed_request_cannot_be_rerouted(world):
    request = make_request(org=world.jb, status=RequestStatus.CLOSED)
    with pytest.raises(ConflictError):
        handling.request_reroute(actor=world.district_user, request=request, org=world.express, reason="x")


# ---------------------------------------------------------------- assign, priority, notes, replies
def test_assignable_users_hold_change_rights_at_the_org_or_above(world):
    request = make_request(org=world.jb)
    other_secretary = UserFactory()
    grant(other_secretary, world.br_f, Role.SECRETARY)
    users = set(assignable_users(request))
    assert world.secretary in users and world.district_user in users
    assert not users & {world.instructor, world.viewer, other_secretary, world.nobody, world.inactive}


def test_assign_and_unassign(world):
    request = make_request(org=world.jb)
    handling.request_assign(actor=world.district_user, request=request, assignee=world.secretary)
    assert ServiceRequest.objects.get(pk=request.pk).assignee == world.secretary
    handling.request_assign(actor=world.district_user, request=request, assignee=None)
    assert ServiceRequest.objects.get(pk=request.pk).assignee is None
    bodies = [e.body for e in _entries(request)]
    assert bodies == [f"经办人：{world.secretary}", "已取消指定经办人"]
    assert not any(e.public for e in _entries(request))


def test_assign_refuses_someone_without_rights_there(world):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError) as exc:
        handling.request_assign(actor=world.district_user, request=request, assignee=world.instructor)
    assert exc.value.field == "assignee" and ServiceRequest.objects.get(pk=request.pk).assignee is None


def test_priority_note_and_reply(world):
    request = make_request(org=world.jb)
    handling.request_set_priority(actor=world.secretary, request=request, priority=Priority.URGENT, reason="涉及安全")
    handling.request_add_note(actor=world.secretary, request=request, body="已电话联系站长")
    handling.request_reply(actor=world.secretary, request=request, body="我们正在联系站点")
    priority, note, reply = _entries(request)
    assert ServiceRequest.objects.get(pk=request.pk).priority == Priority.URGENT
    assert "普通 → 特急" in priority.body and "涉及安全" in priority.body and not priority.public
    assert not note.public and note.kind == EntryKind.NOTE
    assert reply.public and reply.kind == EntryKind.REPLY
    with pytest.raises(DomainError):
        handling.request_set_priority(actor=world.secretary, request=request, priority=Priority.URGENT)
    with pytest.raises(DomainError) as exc:
        handling.request_add_note(actor=world.secretary, request=request, body="")
    assert exc.value.field == "body"


def test_no_public_reply_on_a_closed_request(world):
    request = make_request(org=world.jb, status=RequestStatus.CLOSED)
    with pytest.raises(ConflictError):
        handling.request_reply(actor=world.secretary, request=request, body="补充说明")


# ---------------------------------------------------------------- reveal
def test_reveal_is_logged_and_returns_the_number(world):
    request = make_request(org=world.jb, phone="13912345678")
    phone = handling.request_reveal_phone(actor=world.secretary, request=request, reason="电话回访")
    assert phone == "13912345678"
    log = RequesterRevealLog.objects.get()
    assert log.actor == world.secretary and log.reason == "电话回访"
    [entry] = _entries(request)
    assert entry.kind == EntryKind.REVEALED and not entry.public and "13912345678" not in entry.body


@pytest.mark.parametrize("user", ["instructor", "viewer"])
def test_reveal_refused_for_roles_without_it(world, user):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError, match="权限"):
        handling.request_reveal_phone(actor=getattr(world, user), request=request, reason="回访")
    assert not RequesterRevealLog.objects.exists()


def test_reveal_needs_a_reason(world):
    request = make_request(org=world.jb)
    with pytest.raises(DomainError) as exc:
        handling.request_reveal_phone(actor=world.secretary, request=request, reason=" ")
    assert exc.value.field == "reason" and not RequesterRevealLog.objects.exists() and _entries(request) == []


# ---------------------------------------------------------------- reply templates
def test_reply_template_fills_known_placeholders_only(world):
    request = make_request(org=world.jb, category_code="legal_aid")
    template = ReplyTemplate(title="t", body="查询码 {code}，{category}由{org}办理。{unknown} {code.__class__} {")
    text = handling.render_reply_template(template=template, request=request)
    assert text == f"查询码 {request.display_code}，法律援助由快递联合党支部办理。{{unknown}} {{code.__class__}} {{"


# ---------------------------------------------------------------- requester: confirm and reopen
@pytest.mark.parametrize("score", [0, 6, "", None, "abc", True])
def test_confirm_scores_one_to_five_only(world, score):
    request = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=timezone.now())
    with pytest.raises(DomainError) as exc:
        handling.request_confirm(request=request, satisfaction=score)
    assert exc.value.field == "satisfaction"
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.RESOLVED


@pytest.mark.parametrize("score", [1, 5, "3"])
def test_confirm_closes_with_score(world, score):
    request = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=timezone.now())
    handling.request_confirm(request=request, satisfaction=score, comment="很及时")
    request.refresh_from_db()
    assert request.status == RequestStatus.CLOSED and request.satisfaction == int(score) and request.closed_at
    [entry] = _entries(request)
    assert entry.by_requester and entry.public and entry.actor is None and "很及时" in entry.body


def test_reopen_starts_a_new_sla_period(world):
    submitted = dt.datetime(2026, 3, 1, 9, 0, tzinfo=SH)
    request = make_request(org=world.jb, category_code="counseling", status=RequestStatus.RESOLVED, submitted_at=submitted,
                           resolved_at=submitted + dt.timedelta(hours=5), escalation_level=1, escalated_to=world.express)
    with time_machine.travel(dt.datetime(2026, 3, 4, 10, 0, tzinfo=SH), tick=False):
        with pytest.raises(DomainError) as exc:
            handling.request_reopen(request=request, reason="")
        assert exc.value.field == "reason"
        handling.request_reopen(request=request, reason="欠款还没给")
    request.refresh_from_db()
    assert request.status == RequestStatus.REOPENED and request.reopen_count == 1
    assert timezone.localtime(request.due_at) == dt.datetime(2026, 3, 5, 10, 0, tzinfo=SH)
    assert request.escalation_level == 0 and request.escalated_to is None
    [entry] = _entries(request)
    assert entry.by_requester and entry.body == "欠款还没给"


# ---------------------------------------------------------------- SLA, overdue, escalation
def _counseling_request(world, org=None):
    submitted = dt.datetime(2026, 3, 1, 23, 30, tzinfo=SH)  # counseling: 24 h SLA
    from services.actions.common import sla_due
    from tests.services.factories import category

    due = sla_due(category=category("counseling"), start=submitted)
    return make_request(org=org or world.jb, category_code="counseling", submitted_at=submitted, due_at=due)


def test_due_time_and_overdue_boundary_in_shanghai(world):
    request = _counseling_request(world)
    due = dt.datetime(2026, 3, 2, 23, 30, tzinfo=SH)
    assert request.due_at == due
    assert not request.is_overdue(now=due)
    assert request.is_overdue(now=due + dt.timedelta(seconds=1))
    assert handling.requests_escalate_overdue(now=due) == 0
    assert list(ServiceRequest.objects.overdue(due)) == []
    assert list(ServiceRequest.objects.overdue(due + dt.timedelta(seconds=1))) == [request]


def test_escalation_climbs_one_level_per_overdue_period_and_stops_at_the_root(world):
    request = _counseling_request(world)
    due = request.due_at
    assert handling.requests_escalate_overdue(now=due + dt.timedelta(seconds=1)) == 1
    request.refresh_from_db()
    assert request.escalation_level == 1 and request.escalated_to == world.express
    [entry] = _entries(request)
    assert entry.kind == EntryKind.ESCALATED and not entry.public and "快递行业党委" in entry.body

    # same instant again, and later within the same period: nothing changes
    assert handling.requests_escalate_overdue(now=due + dt.timedelta(seconds=1)) == 0
    assert handling.requests_escalate_overdue(now=due + dt.timedelta(hours=24)) == 0
    assert len(_entries(request)) == 1

    assert handling.requests_escalate_overdue(now=due + dt.timedelta(hours=24, seconds=1)) == 1
    request.refresh_from_db()
    assert request.escalation_level == 2 and request.escalated_to == world.root

    # capped at the root: jb has two ancestors
    assert handling.requests_escalate_overdue(now=due + dt.timedelta(days=10)) == 0
    request.refresh_from_db()
    assert request.escalation_level == 2 and request.escalated_to == world.root
    assert handling.requests_escalate_overdue(now=due + dt.timedelta(days=10)) == 0


def test_escalation_skips_closed_and_jumps_after_long_silence(world):
    request = _counseling_request(world)
    done = make_request(org=world.jb, status=RequestStatus.RESOLVED, category_code="counseling",
                        due_at=request.due_at, resolved_at=request.due_at)
    assert handling.requests_escalate_overdue(now=request.due_at + dt.timedelta(days=3)) == 1
    request.refresh_from_db()
    done.refresh_from_db()
    assert request.escalation_level == 2 and request.escalated_to == world.root
    assert done.escalation_level == 0


def test_escalation_of_a_committee_request_goes_to_the_root(world):
    request = _counseling_request(world, org=world.express)
    handling.requests_escalate_overdue(now=request.due_at + dt.timedelta(days=5))
    request.refresh_from_db()
    assert request.escalation_level == 1 and request.escalated_to == world.root


# ---------------------------------------------------------------- auto-close
def test_autoclose_after_rule_days(world):
    set_rule("request_auto_close_days", 7)
    now = dt.datetime(2026, 3, 20, 12, 0, tzinfo=SH)
    old = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=now - dt.timedelta(days=7, seconds=1))
    fresh_one = make_request(org=world.jb, status=RequestStatus.RESOLVED, resolved_at=now - dt.timedelta(days=7))
    assert handling.requests_autoclose_resolved(now=now) == 1
    old.refresh_from_db()
    fresh_one.refresh_from_db()
    assert old.status == RequestStatus.CLOSED and old.closed_at == now and old.satisfaction is None
    assert fresh_one.status == RequestStatus.RESOLVED
    [entry] = _entries(old)
    assert entry.kind == EntryKind.AUTO_CLOSED and entry.public
    assert handling.requests_autoclose_resolved(now=now) == 0


def test_superuser_may_act_everywhere(world):
    request = make_request(org=world.br_f)
    handling.request_accept(actor=fresh(world.superuser), request=request)
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.ACCEPTED
