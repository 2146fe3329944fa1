"""Transfers of organizational relation (组织关系转接): the state machine.

Kinds and sides
---------------
- ``internal`` (系统内): ``from_org`` and ``to_org`` are both in the tree. The *sending side* is every user
  holding ``transfer.change`` at ``from_org`` or above it; the *receiving side* likewise at ``to_org``.
- ``out`` (转出系统外): ``from_org`` is in the tree, the receiving org is ``external_org_name``. There is no
  receiving side in the system, so the sending side also records the receipt (回执) when the external org
  confirms it, and completes.
- ``in`` (从系统外转入): the letter comes from ``external_org_name`` into ``to_org``. There is no sending side
  in the system, so the receiving side approves (checks the letter), receives and completes.

Steps (who may take each)
-------------------------
=========  ===============  ======================  ===========================================
step       from status      internal                out / in
=========  ===============  ======================  ===========================================
request    (new)            sending side (add)      out: sending side (add); in: receiving (add)
approve    requested        sending side            out: sending side; in: receiving side
receive    approved         receiving side          out: sending side (回执); in: receiving side
complete   received         receiving side          out: sending side; in: receiving side
return     any open         either side, reason     the side in the system, reason required
withdraw   requested/appr.  the requester only      the requester only
expire     any open         the system (beat)       the system (beat)
=========  ===============  ======================  ===========================================

Refusing without cause is not allowed, so 退回 needs a reason. Superusers act as both sides.

The letter (介绍信): its number is given at approval for ``internal``/``out`` (generated when left blank)
and at the request for ``in`` (it is the outside org's letter). Its validity is a rule row
(``letter_validity_months``, ``letter_validity_cross_province_months``) counted from the approval, or from
the request for ``in``. Once it has lapsed no step but return/withdraw is taken; ``transfers_expire`` (a
beat task, members.tasks) closes lapsed transfers as expired.

The member's record
-------------------
The member's org changes exactly once, at completion, in the same transaction as the ``MemberOrgHistory``
row (one per transfer: a OneToOne). Until then the sending org stays responsible (DOMAIN.md).

- ``internal``: ``member.org`` becomes ``to_org``.
- ``in``: ``member.org`` becomes ``to_org`` and the relation becomes 组织关系在本支部 (the person was registered
  beforehand as a mobile or pocket member, which is the precondition of requesting it).
- ``out``: nothing is deleted. The row stays under ``from_org`` (the last org in the system that held the
  relation, so its staff keep the record and history) with relation kind 流动党员（关系在外） and
  ``home_org_name`` = the external org: like every relation-elsewhere member it no longer counts toward the
  org's size or coverage. Whether the person still takes part here, or the record is archived, is for the
  branch to decide through the registry.

Concurrency: every step locks the transfer row (``select_for_update``) and re-checks status and (when the
caller passes what it saw) ``version`` inside the transaction; a loser gets ``ConflictError`` and nothing
is applied twice. One open transfer per member is a database constraint, checked first for a clear message.

Audit: every step writes one AuditEntry for the transfer ("transfer.<step>", before/after of status,
version, letter...), placed at the sending org (the receiving org for ``in``); completion also writes
"member.transfer" for the member's changed org/relation. Every step needs an actor: a user, or
core.audit.SYSTEM (the beat's expiry); a request and a withdrawal are a person's (SYSTEM is refused).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import audit_record, field_values, require_actor, user_or_none
from core.audit import diff as values_diff
from core.dates import add_months
from core.exceptions import ConflictError, DomainError
from core.rules import rule_values
from members.models import (
    OPEN_TRANSFER_STATUSES,
    Member,
    MemberOrgHistory,
    RelationKind,
    Transfer,
    TransferEvent,
    TransferEventKind,
    TransferKind,
    TransferStatus,
)
from orgs.models import Organization, OrgStatus
from orgs.scoping import grant_paths

__all__ = [
    "SENDING", "RECEIVING", "STEPS", "STEP_LABELS", "acting_side", "transfer_sides", "transfer_available_steps",
    "transfer_request", "transfer_approve", "transfer_receive", "transfer_complete", "transfer_return",
    "transfer_withdraw", "transfers_expire", "add_months",
]

SENDING, RECEIVING = "sending", "receiving"

# step -> (status it starts from, status it leads to, event kind)
STEPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "approve": ((TransferStatus.REQUESTED,), TransferStatus.APPROVED, TransferEventKind.APPROVED),
    "receive": ((TransferStatus.APPROVED,), TransferStatus.RECEIVED, TransferEventKind.RECEIVED),
    "complete": ((TransferStatus.RECEIVED,), TransferStatus.COMPLETED, TransferEventKind.COMPLETED),
    "return": (OPEN_TRANSFER_STATUSES, TransferStatus.RETURNED, TransferEventKind.RETURNED),
    "withdraw": ((TransferStatus.REQUESTED, TransferStatus.APPROVED), TransferStatus.WITHDRAWN, TransferEventKind.WITHDRAWN),
}
STEP_LABELS = {
    "approve": gettext_lazy("审批"), "receive": gettext_lazy("接收"), "complete": gettext_lazy("办结"),
    "return": gettext_lazy("退回"), "withdraw": gettext_lazy("撤回"),
}


def acting_side(kind: str, status: str) -> str | None:
    """Which side takes the next forward step of an open transfer (the inbox's rule)."""
    if status not in OPEN_TRANSFER_STATUSES:
        return None
    if kind == TransferKind.OUT:
        return SENDING
    if kind == TransferKind.IN:
        return RECEIVING
    return SENDING if status == TransferStatus.REQUESTED else RECEIVING


def _under(org: Organization | None, paths: list[str]) -> bool:
    return org is not None and any(org.path.startswith(path) for path in paths)


def transfer_sides(*, actor, transfer: Transfer, perm: str = "transfer.change") -> set[str]:
    """The sides of `transfer` on which `actor` holds `perm` (at the org or above it). No actor: no side."""
    if actor is None:
        return set()
    if actor.is_superuser:
        return {side for side, org in ((SENDING, transfer.from_org), (RECEIVING, transfer.to_org)) if org is not None}
    paths = grant_paths(actor, perm)
    sides = set()
    if _under(transfer.from_org, paths):
        sides.add(SENDING)
    if _under(transfer.to_org, paths):
        sides.add(RECEIVING)
    return sides


def transfer_available_steps(*, actor, transfer: Transfer) -> list[str]:
    """Steps `actor` may take now (for buttons); the actions check the same rules again under a lock."""
    if not transfer.is_open:
        return []
    sides = transfer_sides(actor=actor, transfer=transfer)
    steps = []
    side = acting_side(transfer.kind, transfer.status)
    for step, (from_statuses, _to, _event) in STEPS.items():
        if transfer.status not in from_statuses:
            continue
        if step in ("approve", "receive", "complete") and side in sides:
            steps.append(step)
        elif step == "return" and sides:
            steps.append(step)
        elif step == "withdraw" and user_or_none(actor) is not None and transfer.requested_by_id == actor.pk:
            steps.append(step)
    return steps


def _event(transfer: Transfer, kind: str, *, actor, reason: str = "", at=None) -> TransferEvent:
    return TransferEvent.objects.create(
        transfer=transfer, kind=kind, actor=user_or_none(actor), reason=reason or "",
        created_at=at or timezone.now(),
    )


def _values(obj) -> dict:
    return {k: v for k, v in field_values(obj).items() if k not in ("created_at", "updated_at")}


def _audit(actor, step: str, transfer: Transfer, before: dict) -> None:
    """The transfer's AuditEntry, placed at the org in the system that holds the member's relation."""
    org = transfer.from_org if transfer.from_org_id else transfer.to_org
    audit_record(actor=actor, action=f"transfer.{step}", obj=transfer, org=org, changes=values_diff(before, _values(transfer)))


def _letter_valid_until(start: dt.date, cross_province: bool) -> dt.date:
    rules = rule_values("letter_validity_months", "letter_validity_cross_province_months")
    months = rules["letter_validity_cross_province_months" if cross_province else "letter_validity_months"]
    until = add_months(start, int(months))
    if until is None:
        raise DomainError(_("介绍信有效期超出可计算的日期范围。"))
    return until


def _lock(transfer: Transfer, *, expected_version: int | None) -> Transfer:
    """Lock the row and reload it: what the caller saw may be stale."""
    try:
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    except Transfer.DoesNotExist:
        raise ConflictError(_("该转接已不存在。")) from None
    if expected_version is not None and locked.version != expected_version:
        raise ConflictError(_("该转接刚刚已被他人处理，请刷新页面查看最新状态。"))
    # related orgs for the side checks (not locked: only the transfer row decides)
    locked.from_org = Organization.objects.get(pk=locked.from_org_id) if locked.from_org_id else None
    locked.to_org = Organization.objects.get(pk=locked.to_org_id) if locked.to_org_id else None
    return locked


def _check_status(transfer: Transfer, step: str) -> None:
    from_statuses = STEPS[step][0]
    if transfer.status not in from_statuses:
        raise ConflictError(
            _("该转接当前状态为“%(status)s”，不能%(step)s（可能已被他人处理，请刷新）。")
            % {"status": transfer.get_status_display(), "step": STEP_LABELS[step]}
        )


def _check_letter(transfer: Transfer, today: dt.date) -> None:
    if transfer.letter_valid_until is not None and transfer.letter_valid_until < today:
        raise DomainError(
            _("介绍信已于%(date)s过期，请退回后重新办理。") % {"date": transfer.letter_valid_until.isoformat()}
        )


def _forward(*, actor, transfer: Transfer, step: str, expected_version: int | None,
             today: dt.date | None) -> tuple[Transfer, dt.date]:
    """Lock, check status, side and letter for a forward step (approve/receive/complete)."""
    require_actor(actor)
    today = today or timezone.localdate()
    transfer = _lock(transfer, expected_version=expected_version)
    _check_status(transfer, step)
    side = acting_side(transfer.kind, transfer.status)
    if side not in transfer_sides(actor=actor, transfer=transfer):
        who = _("转出方") if side == SENDING else _("接收方")
        raise DomainError(_("只有%(who)s党组织的管理人员可以%(step)s该转接。") % {"who": who, "step": STEP_LABELS[step]})
    _check_letter(transfer, today)
    return transfer, today


def _move(transfer: Transfer, step: str, *, actor, reason: str = "", close: bool = False, **changes) -> Transfer:
    """Apply a step to a locked transfer: new status, version + 1, the event row, the audit row."""
    before = _values(transfer)
    transfer.status = STEPS[step][1]
    transfer.version += 1
    for field, value in changes.items():
        setattr(transfer, field, value)
    now = timezone.now()
    if close:
        transfer.closed_at = now
    transfer.save()
    _event(transfer, STEPS[step][2], actor=actor, reason=reason, at=now)
    _audit(actor, step, transfer, before)
    return transfer


# ---------------------------------------------------------------- request
def _check_can_request(actor, kind: str, member: Member, from_org, to_org) -> None:
    if not Member.objects.restrict(actor, "view").filter(pk=member.pk).exists():
        raise DomainError(_("该党员不在您的管理范围内。"))
    requester_org = to_org if kind == TransferKind.IN else from_org
    if not actor.is_superuser and not _under(requester_org, grant_paths(actor, "transfer.add")):
        if kind == TransferKind.IN:
            raise DomainError(_("只有接收党组织的管理人员可以申请转入。"), field="to_org")
        raise DomainError(_("只有党员所在党组织的管理人员可以申请转出。"))


@transaction.atomic
def transfer_request(
    *, actor, member: Member, kind: str, reason: str, dues_paid_until: dt.date | None,
    to_org: Organization | None = None, external_org_name: str = "", cross_province: bool = False,
    letter_number: str = "", today: dt.date | None = None,
) -> Transfer:
    """Open a transfer for `member`. internal/out start from the member's org; in ends in `to_org`.
    The requester is a person (Transfer.requested_by): SYSTEM is refused."""
    require_actor(actor)
    if user_or_none(actor) is None:
        raise ValueError("transfer_request needs a user: the requester is recorded (Transfer.requested_by)")
    today = today or timezone.localdate()
    member = Member.objects.select_for_update().select_related("org").get(pk=member.pk)
    reason = (reason or "").strip()
    external_org_name = (external_org_name or "").strip()
    letter_number = (letter_number or "").strip()
    if kind not in TransferKind.values:
        raise DomainError(_("请选择转接类型。"), field="kind")
    if not reason:
        raise DomainError(_("请填写转接原因。"), field="reason")
    if dues_paid_until is None:
        raise DomainError(_("请填写党费交至日期。"), field="dues_paid_until")
    if dues_paid_until > (add_months(today, 12) or dt.date.max):
        raise DomainError(_("党费交至日期不合理（超过一年以后）。"), field="dues_paid_until")

    from_org = None
    if kind in (TransferKind.INTERNAL, TransferKind.OUT):
        from_org = member.org
        if member.relation_kind == RelationKind.MOBILE:
            raise DomainError(_("流动党员的组织关系不在本系统，不能从这里转出。"))
    if kind == TransferKind.IN:
        if to_org is None:
            to_org = member.org
        if member.relation_kind not in (RelationKind.MOBILE, RelationKind.POCKET):
            raise DomainError(_("只有组织关系在系统外的党员（流动党员、口袋党员）才能办理转入。"))
        if not letter_number:
            raise DomainError(_("请填写系统外党组织开具的介绍信编号。"), field="letter_number")
    if kind == TransferKind.OUT:
        to_org = None
    if kind in (TransferKind.OUT, TransferKind.IN):
        if not external_org_name:
            raise DomainError(_("请填写系统外党组织名称。"), field="external_org_name")
    else:
        external_org_name = ""
        if to_org is None:
            raise DomainError(_("请选择接收党组织。"), field="to_org")
        if to_org.pk == from_org.pk:
            raise DomainError(_("接收党组织不能是党员当前所在的党组织。"), field="to_org")
    if to_org is not None:
        to_org = Organization.objects.get(pk=to_org.pk)
        if to_org.status != OrgStatus.ACTIVE:
            raise DomainError(_("接收党组织已撤销，请重新选择。"), field="to_org")
    _check_can_request(actor, kind, member, from_org, to_org)
    if Transfer.objects.filter(member=member, status__in=OPEN_TRANSFER_STATUSES).exists():
        raise DomainError(_("该党员已有一笔正在办理的组织关系转接，请先办结、退回或撤回。"))

    now = timezone.now()
    transfer = Transfer(
        member=member, kind=kind, from_org=from_org, to_org=to_org, external_org_name=external_org_name,
        cross_province=bool(cross_province), dues_paid_until=dues_paid_until, reason=reason,
        requested_by=actor, requested_at=now, status=TransferStatus.REQUESTED,
        letter_number=letter_number if kind == TransferKind.IN else "",
        letter_valid_until=_letter_valid_until(today, cross_province) if kind == TransferKind.IN else None,
    )
    try:
        transfer.full_clean(exclude=["member", "from_org", "to_org", "requested_by"], validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc
    try:
        with transaction.atomic():
            transfer.save()
    except IntegrityError as exc:  # a concurrent request for the same member won the unique constraint
        raise ConflictError(_("该党员已有一笔正在办理的组织关系转接，请先办结、退回或撤回。")) from exc
    _event(transfer, TransferEventKind.REQUESTED, actor=actor, reason=reason, at=now)
    _audit(actor, "request", transfer, {})
    return transfer


# ---------------------------------------------------------------- forward steps
@transaction.atomic
def transfer_approve(
    *, actor, transfer: Transfer, letter_number: str = "", reason: str = "",
    expected_version: int | None = None, today: dt.date | None = None,
) -> Transfer:
    """The sending side approves and issues the letter (for `in`: the receiving side accepts the outside letter)."""
    transfer, today = _forward(actor=actor, transfer=transfer, step="approve", expected_version=expected_version, today=today)
    changes = {}
    if transfer.kind != TransferKind.IN:
        number = (letter_number or "").strip() or f"ZJ{today:%Y}{transfer.pk:06d}"
        if Transfer.objects.filter(letter_number=number).exclude(pk=transfer.pk).exists():
            raise DomainError(_("介绍信编号“%(n)s”已被使用。") % {"n": number}, field="letter_number")
        changes = {"letter_number": number, "letter_valid_until": _letter_valid_until(today, transfer.cross_province)}
    return _move(transfer, "approve", actor=actor, reason=(reason or "").strip(), **changes)


@transaction.atomic
def transfer_receive(
    *, actor, transfer: Transfer, reason: str = "", expected_version: int | None = None, today: dt.date | None = None,
) -> Transfer:
    """The receiving side accepts the letter (for `out`: the sending side records the outside org's receipt)."""
    transfer, today = _forward(actor=actor, transfer=transfer, step="receive", expected_version=expected_version, today=today)
    return _move(transfer, "receive", actor=actor, reason=(reason or "").strip())


@transaction.atomic
def transfer_complete(
    *, actor, transfer: Transfer, reason: str = "", expected_version: int | None = None, today: dt.date | None = None,
) -> Transfer:
    """Close the transfer and move the member's relation: the one place a transfer changes `member.org`."""
    transfer, today = _forward(actor=actor, transfer=transfer, step="complete", expected_version=expected_version, today=today)
    member = Member.objects.select_for_update().get(pk=transfer.member_id)
    if transfer.from_org_id is not None and member.org_id != transfer.from_org_id:
        raise ConflictError(_("该党员的所在党组织已发生变化，请退回后重新办理。"))
    old_org_id = member.org_id
    member_before = _values(member)
    if transfer.kind == TransferKind.INTERNAL:
        member.org = transfer.to_org
    elif transfer.kind == TransferKind.IN:
        member.org = transfer.to_org
        member.relation_kind = RelationKind.HELD
        member.home_org_name = ""
        member.letter_number = ""
    else:  # out: the record stays, the relation is elsewhere now (module docstring)
        member.relation_kind = RelationKind.MOBILE
        member.home_org_name = transfer.external_org_name
        member.letter_number = transfer.letter_number
    member.save()
    transfer = _move(transfer, "complete", actor=actor, reason=(reason or "").strip(), close=True)
    MemberOrgHistory.objects.create(
        member=member, transfer=transfer,
        from_org_id=old_org_id if transfer.kind != TransferKind.IN else None,
        to_org=transfer.to_org, external_org_name=transfer.external_org_name, happened_at=transfer.closed_at,
    )
    audit_record(actor=actor, action="member.transfer", obj=member, changes={
        **values_diff(member_before, _values(member)), "transfer": [None, transfer.pk],
    })
    return transfer


# ---------------------------------------------------------------- closing without completion
@transaction.atomic
def transfer_return(
    *, actor, transfer: Transfer, reason: str, expected_version: int | None = None,
) -> Transfer:
    """Either side sends the transfer back (退回); refusing without cause is not allowed."""
    require_actor(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("退回须填写原因。"), field="reason")
    transfer = _lock(transfer, expected_version=expected_version)
    _check_status(transfer, "return")
    if not transfer_sides(actor=actor, transfer=transfer):
        raise DomainError(_("只有转出方或接收方党组织的管理人员可以退回该转接。"))
    return _move(transfer, "return", actor=actor, reason=reason, close=True)


@transaction.atomic
def transfer_withdraw(
    *, actor, transfer: Transfer, reason: str = "", expected_version: int | None = None,
) -> Transfer:
    """The requester takes the request back, before the receiving side has received it."""
    require_actor(actor)
    transfer = _lock(transfer, expected_version=expected_version)
    _check_status(transfer, "withdraw")
    if user_or_none(actor) is None or transfer.requested_by_id != actor.pk:
        raise DomainError(_("只有申请人本人可以撤回该转接。"))
    if not actor.is_superuser and not Transfer.objects.restrict(actor, "view").filter(pk=transfer.pk).exists():
        raise DomainError(_("您已不再管理该转接涉及的党组织，不能撤回。"))
    return _move(transfer, "withdraw", actor=actor, reason=(reason or "").strip(), close=True)


def transfers_expire(*, actor, today: dt.date | None = None) -> int:
    """Close open transfers whose letter lapsed before `today` (beat task, actor SYSTEM; idempotent).
    Returns how many; each expiry writes its TransferEvent and AuditEntry ("transfer.expire")."""
    require_actor(actor)
    today = today or timezone.localdate()
    candidates = list(
        Transfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES, letter_valid_until__lt=today).values_list("pk", flat=True)
    )
    expired = 0
    for pk in candidates:  # one short transaction each: a lock held on one row does not stall the rest
        with transaction.atomic():
            transfer = Transfer.objects.select_for_update().filter(pk=pk).first()
            if transfer is None or not transfer.is_open or transfer.letter_valid_until is None or transfer.letter_valid_until >= today:
                continue
            before = _values(transfer)
            transfer.status = TransferStatus.EXPIRED
            transfer.version += 1
            transfer.closed_at = timezone.now()
            transfer.save()
            _event(transfer, TransferEventKind.EXPIRED, actor=actor,
                   reason=_("介绍信已于%(date)s过期。") % {"date": transfer.letter_valid_until.isoformat()},
                   at=transfer.closed_at)
            _audit(actor, "expire", transfer, before)
            expired += 1
    return expired
