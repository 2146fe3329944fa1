"""Registry pages: list/filters/exact search, masked detail, reveal flow, forms, scope 404s, export, query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from core.audit import SYSTEM
from members.actions import member_create
from members.models import Member, RelationKind, RevealLog, Stage
from tests.factories import MemberFactory, UserFactory, fresh, grant
from tests.members import make_id

pytestmark = pytest.mark.django_db

BORN = dt.date(1990, 5, 6)


def allow_reveal(user):
    user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data", content_type__app_label="members"))
    return fresh(user)


@pytest.fixture
def people(world):
    """Two registered members with personal data: one in jb (secretary's scope), one in br_f (not)."""
    zhang = member_create(actor=SYSTEM, org=world.jb, id_number=make_id(BORN, 1), phone="13812345678", name="张三",
                          stage=Stage.ACTIVIST, activist_on=dt.date(2025, 3, 31), workplace=world.wp_b, roles=["grid"])
    li = member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(BORN, 3), phone="13987654321", name="李四",
                       stage=Stage.PROBATIONARY, admitted_on=dt.date(2025, 7, 1), workplace=world.wp_f)
    return {"zhang": zhang, "li": li}


def _names(response) -> set[str]:
    return {m.name for m, _id, _phone in response.context["rows"]}


# ---------------------------------------------------------------- list and filters
def test_list_is_scoped_and_masked(client, world, people):
    client.force_login(world.secretary)
    response = client.get(reverse("members:member_list"))
    assert response.status_code == 200
    names = _names(response)
    assert "张三" in names and "李四" not in names
    html = response.content.decode()
    assert make_id(BORN, 1) not in html and "13812345678" not in html
    assert "110***********" + make_id(BORN, 1)[-4:] in html and "138****5678" in html
    assert 'href="/members/"' in html  # the nav item


def test_nav_item_hidden_without_member_view(client, world):
    client.force_login(world.viewer)
    assert 'href="/members/"' not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("members:member_list")).status_code == 404


@pytest.mark.parametrize("params,expected", [
    ({"stage": "activist"}, {"张三"}),
    ({"stage": "probationary", "q": "李"}, {"李四"}),
    ({"q": "张"}, {"张三"}),
    ({"role": "grid"}, {"张三"}),
    ({"relation_kind": "mobile"}, {"流动"}),
    ({"flag": "lost_contact"}, {"失联久"}),
])
def test_filters(client, world, people, params, expected):
    MemberFactory(org=world.br_a, name="流动", relation_kind=RelationKind.MOBILE, home_org_name="外省某支部")
    MemberFactory(org=world.br_a, name="失联久", relation_kind=RelationKind.LOST_CONTACT, lost_contact_since=world.today - dt.timedelta(days=200))
    MemberFactory(org=world.br_a, name="失联近", relation_kind=RelationKind.LOST_CONTACT, lost_contact_since=world.today - dt.timedelta(days=30))
    client.force_login(world.district_user)
    assert _names(client.get(reverse("members:member_list"), params)) == expected


def test_org_and_workplace_filters(client, world, people):
    client.force_login(world.district_user)
    assert "李四" in _names(client.get(reverse("members:member_list"), {"org": world.food.pk}))
    assert "张三" not in _names(client.get(reverse("members:member_list"), {"org": world.food.pk}))
    assert _names(client.get(reverse("members:member_list"), {"workplace": world.wp_b.pk})) >= {"张三"}


def test_lost_contact_flag_follows_its_rule_row(client, world):
    from tests.factories import set_rule

    MemberFactory(org=world.br_a, name="失联近", relation_kind=RelationKind.LOST_CONTACT, lost_contact_since=world.today - dt.timedelta(days=40))
    client.force_login(world.district_user)
    assert _names(client.get(reverse("members:member_list"), {"flag": "lost_contact"})) == set()
    set_rule("lost_contact_flag_months", 1)
    assert _names(client.get(reverse("members:member_list"), {"flag": "lost_contact"})) == {"失联近"}


def test_exact_search_by_id_or_phone_is_posted_and_uses_the_blind_index(client, world, people):
    client.force_login(world.district_user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(reverse("members:member_list"), {"pid": make_id(BORN, 1).lower()})
    assert _names(response) == {"张三"}
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "id_number_index" in sql
    assert not any("LIKE" in q["sql"].upper() and "_encrypted" in q["sql"].split("LIKE")[0][-60:] for q in ctx.captured_queries)
    assert _names(client.post(reverse("members:member_list"), {"pid": "139 8765 4321"})) == {"李四"}
    bad = client.post(reverse("members:member_list"), {"pid": "12345"})
    assert _names(bad) == set() and "18位身份证号或11位手机号" in bad.content.decode()
    # a number in the URL is ignored, never used
    assert len(_names(client.get(reverse("members:member_list"), {"pid": make_id(BORN, 1)}))) > 1


def test_exact_search_is_scoped(client, world, people):
    client.force_login(world.secretary)
    assert _names(client.post(reverse("members:member_list"), {"pid": make_id(BORN, 3)})) == set()
    assert _names(client.post(reverse("members:member_list"), {"pid": "13987654321"})) == set()


# ---------------------------------------------------------------- detail and reveal
def test_detail_masked_with_derived_dates(client, world, people):
    client.force_login(world.secretary)
    response = client.get(reverse("members:member_detail", args=[people["zhang"].pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert make_id(BORN, 1) not in html and "138****5678" in html
    assert "2026-03-31" in html  # earliest candidate date (activist 2025-03-31 + 12 months)
    assert "查看完整" not in html  # no reveal permission


def test_reveal_flow_shows_value_once_and_logs(client, world, people):
    secretary = allow_reveal(world.secretary)
    client.force_login(secretary)
    url = reverse("members:member_reveal", args=[people["zhang"].pk])
    detail = client.get(reverse("members:member_detail", args=[people["zhang"].pk])).content.decode()
    assert "查看完整" in detail and make_id(BORN, 1) not in detail
    assert client.get(url).status_code == 405
    no_reason = client.post(url, {"id-field": "id_number", "id-reason": ""}, HTTP_HX_REQUEST="true")
    assert make_id(BORN, 1) not in no_reason.content.decode() and RevealLog.objects.count() == 0
    response = client.post(url, {"id-field": "id_number", "id-reason": "办理转接核对身份"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and make_id(BORN, 1) in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "<html" not in response.content.decode()  # an htmx fragment
    log = RevealLog.objects.get()
    assert (log.actor, log.member_id, log.field, log.reason) == (secretary, people["zhang"].pk, "id_number", "办理转接核对身份")
    # without htmx: the whole detail page with the value, still not in a URL
    page = client.post(url, {"phone-field": "phone", "phone-reason": "联系本人"})
    assert page.status_code == 200 and "13812345678" in page.content.decode()
    assert "13812345678" not in page.wsgi_request.get_full_path()
    # the detail page afterwards is masked again
    assert make_id(BORN, 1) not in client.get(reverse("members:member_detail", args=[people["zhang"].pk])).content.decode()


def test_reveal_without_permission_is_refused(client, world, people):
    client.force_login(world.secretary)
    response = client.post(reverse("members:member_reveal", args=[people["zhang"].pk]),
                           {"id-field": "id_number", "id-reason": "核对身份"}, HTTP_HX_REQUEST="true")
    assert make_id(BORN, 1) not in response.content.decode() and "没有查看完整" in response.content.decode()
    assert RevealLog.objects.count() == 0


def test_reveal_log_page_for_district_staff_only(client, world, people):
    district = allow_reveal(world.district_user)
    client.force_login(district)
    client.post(reverse("members:member_reveal", args=[people["li"].pk]), {"phone-field": "phone", "phone-reason": "回访诉求"})
    response = client.get(reverse("members:reveal_log"))
    assert response.status_code == 200 and "回访诉求" in response.content.decode() and "李四" in response.content.decode()
    client.force_login(world.secretary)
    assert client.get(reverse("members:reveal_log")).status_code == 404


# ---------------------------------------------------------------- scope: 404 everywhere
@pytest.mark.parametrize("name,method", [
    ("members:member_detail", "get"), ("members:member_edit", "get"), ("members:member_advance", "get"),
    ("members:member_extend_probation", "get"), ("members:member_reveal", "post"),
])
def test_other_branch_member_is_404(client, world, people, name, method):
    client.force_login(allow_reveal(world.secretary))
    url = reverse(name, args=[people["li"].pk])
    response = getattr(client, method)(url, {"id-field": "id_number", "id-reason": "核对"} if method == "post" else None)
    assert response.status_code == 404
    assert RevealLog.objects.count() == 0
    missing = getattr(client, method)(reverse(name, args=[999999]))
    assert missing.status_code == 404


def test_viewer_without_change_scope_cannot_edit(client, world, people):
    user = UserFactory()
    grant(user, world.root, "instructor")
    client.force_login(user)
    assert client.get(reverse("members:member_edit", args=[people["zhang"].pk])).status_code == 404


# ---------------------------------------------------------------- forms
def test_create_form_validates_and_registers(client, world):
    client.force_login(world.secretary)
    url = reverse("members:member_create")
    data = {"name": "王五", "id_number": make_id(BORN, 1)[:-1] + ("0" if make_id(BORN, 1)[-1] != "0" else "1"),
            "phone": "13812345678", "occupation": "rider", "org": world.jb.pk, "stage": "full", "relation_kind": "held",
            "ethnicity": "汉族", "training_hours": "0"}
    response = client.post(url, data)
    assert response.status_code == 200 and "校验位" in response.content.decode()
    assert not Member.objects.filter(name="王五").exists()
    data["id_number"] = make_id(BORN, 11)
    response = client.post(url, data)
    member = Member.objects.get(name="王五")
    assert response.status_code == 302 and response["Location"] == reverse("members:member_detail", args=[member.pk])
    assert make_id(BORN, 11) not in response["Location"]
    assert member.birth_date == BORN


def test_create_refuses_other_branch_org(client, world):
    client.force_login(world.secretary)
    response = client.post(reverse("members:member_create"), {
        "name": "王五", "id_number": make_id(BORN, 11), "occupation": "rider", "org": world.br_f.pk, "stage": "full",
        "relation_kind": "held"})
    assert response.status_code == 200 and not Member.objects.filter(name="王五").exists()


def test_edit_keeps_id_when_left_blank(client, world, people):
    client.force_login(world.secretary)
    url = reverse("members:member_edit", args=[people["zhang"].pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "张三丰", "id_number": "", "phone": "", "occupation": "courier",
                                 "relation_kind": "held", "training_hours": "0", "roles": ["grid", "vanguard"]})
    assert response.status_code == 302
    member = Member.objects.get(pk=people["zhang"].pk)
    assert member.name == "张三丰" and member.id_number_index == people["zhang"].id_number_index
    assert set(member.roles.values_list("role", flat=True)) == {"grid", "vanguard"}


def test_advance_form_explains_refusal_and_advances(client, world, people):
    client.force_login(world.secretary)
    url = reverse("members:member_advance", args=[people["zhang"].pk])
    refused = client.post(url, {"to_stage": "candidate", "on": "2025-12-01"})
    assert refused.status_code == 200 and "最早 2026-03-31" in refused.content.decode()
    assert Member.objects.get(pk=people["zhang"].pk).stage == Stage.ACTIVIST
    ok = client.post(url, {"to_stage": "candidate", "on": "2026-04-01"})
    assert ok.status_code == 302 and Member.objects.get(pk=people["zhang"].pk).stage == Stage.CANDIDATE


def test_extend_probation_form(client, world, people):
    client.force_login(world.district_user)
    url = reverse("members:member_extend_probation", args=[people["li"].pk])
    assert client.post(url, {"months": "6", "reason": "支部大会决议"}).status_code == 302
    again = client.post(url, {"months": "3", "reason": "再次延长"})
    assert again.status_code == 200 and "只能延长一次" in again.content.decode()


# ---------------------------------------------------------------- export
def test_export_is_masked_and_scoped(client, world, people):
    MemberFactory(org=world.jb, name="=HYPERLINK(\"x\")")
    client.force_login(world.secretary)
    response = client.get(reverse("members:member_list"), {"format": "xlsx"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=2, values_only=True))
    names = {row[0] for row in rows}
    assert "张三" in names and "李四" not in names and "'=HYPERLINK(\"x\")" in names
    flat = " ".join(str(v) for row in rows for v in row)
    assert make_id(BORN, 1) not in flat and "13812345678" not in flat
    assert "138****5678" in flat


# ---------------------------------------------------------------- query counts
def _grow(world, n, start):
    for i in range(n):
        m = member_create(actor=SYSTEM, org=world.jb, id_number=make_id(dt.date(1985, 1, 1), start + i), phone="13800000000",
                          name=f"扩展{start + i}", stage=Stage.FULL, workplace=world.wp_b, roles=["grid", "vanguard"])
        assert m.pk


def _count(client, method, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("method,params", [
    ("get", None), ("get", {"stage": "full", "role": "grid"}), ("get", {"format": "xlsx"}), ("post", {"pid": "13800000000"}),
])
def test_list_query_count_constant(client, world, method, params):
    client.force_login(world.district_user)
    url = reverse("members:member_list")
    _grow(world, 3, 100)
    small = _count(client, method, url, params)
    _grow(world, 30, 200)
    large = _count(client, method, url, params)
    assert small == large


def test_detail_and_log_query_counts_constant(client, world, people):
    district = allow_reveal(world.district_user)
    client.force_login(district)
    url = reverse("members:member_reveal", args=[people["zhang"].pk])
    client.post(url, {"id-field": "id_number", "id-reason": "核对"})
    detail = reverse("members:member_detail", args=[people["zhang"].pk])
    small = (_count(client, "get", detail), _count(client, "get", reverse("members:reveal_log")))
    for _ in range(10):
        client.post(url, {"id-field": "id_number", "id-reason": "核对"})
    large = (_count(client, "get", detail), _count(client, "get", reverse("members:reveal_log")))
    assert small == large


# ---------------------------------------------------------------- architecture (views/registry.py is not named views.py)
def test_registry_views_are_thin():
    """The rules tests/test_architecture.py applies to views.py files, applied to members/views/registry.py."""
    import ast
    import re
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "members" / "views" / "registry.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in {"save", "delete", "bulk_create", "bulk_update", "update_or_create", "get_or_create"}
            if isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "objects":
                assert node.func.attr not in {"create", "update"}
    for line in source.splitlines():
        if re.search(r"\b[A-Z]\w*\.objects\b", line):
            assert "get_scoped_or_404(" in line or ".restrict(" in line, line
