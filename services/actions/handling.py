"""Handling service requests (诉求办理): the state machine's staff, requester and system actions.

States and who moves them (services.models.TRANSITIONS is the table every action checks)
------------------------------------------------------------------------------------------
============  ===========================  ==========================  ==============================
action        from                         to                          by
============  ===========================  ==========================  ==============================
accept        submitted                    accepted                    staff (service_request.change)
start         accepted, reopened           in_progress                 staff
resolve       accepted, in_progress,       resolved (reply required)   staff
              reopened
reject        submitted, accepted,         rejected (reason + where    staff
              in_progress                  to go instead required)
confirm       resolved                     closed (score 1..5)         the requester (tracking page)
reopen        resolved                     reopened (reason; new SLA)  the requester (tracking page)
auto-close    resolved, older than rule    closed                      the system (beat)
============  ===========================  ==========================  ==============================

Confirm and reopen have no actor argument: they are called only by services.views.public, for a session that looked
the request up with its code and 查询密码 (or submitted it), and are written to the timeline as the
requester's (``by_requester``, public, no actor). No staff view, form or step reaches them, so staff can
neither set or change the satisfaction score nor reopen on the requester's behalf (tested).

Besides the state changes: reroute (改派, to an org in the actor's scope or up to the parent), assign,
priority, internal notes, public replies, escalation of overdue requests (system) and the logged reveal
of the requester's phone.

Refusals: an actor without ``service_request.change`` on the request (out of scope, an instructor, a
viewer) gets a ``DomainError`` ("您无权办理该诉求"), never a 404, because views have already answered
404 for what the user cannot see; a step the current status does not allow is a ``ConflictError``
(someone else may have moved it first). Every action locks the request row (``select_for_update``),
re-reads the status under the lock, and writes a ``TimelineEntry``; input is checked before anything is
written, so a refusal leaves nothing behind.

Audit (core.audit): every staff action takes a required actor (``None`` raises ValueError; SYSTEM may act
except reveal, which needs a person) and writes one audit row "service_request.<verb>" with the changed
fields. The requester's confirm/reopen are written as SYSTEM with the note "public" (the requester has no
account); the beat's escalation and auto-close write one summary row per run with the count. Notes and
replies are recorded by the timeline entry's id, never their text; the requester's phone never appears.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from core.audit import SYSTEM, audit_record, diff, field_values, require_actor, user_or_none
from core.exceptions import ConflictError, DomainError
from core.rules import rule_int
from orgs.models import Organization, OrgKind, OrgStatus
from orgs.scoping import grant_paths
from services.actions.common import check_transition, sla_due, timeline_add
from services.models import (
    OPEN_STATUSES,
    EntryKind,
    Priority,
    ReplyTemplate,
    RequesterRevealLog,
    RequestStatus,
    ServiceRequest,
)

__all__ = [
    "request_accept", "request_start", "request_resolve", "request_reject", "request_reroute", "request_assign",
    "request_set_priority", "request_add_note", "request_reply", "request_reveal_phone", "render_reply_template",
    "request_confirm", "request_reopen", "requests_escalate_overdue", "requests_autoclose_resolved",
    "can_change_request", "reroute_allowed",
]

MAX_TEXT = 2000

# What an audit row of a request shows: its handling state, never the requester's text, name or phone.
AUDIT_FIELDS = (
    "status", "priority", "responsible_org_id", "assignee_id", "escalation_level", "escalated_to_id", "due_at",
    "accepted_at", "resolved_at", "closed_at", "reopen_count", "satisfaction", "reject_reason", "redirect_to",
)
PUBLIC_NOTE = "public"  # the audit note of what the requester did on the tracking page (no account)


def _values(request: ServiceRequest) -> dict:
    return field_values(request, AUDIT_FIELDS)


def _audit(actor, verb: str, request: ServiceRequest, before: dict | None = None, org=None, **extra) -> None:
    """One audit row for `request`: the fields that changed since `before`, plus `extra` entries."""
    changes = diff(before, _values(request)) if before is not None else {}
    changes.update(extra)
    audit_record(actor=actor, action=f"service_request.{verb}", obj=request, org=org or request.responsible_org,
                 changes=changes)


# ---------------------------------------------------------------- shared helpers
def can_change_request(actor, request: ServiceRequest, action: str = "change") -> bool:
    """True when `actor` holds `service_request.<action>` on the request (its responsible org's subtree)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    return ServiceRequest.objects.restrict(actor, action).filter(pk=request.pk).exists()


def _check_actor(actor, request: ServiceRequest) -> None:
    require_actor(actor)
    if not can_change_request(actor, request):
        raise DomainError(_("您无权办理该诉求。"))


def _lock(request: ServiceRequest) -> ServiceRequest:
    """Lock the row and reload it: what the caller holds may be stale."""
    try:
        return ServiceRequest.objects.select_for_update().get(pk=request.pk)
    except ServiceRequest.DoesNotExist:
        raise ConflictError(_("该诉求已不存在。")) from None


def _save(request: ServiceRequest) -> None:
    try:
        request.full_clean()
    except ValidationError as exc:
        raise DomainError("；".join(exc.messages)) from exc
    request.save()


def _text(value, *, field: str, message: str, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message, field=field)
    if len(value) > limit:
        raise DomainError(_("内容不能超过 %(n)d 个字。") % {"n": limit}, field=field)
    return value


def _move(request: ServiceRequest, to_status: str) -> str:
    """Check the state machine and set the new status; returns the old status."""
    check_transition(request, to_status)
    from_status = request.status
    request.status = to_status
    return from_status


# ---------------------------------------------------------------- staff: state changes
@transaction.atomic
def request_accept(*, actor, request: ServiceRequest, assignee=None) -> ServiceRequest:
    """submitted → accepted; the requester sees which org handles it. `assignee` None keeps the current one."""
    _check_actor(actor, request)
    locked = _lock(request)
    before = _values(locked)
    from_status = _move(locked, RequestStatus.ACCEPTED)
    assigned = assignee is not None and assignee.pk != locked.assignee_id
    if assigned:
        _check_assignee(locked, assignee)
        locked.assignee = assignee
    now = timezone.now()
    locked.accepted_at = now
    _save(locked)
    org = locked.responsible_org
    timeline_add(request=locked, kind=EntryKind.ACCEPTED, actor=actor, public=True, from_status=from_status,
                 to_status=locked.status, body=_("已受理，承办单位：%(org)s") % {"org": org.name}, at=now)
    if assigned:
        timeline_add(request=locked, kind=EntryKind.ASSIGNED, actor=actor, body=_("经办人：%(user)s") % {"user": assignee}, at=now)
    _audit(actor, "accept", locked, before)
    return locked


@transaction.atomic
def request_start(*, actor, request: ServiceRequest) -> ServiceRequest:
    """accepted | reopened → in_progress."""
    _check_actor(actor, request)
    locked = _lock(request)
    before = _values(locked)
    from_status = _move(locked, RequestStatus.IN_PROGRESS)
    _save(locked)
    timeline_add(request=locked, kind=EntryKind.STARTED, actor=actor, public=True, from_status=from_status,
                 to_status=locked.status, body=_("正在办理"))
    _audit(actor, "start", locked, before)
    return locked


@transaction.atomic
def request_resolve(*, actor, request: ServiceRequest, reply: str) -> ServiceRequest:
    """accepted | in_progress | reopened → resolved, with the reply the requester reads (required)."""
    _check_actor(actor, request)
    reply = _text(reply, field="reply", message=_("办结须填写答复内容。"))
    locked = _lock(request)
    before = _values(locked)
    from_status = _move(locked, RequestStatus.RESOLVED)
    now = timezone.now()
    locked.resolved_at = now
    _save(locked)
    entry = timeline_add(request=locked, kind=EntryKind.RESOLVED, actor=actor, public=True, from_status=from_status,
                         to_status=locked.status, body=reply, at=now)
    _audit(actor, "resolve", locked, before, timeline_entry=[None, entry.pk])
    return locked


@transaction.atomic
def request_reject(*, actor, request: ServiceRequest, reason: str, redirect_to: str) -> ServiceRequest:
    """submitted | accepted | in_progress → rejected: never without a reason and where to go instead."""
    _check_actor(actor, request)
    reason = _text(reason, field="reason", message=_("不予受理须说明理由。"))
    redirect_to = _text(redirect_to, field="redirect_to", message=_("请告知提出人可以到哪里办理。"), limit=200)
    locked = _lock(request)
    before = _values(locked)
    from_status = _move(locked, RequestStatus.REJECTED)
    locked.reject_reason = reason
    locked.redirect_to = redirect_to
    _save(locked)
    timeline_add(request=locked, kind=EntryKind.REJECTED, actor=actor, public=True, from_status=from_status,
                 to_status=locked.status,
                 body=_("不予受理。理由：%(reason)s；建议办理渠道：%(where)s") % {"reason": reason, "where": redirect_to})
    _audit(actor, "reject", locked, before)
    return locked


# ---------------------------------------------------------------- staff: routing and people
def reroute_allowed(*, actor, request: ServiceRequest, org: Organization) -> bool:
    """An active org other than the current one, in the actor's change scope or the current org's parent."""
    if org is None or org.status != OrgStatus.ACTIVE or org.pk == request.responsible_org_id:
        return False
    if org.kind == OrgKind.PARTY_GROUP:
        return False  # a Party group is not a body that handles requests
    if actor.is_superuser:
        return True
    current = request.responsible_org
    if current.depth > 1 and org.path == current.path[: -current.steplen]:
        return True  # send up (上报) to the parent, even outside the actor's own grants
    return any(org.path.startswith(path) for path in grant_paths(actor, "service_request.change"))


@transaction.atomic
def request_reroute(*, actor, request: ServiceRequest, org: Organization, reason: str) -> ServiceRequest:
    """Hand an open request to another org (改派); resets assignee and escalation."""
    _check_actor(actor, request)
    reason = _text(reason, field="reason", message=_("改派须说明原因。"))
    locked = _lock(request)
    if locked.status not in OPEN_STATUSES:
        raise ConflictError(_("诉求当前为“%(status)s”，不能改派。") % {"status": locked.get_status_display()})
    org = Organization.objects.filter(pk=getattr(org, "pk", None)).first()
    if org is None:
        raise DomainError(_("请选择承办党组织。"), field="org")
    if org.pk == locked.responsible_org_id:
        raise DomainError(_("诉求已由该党组织承办，请选择其他党组织。"), field="org")
    if org.status != OrgStatus.ACTIVE:
        raise DomainError(_("该党组织已撤销，不能承办诉求。"), field="org")
    if org.kind == OrgKind.PARTY_GROUP:
        raise DomainError(_("党小组不能承办诉求，请选择党支部或上级党组织。"), field="org")
    if not reroute_allowed(actor=actor, request=locked, org=org):
        raise DomainError(_("只能改派到您管理范围内的党组织，或上报上级党组织。"), field="org")
    from_org = locked.responsible_org
    before = _values(locked)
    locked.responsible_org = org
    locked.assignee = None
    locked.escalation_level = 0
    locked.escalated_to = None
    _save(locked)
    timeline_add(request=locked, kind=EntryKind.REROUTED, actor=actor, from_org=from_org, to_org=org,
                 body=_("由%(from)s改派至%(to)s。原因：%(reason)s") % {"from": from_org.name, "to": org.name, "reason": reason})
    timeline_add(request=locked, kind=EntryKind.REROUTED, actor=actor, public=True,
                 body=_("已转交%(org)s办理") % {"org": org.name})
    _audit(actor, "reroute", locked, before, org=from_org, note=reason)  # placed where it was: who let it go
    return locked


def _check_assignee(request: ServiceRequest, assignee) -> None:
    from services.selectors.requests import assignable_users

    if not assignable_users(request).filter(pk=assignee.pk).exists():
        raise DomainError(_("经办人须是承办党组织或其上级中有办理权限的人员。"), field="assignee")


@transaction.atomic
def request_assign(*, actor, request: ServiceRequest, assignee=None) -> ServiceRequest:
    """Set (or with None, clear) the person handling an open request."""
    _check_actor(actor, request)
    locked = _lock(request)
    if locked.status not in OPEN_STATUSES:
        raise ConflictError(_("诉求当前为“%(status)s”，不能指定经办人。") % {"status": locked.get_status_display()})
    if assignee is not None:
        _check_assignee(locked, assignee)
    if (assignee.pk if assignee else None) == locked.assignee_id:
        raise DomainError(_("经办人没有变化。"), field="assignee")
    before = _values(locked)
    locked.assignee = assignee
    _save(locked)
    body = _("经办人：%(user)s") % {"user": assignee} if assignee else _("已取消指定经办人")
    timeline_add(request=locked, kind=EntryKind.ASSIGNED, actor=actor, body=body)
    _audit(actor, "assign", locked, before)
    return locked


@transaction.atomic
def request_set_priority(*, actor, request: ServiceRequest, priority: str, reason: str = "") -> ServiceRequest:
    _check_actor(actor, request)
    if priority not in Priority.values:
        raise DomainError(_("请选择优先级。"), field="priority")
    reason = (reason or "").strip()[:MAX_TEXT]
    locked = _lock(request)
    if locked.priority == priority:
        raise DomainError(_("优先级没有变化。"), field="priority")
    values = _values(locked)
    before = locked.get_priority_display()
    locked.priority = priority
    _save(locked)
    body = _("优先级：%(from)s → %(to)s") % {"from": before, "to": locked.get_priority_display()}
    if reason:
        body += _("。原因：%(reason)s") % {"reason": reason}
    timeline_add(request=locked, kind=EntryKind.PRIORITY, actor=actor, body=body)
    _audit(actor, "set_priority", locked, values, **({"note": reason} if reason else {}))
    return locked


# ---------------------------------------------------------------- staff: notes, replies, reveal
@transaction.atomic
def request_add_note(*, actor, request: ServiceRequest, body: str):
    """An internal note (the requester never sees it); allowed in any status."""
    _check_actor(actor, request)
    body = _text(body, field="body", message=_("请填写备注内容。"))
    locked = _lock(request)
    entry = timeline_add(request=locked, kind=EntryKind.NOTE, actor=actor, body=body)
    _audit(actor, "note", locked, timeline_entry=[None, entry.pk])  # the entry's id, not its text
    return entry


@transaction.atomic
def request_reply(*, actor, request: ServiceRequest, body: str):
    """A reply the requester sees on the tracking page (open or resolved requests)."""
    _check_actor(actor, request)
    body = _text(body, field="body", message=_("请填写回复内容。"))
    locked = _lock(request)
    if locked.status not in (*OPEN_STATUSES, RequestStatus.RESOLVED):
        raise ConflictError(_("诉求当前为“%(status)s”，不能再回复。") % {"status": locked.get_status_display()})
    entry = timeline_add(request=locked, kind=EntryKind.REPLY, actor=actor, public=True, body=body)
    _audit(actor, "reply", locked, timeline_entry=[None, entry.pk])
    return entry


@transaction.atomic
def request_reveal_phone(*, actor, request: ServiceRequest, reason: str) -> str:
    """The requester's full phone for `actor` with service_request.reveal on the request; logged with a reason.
    Only a person reveals (the log names who): SYSTEM is refused like None."""
    require_actor(actor)
    if user_or_none(actor) is None:
        raise ValueError("revealing a requester's phone needs a user, not SYSTEM")
    if not can_change_request(actor, request, "reveal"):
        raise DomainError(_("您没有查看提出人完整联系电话的权限。"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise DomainError(_("请填写查看事由。"), field="reason")
    reason = reason[:200]
    locked = _lock(request)
    RequesterRevealLog.objects.create(actor=actor, request=locked, reason=reason)
    timeline_add(request=locked, kind=EntryKind.REVEALED, actor=actor, body=_("查看事由：%(reason)s") % {"reason": reason})
    _audit(actor, "reveal", locked, note=reason)  # the reason, never the number
    return crypto.decrypt(locked.requester_phone_encrypted)


_PLACEHOLDER = re.compile(r"\{(code|category|org)\}")


def render_reply_template(*, template: ReplyTemplate, request: ServiceRequest) -> str:
    """Fill {code} {category} {org}; any other brace text stays as written.

    A regular expression rather than str.format_map: format_map would also follow "{code.__class__}" and
    fail on a stray "{", and template bodies are edited by people in the portal."""
    values = {"code": request.display_code, "category": request.category.name, "org": request.responsible_org.name}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template.body)


# ---------------------------------------------------------------- the requester (tracking page)
@transaction.atomic
def request_confirm(*, request: ServiceRequest, satisfaction: int, comment: str = "") -> ServiceRequest:
    """resolved → closed by the requester, with a 1..5 satisfaction score. Only the public tracking view calls
    this, after checking the session looked the request up (see the module docstring); never a staff page."""
    try:
        score = int(satisfaction)
    except (TypeError, ValueError):
        score = 0
    if isinstance(satisfaction, bool) or not 1 <= score <= 5:
        raise DomainError(_("请为办理结果打 1 到 5 分。"), field="satisfaction")
    comment = (comment or "").strip()[:MAX_TEXT]
    locked = _lock(request)
    before = _values(locked)
    from_status = _move(locked, RequestStatus.CLOSED)
    now = timezone.now()
    locked.satisfaction = score
    locked.satisfaction_comment = comment
    locked.closed_at = now
    _save(locked)
    body = _("提出人确认办结，满意度 %(n)d 分") % {"n": score}
    if comment:
        body += _("。评价：%(c)s") % {"c": comment}
    timeline_add(request=locked, kind=EntryKind.CLOSED, public=True, by_requester=True, from_status=from_status,
                 to_status=locked.status, body=body, at=now)
    _audit(SYSTEM, "confirm", locked, before, note=PUBLIC_NOTE)  # the requester has no account
    return locked


@transaction.atomic
def request_reopen(*, request: ServiceRequest, reason: str) -> ServiceRequest:
    """resolved → reopened by the requester ("问题未解决"): a new SLA period starts now. Like request_confirm,
    called only by the public tracking view for a session that looked the request up."""
    reason = _text(reason, field="reason", message=_("请说明还有什么问题没有解决。"))
    locked = _lock(request)
    before = _values(locked)
    from_status = _move(locked, RequestStatus.REOPENED)
    now = timezone.now()
    locked.reopen_count += 1
    locked.resolved_at = None
    locked.due_at = sla_due(category=locked.category, start=now)
    locked.escalation_level = 0
    locked.escalated_to = None
    _save(locked)
    timeline_add(request=locked, kind=EntryKind.REOPENED, public=True, by_requester=True, from_status=from_status,
                 to_status=locked.status, body=reason, at=now)
    _audit(SYSTEM, "reopen", locked, before, note=PUBLIC_NOTE)
    return locked


# ---------------------------------------------------------------- the system (beat, step 5)
def escalation_target_level(*, due_at: dt.datetime, now: dt.datetime, sla_hours: int, depth: int) -> int:
    """Levels up an open request should be escalated to: one per started overdue period, capped at the root."""
    if due_at >= now:
        return 0
    periods = math.ceil((now - due_at) / dt.timedelta(hours=sla_hours))
    return min(periods, depth - 1)


@transaction.atomic
def requests_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Escalate overdue open requests to the ancestor `level` steps above the responsible org. Idempotent."""
    now = now or timezone.now()
    candidates = list(
        ServiceRequest.objects.overdue(now).select_related("category", "responsible_org")
        .only("id", "due_at", "escalation_level", "category__sla_hours", "responsible_org__path", "responsible_org__depth")
    )
    targets = {}
    for row in candidates:
        level = escalation_target_level(due_at=row.due_at, now=now, sla_hours=row.category.sla_hours,
                                        depth=row.responsible_org.depth)
        if row.escalation_level < level:
            targets[row.pk] = level
    if not targets:
        return 0
    # Lock only the request rows (of=self: the org join must not lock organizations), re-checked under the lock.
    locked_rows = list(
        ServiceRequest.objects.select_for_update(of=("self",)).select_related("responsible_org")
        .filter(pk__in=targets, status__in=OPEN_STATUSES, due_at__lt=now)
    )
    step = Organization.steplen

    def ancestor_path(row):
        path = row.responsible_org.path
        return path[: len(path) - targets[row.pk] * step]

    ancestors = {org.path: org for org in Organization.objects.filter(path__in={ancestor_path(row) for row in locked_rows})}
    changed = 0
    for row in locked_rows:
        level = targets[row.pk]
        ancestor = ancestors.get(ancestor_path(row))
        if row.escalation_level >= level or ancestor is None:
            continue  # another run got there first
        row.escalation_level = level
        row.escalated_to = ancestor
        _save(row)
        timeline_add(request=row, kind=EntryKind.ESCALATED, at=now, to_org=ancestor,
                     body=_("已逾期，升级至%(org)s督办（第 %(n)d 级）") % {"org": ancestor.name, "n": level})
        changed += 1
    if changed:  # one summary row per run that changed something (the timeline has each request's entry)
        audit_record(actor=SYSTEM, action="service_request.escalate", object_type=ServiceRequest._meta.label_lower,
                     changes={"note": "overdue", "count": changed})
    return changed


@transaction.atomic
def requests_autoclose_resolved(*, now: dt.datetime | None = None) -> int:
    """Close resolved requests the requester has not confirmed within the rule's days (no satisfaction score)."""
    now = now or timezone.now()
    days = rule_int("request_auto_close_days")
    cutoff = now - dt.timedelta(days=days)
    rows = list(ServiceRequest.objects.select_for_update().filter(status=RequestStatus.RESOLVED, resolved_at__lt=cutoff))
    for row in rows:
        row.status = RequestStatus.CLOSED
        row.closed_at = now
        _save(row)
        timeline_add(request=row, kind=EntryKind.AUTO_CLOSED, public=True, from_status=RequestStatus.RESOLVED,
                     to_status=RequestStatus.CLOSED, at=now,
                     body=_("办结后 %(n)d 天内未确认，系统自动关闭") % {"n": days})
    if rows:  # one summary row per run that closed something
        audit_record(actor=SYSTEM, action="service_request.auto_close", object_type=ServiceRequest._meta.label_lower,
                     changes={"note": f"resolved over {days} days", "count": len(rows)})
    return len(rows)
