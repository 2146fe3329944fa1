"""Far-future and far-past dates in member data: refused in forms and import rows, and rows already saved
with such dates (inserted directly) no longer break the member, advance and extend pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from members.actions import transfers
from members.actions.imports import IMPORT_LABELS, member_import_upload
from members.models import Member, Stage
from members.selectors import registry
from members.selectors.registry import pipeline_dates
from tests.factories import MemberFactory, fresh
from tests.members.test_imports import make_id, row, xlsx_bytes

FAR = dt.date(9999, 12, 31)


@pytest.mark.parametrize("stage, field", [
    (Stage.ACTIVIST, "activist_on"), (Stage.PROBATIONARY, "admitted_on"), (Stage.FULL, "admitted_on"),
    (Stage.CANDIDATE, "candidate_on"),
])
@pytest.mark.parametrize("day", [FAR, dt.date(9999, 6, 30), dt.date(1, 1, 1)])
def test_saved_far_dates_do_not_break_the_member_pages(client, world, stage, field, day):
    member = MemberFactory(org=world.jb, stage=stage)
    Member.objects.filter(pk=member.pk).update(**{field: day, "activist_on": day if stage == Stage.ACTIVIST else None})
    client.force_login(world.secretary)
    for name in ("members:member_detail", "members:member_advance", "members:member_extend_probation", "members:member_edit"):
        response = client.get(reverse(name, args=[member.pk]), follow=True)
        assert response.status_code == 200, name
    response = client.post(reverse("members:member_advance", args=[member.pk]),
                           {"to_stage": "", "on": world.today.isoformat(), "training_hours": "40", "note": ""})
    assert response.status_code in (200, 302)


def test_pipeline_dates_near_the_calendar_end_are_none_not_errors(db):
    member = Member(stage=Stage.PROBATIONARY, admitted_on=FAR, probation_extended_months=6)
    assert pipeline_dates(member) == {"candidate_eligible_on": None, "next_activist_review_on": None,
                                      "probation_ends_on": None, "full_application_due_on": None}
    activist = Member(stage=Stage.ACTIVIST, activist_on=dt.date(1, 1, 1))
    dates = pipeline_dates(activist, today=dt.date(2026, 3, 1))
    assert dates["next_activist_review_on"] >= dt.date(2026, 3, 1)
    assert dates["next_activist_review_on"] < dt.date(2026, 3, 1) + dt.timedelta(days=190)
    assert registry.add_months(FAR, 1) is None and transfers.add_months(dt.date(1, 1, 31), -1) is None
    assert registry.add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)


def test_member_forms_refuse_dates_outside_the_sane_range(client, world):
    client.force_login(world.secretary)
    data = {"name": "远日期", "id_number": make_id(41), "occupation": "rider", "org": world.jb.pk, "stage": "applicant",
            "relation_kind": "held", "ethnicity": "汉族", "training_hours": "0", "applied_on": "9999-01-01"}
    response = client.post(reverse("members:member_create"), data)
    assert response.status_code == 200 and "须在 1900-01-01 至" in response.content.decode()
    data["applied_on"] = "1850-05-01"
    assert "须在 1900-01-01 至" in client.post(reverse("members:member_create"), data).content.decode()
    assert not Member.objects.filter(name="远日期").exists()

    member = MemberFactory(org=world.jb, stage=Stage.APPLICANT, applied_on=world.today - dt.timedelta(days=400))
    response = client.post(reverse("members:member_advance", args=[member.pk]), {"to_stage": Stage.ACTIVIST, "on": "9999-01-01"})
    assert response.status_code == 200 and "须在 1900-01-01 至" in response.content.decode()
    member.refresh_from_db()
    assert member.stage == Stage.APPLICANT and member.activist_on is None


def test_import_rows_with_far_dates_are_row_errors(world):
    rows = [
        row(姓名="远未来", 身份证号=make_id(51), 转正日期="9999-07-01"),
        row(姓名="远过去", 身份证号=make_id(52), 入党申请日期="1800/01/01"),
        row(姓名="正常", 身份证号=make_id(53), 转正日期="2020-07-01"),
    ]
    preview = member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=xlsx_bytes(IMPORT_LABELS, rows))
    errors = {(e["row"], e["column"]): e["reason"] for e in preview.errors}
    assert set(errors) == {(2, "转正日期"), (3, "入党申请日期")}
    assert "转正日期须在 1900-01-01 至" in errors[(2, "转正日期")]
    assert "入党申请日期须在 1900-01-01 至" in errors[(3, "入党申请日期")]
    assert preview.valid_rows == 1
