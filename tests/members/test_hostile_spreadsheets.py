"""Malformed or hostile .xlsx files on member import and roster upload: every parse error becomes a clear
form error (never a 500) and DTD/entity declarations are refused before openpyxl parses anything."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from core.exceptions import DomainError
from members import spreadsheets
from members.actions.imports import IMPORT_LABELS
from members.models import MemberImport, RosterComparison
from tests.members.test_imports import make_id, row

SHEET = "xl/worksheets/sheet1.xml"
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)


def workbook(headers, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for values in rows:
        ws.append(list(values))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def rewrite(data: bytes, change) -> bytes:
    """Copy a workbook's zip, letting `change(name, content)` return new content (None drops the member)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info))
            if content is not None:
                target.writestr(info.filename, content)
    return out.getvalue()


def truncated(name, content):
    return content[: len(content) // 2] if name == SHEET else content


def billion_laughs(name, content):
    if name != SHEET:
        return content
    body = content.decode().split("?>", 1)[-1]
    return (LAUGHS + body.replace("<t>", "<t>&lol3;", 1)).encode()


def external_entity(name, content):
    if name != SHEET:
        return content
    body = content.decode().split("?>", 1)[-1]
    return ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + body.replace("<t>", "<t>&xxe;", 1)).encode()


def utf16_doctype(name, content):
    if name != SHEET:
        return content
    text = content.decode().split("?>", 1)[-1]
    return ('<?xml version="1.0" encoding="UTF-16"?><!DoCtYpE worksheet [<!ENTITY a "b">]>' + text).encode("utf-16")


def missing_sheet(name, content):
    return None if name == SHEET else content


def broken_workbook_xml(name, content):
    return b"<workbook><sheets><sheet" if name == "xl/workbook.xml" else content


def bad_cell_value(name, content):
    if name != SHEET:
        return content
    text = content.decode()
    head, tail = text.rsplit("</sheetData>", 1)
    return (head + '<row r="99"><c r="A99" t="n"><v>not-a-number</v></c><c r="B99" t="d"><v>someday</v></c></row></sheetData>' + tail).encode()


def bad_crc(data: bytes) -> bytes:
    """A stored (uncompressed) member whose bytes no longer match its CRC."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    raw = bytearray(out.getvalue())
    at = raw.find(b"<sheetData>")
    raw[at + 1] = ord("X")
    return bytes(raw)


HOSTILE = {
    "truncated sheet XML": (lambda d: rewrite(d, truncated), "无法读取该工作簿"),
    "DTD with entity expansion": (lambda d: rewrite(d, billion_laughs), "DTD/实体"),
    "external entity": (lambda d: rewrite(d, external_entity), "DTD/实体"),
    "DTD in a UTF-16 part": (lambda d: rewrite(d, utf16_doctype), "DTD/实体"),
    "missing worksheet part": (lambda d: rewrite(d, missing_sheet), "工作簿中没有工作表"),
    "truncated workbook.xml": (lambda d: rewrite(d, broken_workbook_xml), "无法读取该工作簿"),
    "bad cell values": (lambda d: rewrite(d, bad_cell_value), "无法读取该工作簿"),
    "member with a bad CRC": (bad_crc, "无法读取该工作簿"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_member_import_is_a_form_error(client, world, kind):
    make, message = HOSTILE[kind]
    data = make(workbook(IMPORT_LABELS, [row(姓名="导入甲", 身份证号=make_id(11))]))
    client.force_login(world.secretary)
    response = client.post(reverse("members:import_start"), {"org": world.jb.pk, "file": SimpleUploadedFile("m.xlsx", data)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MemberImport.objects.exists()


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_roster_upload_is_a_form_error(client, world, kind):
    make, message = HOSTILE[kind]
    data = make(workbook(["姓名", "身份证号", "站点/单位"], [["名单某甲", make_id(12), world.wp_b.name]]))
    client.force_login(world.secretary)
    response = client.post(reverse("members:roster_start"), {
        "org": world.jb.pk, "platform": "某平台", "file": SimpleUploadedFile("roster.xlsx", data),
    })
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RosterComparison.objects.exists()


def test_declarations_are_refused_before_openpyxl_opens_the_file(monkeypatch):
    def must_not_open(*args, **kwargs):
        raise AssertionError("openpyxl must not parse a workbook with a DTD")

    import core.spreadsheets  # members' uploads are read by the shared reader since step 7

    monkeypatch.setattr(core.spreadsheets, "load_workbook", must_not_open)
    data = rewrite(workbook(["姓名"], [["某人"]]), billion_laughs)
    with pytest.raises(DomainError, match="DTD/实体"):
        spreadsheets.read_xlsx(data)


def test_a_declaration_split_across_scan_chunks_is_found(monkeypatch):
    import core.spreadsheets  # the scan members' uploads share since step 7

    monkeypatch.setattr(core.spreadsheets, "SCAN_CHUNK", 7)
    data = rewrite(workbook(["姓名"], [["某人"]]), external_entity)
    with pytest.raises(DomainError, match="DTD/实体"):
        core.spreadsheets.check_xlsx_archive(data)


def test_an_ordinary_workbook_still_reads():
    sheet = spreadsheets.read_xlsx(workbook(["姓名", "身份证号"], [["某人", "x"], ["他人", "y"]]))
    assert sheet.headers == ["姓名", "身份证号"] and [values for _n, values in sheet.rows] == [["某人", "x"], ["他人", "y"]]
