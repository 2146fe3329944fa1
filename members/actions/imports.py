"""Member import (preview → confirm) and roster comparison (数据比对).

Import: the workbook is checked (size, type, zip bomb, rows), kept encrypted in MemberImport.file_encrypted
between preview and confirm, and emptied at confirmation. Preview validates every row (format, choices,
workplace in scope, duplicates, and a dry run of member_create rolled back), so the error list names
row, column and reason; confirm creates all rows that passed in one transaction, or none.
Error reasons carry no personal data (no names, ID numbers, dates of birth).

Roster comparison: the upload is kept encrypted only until the Celery task has read it; afterwards only
RosterFinding rows (registry members), RosterHeadcount proposals and counts remain. Matching is by the ID
number's blind index, and only against members the uploader may see (member.view): a roster row naming an
out-of-scope member looks exactly like a row naming nobody. Each upload is rate-limited and logged
(SecurityEvent ROSTER_UPLOAD). Headcounts are only proposed; `roster_headcounts_apply` writes them, once,
through orgs.actions.workplace_headcounts_apply (history rows), for a user who may change those workplaces.

Unconfirmed imports and failed or unfinished comparisons are deleted after rule `upload_retention_days`
(`uploads_purge`, a daily beat task).

Audit: an upload ("member_import.upload", "roster.upload"), a confirmation ("member_import.confirm", plus
"member.create" for each member created, or one summary row beyond AUDIT_BULK_LIMIT members), a headcount
confirmation ("roster.headcounts_apply") and a purge ("uploads.purge", counts) each write AuditEntry rows.
Uploads are a person's (the uploader is recorded): SYSTEM is refused there.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel

from core import crypto
from core.audit import audit_record, field_values, require_actor, user_or_none
from core.audit import diff as values_diff
from core.dates import check_date, date_bounds
from core.exceptions import ConflictError, DomainError
from core.rules import rule_int
from core.spreadsheets import cell_text
from members import spreadsheets
from members.actions.registry import ID_PURPOSE, duplicate_refusals_record, member_create
from members.models import (
    Education,
    FindingKind,
    Gender,
    Member,
    MemberImport,
    Occupation,
    RelationKind,
    RosterComparison,
    RosterFinding,
    RosterHeadcount,
    Stage,
    UploadStatus,
)
from members.validators import validate_id_number, validate_mobile
from orgs.models import Organization, OrgStatus, Workplace
from orgs.scoping import grant_paths

__all__ = [
    "IMPORT_COLUMNS", "ROSTER_COLUMNS", "import_template_bytes", "import_errors_bytes",
    "member_import_upload", "member_import_confirm",
    "roster_comparison_start", "roster_comparison_run", "roster_comparison_fail", "roster_headcounts_apply",
    "uploads_purge",
]

logger = logging.getLogger(__name__)

LOOKUP_CHUNK = 1000
# A confirmation creating more members than this writes one summary AuditEntry instead of one per member.
AUDIT_BULK_LIMIT = 1000
# What the audit row of an upload shows (never the file, never the error list's size-unbounded detail).
_IMPORT_AUDIT_FIELDS = ("org_id", "filename", "status", "total_rows", "valid_rows", "created_count", "confirmed_at")
_ROSTER_AUDIT_FIELDS = ("org_id", "platform", "filename", "status", "total_rows", "headcounts_applied_at",
                        "headcounts_applied_by_id")
ROSTER_UPLOAD_WINDOW = dt.timedelta(hours=24)


# ---------------------------------------------------------------- shared helpers
def _require_perm_at(actor, perm: str, org: Organization | None, message: str) -> None:
    require_actor(actor)
    if org is None or org.status != OrgStatus.ACTIVE:
        raise DomainError(_("请选择一个正常状态的党组织。"), field="org")
    if actor is None or not actor.is_authenticated:
        raise DomainError(message, field="org")
    if actor.is_superuser:
        return
    if not any(org.path.startswith(path) for path in grant_paths(actor, perm)):
        raise DomainError(message, field="org")


def _require_uploader(actor) -> None:
    require_actor(actor)
    if user_or_none(actor) is None:
        raise ValueError("an upload is a person's (uploaded_by, the per-user limit): SYSTEM cannot upload")


def _pack(data: bytes) -> str:
    return crypto.encrypt(base64.b64encode(data).decode("ascii"))


def _unpack(token: str) -> bytes:
    return base64.b64decode(crypto.decrypt(token))


def _chunks(items: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _id_reason(exc: ValidationError) -> str:
    """A reason for a bad ID number that does not repeat any part of it (the error file is minimal)."""
    code = getattr(exc, "code", None) or (exc.error_list[0].code if hasattr(exc, "error_list") else None)
    return {
        "id_length": _("身份证号应为18位。"),
        "id_chars": _("身份证号前17位应为数字，最后一位为数字或X。"),
        "id_bad_date": _("身份证号中的出生日期无效。"),
        "id_checksum": _("身份证号校验位错误。"),
        "id_birth_mismatch": _("身份证号中的出生日期与填写的出生日期不一致。"),
    }.get(code, _("身份证号无效。"))


# ---------------------------------------------------------------- member import: columns
@dataclass(frozen=True)
class Column:
    label: str  # the header in the workbook: Chinese, never translated (it is the file's contract)
    field: str
    kind: str = "text"  # text | date | choice | id | phone | workplace
    required: bool = False
    choices: type | None = None
    max_length: int = 100


IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("姓名", "name", required=True, max_length=50),
    Column("性别", "gender", "choice", choices=Gender),
    Column("出生日期", "birth_date", "date"),
    Column("身份证号", "id_number", "id", required=True),
    Column("手机号", "phone", "phone"),
    Column("民族", "ethnicity", max_length=20),
    Column("学历", "education", "choice", choices=Education),
    Column("职业", "occupation", "choice", choices=Occupation),
    Column("平台/用工单位", "employer"),
    Column("工作单位", "workplace", "workplace"),
    Column("发展阶段", "stage", "choice", required=True, choices=Stage),
    Column("组织关系", "relation_kind", "choice", choices=RelationKind),
    Column("入党申请日期", "applied_on", "date"),
    Column("确定积极分子日期", "activist_on", "date"),
    Column("列为发展对象日期", "candidate_on", "date"),
    Column("接收预备党员日期", "admitted_on", "date"),
    Column("转正日期", "full_on", "date"),
    Column("备注", "notes", max_length=2000),
)
IMPORT_LABELS = [c.label for c in IMPORT_COLUMNS]
REQUIRED_IMPORT_LABELS = [c.label for c in IMPORT_COLUMNS if c.required]
_LABEL_BY_FIELD = {c.field: c.label for c in IMPORT_COLUMNS} | {
    "home_org_name": "组织关系", "lost_contact_since": "组织关系", "mobile_card_number": "组织关系",
    "letter_number": "组织关系", "training_hours": "", "org": "", "__all__": "",
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def _choice_map(choices) -> dict[str, str]:
    """Accepted spellings of a choice: the Chinese label, its short form before a bracket, the code."""
    mapping: dict[str, str] = {}
    with translation.override(settings.LANGUAGE_CODE):
        for value, label in choices.choices:
            label = str(label)
            mapping[label] = value
            mapping[label.split("（")[0]] = value
            mapping[value] = value
    return mapping


def _choice_labels(choices) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return "、".join(str(label) for _value, label in choices.choices)


def import_template_bytes() -> bytes:
    """The empty template: headers, one line of notes per column with the accepted values."""
    notes = [_("第一行为列名，请勿修改；从第二行开始每行填写一人；身份证号、手机号请按文本填写。"),
             _("必填列：%(cols)s。日期格式：2024-05-01。") % {"cols": "、".join(REQUIRED_IMPORT_LABELS)},
             _("工作单位须填写您管理范围内已登记的覆盖单位名称。")]
    for column in IMPORT_COLUMNS:
        if column.choices is not None:
            notes.append(f"{column.label}：{_choice_labels(column.choices)}")
    return spreadsheets.workbook_bytes(title=_("党员信息"), headers=IMPORT_LABELS, rows=[], notes=notes, text_rows=500)


def import_errors_bytes(member_import: MemberImport) -> bytes:
    """The error list as a workbook: row number, column and reason only (no personal data)."""
    rows = [[e["row"], e["column"], e["reason"]] for e in member_import.errors]
    return spreadsheets.workbook_bytes(title=_("错误清单"), headers=[_("行号"), _("列"), _("错误原因")], rows=rows)


def _parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and 1 < value < 100_000:
        return from_excel(value).date()
    text = cell_text(value)
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class _Row:
    number: int
    values: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    id_index: str | None = None
    registered_out_of_scope: bool = False  # its ID belongs to a member the uploader may not see


def _date_error(value: dt.date, label: str, bounds: tuple[dt.date, dt.date]) -> str | None:
    """The out-of-range reason for a date cell, or None (bounds read once per file, not per cell)."""
    if bounds[0] <= value <= bounds[1]:
        return None
    try:
        check_date(value, label=label)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def _parse_import_row(number: int, cells: dict, choice_maps: dict, *, today: dt.date,
                      bounds: tuple[dt.date, dt.date] | None = None) -> _Row:
    bounds = bounds or date_bounds(today)
    row = _Row(number)
    for column in IMPORT_COLUMNS:
        raw = cells.get(column.label)
        text = cell_text(raw)
        if not text:
            if column.required:
                row.errors.append((column.label, _("必填项不能为空。")))
            continue
        if column.kind == "text":
            if len(text) > column.max_length:
                row.errors.append((column.label, _("不能超过%(n)d个字。") % {"n": column.max_length}))
            else:
                row.values[column.field] = text
        elif column.kind == "date":
            try:
                value = _parse_date(raw)
            except (ValueError, OverflowError):
                row.errors.append((column.label, _("日期格式应为 2024-05-01。")))
                continue
            reason = _date_error(value, column.label, bounds)
            if reason:
                row.errors.append((column.label, reason))
            else:
                row.values[column.field] = value
        elif column.kind == "choice":
            value = choice_maps[column.field].get(text)
            if value is None:
                row.errors.append((column.label, _("无效的选项，可填写：%(c)s。") % {"c": _choice_labels(column.choices)}))
            else:
                row.values[column.field] = value
        elif column.kind == "id":
            if isinstance(raw, int | float):
                row.errors.append((column.label, _("身份证号须以文本格式填写（数字格式会丢失位数）。")))
                continue
            try:
                value = validate_id_number(text, today=today)
            except ValidationError as exc:
                row.errors.append((column.label, _id_reason(exc)))
            else:
                row.values["id_number"] = value
                row.id_index = crypto.blind_index(value, purpose=ID_PURPOSE)
        elif column.kind == "phone":
            try:
                row.values["phone"] = validate_mobile(text)
            except ValidationError as exc:
                row.errors.append((column.label, exc.messages[0]))
        elif column.kind == "workplace":
            row.values["workplace"] = text  # resolved to a Workplace in scope afterwards
    return row


def _validate_import(*, actor, data: bytes) -> tuple[int, list[_Row]]:
    """Parse and check every row without writing: (total rows, rows with values and errors)."""
    sheet = spreadsheets.read_xlsx(data)
    spreadsheets.require_columns(sheet, REQUIRED_IMPORT_LABELS)
    today = timezone.localdate()
    bounds = date_bounds(today)
    choice_maps = {c.field: _choice_map(c.choices) for c in IMPORT_COLUMNS if c.choices is not None}
    rows = [_parse_import_row(n, cells, choice_maps, today=today, bounds=bounds)
            for n, cells in spreadsheets.iter_cells(sheet, IMPORT_LABELS)]

    # Workplaces by name, among those the actor may see (one query per 1,000 names).
    names = sorted({r.values["workplace"] for r in rows if "workplace" in r.values})
    by_name: dict[str, list[Workplace]] = defaultdict(list)
    for chunk in _chunks(names):
        for workplace in Workplace.objects.restrict(actor, "view").filter(name__in=chunk):
            by_name[workplace.name].append(workplace)
    for row in rows:
        name = row.values.get("workplace")
        if name is None:
            continue
        found = by_name.get(name, [])
        if len(found) == 1:
            row.values["workplace"] = found[0]
        else:
            row.values.pop("workplace")
            row.errors.append(("工作单位", _("您管理范围内没有该单位，请先登记覆盖单位。") if not found
                               else _("单位名称对应多个单位，请先在覆盖单位中区分名称。")))

    # Duplicates: within the file, and against the registry (set-based by blind index).
    first_row: dict[str, int] = {}
    for row in rows:
        if row.id_index is None:
            continue
        if row.id_index in first_row:
            row.errors.append(("身份证号", _("与第%(n)d行的身份证号重复。") % {"n": first_row[row.id_index]}))
        else:
            first_row[row.id_index] = row.number
    registered: set[str] = set()
    visible: set[str] = set()
    for chunk in _chunks(list(first_row)):
        registered.update(Member.objects.filter(id_number_index__in=chunk).values_list("id_number_index", flat=True))
    for chunk in _chunks(sorted(registered)):
        visible.update(Member.objects.restrict(actor, "view").filter(id_number_index__in=chunk)
                       .values_list("id_number_index", flat=True))
    for row in rows:
        if row.id_index in registered and first_row.get(row.id_index) == row.number:
            row.errors.append(("身份证号", _("该身份证号已在系统中登记。")))
            row.registered_out_of_scope = row.id_index not in visible
    return len(rows), rows


def _create_kwargs(row: _Row) -> dict:
    values = dict(row.values)
    return {"id_number": values.pop("id_number"), "phone": values.pop("phone", ""),
            "workplace": values.pop("workplace", None), **values}


def _error_dicts(rows: list[_Row]) -> list[dict]:
    return [{"row": r.number, "column": col, "reason": reason} for r in rows for col, reason in r.errors]


def member_import_upload(*, actor, org: Organization, filename: str, data: bytes) -> MemberImport:
    """Check the workbook, store it encrypted and record the preview (counts and row errors).

    A file that cannot be read at all (type, size, zip bomb, DTD, missing columns) is refused and nothing is
    stored. Rows whose ID belongs to a member outside the uploader's scope answer "already registered":
    each is a logged duplicate refusal (recorded before the preview's transaction); past the daily limit
    the whole upload is refused with the rate-limit message.
    """
    _require_uploader(actor)
    _require_perm_at(actor, "member_import.add", org, _("您无权向该党组织导入党员。"))
    _require_perm_at(actor, "member.add", org, _("您无权在该党组织登记党员。"))
    spreadsheets.check_upload(filename=filename, size=len(data), allowed=("xlsx",))
    total, rows = _validate_import(actor=actor, data=data)
    duplicate_refusals_record(actor=actor, org=org, source="member_import",
                              count=sum(1 for r in rows if r.registered_out_of_scope))
    return _member_import_store(actor=actor, org=org, filename=filename, data=data, total=total, rows=rows)


@transaction.atomic
def _member_import_store(*, actor, org: Organization, filename: str, data: bytes, total: int, rows: list[_Row]) -> MemberImport:
    # Dry run: member_create on every clean row (rules, age, relation details), then roll back.
    today = timezone.localdate()
    with transaction.atomic():
        for row in rows:
            if row.errors:
                continue
            try:
                member_create(actor=actor, org=org, today=today, **_create_kwargs(row))
            except DomainError as exc:
                row.errors.append((_LABEL_BY_FIELD.get(exc.field or "__all__", ""), str(exc.message)))
        transaction.set_rollback(True)

    errors = _error_dicts(rows)
    valid = sum(1 for r in rows if not r.errors)
    member_import = MemberImport(
        org=org, uploaded_by=actor, filename=filename[:200], file_encrypted=_pack(data), status=UploadStatus.PREVIEWED,
        total_rows=total, valid_rows=valid, errors=errors,
    )
    member_import.full_clean(exclude=["file_encrypted"])
    member_import.save()
    audit_record(actor=actor, action="member_import.upload", obj=member_import,
                 changes=values_diff({}, field_values(member_import, _IMPORT_AUDIT_FIELDS)))
    logger.info("member import %s previewed: rows=%s valid=%s", member_import.pk, total, valid)
    return member_import


@transaction.atomic
def member_import_confirm(*, actor, member_import: MemberImport) -> MemberImport:
    """Create every row that passed the preview, in one transaction: all of them or none."""
    require_actor(actor)
    if not MemberImport.objects.restrict(actor, "add").filter(pk=member_import.pk).exists():
        raise DomainError(_("您无权确认该导入。"))
    member_import = MemberImport.objects.select_for_update().select_related("org").get(pk=member_import.pk)
    if member_import.status != UploadStatus.PREVIEWED or not member_import.file_encrypted:
        raise ConflictError(_("该导入已经确认或已失效，请重新上传。"))
    if member_import.valid_rows == 0:
        raise DomainError(_("没有可以导入的有效行。"))
    skipped = {e["row"] for e in member_import.errors}
    _total, rows = _validate_import(actor=actor, data=_unpack(member_import.file_encrypted))
    today = timezone.localdate()
    before = field_values(member_import, _IMPORT_AUDIT_FIELDS)
    per_member = sum(1 for row in rows if row.number not in skipped) <= AUDIT_BULK_LIMIT
    created = 0
    for row in rows:
        if row.number in skipped:
            continue
        if row.errors:
            column, reason = row.errors[0]
            raise DomainError(_("第%(row)d行（%(col)s）：%(reason)s 数据在预览后发生了变化，本次未导入任何党员，请重新上传预览。")
                              % {"row": row.number, "col": column, "reason": reason})
        try:
            member_create(actor=actor, org=member_import.org, today=today, _audit=per_member, **_create_kwargs(row))
        except DomainError as exc:
            column = _LABEL_BY_FIELD.get(exc.field or "__all__", "")
            raise DomainError(_("第%(row)d行（%(col)s）：%(reason)s 本次未导入任何党员。")
                              % {"row": row.number, "col": column, "reason": exc.message}) from exc
        created += 1
    member_import.status = UploadStatus.DONE
    member_import.created_count = created
    member_import.confirmed_at = timezone.now()
    member_import.file_encrypted = ""
    member_import.save(update_fields=["status", "created_count", "confirmed_at", "file_encrypted"])
    changes = values_diff(before, field_values(member_import, _IMPORT_AUDIT_FIELDS))
    if not per_member:
        changes["note"] = f"{created} members created; one summary row instead of one member.create row each"
    audit_record(actor=actor, action="member_import.confirm", obj=member_import, changes=changes)
    logger.info("member import %s confirmed: created=%s", member_import.pk, created)
    return member_import


# ---------------------------------------------------------------- roster comparison (数据比对)
ROSTER_COLUMNS = ("姓名", "身份证号", "站点/单位")
ROSTER_TYPES = ("xlsx", "csv")
NOWHERE_KINDS = (RelationKind.POCKET, RelationKind.LOST_CONTACT, RelationKind.MOBILE)
MAX_UNKNOWN_NAMES = 1000


def roster_comparison_start(*, actor, org: Organization, platform: str, filename: str, data: bytes,
                            address: str = "") -> RosterComparison:
    """Check the roster file, count the upload against the user's daily limit (a ROSTER_UPLOAD security
    event, recorded before anything else is written; over the limit RateLimitedError and nothing is
    written), keep the file encrypted until the task reads it, and enqueue the comparison on commit."""
    _require_uploader(actor)
    _require_perm_at(actor, "roster.add", org, _("您无权在该党组织范围内进行名单比对。"))
    spreadsheets.check_upload(filename=filename, size=len(data), allowed=ROSTER_TYPES)
    sheet = spreadsheets.read_sheet(data, filename)  # refuse unreadable files now, with a clear message
    spreadsheets.require_columns(sheet, ROSTER_COLUMNS[1:])
    rows = len(sheet.rows)
    del sheet
    from orgs.actions.security import rate_limited_event
    from orgs.models import SecurityEvent, SecurityEventKind

    event = rate_limited_event(
        kind=SecurityEventKind.ROSTER_UPLOAD, user=actor, limit_rule="roster_uploads_per_user_per_day",
        window=ROSTER_UPLOAD_WINDOW, org=org, address=address, details={"rows": rows},
    )
    with transaction.atomic():
        comparison = RosterComparison(
            org=org, uploaded_by=actor, platform=(platform or "").strip()[:100], filename=filename[:200],
            upload_encrypted=_pack(data), status=UploadStatus.PENDING, total_rows=rows,
        )
        comparison.full_clean(exclude=["upload_encrypted"])
        comparison.save()
        audit_record(actor=actor, action="roster.upload", obj=comparison,
                     changes=values_diff({}, field_values(comparison, _ROSTER_AUDIT_FIELDS)))
        SecurityEvent.objects.filter(pk=event.pk).update(details={"comparison": comparison.pk, "rows": rows})
        _enqueue_comparison(comparison.pk)
    return comparison


def _enqueue_comparison(comparison_id: int) -> None:
    """The id only, through the outbox (in this transaction): sent once the row is committed, or by the sweep
    when the broker is back; a broker outage no longer fails the upload or loses the task."""
    from core.actions.outbox import outbox_enqueue

    outbox_enqueue(task="members.compare_roster", kwargs={"comparison_id": comparison_id})


def _set_progress(comparison_id: int, progress: int) -> None:
    RosterComparison.objects.filter(pk=comparison_id, status=UploadStatus.RUNNING).update(progress=progress)


def roster_comparison_fail(*, comparison_id: int, message: str) -> None:
    """Mark a comparison failed and drop its upload (the user uploads again)."""
    RosterComparison.objects.filter(pk=comparison_id).exclude(status=UploadStatus.DONE).update(
        status=UploadStatus.FAILED, error=message, upload_encrypted="", finished_at=timezone.now(),
    )


@dataclass
class RosterResult:
    total_rows: int = 0
    bad_rows: int = 0
    matched: int = 0
    findings: list[tuple[int, int | None, str]] = field(default_factory=list)  # (member id, workplace id, kind)
    unknown_workplaces: list[str] = field(default_factory=list)
    headcount: dict[int, int] = field(default_factory=dict)


def compare_roster_rows(*, org: Organization, rows: list[tuple[str, str]], progress=None, members=None) -> RosterResult:
    """The comparison itself, set-based. `rows` are (ID number as written, station name) pairs; `members`
    is the registry it compares with (the uploader's visible members; default: all of them).

    - a roster station is a Workplace in the org's subtree with that exact name (lowest id if several);
      other names are unknown workplaces;
    - matched: members of `members` whose ID blind index is on the roster (anyone else is a stranger);
    - nowhere: a matched member whose relation kind is pocket, lost contact or mobile;
    - elsewhere: any other matched member at a known station that no active org on the member's
      org chain (the org itself or an ancestor) covers;
    - not on roster: members registered at a roster workplace whose ID is not on the roster;
    - headcount: roster rows per known station (all rows with that station, valid ID or not).
    """
    progress = progress or (lambda _p: None)
    members_qs = Member.objects.all() if members is None else members
    result = RosterResult(total_rows=len(rows))
    today = timezone.localdate()
    station_names = sorted({name for _id, name in rows if name})
    workplace_by_name: dict[str, int] = {}
    scope_q = Workplace.in_subtrees_q([org.path])
    for chunk in _chunks(station_names):
        for pk, name in Workplace.objects.filter(scope_q, name__in=chunk).order_by("-pk").values_list("pk", "name"):
            workplace_by_name[name] = pk  # ordered by -pk: the lowest pk wins
    result.unknown_workplaces = [n for n in station_names if n not in workplace_by_name][:MAX_UNKNOWN_NAMES]

    pairs: set[tuple[str, int | None]] = set()
    headcount: Counter[int] = Counter()
    for raw_id, name in rows:
        workplace_id = workplace_by_name.get(name)
        if workplace_id is not None:
            headcount[workplace_id] += 1
        try:
            value = validate_id_number(raw_id, today=today)
        except ValidationError:
            result.bad_rows += 1
            continue
        if not name:
            result.bad_rows += 1
            continue
        pairs.add((crypto.blind_index(value, purpose=ID_PURPOSE), workplace_id))
    result.headcount = dict(headcount)
    progress(20)

    indexes = sorted({index for index, _wp in pairs})
    found_members: dict[str, tuple[int, str, str]] = {}
    batches = list(_chunks(indexes))
    for i, chunk in enumerate(batches, start=1):
        for pk, index, org_path, relation in members_qs.filter(id_number_index__in=chunk).values_list(
            "pk", "id_number_index", "org__path", "relation_kind"
        ):
            found_members[index] = (pk, org_path, relation)
        progress(20 + 60 * i // len(batches))
    result.matched = len(found_members)

    roster_workplaces = sorted(set(workplace_by_name.values()))
    covering: dict[int, list[str]] = defaultdict(list)
    through = Organization.workplaces.through
    for chunk in _chunks(roster_workplaces):
        for workplace_id, path in through.objects.filter(
            workplace_id__in=chunk, organization__status=OrgStatus.ACTIVE
        ).values_list("workplace_id", "organization__path"):
            covering[workplace_id].append(path)

    findings: set[tuple[int, int | None, str]] = set()
    for index, workplace_id in pairs:
        found = found_members.get(index)
        if found is None:
            continue
        pk, org_path, relation = found
        if relation in NOWHERE_KINDS:
            findings.add((pk, workplace_id, FindingKind.RELATION_NOWHERE))
        elif workplace_id is not None and not any(org_path.startswith(p) for p in covering.get(workplace_id, ())):
            findings.add((pk, workplace_id, FindingKind.RELATION_ELSEWHERE))

    on_roster = {index for index, _wp in pairs}
    for chunk in _chunks(roster_workplaces):
        for pk, index, workplace_id in members_qs.filter(workplace_id__in=chunk).values_list(
            "pk", "id_number_index", "workplace_id"
        ):
            if index not in on_roster:
                findings.add((pk, workplace_id, FindingKind.NOT_ON_ROSTER))
    result.findings = sorted(findings, key=lambda f: (f[2], f[0], f[1] or 0))
    progress(90)
    return result


def _distinct_members(findings, kind) -> int:
    return len({pk for pk, _wp, k in findings if k == kind})


def roster_comparison_run(*, comparison_id: int) -> RosterComparison | None:
    """The task body. Idempotent: a finished comparison is left alone; a re-delivered running one
    starts over (its findings are deleted first). Transient database errors propagate for a retry."""
    with transaction.atomic():
        comparison = RosterComparison.objects.select_for_update().select_related("org", "uploaded_by").filter(pk=comparison_id).first()
        if comparison is None or comparison.status in (UploadStatus.DONE, UploadStatus.FAILED):
            return comparison
        upload_missing = not comparison.upload_encrypted
        if not upload_missing:
            comparison.findings.all().delete()
            comparison.status = UploadStatus.RUNNING
            comparison.progress = 1
            comparison.error = ""
            comparison.save(update_fields=["status", "progress", "error"])
    if upload_missing:
        roster_comparison_fail(comparison_id=comparison_id, message=_("上传的名单已不存在，请重新上传。"))
        return None

    try:
        data = _unpack(comparison.upload_encrypted)
        sheet = spreadsheets.read_sheet(data, comparison.filename)
        spreadsheets.require_columns(sheet, ROSTER_COLUMNS[1:])
    except (DomainError, ValueError) as exc:
        message = str(exc.message) if isinstance(exc, DomainError) else _("无法读取上传的名单。")
        roster_comparison_fail(comparison_id=comparison_id, message=message)
        logger.warning("roster comparison %s failed: unreadable upload", comparison_id)
        return None
    rows = [(cell_text(c["身份证号"]), cell_text(c["站点/单位"]))
            for _n, c in spreadsheets.iter_cells(sheet, ROSTER_COLUMNS[1:])]
    del data, sheet
    _set_progress(comparison_id, 10)

    uploader = comparison.uploaded_by
    scope_paths = [""] if uploader.is_superuser else grant_paths(uploader, "member.view")
    result = compare_roster_rows(org=comparison.org, rows=rows, progress=lambda p: _set_progress(comparison_id, p),
                                 members=Member.objects.restrict(uploader, "view"))
    del rows
    _finish(comparison_id=comparison_id, result=result, scope_paths=scope_paths)
    return RosterComparison.objects.get(pk=comparison_id)


@transaction.atomic
def _finish(*, comparison_id: int, result: RosterResult, scope_paths: list[str]) -> None:
    comparison = RosterComparison.objects.select_for_update().get(pk=comparison_id)
    if comparison.status != UploadStatus.RUNNING:  # finished or failed meanwhile by another delivery
        return
    RosterFinding.objects.bulk_create(
        [RosterFinding(comparison_id=comparison_id, member_id=pk, workplace_id=wp, kind=kind) for pk, wp, kind in result.findings],
        batch_size=LOOKUP_CHUNK,
    )
    # Headcounts are proposed only: a user who may change the workplaces confirms them on the result page.
    comparison.headcounts.all().delete()
    current: dict[int, int] = {}
    for chunk in _chunks(sorted(result.headcount)):
        current.update(Workplace.objects.filter(pk__in=chunk).values_list("pk", "gig_worker_count"))
    RosterHeadcount.objects.bulk_create(
        [RosterHeadcount(comparison_id=comparison_id, workplace_id=pk, current=current[pk], proposed=count)
         for pk, count in sorted(result.headcount.items()) if pk in current],
        batch_size=LOOKUP_CHUNK,
    )
    comparison.scope_paths = scope_paths
    comparison.total_rows = result.total_rows
    comparison.bad_rows = result.bad_rows
    comparison.matched = result.matched
    comparison.relation_elsewhere = _distinct_members(result.findings, FindingKind.RELATION_ELSEWHERE)
    comparison.relation_nowhere = _distinct_members(result.findings, FindingKind.RELATION_NOWHERE)
    comparison.not_on_roster = _distinct_members(result.findings, FindingKind.NOT_ON_ROSTER)
    comparison.unknown_workplaces = result.unknown_workplaces
    comparison.error = ""
    comparison.upload_encrypted = ""
    comparison.status = UploadStatus.DONE
    comparison.progress = 100
    comparison.finished_at = timezone.now()
    comparison.save()
    logger.info(
        "roster comparison %s done: rows=%s bad=%s matched=%s findings=%s proposed_headcounts=%s",
        comparison_id, result.total_rows, result.bad_rows, result.matched, len(result.findings), len(result.headcount),
    )


@transaction.atomic
def roster_headcounts_apply(*, actor, comparison: RosterComparison) -> list[Workplace]:
    """Confirm a finished comparison's proposed headcounts: write those that differ from the workplaces'
    current counts through orgs.actions.workplace_headcounts_apply (all or nothing; every workplace must be
    one the actor may change; each change a WorkplaceEvent with source "花名册比对 #<id>"). Once only: a
    second confirmation is a ConflictError and writes nothing."""
    from orgs.actions import workplace_headcounts_apply

    require_actor(actor)
    if not RosterComparison.objects.restrict(actor, "view").filter(pk=comparison.pk).exists():
        raise DomainError(_("您无权确认该比对结果。"))
    comparison = RosterComparison.objects.select_for_update().get(pk=comparison.pk)
    if comparison.status != UploadStatus.DONE:
        raise ConflictError(_("比对尚未完成，不能确认从业人数。"))
    if comparison.headcounts_applied_at is not None:
        raise ConflictError(
            _("该比对的从业人数已于 %(at)s 确认更新，不能重复确认。")
            % {"at": timezone.localtime(comparison.headcounts_applied_at).strftime("%Y-%m-%d %H:%M")}
        )
    changes = {
        workplace_id: proposed
        for workplace_id, proposed, current in comparison.headcounts.values_list("workplace_id", "proposed", "workplace__gig_worker_count")
        if proposed != current
    }
    if not changes:
        raise DomainError(_("名单人数与各单位现有从业人数一致，无需更新。"))
    changed = workplace_headcounts_apply(actor=actor, changes=changes, source=f"花名册比对 #{comparison.pk}")
    before = field_values(comparison, _ROSTER_AUDIT_FIELDS)
    comparison.headcounts_applied_at = timezone.now()
    comparison.headcounts_applied_by = user_or_none(actor)
    comparison.save(update_fields=["headcounts_applied_at", "headcounts_applied_by"])
    audit_record(actor=actor, action="roster.headcounts_apply", obj=comparison, changes={
        **values_diff(before, field_values(comparison, _ROSTER_AUDIT_FIELDS)), "workplaces": len(changed),
    })
    logger.info("roster comparison %s: headcounts applied to %s workplaces", comparison.pk, len(changed))
    return changed


# ---------------------------------------------------------------- purge of abandoned uploads
def uploads_purge(*, actor, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete uploads that still hold (or held) encrypted personal data and were left behind: member imports
    never confirmed and roster comparisons that failed or never finished, older than rule
    `upload_retention_days`. Idempotent (a second run finds nothing). The daily task passes SYSTEM; a run
    that deleted something writes one summary AuditEntry ("uploads.purge", the counts)."""
    require_actor(actor)
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=rule_int("upload_retention_days"))
    with transaction.atomic():
        _total, by_model = MemberImport.objects.filter(created_at__lt=cutoff).exclude(status=UploadStatus.DONE).delete()
        imports = by_model.get(MemberImport._meta.label, 0)
        # A confirmed import keeps its counts and error list; its file is emptied at confirmation already.
        MemberImport.objects.filter(status=UploadStatus.DONE).exclude(file_encrypted="").update(file_encrypted="")
        comparisons = RosterComparison.objects.filter(created_at__lt=cutoff).exclude(status=UploadStatus.DONE)
        comparison_ids = list(comparisons.values_list("pk", flat=True))
        RosterComparison.objects.filter(pk__in=comparison_ids).delete()
        RosterComparison.objects.filter(status=UploadStatus.DONE).exclude(upload_encrypted="").update(upload_encrypted="")
        result = {"imports": imports, "comparisons": len(comparison_ids)}
        if imports or comparison_ids:
            audit_record(actor=actor, action="uploads.purge", object_type="members.upload", changes={
                "note": f"older than {cutoff.date().isoformat()}", **result,
            })
    logger.info("uploads purged: imports=%s comparisons=%s", result["imports"], result["comparisons"])
    return result
