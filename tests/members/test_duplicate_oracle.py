"""The "already registered" answer (registration, edit, import) is logged for district staff and
rate-limited per user; the log row survives the refused write and holds no personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from core.audit import SYSTEM
from core.exceptions import DomainError, RateLimitedError
from members.actions.imports import IMPORT_LABELS, member_import_upload
from members.actions.registry import member_create, member_update
from members.models import Member, MemberImport, Stage
from members.validators import id_check_char
from orgs.models import SecurityEvent, SecurityEventKind
from tests.factories import fresh, set_rule
from tests.members.test_imports import row, xlsx_bytes


def make_id(n: int) -> str:
    first17 = f"110101{dt.date(1988, 3, 4):%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_char(first17)


def refusals(user):
    return SecurityEvent.objects.filter(kind=SecurityEventKind.DUPLICATE_REFUSED, user=user)


def form_data(world, id_number: str) -> dict:
    return {"name": "查重者", "id_number": id_number, "occupation": "rider", "org": world.jb.pk, "stage": "full",
            "relation_kind": "held", "ethnicity": "汉族", "training_hours": "0"}


def test_duplicate_refusals_are_logged_and_limited_per_user(client, world):
    set_rule("duplicate_refusals_per_user_per_day", 2)
    elsewhere = member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(1), name="外单位党员", stage=Stage.FULL)
    client.force_login(world.secretary)
    url = reverse("members:member_create")
    for expected in (1, 2):
        response = client.post(url, form_data(world, make_id(1)))
        assert response.status_code == 200
        assert "该身份证号已在系统中登记" in response.content.decode()
        assert refusals(world.secretary).count() == expected  # survived the refused write's rollback
    event = refusals(world.secretary).first()
    assert event.org_id == world.jb.pk and make_id(1) not in str(event.details) and elsewhere.name not in str(event.details)

    # Beyond the limit: the rate-limit message instead of the duplicate answer, for a registered ID...
    response = client.post(url, form_data(world, make_id(1)))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "操作过于频繁" in page and "已在系统中登记" not in page
    assert refusals(world.secretary).count() == 2
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.RATE_LIMITED, user=world.secretary).count() == 1
    # ...while a new person still registers normally.
    assert client.post(url, form_data(world, make_id(2))).status_code == 302
    assert Member.objects.filter(org=world.jb, name="查重者").count() == 1
    # District staff are not limited by the secretary's count.
    with pytest.raises(DomainError, match="已登记：外单位党员"):
        member_create(actor=fresh(world.district_user), org=world.jb, id_number=make_id(1), name="某人", stage=Stage.FULL)
    assert refusals(world.district_user).count() == 1


def test_a_duplicate_on_edit_is_logged_and_limited_too(world):
    set_rule("duplicate_refusals_per_user_per_day", 1)
    member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(3), name="外单位党员", stage=Stage.FULL)
    mine = member_create(actor=SYSTEM, org=world.jb, id_number=make_id(4), name="本支部党员", stage=Stage.FULL)
    with pytest.raises(DomainError, match="已在系统中登记"):
        member_update(actor=fresh(world.secretary), member=mine, id_number=make_id(3))
    assert refusals(world.secretary).count() == 1
    with pytest.raises(RateLimitedError):
        member_update(actor=fresh(world.secretary), member=mine, id_number=make_id(3))
    mine.refresh_from_db()
    assert mine.id_number_index is not None and refusals(world.secretary).count() == 1


def test_import_rows_registered_outside_the_scope_count_as_refusals(world):
    set_rule("duplicate_refusals_per_user_per_day", 2)
    for n in (5, 6, 7):
        member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(n), name=f"外单位党员{n}", stage=Stage.FULL)
    member_create(actor=SYSTEM, org=world.jb, id_number=make_id(8), name="本支部党员", stage=Stage.FULL)
    data = xlsx_bytes(IMPORT_LABELS, [row(姓名="甲", 身份证号=make_id(5)), row(姓名="乙", 身份证号=make_id(8)),
                                      row(姓名="丙", 身份证号=make_id(9))])
    preview = member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=data)
    assert [e["row"] for e in preview.errors] == [2, 3]  # both answered "already registered"
    assert refusals(world.secretary).count() == 1  # only the out-of-scope one is an oracle answer
    assert refusals(world.secretary).first().details == {"source": "member_import"}

    many = xlsx_bytes(IMPORT_LABELS, [row(姓名="丁", 身份证号=make_id(6)), row(姓名="戊", 身份证号=make_id(7))])
    with pytest.raises(RateLimitedError):
        member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=many)
    assert MemberImport.objects.count() == 1  # the second upload stored nothing
