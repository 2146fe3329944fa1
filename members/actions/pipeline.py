"""The joining pipeline: 入党申请人 → 入党积极分子 → 发展对象 → 预备党员 → 正式党员.

Each step is checked against rule rows (core.rules; seeded by portal/migrations/0003_member_rules.py)
and a refusal says in Chinese which rule failed and, where it helps, the earliest date that would pass.
Every change writes a StageEvent and an AuditEntry (before/after of the stage, dates, training hours).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record, field_values, require_actor, user_or_none
from core.audit import diff as values_diff
from core.dates import add_months
from core.exceptions import DomainError
from core.rules import rule_values
from members.models import Member, Stage, StageEvent

__all__ = ["member_advance", "member_extend_probation", "NEXT_STAGE", "STAGE_DATE_FIELD"]

NEXT_STAGE = {
    Stage.APPLICANT: Stage.ACTIVIST,
    Stage.ACTIVIST: Stage.CANDIDATE,
    Stage.CANDIDATE: Stage.PROBATIONARY,
    Stage.PROBATIONARY: Stage.FULL,
}
# The date field that records entry into each stage.
STAGE_DATE_FIELD = {
    Stage.APPLICANT: "applied_on",
    Stage.ACTIVIST: "activist_on",
    Stage.CANDIDATE: "candidate_on",
    Stage.PROBATIONARY: "admitted_on",
    Stage.FULL: "full_on",
}


def _fmt(day: dt.date) -> str:
    return day.isoformat()


def _out_of_range() -> str:
    return _("党员信息中的日期超出合理范围，无法计算期限，请先在党员信息中更正日期。")


def _locked_member_in_scope(actor, member: Member) -> Member:
    require_actor(actor)
    if not Member.objects.restrict(actor, "change").filter(pk=member.pk).exists():
        raise DomainError(_("您无权办理该党员的发展事项。"))
    return Member.objects.select_for_update().get(pk=member.pk)


def _audit(actor, action: str, member: Member, before: dict) -> None:
    changes = {k: v for k, v in values_diff(before, field_values(member)).items() if k not in ("created_at", "updated_at")}
    audit_record(actor=actor, action=action, obj=member, changes=changes)


def _stage_label(stage: str) -> str:
    return str(Stage(stage).label)


@transaction.atomic
def member_advance(
    *, actor, member: Member, to_stage: str, on: dt.date, training_hours: int | None = None, note: str = "",
) -> Member:
    """Move a member one stage on, effective `on`, after checking the interval rules."""
    member = _locked_member_in_scope(actor, member)
    current = Stage(member.stage)
    expected = NEXT_STAGE.get(current)
    if expected is None:
        raise DomainError(_("%(name)s 已是正式党员，没有下一阶段。") % {"name": member.name}, field="to_stage")
    if to_stage != expected:
        raise DomainError(
            _("只能从“%(current)s”推进到“%(next)s”，不能跳过或倒退。") % {"current": _stage_label(current), "next": _stage_label(expected)},
            field="to_stage",
        )
    if on is None:
        raise DomainError(_("请填写日期。"), field="on")
    if on > timezone.localdate():
        raise DomainError(_("日期不能晚于今天。"), field="on")
    previous_date = getattr(member, STAGE_DATE_FIELD[current])
    if previous_date is None:
        raise DomainError(
            _("缺少“%(stage)s”的日期，请先在党员信息中补充。") % {"stage": _stage_label(current)}, field="on"
        )
    if on < previous_date:
        raise DomainError(
            _("日期不能早于成为“%(stage)s”的日期（%(date)s）。") % {"stage": _stage_label(current), "date": _fmt(previous_date)},
            field="on",
        )
    rules = rule_values("activist_min_months", "candidate_training_hours", "probation_months")
    before = field_values(member)

    if expected == Stage.CANDIDATE:
        months = int(rules["activist_min_months"])
        earliest = add_months(member.activist_on, months)
        if earliest is None:
            raise DomainError(_out_of_range(), field="on")
        if on < earliest:
            raise DomainError(
                _("确定为入党积极分子满%(months)d个月后方可列为发展对象：%(since)s 确定为积极分子，最早 %(earliest)s。")
                % {"months": months, "since": _fmt(member.activist_on), "earliest": _fmt(earliest)},
                field="on",
            )
    elif expected == Stage.PROBATIONARY:
        needed = int(rules["candidate_training_hours"])
        if training_hours is not None:
            if training_hours < 0:
                raise DomainError(_("培训学时不能为负数。"), field="training_hours")
            member.training_hours = training_hours
        if member.training_hours < needed:
            raise DomainError(
                _("发展对象须参加不少于%(needed)d学时的集中培训，目前记录%(done)d学时。")
                % {"needed": needed, "done": member.training_hours},
                field="training_hours",
            )
    elif expected == Stage.FULL:
        ends = add_months(member.admitted_on, int(rules["probation_months"]) + member.probation_extended_months)
        if ends is None:
            raise DomainError(_out_of_range(), field="on")
        if on < ends:
            raise DomainError(
                _("预备期自 %(admitted)s 支部大会通过之日起计算，至 %(ends)s 届满；届满后方可转为正式党员。")
                % {"admitted": _fmt(member.admitted_on), "ends": _fmt(ends)},
                field="on",
            )

    setattr(member, STAGE_DATE_FIELD[expected], on)
    member.stage = expected
    member.save()
    StageEvent.objects.create(
        member=member, from_stage=current, to_stage=expected, happened_on=on, note=(note or "").strip(),
        actor=user_or_none(actor),
    )
    _audit(actor, "member.advance", member, before)
    return member


@transaction.atomic
def member_extend_probation(*, actor, member: Member, months: int, reason: str, on: dt.date | None = None) -> Member:
    """Extend a probationary member's probation, once, by at most the rule's maximum."""
    member = _locked_member_in_scope(actor, member)
    if member.stage != Stage.PROBATIONARY:
        raise DomainError(_("只有预备党员可以延长预备期。"))
    if member.probation_extended_months:
        raise DomainError(
            _("预备期只能延长一次，已于此前延长%(months)d个月。") % {"months": member.probation_extended_months}, field="months"
        )
    maximum = int(rule_values("probation_extension_max_months")["probation_extension_max_months"])
    if months is None or months < 1 or months > maximum:
        raise DomainError(_("延长期限应为1至%(max)d个月。") % {"max": maximum}, field="months")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise DomainError(_("请填写延长预备期的原因（支部大会决议）。"), field="reason")
    before = field_values(member)
    member.probation_extended_months = months
    member.save()
    StageEvent.objects.create(
        member=member, from_stage=Stage.PROBATIONARY, to_stage=Stage.PROBATIONARY, happened_on=on or timezone.localdate(),
        note=_("延长预备期%(months)d个月：%(reason)s") % {"months": months, "reason": reason},
        actor=user_or_none(actor),
    )
    _audit(actor, "member.extend_probation", member, before)
    return member
