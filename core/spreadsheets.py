"""Reading an untrusted .xlsx upload safely, for apps below `members` (whose members/spreadsheets.py does the
same for member imports; an app may not import upward, so the essentials are here).

Order of checks: extension and size first (nothing read), then the zip directory (a non-zip, a zip bomb by
declared sizes, a macro project), then every XML part for a DTD or entity declaration, then openpyxl in
read-only mode with a row limit while iterating. Every failure is a `DomainError` on the field "file"
(a message, never a 500). Nothing here touches the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import load_workbook

from core.exceptions import DomainError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_ZIP_MEMBERS = 1000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCAN_CHUNK = 64 * 1024
# "<!doctype" / "<!entity" as UTF-8/ASCII or UTF-16 (either byte order), searched in lower-cased bytes.
_DECLARATIONS = tuple(
    word.encode(encoding) for word in ("<!doctype", "<!entity") for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
# A macro project inside the archive (an .xlsm renamed to .xlsx still carries it).
_MACRO_PARTS = ("vbaproject.bin", "vbadata.xml", "/macrosheets/")


@dataclass(frozen=True)
class Sheet:
    """Header labels (whitespace removed) and the non-blank data rows as (spreadsheet row number, values)."""

    headers: list[str]
    rows: list[tuple[int, list]]

    def column(self, label: str) -> int | None:
        try:
            return self.headers.index(label)
        except ValueError:
            return None


def _not_xlsx() -> DomainError:
    return DomainError(_("文件不是有效的 .xlsx 工作簿，请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"), field="file")


def unreadable_error() -> DomainError:
    return DomainError(_("无法读取该工作簿，请确认文件未损坏且为 .xlsx 格式（可用 Excel 或 WPS 重新另存为 .xlsx）。"), field="file")


def check_xlsx_upload(*, filename: str, size: int, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse other file types, empty and oversized files before reading them."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext != "xlsx":
        raise DomainError(_("仅支持 .xlsx 格式的文件（不接受含宏的 .xlsm 或旧版 .xls）。"), field="file")
    if size <= 0:
        raise DomainError(_("上传的文件是空的。"), field="file")
    if size > max_bytes:
        raise DomainError(_("文件过大：不能超过 %(mb)d MB。") % {"mb": max_bytes // (1024 * 1024)}, field="file")


def has_xml_declaration(stream) -> bool:
    """Scan a zip member in chunks (with an overlap, so a word split across chunks is still seen)."""
    overlap = max(len(word) for word in _DECLARATIONS) - 1
    tail = b""
    while chunk := stream.read(SCAN_CHUNK):
        window = (tail + chunk).lower()
        if any(word in window for word in _DECLARATIONS):
            return True
        tail = window[-overlap:]
    return False


def check_xlsx_archive(data: bytes) -> None:
    """A zip with [Content_Types].xml, within the size limits, without macros, DTDs or entity declarations."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _not_xlsx() from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS or sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
            raise DomainError(
                _("文件解压后过大（超过 %(mb)d MB），已拒绝。") % {"mb": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}, field="file"
            )
        names = [info.filename.lower() for info in infos]
        if "[content_types].xml" not in names:
            raise _not_xlsx()
        if any(part in name for name in names for part in _MACRO_PARTS):
            raise DomainError(_("工作簿中含有宏，已拒绝。请另存为不含宏的 .xlsx 后重新上传。"), field="file")
        try:
            for info in infos:
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
        except Exception as exc:  # a broken member (bad CRC, truncated stream, encrypted entry...)
            raise unreadable_error() from exc


def is_blank_row(values) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def header_label(value) -> str:
    return "".join(str(value).split()) if value is not None else ""


def read_xlsx(data: bytes, *, max_rows: int) -> Sheet:
    """The first worksheet of a checked workbook: row 1 holds the headers, blank rows are skipped, more than
    `max_rows` data rows are refused."""
    check_xlsx_archive(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed files
        raise unreadable_error() from exc
    try:
        if not wb.worksheets:
            raise DomainError(_("工作簿中没有工作表。"), field="file")
        iterator = wb.worksheets[0].iter_rows(values_only=True)
        headers = [header_label(v) for v in (next(iterator, None) or ())]
        rows: list[tuple[int, list]] = []
        for number, values in enumerate(iterator, start=2):
            if is_blank_row(values):
                continue
            if len(rows) >= max_rows:
                raise DomainError(_("数据行数超过上限 %(n)d 行，请拆分后分批上传。") % {"n": max_rows}, field="file")
            rows.append((number, list(values)))
    except DomainError:
        raise
    except Exception as exc:  # read-only mode parses lazily: errors surface while iterating
        raise unreadable_error() from exc
    finally:
        with contextlib.suppress(Exception):
            wb.close()
    return Sheet(headers=headers, rows=rows)


def cell_text(value) -> str:
    """A cell as trimmed text (whole floats without ".0", dates without a time)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(value).strip()
