"""The joining pipeline: each transition, each refusal with its message, rule rows, derived dates."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from core.exceptions import DomainError
from members.actions import member_advance, member_extend_probation
from members.models import Member, Stage, StageEvent
from members.selectors import pipeline_dates
from tests.factories import MemberFactory, set_rule

pytestmark = pytest.mark.django_db

D = dt.date


def _member(world, **kwargs):
    kwargs.setdefault("org", world.jb)
    return MemberFactory(**kwargs)


def _refusal(**kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        member_advance(**kwargs)
    return info.value


def test_applicant_becomes_activist_and_history_is_written(world):
    m = _member(world, stage=Stage.APPLICANT, applied_on=D(2025, 1, 10))
    m = member_advance(actor=world.secretary, member=m, to_stage=Stage.ACTIVIST, on=D(2025, 4, 1), note="支委会研究确定")
    m.refresh_from_db()
    assert m.stage == Stage.ACTIVIST and m.activist_on == D(2025, 4, 1)
    event = StageEvent.objects.get(member=m)
    assert (event.from_stage, event.to_stage, event.happened_on, event.actor) == (Stage.APPLICANT, Stage.ACTIVIST, D(2025, 4, 1), world.secretary)
    assert event.note == "支委会研究确定"


def test_stages_cannot_be_skipped_or_reversed(world):
    m = _member(world, stage=Stage.APPLICANT, applied_on=D(2025, 1, 10))
    error = _refusal(actor=world.secretary, member=m, to_stage=Stage.CANDIDATE, on=D(2025, 4, 1))
    assert "只能从“入党申请人”推进到“入党积极分子”" in str(error.message)
    full = _member(world, stage=Stage.FULL)
    assert "没有下一阶段" in str(_refusal(actor=world.secretary, member=full, to_stage=Stage.FULL, on=D(2025, 4, 1)).message)


def test_activist_needs_a_year_and_the_message_gives_the_earliest_date(world):
    m = _member(world, stage=Stage.ACTIVIST, applied_on=D(2023, 9, 1), activist_on=D(2024, 3, 31))
    error = _refusal(actor=world.secretary, member=m, to_stage=Stage.CANDIDATE, on=D(2025, 3, 30))
    assert error.field == "on"
    assert "满12个月" in str(error.message) and "2024-03-31" in str(error.message) and "最早 2025-03-31" in str(error.message)
    m = member_advance(actor=world.secretary, member=m, to_stage=Stage.CANDIDATE, on=D(2025, 3, 31))
    assert m.stage == Stage.CANDIDATE and Member.objects.get(pk=m.pk).candidate_on == D(2025, 3, 31)


def test_changing_the_activist_rule_row_changes_the_check(world):
    m = _member(world, stage=Stage.ACTIVIST, activist_on=D(2024, 3, 31))
    set_rule("activist_min_months", 6)
    assert member_advance(actor=world.secretary, member=m, to_stage=Stage.CANDIDATE, on=D(2024, 10, 1)).stage == Stage.CANDIDATE


def test_candidate_needs_training_hours(world):
    m = _member(world, stage=Stage.CANDIDATE, activist_on=D(2023, 3, 1), candidate_on=D(2024, 4, 1), training_hours=20)
    error = _refusal(actor=world.secretary, member=m, to_stage=Stage.PROBATIONARY, on=D(2024, 10, 1))
    assert error.field == "training_hours"
    assert "不少于24学时" in str(error.message) and "20学时" in str(error.message)
    m = member_advance(actor=world.secretary, member=m, to_stage=Stage.PROBATIONARY, on=D(2024, 10, 1), training_hours=24)
    m.refresh_from_db()
    assert (m.stage, m.admitted_on, m.training_hours) == (Stage.PROBATIONARY, D(2024, 10, 1), 24)


def test_changing_the_training_rule_row_changes_the_check(world):
    m = _member(world, stage=Stage.CANDIDATE, candidate_on=D(2024, 4, 1), training_hours=20)
    set_rule("candidate_training_hours", 16)
    assert member_advance(actor=world.secretary, member=m, to_stage=Stage.PROBATIONARY, on=D(2024, 10, 1)).stage == Stage.PROBATIONARY


def test_probation_lasts_a_year_from_the_vote(world):
    m = _member(world, stage=Stage.PROBATIONARY, admitted_on=D(2024, 7, 1))
    error = _refusal(actor=world.secretary, member=m, to_stage=Stage.FULL, on=D(2025, 6, 30))
    assert "至 2025-07-01 届满" in str(error.message)
    m = member_advance(actor=world.secretary, member=m, to_stage=Stage.FULL, on=D(2025, 7, 1))
    assert Member.objects.get(pk=m.pk).full_on == D(2025, 7, 1)


def test_probation_rule_row_changes_the_end(world):
    m = _member(world, stage=Stage.PROBATIONARY, admitted_on=D(2024, 7, 1))
    set_rule("probation_months", 18)
    assert "2026-01-01" in str(_refusal(actor=world.secretary, member=m, to_stage=Stage.FULL, on=D(2025, 7, 1)).message)


def test_extension_once_within_the_maximum_moves_the_end(world):
    m = _member(world, stage=Stage.PROBATIONARY, admitted_on=D(2024, 7, 1))
    with pytest.raises(DomainError, match="1至12个月"):
        member_extend_probation(actor=world.secretary, member=m, months=13, reason="支部大会决议延长")
    with pytest.raises(DomainError, match="原因"):
        member_extend_probation(actor=world.secretary, member=m, months=6, reason=" ")
    m = member_extend_probation(actor=world.secretary, member=m, months=6, reason="支部大会决议延长", on=D(2025, 6, 20))
    assert m.probation_extended_months == 6
    assert StageEvent.objects.filter(member=m, note__contains="延长预备期6个月").exists()
    with pytest.raises(DomainError, match="只能延长一次"):
        member_extend_probation(actor=world.secretary, member=m, months=3, reason="再次延长")
    assert "2026-01-01" in str(_refusal(actor=world.secretary, member=m, to_stage=Stage.FULL, on=D(2025, 12, 31)).message)
    assert member_advance(actor=world.secretary, member=m, to_stage=Stage.FULL, on=D(2026, 1, 1)).stage == Stage.FULL


def test_extension_maximum_is_a_rule_row_and_only_for_probationary(world):
    set_rule("probation_extension_max_months", 3)
    m = _member(world, stage=Stage.PROBATIONARY, admitted_on=D(2024, 7, 1))
    with pytest.raises(DomainError, match="1至3个月"):
        member_extend_probation(actor=world.secretary, member=m, months=6, reason="决议延长")
    with pytest.raises(DomainError, match="只有预备党员"):
        member_extend_probation(actor=world.secretary, member=_member(world, stage=Stage.FULL), months=3, reason="决议延长")


def test_dates_must_be_in_order_and_not_in_the_future(world):
    with time_machine.travel(dt.datetime(2025, 5, 1, 12, 0), tick=False):
        m = _member(world, stage=Stage.APPLICANT, applied_on=D(2025, 1, 10))
        assert "晚于今天" in str(_refusal(actor=world.secretary, member=m, to_stage=Stage.ACTIVIST, on=D(2025, 5, 2)).message)
        assert "早于" in str(_refusal(actor=world.secretary, member=m, to_stage=Stage.ACTIVIST, on=D(2025, 1, 9)).message)
        no_date = _member(world, stage=Stage.APPLICANT)
        assert "缺少" in str(_refusal(actor=world.secretary, member=no_date, to_stage=Stage.ACTIVIST, on=D(2025, 4, 1)).message)


def test_out_of_scope_member_cannot_be_advanced(world):
    other = MemberFactory(org=world.br_f, stage=Stage.APPLICANT, applied_on=D(2025, 1, 10))
    assert "无权" in str(_refusal(actor=world.secretary, member=other, to_stage=Stage.ACTIVIST, on=D(2025, 4, 1)).message)
    assert Member.objects.get(pk=other.pk).stage == Stage.APPLICANT
    with pytest.raises(DomainError, match="无权"):
        member_extend_probation(actor=world.viewer, member=_member(world, stage=Stage.PROBATIONARY, admitted_on=D(2025, 1, 1)),
                                months=3, reason="决议延长")


# ---------------------------------------------------------------- derived dates
def test_activist_dates(world):
    m = _member(world, stage=Stage.ACTIVIST, activist_on=D(2025, 3, 31))
    dates = pipeline_dates(m, today=D(2025, 11, 1))
    assert dates["candidate_eligible_on"] == D(2026, 3, 31)
    assert dates["next_activist_review_on"] == D(2026, 3, 31)  # reviews every 6 months: 2025-09-30 is past
    assert pipeline_dates(m, today=D(2025, 9, 30))["next_activist_review_on"] == D(2025, 9, 30)
    assert dates["probation_ends_on"] is None and dates["full_application_due_on"] is None
    set_rule("activist_review_months", 3)
    assert pipeline_dates(m, today=D(2025, 11, 1))["next_activist_review_on"] == D(2025, 12, 31)


def test_probation_dates_include_extension_and_lead_days(world):
    m = _member(world, stage=Stage.PROBATIONARY, admitted_on=D(2025, 7, 1))
    dates = pipeline_dates(m, today=D(2025, 11, 1))
    assert dates["probation_ends_on"] == D(2026, 7, 1)
    assert dates["full_application_due_on"] == D(2026, 6, 1)
    assert dates["candidate_eligible_on"] is None
    m.probation_extended_months = 6
    set_rule("full_application_lead_days", 10)
    dates = pipeline_dates(m, today=D(2025, 11, 1))
    assert dates["probation_ends_on"] == D(2027, 1, 1) and dates["full_application_due_on"] == D(2026, 12, 22)


def test_full_member_shows_probation_end_but_no_application_due(world):
    dates = pipeline_dates(_member(world, stage=Stage.FULL, admitted_on=D(2020, 1, 1)), today=D(2025, 11, 1))
    assert dates["probation_ends_on"] == D(2021, 1, 1) and dates["full_application_due_on"] is None
