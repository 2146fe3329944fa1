"""Bulk onboarding (/users/import/): who may, per-row errors in the preview, all-or-none confirm, the
set-password links, hostile files, and a 200-row file in a constant number of queries."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from openpyxl import Workbook, load_workbook

from core.models import AuditEntry, User
from orgs.actions import onboarding as actions
from orgs.models import Role, RoleGrant
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db

HEADERS = ["用户名", "姓名", "邮箱(可选)", "角色", "党组织编码"]


def xlsx(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "accounts.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("orgs:onboarding_upload"), {"file": SimpleUploadedFile(name, data)})


def confirm(client):
    """Post the confirmation exactly as the preview page's form would."""
    body = client.get(reverse("orgs:onboarding_preview")).content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(batch|digest)" value="([0-9a-f]+)"', body))
    assert set(fields) == {"batch", "digest"}
    return client.post(reverse("orgs:onboarding_confirm"), fields)


def checks_by_row(response) -> dict[int, list[str]]:
    return {c.row: c.errors for c in response.context["checks"]}


def many_rows(n: int, code: str = "EXP-J", prefix: str = "bulk"):
    return [(f"{prefix}{i:04d}", f"新用户{i}", f"{prefix}{i}@example.com", "支部书记", code) for i in range(n)]


# ---------------------------------------------------------------- who may
@pytest.mark.parametrize("who", ["secretary", "instructor", "viewer", "nobody"])
def test_pages_are_404_without_user_add(client, world, who):
    client.force_login(getattr(world, who))
    for name in ("upload", "template", "preview", "done", "links"):
        assert client.get(reverse(f"orgs:onboarding_{name}")).status_code == 404, name
    assert client.post(reverse("orgs:onboarding_confirm"), {"batch": "x", "digest": "y"}).status_code == 404


def test_district_staff_open_the_upload_page_and_template(client, world):
    client.force_login(world.district_user)
    assert client.get(reverse("orgs:onboarding_upload")).status_code == 200
    response = client.get(reverse("orgs:onboarding_template"))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in ws[1]] == ["用户名", "姓名", "邮箱(可选)", "角色", "党组织编码"]


def test_preview_without_upload_goes_back_to_upload(client, world):
    client.force_login(world.district_user)
    response = client.get(reverse("orgs:onboarding_preview"))
    assert response.status_code == 302 and response["Location"] == reverse("orgs:onboarding_upload")


# ---------------------------------------------------------------- preview
def test_preview_lists_every_row_with_its_errors_and_writes_nothing(client, world):
    UserFactory(username="Taken")
    limited = UserFactory(username="express_staff")
    grant(limited, world.express, Role.DISTRICT)  # district staff of the express subtree only
    client.force_login(limited)
    users_before = User.objects.count()
    rows = [
        ("zhang", "张三", "zhang@example.com", "支部书记", "EXP-J"),       # 2 ok
        ("li", "李四", "", "统计查看", "NOPE"),                              # 3 unknown code
        ("wang", "王五", "", "党建指导员", "FOOD-A"),                         # 4 outside the uploader's subtree
        ("dup", "甲", "", "支部书记", "EXP-A"),                              # 5 duplicate in file
        ("DUP", "乙", "", "支部书记", "EXP-A"),                              # 6 duplicate in file (case)
        ("taken", "丙", "", "支部书记", "EXP-A"),                            # 7 already taken
        ("zhao", "赵六", "", "书记", "EXP-A"),                               # 8 bad role
        ("qian", "钱七", "not-an-email", "区委组织部工作人员", "EXP"),       # 9 bad e-mail
        ("sun", "", "", "支部书记", "EXP-A"),                                # 10 no name
        ("bad name!", "周八", "", "支部书记", "EXP-A"),                       # 11 bad username
    ]
    assert upload(client, xlsx(rows)).status_code == 302
    response = client.get(reverse("orgs:onboarding_preview"))
    assert response.status_code == 200
    errors = checks_by_row(response)
    assert errors[2] == []
    assert errors[3] == ["党组织编码“NOPE”不存在。"]
    assert errors[4] == ["党组织“FOOD-A”不在您的管理范围内。"]
    assert errors[5] == errors[6] == ["用户名在文件中重复。"]
    assert errors[7] == ["用户名已被占用。"]
    assert errors[8] and errors[8][0].startswith("角色“书记”无效")
    assert errors[9] == ["邮箱格式不正确。"]
    assert errors[10] == ["姓名不能为空。"]
    assert errors[11] == ["用户名只能包含字母、数字和 @ . + - _ 字符。"]
    assert response.context["valid"] == 1 and response.context["invalid"] == 9
    body = response.content.decode()
    assert "用户名已被占用。" in body and "确认开通 1 个账号" in body
    assert User.objects.count() == users_before  # nothing written before confirm


def test_dissolved_org_is_an_error(client, world):
    client.force_login(world.district_user)
    upload(client, xlsx([("a1", "甲", "", "支部书记", "FOOD-X")]))
    errors = checks_by_row(client.get(reverse("orgs:onboarding_preview")))
    assert errors[2] == ["党组织“FOOD-X”已撤销。"]


def test_session_holds_rows_without_passwords(client, world):
    client.force_login(world.district_user)
    upload(client, xlsx([("a1", "甲", "a1@example.com", "支部书记", "EXP-J")]))
    pending = client.session["orgs.onboarding.pending"]
    assert pending["rows"] == [[2, "a1", "甲", "a1@example.com", "支部书记", "EXP-J"]]


# ---------------------------------------------------------------- confirm
def test_confirm_creates_valid_rows_with_grants_unusable_passwords_and_audit(client, world):
    client.force_login(world.district_user)
    upload(client, xlsx([
        ("zhang", "张三", "zhang@example.com", "支部书记", "EXP-J"),
        ("li", "李四", "", "统计查看", "FOOD"),
        ("broken", "坏行", "", "书记", "FOOD"),
    ]))
    response = confirm(client)
    assert response.status_code == 302 and response["Location"] == reverse("orgs:onboarding_done")
    zhang, li = User.objects.get(username="zhang"), User.objects.get(username="li")
    assert not User.objects.filter(username="broken").exists()
    assert zhang.display_name == "张三" and zhang.email == "zhang@example.com" and not zhang.has_usable_password()
    assert list(RoleGrant.objects.filter(user=zhang).values_list("role", "org__code")) == [(Role.SECRETARY, "EXP-J")]
    assert list(RoleGrant.objects.filter(user=li).values_list("role", "org__code")) == [(Role.VIEWER, "FOOD")]
    entries = list(AuditEntry.objects.filter(action="user.create"))
    assert {(e.object_id, e.changes["note"], e.actor_id) for e in entries} == {
        (str(zhang.pk), "bulk import", world.district_user.pk), (str(li.pk), "bulk import", world.district_user.pk),
    }
    assert {e.org_path for e in entries} == {world.jb.path, world.food.path}
    assert "orgs.onboarding.pending" not in client.session
    done = client.get(reverse("orgs:onboarding_done"))
    assert done.status_code == 200 and "已根据“accounts.xlsx”开通 2 个账号" in done.content.decode()
    assert client.post(reverse("orgs:onboarding_confirm"), {"batch": "x", "digest": "y"}).status_code == 302  # nothing pending
    assert User.objects.filter(username__in=["zhang", "li"]).count() == 2


def test_links_workbook_holds_working_one_time_links(client, world):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_str
    from django.utils.http import urlsafe_base64_decode

    client.force_login(world.district_user)
    upload(client, xlsx([("zhang", "张三", "", "支部书记", "EXP-J")]))
    confirm(client)
    response = client.get(reverse("orgs:onboarding_links"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    ws = load_workbook(io.BytesIO(response.content)).active
    header, row = [c.value for c in ws[1]], [c.value for c in ws[2]]
    assert header == ["用户名", "姓名", "角色", "党组织", "党组织编码", "设置密码链接"]
    assert row[:5] == ["zhang", "张三", "支部书记", "快递联合党支部", "EXP-J"]
    match = resolve(urlparse(row[5]).path)
    assert match.view_name == "orgs:password_set"
    user = User.objects.get(username="zhang")
    assert force_str(urlsafe_base64_decode(match.kwargs["uidb64"])) == str(user.pk)
    assert default_token_generator.check_token(user, match.kwargs["token"])


def test_links_fall_back_to_uid_and_token_without_the_set_password_page(client, world, monkeypatch):
    monkeypatch.setattr(actions, "_password_set_path", lambda uidb64, token: None)
    client.force_login(world.district_user)
    upload(client, xlsx([("zhang", "张三", "", "支部书记", "EXP-J")]))
    confirm(client)
    ws = load_workbook(io.BytesIO(client.get(reverse("orgs:onboarding_links")).content)).active
    assert [c.value for c in ws[1]][-2:] == ["uidb64", "token"]
    assert all(c.value for c in ws[2])


def test_confirm_refuses_when_a_row_became_invalid_meanwhile(client, world):
    client.force_login(world.district_user)
    upload(client, xlsx([("zhang", "张三", "", "支部书记", "EXP-J"), ("li", "李四", "", "统计查看", "FOOD")]))
    page = client.get(reverse("orgs:onboarding_preview"))
    form = page.context["form"]
    UserFactory(username="li")  # someone takes the name between preview and confirm
    response = client.post(reverse("orgs:onboarding_confirm"), {"batch": form.initial["batch"], "digest": form.initial["digest"]},
                           follow=True)
    assert "未创建任何账号" in response.content.decode()
    assert not User.objects.filter(username="zhang").exists()
    assert not AuditEntry.objects.filter(action="user.create").exists()
    assert "orgs.onboarding.pending" in client.session  # the user can review the new preview


def test_confirm_with_no_valid_rows_is_refused(client, world):
    client.force_login(world.district_user)
    upload(client, xlsx([("zhang", "张三", "", "书记", "EXP-J")]))
    page = client.get(reverse("orgs:onboarding_preview"))
    assert "data-confirm" not in page.content.decode()  # no button without a valid row
    form = page.context["form"]
    response = client.post(reverse("orgs:onboarding_confirm"), {"batch": form.initial["batch"], "digest": form.initial["digest"]})
    assert response.status_code == 302 and response["Location"] == reverse("orgs:onboarding_preview")
    assert not User.objects.filter(username="zhang").exists()


def test_links_list_only_accounts_inside_the_downloaders_scope(world):
    upper = UserFactory()
    grant(upper, world.food, Role.DISTRICT)
    other = UserFactory(username="elsewhere")
    grant(other, world.jb, Role.SECRETARY)
    assert actions.onboarding_link_rows(actor=upper, user_ids=[other.pk]) == []


# ---------------------------------------------------------------- 200 rows, constant queries
def _preview_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("orgs:onboarding_preview")).status_code == 200
    return len(ctx)


def test_200_rows_preview_and_confirm_in_constant_queries(client, world):
    client.force_login(world.district_user)
    upload(client, xlsx(many_rows(10, prefix="small")))
    small = _preview_queries(client)
    upload(client, xlsx(many_rows(200)))
    large = _preview_queries(client)
    assert small == large, f"preview: {small} queries for 10 rows, {large} for 200"

    page = client.get(reverse("orgs:onboarding_preview"))
    assert page.context["valid"] == 200
    form = page.context["form"]
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(reverse("orgs:onboarding_confirm"), {"batch": form.initial["batch"], "digest": form.initial["digest"]})
    assert response.status_code == 302 and response["Location"] == reverse("orgs:onboarding_done")
    assert User.objects.filter(username__startswith="bulk").count() == 200
    assert RoleGrant.objects.filter(user__username__startswith="bulk", org=world.jb, role=Role.SECRETARY).count() == 200
    assert AuditEntry.objects.filter(action="user.create").count() == 200
    # Users and grants go in bulk; the only per-row statement is the account's audit row (audit_record).
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert sum(1 for sql in inserts if "portal_auditentry" in sql) == 200
    assert len(ctx) - 200 < 40, f"{len(ctx)} queries to confirm 200 rows"

    with CaptureQueriesContext(connection) as ctx:
        links = client.get(reverse("orgs:onboarding_links"))
    assert links.status_code == 200 and len(ctx) < 15
    assert load_workbook(io.BytesIO(links.content)).active.max_row == 201


# ---------------------------------------------------------------- hostile files
def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    return _zip({**{info.filename: source.read(info) for info in source.infolist()}, name: content})


@pytest.mark.parametrize(("name", "data", "message"), [
    ("accounts.csv", b"a,b\n", "仅支持 .xlsx 格式的文件"),
    ("accounts.xlsm", b"PK", "仅支持 .xlsx 格式的文件"),
    ("accounts.xlsx", b"this is not a workbook", "文件不是有效的 .xlsx 工作簿"),
    ("accounts.xlsx", b"x" * (5 * 1024 * 1024 + 1), "文件过大：不能超过 5 MB。"),
    ("accounts.xlsx", _zip({"hello.txt": b"hi"}), "文件不是有效的 .xlsx 工作簿"),
    ("accounts.xlsx", _with_part(xlsx([("a", "甲", "", "支部书记", "EXP")]), "xl/vbaProject.bin", b"\0" * 10),
     "工作簿中含有宏"),
    ("accounts.xlsx", _with_part(xlsx([("a", "甲", "", "支部书记", "EXP")]), "xl/evil.xml",
                                 b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), "DTD/实体"),
    ("accounts.xlsx", xlsx(many_rows(2001)), "数据行数超过上限 2000 行"),
    ("accounts.xlsx", xlsx([("a", "甲")], headers=["用户名", "姓名"]), "缺少必需的列：角色、党组织编码"),
    ("accounts.xlsx", xlsx([]), "文件中没有数据行"),
])
def test_hostile_or_wrong_files_are_refused_with_a_message(client, world, name, data, message):
    client.force_login(world.district_user)
    response = upload(client, data, name=name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "orgs.onboarding.pending" not in client.session
