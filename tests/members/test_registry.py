"""Registry actions: create/update with validation, duplicates, logged reveal, and no plaintext at rest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from core.exceptions import DomainError
from members.actions import member_create, member_reveal, member_update
from members.models import Member, MemberRoleAssignment, RevealLog, Stage, StageEvent
from members.selectors import masked_id_number, masked_phone
from tests.factories import fresh
from tests.members import make_id

pytestmark = pytest.mark.django_db

BORN = dt.date(1990, 5, 6)
PHONE = "13812345678"


def allow_reveal(user):
    user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data", content_type__app_label="members"))
    return fresh(user)


def register(world, actor=None, org=None, seq=1, **kwargs):
    kwargs.setdefault("name", "张三")
    kwargs.setdefault("stage", Stage.FULL)
    return member_create(actor=actor or world.secretary, org=org or world.jb, id_number=kwargs.pop("id_number", make_id(BORN, seq)),
                         phone=kwargs.pop("phone", PHONE), **kwargs)


def test_create_stores_encrypted_with_index_and_shows_masked(world):
    m = register(world, roles=["grid", "vanguard"], workplace=world.wp_b)
    m.refresh_from_db()
    assert m.birth_date == BORN  # taken from the ID number
    assert make_id(BORN, 1) not in m.id_number_encrypted and PHONE not in m.phone_encrypted
    assert m.id_number_index and m.phone_index
    assert masked_id_number(m) == "110***********" + make_id(BORN, 1)[-4:]
    assert masked_phone(m) == "138****5678"
    assert set(MemberRoleAssignment.objects.filter(member=m).values_list("role", flat=True)) == {"grid", "vanguard"}
    assert StageEvent.objects.filter(member=m, to_stage=Stage.FULL).count() == 1


@pytest.mark.parametrize("kwargs,field,text", [
    ({"id_number": "1101051949"}, "id_number", "18位"),
    ({"id_number": "110105194912310021"}, "id_number", "校验位"),
    ({"birth_date": dt.date(1990, 5, 7)}, "id_number", "不一致"),
    ({"phone": "12345"}, "phone", "11位"),
    ({"name": "  "}, "name", "姓名"),
])
def test_bad_input_is_refused_with_its_rule_and_nothing_is_written(world, kwargs, field, text):
    before = Member.objects.count()
    with pytest.raises(DomainError) as info:
        register(world, **kwargs)
    assert info.value.field == field and text in str(info.value.message)
    assert Member.objects.count() == before and not StageEvent.objects.filter(note="登记").exists()


def test_applicant_must_be_adult(world):
    young = dt.date.today().replace(year=dt.date.today().year - 17)
    with pytest.raises(DomainError, match="年满18周岁"):
        register(world, id_number=make_id(young, 3), stage=Stage.APPLICANT)
    assert register(world, id_number=make_id(dt.date(2000, 1, 1), 5), stage=Stage.APPLICANT).stage == Stage.APPLICANT


def test_secretary_cannot_register_outside_scope(world):
    with pytest.raises(DomainError, match="无权"):
        register(world, org=world.br_f)


def test_duplicate_names_existing_record_only_if_visible(world):
    number = make_id(BORN, 7)
    register(world, actor=world.district_user, org=world.br_f, id_number=number, name="李四")
    with pytest.raises(DomainError) as info:  # the secretary of jb cannot see br_f
        register(world, id_number=number)
    assert "李四" not in str(info.value.message) and "美团" not in str(info.value.message)
    assert "已在系统中登记" in str(info.value.message)
    with pytest.raises(DomainError) as info:  # district staff can
        register(world, actor=world.district_user, id_number=number)
    assert "李四" in str(info.value.message) and world.br_f.name in str(info.value.message)
    # lower-case x / spaces are the same person
    x_number = "11010519491231002X"
    register(world, id_number=x_number, seq=0, birth_date=None)
    with pytest.raises(DomainError):
        register(world, id_number=" 110105 19491231002x")


def test_update_changes_data_but_not_stage_or_org(world):
    m = register(world, roles=["grid"])
    member_update(actor=world.secretary, member=m, phone="139 0000 1111", roles=["model_post"], employer="美团")
    m.refresh_from_db()
    assert masked_phone(m) == "139****1111" and m.employer == "美团"
    assert list(m.roles.values_list("role", flat=True)) == ["model_post"]
    with pytest.raises(DomainError, match="发展流程"):
        member_update(actor=world.secretary, member=m, stage=Stage.APPLICANT)
    with pytest.raises(DomainError, match="不一致"):
        member_update(actor=world.secretary, member=m, birth_date=dt.date(1991, 1, 1))
    other = register(world, actor=world.district_user, org=world.br_f, seq=9)
    with pytest.raises(DomainError, match="无权"):
        member_update(actor=world.secretary, member=other, employer="x")
    with pytest.raises(DomainError):  # changing to another person's ID number is a duplicate
        member_update(actor=world.district_user, member=other, id_number=make_id(BORN, 1))


def test_reveal_needs_permission_and_reason_and_is_logged(world):
    m = register(world)
    with pytest.raises(DomainError, match="权限"):
        member_reveal(actor=world.secretary, member=m, field="id_number", reason="核对身份")
    secretary = allow_reveal(world.secretary)
    with pytest.raises(DomainError, match="事由"):
        member_reveal(actor=secretary, member=m, field="phone", reason=" ")
    assert RevealLog.objects.count() == 0
    assert member_reveal(actor=secretary, member=m, field="id_number", reason="办理转接核对") == make_id(BORN, 1)
    assert member_reveal(actor=secretary, member=m, field="phone", reason="联系本人") == PHONE
    logs = list(RevealLog.objects.order_by("id").values_list("actor", "member", "field", "reason"))
    assert logs == [(secretary.pk, m.pk, "id_number", "办理转接核对"), (secretary.pk, m.pk, "phone", "联系本人")]


def test_reveal_outside_scope_is_refused_even_with_permission(world):
    other = register(world, actor=world.district_user, org=world.br_f, seq=9)
    with pytest.raises(DomainError, match="无权"):
        member_reveal(actor=allow_reveal(world.secretary), member=other, field="phone", reason="核对")
    assert RevealLog.objects.count() == 0


def test_no_plaintext_id_number_or_phone_in_any_table(world):
    """Read every column of every table with a raw cursor: the ID numbers and phones appear nowhere."""
    numbers = [make_id(BORN, s) for s in (1, 2)] + ["11010519491231002X"]
    phones = ["13812345678", "15900001111", "18611112222"]
    register(world, id_number=numbers[0], phone=phones[0])
    register(world, id_number=numbers[1], phone=phones[1], seq=2)
    m = register(world, id_number=numbers[2], phone=phones[2], birth_date=None)
    member_reveal(actor=allow_reveal(world.district_user), member=m, field="id_number", reason="核对身份")
    secrets = numbers + [n.lower() for n in numbers] + phones
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [col.name for col in connection.introspection.get_table_description(cursor, table)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names from introspection)
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    text = bytes(value).decode("utf-8", "replace") if isinstance(value, (bytes, memoryview)) else str(value)
                    for secret in secrets:
                        if secret in text:
                            found.append((table, column, secret))
    assert found == []
