"""Reading uploaded spreadsheets safely, and writing the import template and error workbooks.

Uploads are untrusted: the size is checked first, then (an .xlsx is a zip) the declared uncompressed
size of every zip member before openpyxl opens anything, then every XML part for a DTD or entity
declaration (refused: entity expansion and external entities), then the row count while reading. Any
error while parsing (truncated XML, broken zip members, missing parts, bad cell values) becomes a clear
`DomainError`, never a 500. openpyxl 3.1 would only use defusedxml if it were installed (it is not); the
declaration check here does not depend on it.
Nothing here touches the database; callers turn `DomainError` into a message.
"""

from __future__ import annotations

import contextlib
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.exceptions import DomainError
from core.spreadsheets import (  # the upload limits and checks shared with the portal's other uploads
    MAX_UNCOMPRESSED_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_ZIP_MEMBERS,
    Sheet,
    has_xml_declaration,
    header_label,
    is_blank_row,
    unreadable_error,
)
from core.xlsx import safe_cell

MAX_ROWS = 20_000


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def check_upload(*, filename: str, size: int, allowed: Sequence[str]) -> str:
    """Refuse wrong types and oversized files before reading them; returns the extension."""
    ext = extension(filename)
    if ext not in allowed:
        raise DomainError(
            _("仅支持 %(types)s 格式的文件。") % {"types": "、".join(f".{a}" for a in allowed)}, field="file"
        )
    if size <= 0:
        raise DomainError(_("上传的文件是空的。"), field="file")
    if size > MAX_UPLOAD_BYTES:
        raise DomainError(
            _("文件过大：不能超过 %(mb)d MB。") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}, field="file"
        )
    return ext


def check_xlsx_archive(data: bytes) -> None:
    """An .xlsx is a zip: refuse non-zips and zip bombs by the declared uncompressed size of the members."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DomainError(_("文件不是有效的 .xlsx 工作簿，请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"), field="file") from exc
    if len(infos) > MAX_ZIP_MEMBERS or sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
        raise DomainError(
            _("文件解压后过大（超过 %(mb)d MB），已拒绝。") % {"mb": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}, field="file"
        )
    if not any(info.filename == "[Content_Types].xml" for info in infos):
        raise DomainError(_("文件不是有效的 .xlsx 工作簿，请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"), field="file")
    check_xml_declarations(data)


def check_xml_declarations(data: bytes) -> None:
    """Refuse a workbook whose XML parts declare a DTD or entities (Excel and WPS never write them)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                with archive.open(info) as stream:
                    if has_xml_declaration(stream):
                        raise DomainError(
                            _("工作簿中含有不允许的 XML 声明（DTD/实体），已拒绝。请用 Excel 或 WPS 重新另存为 .xlsx 后上传。"),
                            field="file",
                        )
    except DomainError:
        raise
    except Exception as exc:  # a broken member (bad CRC, truncated deflate stream, encrypted entry, ...)
        raise unreadable_error() from exc


def _too_many_rows() -> DomainError:
    return DomainError(_("数据行数超过上限 %(n)d 行，请拆分后分批上传。") % {"n": MAX_ROWS}, field="file")


def read_xlsx(data: bytes) -> Sheet:
    """The first worksheet: row 1 holds the headers; blank rows are skipped."""
    check_xlsx_archive(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed files
        raise unreadable_error() from exc
    try:
        # read_only parses the sheet XML lazily: errors in it surface while iterating, so they are
        # caught here too (ParseError, KeyError for a missing part, BadZipFile, zlib.error, ValueError...).
        if not wb.worksheets:
            raise DomainError(_("工作簿中没有工作表。"), field="file")
        ws = wb.worksheets[0]
        iterator = ws.iter_rows(values_only=True)
        first = next(iterator, None)
        headers = [header_label(v) for v in (first or ())]
        rows: list[tuple[int, list]] = []
        for number, values in enumerate(iterator, start=2):
            if is_blank_row(values):
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many_rows()
            rows.append((number, list(values)))
    except DomainError:
        raise
    except Exception as exc:  # untrusted input: any parse failure is the file's fault, not a 500
        raise unreadable_error() from exc
    finally:
        with contextlib.suppress(Exception):
            wb.close()
    return Sheet(headers=headers, rows=rows)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(_("无法识别 CSV 文件的编码，请另存为 UTF-8 编码后重新上传。"), field="file")


def read_csv(data: bytes) -> Sheet:
    reader = csv.reader(io.StringIO(_decode(data)))
    try:
        headers = [header_label(v) for v in next(reader, [])]
        rows: list[tuple[int, list]] = []
        for number, values in enumerate(reader, start=2):
            if is_blank_row(values):
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many_rows()
            rows.append((number, list(values)))
    except csv.Error as exc:
        raise DomainError(_("CSV 文件格式有误，无法读取。"), field="file") from exc
    return Sheet(headers=headers, rows=rows)


def read_sheet(data: bytes, filename: str) -> Sheet:
    return read_csv(data) if extension(filename) == "csv" else read_xlsx(data)


def require_columns(sheet: Sheet, required: Sequence[str]) -> None:
    missing = [label for label in required if label not in sheet.headers]
    if missing:
        raise DomainError(_("缺少必需的列：%(cols)s。请使用下载的模板。") % {"cols": "、".join(missing)}, field="file")
    if not sheet.rows:
        raise DomainError(_("文件中没有数据行。"), field="file")


def iter_cells(sheet: Sheet, labels: Sequence[str]) -> Iterator[tuple[int, dict[str, object]]]:
    """Each data row as {label: raw value} for the given column labels."""
    positions = {label: sheet.column(label) for label in labels}
    for number, values in sheet.rows:
        yield number, {
            label: (values[pos] if pos is not None and pos < len(values) else None) for label, pos in positions.items()
        }


# ---------------------------------------------------------------- writing workbooks
def workbook_bytes(*, title: str, headers: Sequence[str], rows: Sequence[Sequence], notes: Sequence[str] = (),
                   text_rows: int = 0) -> bytes:
    """A one-sheet workbook (cells escaped against formula injection); `text_rows` empty rows get text format."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.number_format = "@"
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(str(header)) * 2 + 4)
        # Text format so that ID and phone numbers keep every digit when typed into the template.
        for cells in ws.iter_rows(min_row=2, max_row=text_rows + 1, min_col=i, max_col=i) if text_rows else ():
            for cell in cells:
                cell.number_format = "@"
    ws.freeze_panes = "A2"
    if notes:
        help_ws = wb.create_sheet(_("填写说明")[:31])
        for line in notes:
            help_ws.append([safe_cell(str(line))])
        help_ws.column_dimensions["A"].width = 100
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
