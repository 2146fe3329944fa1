"""Organizational-life writes: log a record with attendance, edit/resubmit, return for correction, files.

Every action takes a required actor (a user; ``None`` raises ValueError, and SYSTEM may check but cannot
be named as the person who logged, uploaded or approved something), re-checks scope (activity.add /
activity.change / activity.review at the org or above), runs in one transaction, locks the row it changes
and writes an ActivityEvent plus one audit row per object written (core.audit). Bad input raises
DomainError with a Chinese message; nothing is half-written.

Expected attendees default to the org's Party members (probationary + full) whose relation is here
(held/pocket/lost contact) plus mobile members attached here. Members have no Party-group FK, so a
党小组会 also defaults to the branch's members; the secretary unticks those not in the group.
Voting (支部党员大会 quorum): only full members whose relation is here vote; probationary and mobile
members attend but do not vote.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from activities.models import (
    Activity,
    ActivityEvent,
    ActivityEventKind,
    ActivityFile,
    ActivityKind,
    ActivityStatus,
    Attendance,
    AttendanceStatus,
)
from activities.selectors import expected_members
from core.audit import audit_record, diff, field_values, require_actor, user_or_none
from core.dates import check_date
from core.exceptions import ConflictError, DomainError
from core.rules import rule_int
from members.models import RELATION_HERE, Member, Stage
from orgs.models import Organization, OrgKind, OrgStatus
from orgs.scoping import may

__all__ = [
    "ACTIVITY_FIELDS", "ALLOWED_EXTENSIONS", "ActivityAlreadySaved", "SUBMISSION_TOKEN_RE", "activity_create", "activity_update", "activity_return",
    "activity_add_file", "activity_add_files", "activity_remove_file", "expected_members", "is_voting", "sniff_type", "quorum_statement",
]

# Plain fields a form may set.
ACTIVITY_FIELDS = (
    "ends_at", "place", "online", "topic", "host", "recorder", "lecturer", "minutes", "decisions", "makes_decision",
)

# extension -> (content type, is photo)
ALLOWED_EXTENSIONS: dict[str, tuple[str, bool]] = {
    "jpg": ("image/jpeg", True),
    "jpeg": ("image/jpeg", True),
    "png": ("image/png", True),
    "webp": ("image/webp", True),
    "pdf": ("application/pdf", False),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
}


# What a form's one-time token looks like (secrets.token_urlsafe); anything else is ignored.
SUBMISSION_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class ActivityAlreadySaved(DomainError):
    """The same "log a meeting" form was posted again: `activity` is the record the first post saved."""

    status_code = 409

    def __init__(self, activity: Activity):
        super().__init__(_("该活动记录已保存，未重复提交。"))
        self.activity = activity


def _require_perm(actor, perm: str, org: Organization, message: str) -> None:
    require_actor(actor)
    if not may(actor, perm, org):
        raise DomainError(message, field="org")


def _person(actor):
    """The user a record names as its author (created_by, uploaded_by): SYSTEM is nobody, so it cannot."""
    require_actor(actor)
    user = user_or_none(actor)
    if user is None:
        raise ValueError("this action records the person who did it: pass a user, not SYSTEM")
    return user


# What the audit row of a record shows (the submission token and timestamps are noise).
AUDIT_FIELDS = ("org_id", "party_group_id", "kind", "starts_at", "status", *ACTIVITY_FIELDS,
                "voting_expected", "voting_present", "quorum_met")


def _audit_values(activity: Activity) -> dict:
    return field_values(activity, AUDIT_FIELDS)


def is_voting(member: Member) -> bool:
    return member.stage == Stage.FULL and member.relation_kind in RELATION_HERE


def quorum_statement(activity: Activity) -> str:
    """The sentence shown on a 支部党员大会 record that makes decisions ("" otherwise)."""
    if activity.quorum_met is None:
        return ""
    if activity.quorum_met:
        return _("应到有表决权党员%(expected)d人，到会%(present)d人，超过半数，表决有效") % {
            "expected": activity.voting_expected, "present": activity.voting_present}
    return _("应到有表决权党员%(expected)d人，到会%(present)d人，未达到法定人数，表决无效") % {
        "expected": activity.voting_expected, "present": activity.voting_present}


def _check_fields(activity: Activity) -> None:
    if activity.kind not in ActivityKind.values:
        raise DomainError(_("请选择活动类型。"), field="kind")
    if not (activity.topic or "").strip():
        raise DomainError(_("请填写议题/主题。"), field="topic")
    if activity.org.status != OrgStatus.ACTIVE or activity.org.kind == OrgKind.PARTY_GROUP:
        raise DomainError(_("请选择一个正常状态的党支部或党组织（党小组会请在所属党支部下选择党小组）。"), field="org")
    if activity.kind == ActivityKind.GROUP_MEETING:
        group = activity.party_group
        if group is None:
            raise DomainError(_("党小组会须选择党小组。"), field="party_group")
        if group.kind != OrgKind.PARTY_GROUP or not (group.path.startswith(activity.org.path) and group.depth == activity.org.depth + 1) or group.status != OrgStatus.ACTIVE:
            raise DomainError(_("所选党小组不属于该党支部。"), field="party_group")
    else:
        activity.party_group = None
    if activity.kind == ActivityKind.PARTY_LECTURE and not (activity.lecturer or "").strip():
        raise DomainError(_("党课须填写授课人。"), field="lecturer")
    for name, label in (("starts_at", _("开始时间")), ("ends_at", _("结束时间"))):
        try:
            check_date(getattr(activity, name), label=label)
        except (ValidationError, OverflowError) as exc:
            raise DomainError(exc.messages[0] if isinstance(exc, ValidationError) else _("%(label)s无效。") % {"label": label},
                              field=name) from exc
    if activity.ends_at and activity.ends_at < activity.starts_at:
        raise DomainError(_("结束时间不能早于开始时间。"), field="ends_at")
    if activity.kind != ActivityKind.GENERAL_MEETING:
        activity.makes_decision = False
    try:
        # The token's uniqueness is the insert's job (see _save_once), not a query here.
        activity.full_clean(exclude=["org", "party_group", "created_by", "submission_token"])
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            name, messages = next(iter(exc.message_dict.items()))
            raise DomainError(messages[0], field=None if name == "__all__" else name) from exc
        raise DomainError(exc.messages[0]) from exc


def _clean_attendance(attendance: dict | None) -> dict[int, tuple[str, str]]:
    result: dict[int, tuple[str, str]] = {}
    for member_id, value in (attendance or {}).items():
        status, reason = value if isinstance(value, (tuple, list)) else (value, "")
        reason = (reason or "").strip()[:200]
        if status not in AttendanceStatus.values:
            raise DomainError(_("出席情况无效。"), field="attendance")
        if status == AttendanceStatus.LEAVE and not reason:
            raise DomainError(_("请假须填写事由。"), field="attendance")
        result[int(member_id)] = (status, reason if status == AttendanceStatus.LEAVE else "")
    return result


def _write_attendance(activity: Activity, attendance: dict[int, tuple[str, str]], *, members=None) -> None:
    """Replace the attendance rows: default everyone expected as present, apply overrides."""
    expected = list(members if members is not None else expected_members(activity.org))
    known = {m.pk for m in expected}
    unknown = set(attendance) - known
    if unknown:
        raise DomainError(_("出席名单中有不属于该党组织的人员。"), field="attendance")
    Attendance.objects.filter(activity=activity).delete()
    rows = []
    for member in expected:
        status, reason = attendance.get(member.pk, (AttendanceStatus.PRESENT, ""))
        rows.append(Attendance(activity=activity, member=member, status=status, leave_reason=reason, voting=is_voting(member)))
    Attendance.objects.bulk_create(rows)


def _apply_quorum(activity: Activity) -> None:
    if activity.kind == ActivityKind.GENERAL_MEETING and activity.makes_decision:
        rows = Attendance.objects.filter(activity=activity, voting=True)
        expected = rows.count()
        present = rows.filter(status=AttendanceStatus.PRESENT).count()
        percent = rule_int("quorum_percent")
        activity.voting_expected, activity.voting_present = expected, present
        activity.quorum_met = expected > 0 and present * 100 > expected * percent
    else:
        activity.voting_expected = activity.voting_present = 0
        activity.quorum_met = None
    activity.save(update_fields=["voting_expected", "voting_present", "quorum_met", "updated_at"])


# ---------------------------------------------------------------- one record per meeting
def _duplicate_of(activity: Activity) -> Activity | None:
    """A live record of the same org (or Party group), kind and start time: the rule the DB constraints hold."""
    if activity.status == ActivityStatus.RETURNED:
        return None
    qs = Activity.objects.filter(kind=activity.kind, starts_at=activity.starts_at).exclude(status=ActivityStatus.RETURNED)
    if activity.party_group_id:
        qs = qs.filter(party_group_id=activity.party_group_id)
    else:
        qs = qs.filter(org_id=activity.org_id, party_group__isnull=True)
    if activity.pk:
        qs = qs.exclude(pk=activity.pk)
    return qs.order_by("pk").first()


def _duplicate_error(activity: Activity) -> DomainError:
    if activity.party_group_id:
        message = _("该党小组在同一开始时间已有一条“%(kind)s”记录，未重复登记；如确为另一次活动，请核对开始时间。")
    else:
        message = _("该党组织在同一开始时间已有一条“%(kind)s”记录，未重复登记；如确为另一次活动，请核对开始时间。")
    return DomainError(message % {"kind": activity.get_kind_display()}, field="starts_at")


def _replayed(actor, token: str | None) -> Activity | None:
    """The record an earlier post of the same form saved, or None. A token is the form of one user."""
    if not token:
        return None
    existing = Activity.objects.filter(submission_token=token).first()
    if existing is not None and existing.created_by_id != getattr(actor, "pk", None):
        raise DomainError(_("该表单已提交过，请刷新页面后重新填写。"))
    return existing


def _save_once(activity: Activity, *, actor=None, token: str | None = None) -> None:
    """Save `activity`; losing a race against a concurrent identical post (the unique token or the
    org + kind + start rule, held by the database) gives the same answer as the checks before it."""
    try:
        with transaction.atomic():
            activity.save()
    except IntegrityError:
        replayed = _replayed(actor, token)
        if replayed is not None:
            raise ActivityAlreadySaved(replayed) from None
        if _duplicate_of(activity) is not None:
            raise _duplicate_error(activity) from None
        raise


@transaction.atomic
def activity_create(
    *, actor, org: Organization, kind: str, starts_at: dt.datetime, topic: str, party_group: Organization | None = None,
    attendance: dict | None = None, files: list | None = None, submission_token: str | None = None, **fields: Any,
) -> Activity:
    """Log a record; attendance maps member id -> (status, reason); everyone else expected is present.
    `files` (uploads) are all checked (each, and their total) before anything is written.

    Idempotent: `submission_token` (the form's one-time token) is consumed by the insert; a second post
    with it raises ActivityAlreadySaved carrying the saved record and writes nothing. Without a token, the
    rule "one live record per org (or Party group), kind and start time" still refuses the copy."""
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise DomainError(_("不能设置字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    _require_perm(actor, "activity.add", org, _("您无权为该党组织登记组织生活。"))
    author = _person(actor)
    token = submission_token if submission_token and SUBMISSION_TOKEN_RE.fullmatch(submission_token) else None
    replayed = _replayed(actor, token)
    if replayed is not None:
        raise ActivityAlreadySaved(replayed)
    if starts_at is None:
        raise DomainError(_("请填写开始时间。"), field="starts_at")
    activity = Activity(org=org, kind=kind, starts_at=starts_at, topic=(topic or "").strip(), party_group=party_group,
                        created_by=author, submission_token=token, **fields)
    _check_fields(activity)
    if _duplicate_of(activity) is not None:
        # A concurrent identical post may have committed between the token check above and this one: the
        # same form's copy is "already saved", not a clash with another record.
        replayed = _replayed(actor, token)
        if replayed is not None:
            raise ActivityAlreadySaved(replayed)
        raise _duplicate_error(activity)
    cleaned = _clean_attendance(attendance)
    checked = [(upload, _check_upload(upload)) for upload in files or []]
    _check_total(None, [upload for upload, _info in checked])
    _save_once(activity, actor=actor, token=token)
    _write_attendance(activity, cleaned)
    _apply_quorum(activity)
    ActivityEvent.objects.create(activity=activity, kind=ActivityEventKind.SUBMITTED, actor=author)
    audit_record(actor=actor, action="activity.create", obj=activity, changes=diff({}, _audit_values(activity)))
    _store_files(actor, activity, checked)  # last: nothing after it can fail and leave files behind
    return activity


@transaction.atomic
def activity_update(
    *, actor, activity: Activity, attendance: dict | None = None, reason: str = "", **fields: Any,
) -> Activity:
    """Edit a record (kind, time, party group and ACTIVITY_FIELDS). A returned record becomes resubmitted."""
    require_actor(actor)
    allowed = set(ACTIVITY_FIELDS) | {"kind", "starts_at", "party_group"}
    unknown = set(fields) - allowed
    if unknown:
        raise DomainError(_("不能设置字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    if not Activity.objects.restrict(actor, "change").filter(pk=activity.pk).exists():
        raise DomainError(_("您无权修改该记录。"))
    activity = Activity.objects.select_for_update().select_related("org").get(pk=activity.pk)
    before = _audit_values(activity)
    for name, value in fields.items():
        setattr(activity, name, value.strip() if isinstance(value, str) else value)
    _check_fields(activity)
    cleaned = _clean_attendance(attendance) if attendance is not None else None
    was_returned = activity.status == ActivityStatus.RETURNED
    if was_returned:
        activity.status = ActivityStatus.RESUBMITTED
    if _duplicate_of(activity) is not None:
        raise _duplicate_error(activity)
    _save_once(activity)
    if cleaned is not None:
        members = [row.member for row in activity.attendance.select_related("member")] or None
        _write_attendance(activity, cleaned, members=members)
    _apply_quorum(activity)
    ActivityEvent.objects.create(
        activity=activity, kind=ActivityEventKind.RESUBMITTED if was_returned else ActivityEventKind.EDITED,
        actor=user_or_none(actor), reason=(reason or "").strip(),
    )
    changes = diff(before, _audit_values(activity))
    if cleaned is not None:
        changes["attendance"] = [None, activity.attendance.count()]  # rewritten: how many rows it has now
    if (reason or "").strip():
        changes["note"] = reason.strip()
    audit_record(actor=actor, action="activity.update", obj=activity, changes=changes)
    return activity


@transaction.atomic
def activity_return(*, actor, activity: Activity, reason: str) -> Activity:
    """District staff return a record for correction, with a reason."""
    require_actor(actor)
    if not Activity.objects.restrict(actor, "review").filter(pk=activity.pk).exists():
        raise DomainError(_("您无权退回该记录。"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise DomainError(_("请填写退回原因。"), field="reason")
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    if activity.status == ActivityStatus.RETURNED:
        raise ConflictError(_("该记录已退回，等待修改后重新提交。"))
    from_status = activity.status
    activity.status = ActivityStatus.RETURNED
    activity.save(update_fields=["status", "updated_at"])
    ActivityEvent.objects.create(activity=activity, kind=ActivityEventKind.RETURNED, actor=user_or_none(actor), reason=reason)
    audit_record(actor=actor, action="activity.return", obj=activity,
                 changes={"status": [from_status, activity.status], "note": reason})
    return activity


# ---------------------------------------------------------------- files
def sniff_type(head: bytes, extension: str) -> bool:
    """True when the first bytes match what the extension claims."""
    if extension in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if extension == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if extension == "pdf":
        return head.startswith(b"%PDF-")
    if extension in ("docx", "xlsx"):
        return head.startswith(b"PK\x03\x04")
    return False


def _check_upload(upload) -> tuple[str, str, bool]:
    name = os.path.basename(getattr(upload, "name", "") or "")[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED_EXTENSIONS:
        raise DomainError(_("只能上传 jpg、png、webp 照片或 pdf、docx、xlsx 文件。"), field="files")
    max_mb = rule_int("activity_file_max_mb")
    if upload.size > max_mb * 1024 * 1024:
        raise DomainError(_("“%(name)s”超过 %(mb)d MB 的大小上限。") % {"name": name, "mb": max_mb}, field="files")
    if upload.size == 0:
        raise DomainError(_("“%(name)s”是空文件。") % {"name": name}, field="files")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not sniff_type(head, extension):
        raise DomainError(_("“%(name)s”的内容与文件类型不符。") % {"name": name}, field="files")
    content_type, is_photo = ALLOWED_EXTENSIONS[extension]
    return name, content_type, is_photo


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _check_total(activity_pk: int | None, uploads: list) -> None:
    """All files of one record together stay within rule `activity_files_total_mb` (besides each file's
    own limit). The caller holds the record's row lock, so two uploads at once cannot both pass."""
    limit_mb = rule_int("activity_files_total_mb")
    used = 0
    if activity_pk is not None:
        used = ActivityFile.objects.filter(activity_id=activity_pk).aggregate(total=Sum("size"))["total"] or 0
    new = sum(upload.size for upload in uploads)
    if used + new > limit_mb * 1024 * 1024:
        raise DomainError(
            _("每条记录的照片和附件合计不能超过 %(mb)d MB（已有 %(used)s MB，本次 %(new)s MB）。")
            % {"mb": limit_mb, "used": _mb(used), "new": _mb(new)},
            field="files",
        )


@transaction.atomic
def activity_add_file(*, actor, activity: Activity, upload) -> ActivityFile:
    """Store a photo or document (type by extension and magic bytes, size by rule row) outside static."""
    return activity_add_files(actor=actor, activity=activity, uploads=[upload])[0]


def _store_file(actor, activity: Activity, upload, checked: tuple[str, str, bool], written: list[str]) -> ActivityFile:
    name, content_type, is_photo = checked
    extension = name.rsplit(".", 1)[-1].lower()
    record = ActivityFile(activity=activity, original_name=name, content_type=content_type, size=upload.size,
                          is_photo=is_photo, uploaded_by=_person(actor))
    # A neutral stored name: the original name is kept only as data.
    record.file.save(f"{activity.pk}.{extension}", upload, save=False)
    written.append(record.file.name)
    record.save()
    # Inside the try of _store_files: if the audit row fails, the file written to disk is removed again.
    audit_record(actor=actor, action="activity_file.add", obj=record, org=activity.org,
                 changes={"activity": [None, activity.pk], "original_name": [None, name], "size": [None, upload.size]})
    return record


def _store_files(actor, activity: Activity, checked: list) -> list[ActivityFile]:
    """Store checked uploads; if one fails, the files already written are removed from disk again (no
    orphan files). Callers store files last in their transaction, so nothing after this can roll it back."""
    written: list[str] = []
    storage = ActivityFile._meta.get_field("file").storage

    def remove_written():
        for stored in written:
            storage.delete(stored)

    try:
        records = [_store_file(actor, activity, upload, info, written) for upload, info in checked]
    except Exception:
        remove_written()
        raise
    return records


@transaction.atomic
def activity_add_files(*, actor, activity: Activity, uploads: list) -> list[ActivityFile]:
    """Several uploads at once: each is checked, and the record's new total, before any is stored."""
    _person(actor)
    if not Activity.objects.restrict(actor, "change").filter(pk=activity.pk).exists():
        raise DomainError(_("您无权修改该记录。"))
    if not uploads:
        raise DomainError(_("请选择要上传的文件。"), field="files")
    checked = [(upload, _check_upload(upload)) for upload in uploads]
    locked = Activity.objects.select_for_update().select_related("org").get(pk=activity.pk)
    _check_total(locked.pk, [upload for upload, _info in checked])
    return _store_files(actor, locked, checked)


@transaction.atomic
def activity_remove_file(*, actor, file: ActivityFile) -> None:
    require_actor(actor)
    if not Activity.objects.restrict(actor, "change").filter(pk=file.activity_id).exists():
        raise DomainError(_("您无权修改该记录。"))
    record = ActivityFile.objects.select_for_update(of=("self",)).select_related("activity__org").get(pk=file.pk)
    audit_record(actor=actor, action="activity_file.remove", obj=record, org=record.activity.org,  # before: delete clears pk
                 changes={"activity": [record.activity_id, None], "original_name": [record.original_name, None]})
    stored = record.file.name
    storage = record.file.storage
    record.delete()
    transaction.on_commit(lambda: storage.delete(stored))
