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

import csv
import io
from collections.abc import Iterator, Sequence

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.exceptions import DomainError
from core.spreadsheets import (  # the upload limits and checks shared with the portal's other uploads
    MAX_UPLOAD_BYTES,
    Sheet,
    header_label,
    is_blank_row,
)
from core.spreadsheets import read_xlsx as core_read_xlsx
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


def _too_many_rows() -> DomainError:
    return DomainError(_("数据行数超过上限 %(n)d 行，请拆分后分批上传。") % {"n": MAX_ROWS}, field="file")


def read_xlsx(data: bytes) -> Sheet:
    """The first worksheet (row 1 holds the headers; blank rows are skipped), after the shared upload checks
    (zip bomb, macros, DTD/entities): core.spreadsheets.read_xlsx with the members' row limit."""
    return core_read_xlsx(data, max_rows=MAX_ROWS)


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
