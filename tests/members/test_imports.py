"""Member import from .xlsx: template, preview with row/column/reason, all-or-nothing confirm, error workbook,
upload limits (size, type, zip bomb, rows) and scope (another org's import is 404)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from core.audit import SYSTEM
from core.exceptions import DomainError
from members import spreadsheets
from members.actions.imports import IMPORT_LABELS, _unpack, member_import_confirm, member_import_upload
from members.actions.registry import member_create
from members.models import Member, MemberImport, Stage, UploadStatus
from members.validators import id_check_char
from tests.factories import fresh


def make_id(n: int, born: dt.date = dt.date(1990, 1, 1)) -> str:
    first17 = f"110101{born:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_char(first17)


def xlsx_bytes(headers, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def row(**values) -> list:
    base = {"姓名": "", "身份证号": "", "发展阶段": "正式党员"}
    base.update(values)
    return [base.get(label, "") for label in IMPORT_LABELS]


GOOD_1 = make_id(11)
GOOD_2 = make_id(12)
BAD_CHECKSUM = GOOD_1[:17] + ("0" if GOOD_1[17] != "0" else "1")


def sample_rows():
    return [
        row(姓名="导入甲", 身份证号=GOOD_1, 手机号="13800138000", 性别="男", 工作单位="B中通东街网点", 职业="快递员", 转正日期="2020-07-01"),  # row 2 ok
        row(姓名="导入乙", 身份证号=GOOD_2, 发展阶段="预备党员", 接收预备党员日期="2024/05/01"),  # row 3 ok
        row(姓名="坏校验", 身份证号=BAD_CHECKSUM),  # row 4: checksum
        row(姓名="坏阶段", 身份证号=make_id(14), 发展阶段="老党员"),  # row 5: choice
        row(姓名="外单位", 身份证号=make_id(15), 工作单位="F美团东街站"),  # row 6: workplace outside the secretary's scope
        row(姓名="坏日期", 身份证号=make_id(16), 入党申请日期="去年春天"),  # row 7: date
        row(姓名="赵重号", 身份证号=GOOD_1),  # row 8: same ID as row 2
        row(姓名="", 身份证号=make_id(18)),  # row 9: name missing
        row(姓名="太小", 身份证号=make_id(19, dt.date(2015, 3, 3)), 发展阶段="入党申请人"),  # row 10: under 18 (dry run)
    ]


def upload(client, org, content: bytes, name: str = "members.xlsx"):
    return client.post(reverse("members:import_start"), {"org": org.pk, "file": SimpleUploadedFile(name, content)})


def test_template_download_has_the_columns(client, world):
    client.force_login(world.secretary)
    response = client.get(reverse("members:import_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in ws[1]] == IMPORT_LABELS


def test_template_needs_the_import_right(client, world):
    client.force_login(world.viewer)
    assert client.get(reverse("members:import_template")).status_code == 404
    assert client.get(reverse("members:import_start")).status_code == 404


def test_preview_reports_each_bad_row_with_row_column_reason_and_writes_nothing(client, world):
    members_before = Member.objects.count()
    client.force_login(world.secretary)
    content = xlsx_bytes(IMPORT_LABELS, sample_rows())
    response = upload(client, world.jb, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    item = MemberImport.objects.get()
    assert response["Location"] == reverse("members:import_preview", args=[item.pk])
    assert Member.objects.count() == members_before  # preview writes no member
    assert (item.status, item.total_rows, item.valid_rows) == (UploadStatus.PREVIEWED, 9, 2)
    by_row = {(e["row"], e["column"]): e["reason"] for e in item.errors}
    assert set(by_row) == {(4, "身份证号"), (5, "发展阶段"), (6, "工作单位"), (7, "入党申请日期"), (8, "身份证号"),
                           (9, "姓名"), (10, "出生日期")}
    assert "校验位" in by_row[(4, "身份证号")]
    assert "第2行" in by_row[(8, "身份证号")]
    assert "18" in by_row[(10, "出生日期")]
    # The file is kept encrypted (not in plaintext) until confirmation.
    assert GOOD_1 not in item.file_encrypted and _unpack(item.file_encrypted) == content
    page = client.get(response["Location"]).content.decode()
    assert "校验位" in page and "确认导入 2 名有效人员" in page


def test_confirm_creates_all_valid_rows_and_empties_the_file(client, world):
    client.force_login(world.secretary)
    upload(client, world.jb, xlsx_bytes(IMPORT_LABELS, sample_rows()))
    item = MemberImport.objects.get()
    response = client.post(reverse("members:import_confirm", args=[item.pk]))
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.created_count, item.file_encrypted) == (UploadStatus.DONE, 2, "")
    created = Member.objects.filter(name__in=["导入甲", "导入乙"]).select_related("workplace")
    assert {m.name: (m.org_id, m.stage) for m in created} == {"导入甲": (world.jb.pk, Stage.FULL), "导入乙": (world.jb.pk, Stage.PROBATIONARY)}
    assert {m.name: m.workplace and m.workplace.name for m in created}["导入甲"] == "B中通东街网点"
    # A second confirm is refused; nothing is created twice.
    client.post(reverse("members:import_confirm", args=[item.pk]))
    assert Member.objects.filter(name__in=["导入甲", "导入乙"]).count() == 2


def test_confirm_is_all_or_nothing(world):
    secretary = fresh(world.secretary)
    item = member_import_upload(actor=secretary, org=world.jb, filename="m.xlsx", data=xlsx_bytes(IMPORT_LABELS, sample_rows()))
    assert item.valid_rows == 2
    # Between preview and confirm someone registers the second valid person elsewhere.
    member_create(actor=SYSTEM, org=world.br_f, id_number=GOOD_2, name="别处登记", stage=Stage.FULL)
    before = Member.objects.count()
    with pytest.raises(DomainError) as caught:
        member_import_confirm(actor=secretary, member_import=item)
    assert "第3行" in str(caught.value.message) and "未导入任何党员" in str(caught.value.message)
    assert Member.objects.count() == before  # row 2 (valid) was rolled back too
    item.refresh_from_db()
    assert item.status == UploadStatus.PREVIEWED and item.created_count == 0


def test_error_workbook_lists_row_column_reason_without_personal_data(client, world):
    client.force_login(world.secretary)
    upload(client, world.jb, xlsx_bytes(IMPORT_LABELS, sample_rows()))
    item = MemberImport.objects.get()
    response = client.get(reverse("members:import_errors", args=[item.pk]))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0] == ["行号", "列", "错误原因"]
    assert [(r[0], r[1]) for r in values[1:]] == [(e["row"], e["column"]) for e in item.errors]
    text = repr(values)
    for personal in ("坏校验", "坏阶段", "外单位", "坏日期", "赵重号", "太小", BAD_CHECKSUM, GOOD_1, make_id(19, dt.date(2015, 3, 3))):
        assert personal not in text
    assert "2015" not in text


def test_oversized_file_is_refused(client, world):
    client.force_login(world.secretary)
    response = upload(client, world.jb, b"x" * (spreadsheets.MAX_UPLOAD_BYTES + 1))
    assert response.status_code == 200 and "不能超过 5 MB" in response.content.decode()
    with pytest.raises(DomainError, match="不能超过"):
        member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="a.xlsx", data=b"x" * (spreadsheets.MAX_UPLOAD_BYTES + 1))
    assert not MemberImport.objects.exists()


@pytest.mark.parametrize("name", ["members.xls", "members.csv", "members"])
def test_only_xlsx_is_accepted(client, world, name):
    client.force_login(world.secretary)
    response = upload(client, world.jb, xlsx_bytes(IMPORT_LABELS, sample_rows()), name=name)
    assert response.status_code == 200 and "仅支持 .xlsx 格式的文件" in response.content.decode()
    assert not MemberImport.objects.exists()


def test_not_a_workbook_is_refused(client, world):
    client.force_login(world.secretary)
    response = upload(client, world.jb, b"PK\x03\x04 this is not really a zip")
    assert "不是有效的 .xlsx 工作簿" in response.content.decode()
    assert not MemberImport.objects.exists()


def test_zip_bomb_is_refused_before_openpyxl_opens_it(client, world, monkeypatch):
    import core.spreadsheets  # members' uploads are read by the shared reader since step 7

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (core.spreadsheets.MAX_UNCOMPRESSED_BYTES + 1))
    bomb = buffer.getvalue()
    assert len(bomb) < spreadsheets.MAX_UPLOAD_BYTES  # small on disk, huge unpacked

    def must_not_open(*args, **kwargs):
        raise AssertionError("openpyxl must not open a zip bomb")

    monkeypatch.setattr(core.spreadsheets, "load_workbook", must_not_open)
    client.force_login(world.secretary)
    response = upload(client, world.jb, bomb)
    assert "解压后过大" in response.content.decode()
    assert not MemberImport.objects.exists()


def test_too_many_rows_is_refused(world, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 5)
    rows = [row(姓名=f"人{i}", 身份证号=make_id(100 + i)) for i in range(6)]
    with pytest.raises(DomainError, match="超过上限 5 行"):
        member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=xlsx_bytes(IMPORT_LABELS, rows))
    assert not MemberImport.objects.exists()


def test_missing_columns_are_named(world):
    with pytest.raises(DomainError, match="缺少必需的列：身份证号"):
        member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx",
                             data=xlsx_bytes(["姓名", "发展阶段"], [["某人", "正式党员"]]))


def test_import_into_an_org_outside_scope_is_refused(client, world):
    client.force_login(world.secretary)
    response = upload(client, world.br_f, xlsx_bytes(IMPORT_LABELS, sample_rows()))
    assert response.status_code == 200  # not a choice in the form
    assert not MemberImport.objects.exists()
    with pytest.raises(DomainError):
        member_import_upload(actor=fresh(world.secretary), org=world.br_f, filename="m.xlsx", data=xlsx_bytes(IMPORT_LABELS, sample_rows()))


def test_another_orgs_import_is_404(client, world):
    item = member_import_upload(actor=fresh(world.district_user), org=world.br_f, filename="m.xlsx",
                                data=xlsx_bytes(IMPORT_LABELS, [row(姓名="美团甲", 身份证号=make_id(31))]))
    client.force_login(world.secretary)
    for name in ("members:import_preview", "members:import_errors"):
        assert client.get(reverse(name, args=[item.pk])).status_code == 404
    assert client.post(reverse("members:import_confirm", args=[item.pk])).status_code == 404
    item.refresh_from_db()
    assert item.status == UploadStatus.PREVIEWED
    client.force_login(world.district_user)
    assert client.get(reverse("members:import_preview", args=[item.pk])).status_code == 200
