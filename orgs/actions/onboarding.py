"""Bulk onboarding of accounts from an .xlsx (district staff): upload → preview → confirm → set-password links.

- `onboarding_parse` reads the upload (core.spreadsheets: size ≤ 5 MB, ≤ 2,000 rows, no macros/DTDs, read-only
  openpyxl) into plain rows [row number, 用户名, 姓名, 邮箱, 角色, 党组织编码] that the view keeps in the session
  (no passwords, every cell cut to `CELL_MAX` characters, the whole list capped at `SESSION_MAX_BYTES`).
- `onboarding_validate` checks every row against the database in a constant number of queries (the orgs by
  code in one, the taken usernames in one, the uploader's grants from the scoping cache): unknown or dissolved
  org code, org outside the uploader's subtree (user.add), username missing/invalid/duplicate in the file/taken
  (case-insensitive), missing name, bad role, bad e-mail.
- `onboarding_confirm` re-validates inside one transaction and creates all valid rows or none: when the valid
  rows differ from what the preview showed (`fingerprint`), it refuses. Each account gets its role grant, an
  unusable password and an audit row (user.create, note "bulk import").
- `onboarding_link_rows` builds the one-time set-password links (uid + token from Django's
  default_token_generator) for the accounts just created, fresh on each download: tokens are never stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from core.audit import audit_record, require_actor
from core.exceptions import ConflictError, DomainError
from core.spreadsheets import cell_text, check_xlsx_upload, read_xlsx
from orgs.models import Organization, OrgStatus, Role, RoleGrant
from orgs.scoping import grant_paths, has_perm, may, path_q

PERM = "user.add"
MAX_ROWS = 2000
CELL_MAX = 200
SESSION_MAX_BYTES = 1024 * 1024
USERNAME_MAX = 150
DISPLAY_NAME_MAX = 50
EMAIL_MAX = 254

COL_USERNAME, COL_NAME, COL_EMAIL, COL_ROLE, COL_ORG = "用户名", "姓名", "邮箱", "角色", "党组织编码"
REQUIRED_COLUMNS = (COL_USERNAME, COL_NAME, COL_ROLE, COL_ORG)
TEMPLATE_HEADERS = (COL_USERNAME, COL_NAME, f"{COL_EMAIL}(可选)", COL_ROLE, COL_ORG)
# Header spellings accepted for the optional e-mail column.
_EMAIL_HEADERS = (COL_EMAIL, "邮箱(可选)", "邮箱（可选）")


def role_by_label() -> dict[str, str]:
    """Role cell text → role value: the Chinese labels (as written in the file), the labels of the active
    language, and the values themselves."""
    with translation.override(None):
        labels = {str(label): value for value, label in Role.choices}
    labels.update({str(label): value for value, label in Role.choices})
    labels.update({value: value for value in Role.values})
    return labels


# ---------------------------------------------------------------- reading the file
def onboarding_parse(*, actor, filename: str, data: bytes) -> list[list]:
    """The file's rows as [row number, username, name, e-mail, role text, org code] (strings), or a DomainError
    for the whole file (type, size, macros/DTD, too many rows, missing columns, too big to keep)."""
    require_actor(actor)
    if not has_perm(actor, PERM):
        raise DomainError(_("您没有批量开通账号的权限。"), field="file")
    check_xlsx_upload(filename=filename, size=len(data))
    sheet = read_xlsx(data, max_rows=MAX_ROWS)
    missing = [label for label in REQUIRED_COLUMNS if sheet.column(label) is None]
    if missing:
        raise DomainError(_("缺少必需的列：%(cols)s。请使用下载的模板。") % {"cols": "、".join(missing)}, field="file")
    if not sheet.rows:
        raise DomainError(_("文件中没有数据行。"), field="file")
    email_pos = next((sheet.column(h) for h in _EMAIL_HEADERS if sheet.column(h) is not None), None)
    positions = [sheet.column(COL_USERNAME), sheet.column(COL_NAME), email_pos, sheet.column(COL_ROLE), sheet.column(COL_ORG)]
    rows = []
    for number, values in sheet.rows:
        cells = [cell_text(values[p])[:CELL_MAX] if p is not None and p < len(values) else "" for p in positions]
        rows.append([number, *cells])
    if len(json.dumps(rows, ensure_ascii=False).encode()) > SESSION_MAX_BYTES:
        raise DomainError(_("文件内容过多，请拆分后分批上传。"), field="file")
    return rows


# ---------------------------------------------------------------- checking the rows
@dataclass
class RowCheck:
    """One row of the file with what it would create and its errors (empty: the row is valid)."""

    row: int
    username: str
    display_name: str
    email: str
    role_text: str
    org_code: str
    role: str = ""
    org: Organization | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label) if self.role else self.role_text


def onboarding_validate(*, actor, rows: list[list]) -> list[RowCheck]:
    """Check every row; two queries whatever the number of rows (orgs by code, taken usernames)."""
    user_model = get_user_model()
    checks = [RowCheck(int(r[0]), *(str(v) for v in r[1:6])) for r in rows]
    codes = {c.org_code for c in checks if c.org_code}
    orgs = {org.code: org for org in Organization.objects.filter(code__in=codes)} if codes else {}
    lowered = {c.username.lower() for c in checks if c.username}
    taken = set(
        user_model.objects.annotate(lname=Lower("username")).filter(lname__in=lowered).values_list("lname", flat=True)
    ) if lowered else set()
    counts: dict[str, int] = {}
    for c in checks:
        if c.username:
            counts[c.username.lower()] = counts.get(c.username.lower(), 0) + 1
    roles = role_by_label()
    username_validator = user_model.username_validator
    for c in checks:
        if not c.username:
            c.errors.append(_("用户名不能为空。"))
        elif len(c.username) > USERNAME_MAX:
            c.errors.append(_("用户名不能超过 %(n)d 个字符。") % {"n": USERNAME_MAX})
        else:
            try:
                username_validator(c.username)
            except ValidationError:
                c.errors.append(_("用户名只能包含字母、数字和 @ . + - _ 字符。"))
            else:
                if counts[c.username.lower()] > 1:
                    c.errors.append(_("用户名在文件中重复。"))
                if c.username.lower() in taken:
                    c.errors.append(_("用户名已被占用。"))
        if not c.display_name:
            c.errors.append(_("姓名不能为空。"))
        elif len(c.display_name) > DISPLAY_NAME_MAX:
            c.errors.append(_("姓名不能超过 %(n)d 个字符。") % {"n": DISPLAY_NAME_MAX})
        if c.email:
            try:
                if len(c.email) > EMAIL_MAX:
                    raise ValidationError("too long")
                validate_email(c.email)
            except ValidationError:
                c.errors.append(_("邮箱格式不正确。"))
        c.role = roles.get(c.role_text, "")
        if not c.role:
            c.errors.append(_("角色“%(role)s”无效，应为：支部书记、党建指导员、统计查看或区委组织部工作人员。") % {"role": c.role_text})
        org = orgs.get(c.org_code)
        if not c.org_code:
            c.errors.append(_("党组织编码不能为空。"))
        elif org is None:
            c.errors.append(_("党组织编码“%(code)s”不存在。") % {"code": c.org_code})
        elif not may(actor, PERM, org):
            # Said the same way as a missing code would leak that the code exists; the uploader sees it is not theirs.
            c.errors.append(_("党组织“%(code)s”不在您的管理范围内。") % {"code": c.org_code})
        elif org.status != OrgStatus.ACTIVE:
            c.errors.append(_("党组织“%(code)s”已撤销。") % {"code": c.org_code})
        else:
            c.org = org
    return checks


def fingerprint(batch: str, checks: list[RowCheck]) -> str:
    """What the preview showed as valid: the batch and each valid row's number, username, role and org."""
    text = json.dumps([batch] + [[c.row, c.username, c.role, c.org_code] for c in checks if c.ok], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---------------------------------------------------------------- creating the accounts
@transaction.atomic
def onboarding_confirm(*, actor, rows: list[list], batch: str, expected: str) -> list:
    """Create every valid row's account, grant and audit row, or nothing. Returns the new users."""
    require_actor(actor)
    if not has_perm(actor, PERM):
        raise DomainError(_("您没有批量开通账号的权限。"))
    checks = onboarding_validate(actor=actor, rows=rows)
    valid = [c for c in checks if c.ok]
    if fingerprint(batch, checks) != expected:
        raise ConflictError(_("自预览以来文件中的部分行已不再有效（例如用户名已被他人占用），未创建任何账号。请查看最新的预览后再确认。"))
    if not valid:
        raise DomainError(_("没有可以开通的有效行。"))
    user_model = get_user_model()
    users = []
    for c in valid:
        user = user_model(username=c.username, display_name=c.display_name, email=c.email, is_active=True)
        user.set_unusable_password()
        users.append(user)
    try:
        with transaction.atomic():
            user_model.objects.bulk_create(users)
    except IntegrityError as exc:  # a username taken by someone else between the check and the insert
        raise ConflictError(_("部分用户名刚刚已被占用，未创建任何账号。请重新预览。")) from exc
    if any(u.pk is None for u in users):  # backends that do not return ids from a bulk insert
        ids = dict(user_model.objects.filter(username__in=[u.username for u in users]).values_list("username", "pk"))
        for u in users:
            u.pk = ids[u.username]
    RoleGrant.objects.bulk_create([RoleGrant(user=u, org=c.org, role=c.role) for u, c in zip(users, valid, strict=True)])
    for u, c in zip(users, valid, strict=True):
        audit_record(actor=actor, action="user.create", obj=u, org=c.org,
                     changes={"note": "bulk import", "role": c.role, "org": c.org.code})
    return users


# ---------------------------------------------------------------- the set-password links
def _password_set_path(uidb64: str, token: str) -> str | None:
    try:
        return reverse("orgs:password_set", kwargs={"uidb64": uidb64, "token": token})
    except NoReverseMatch:  # the set-password page is not mounted (yet): the sheet carries uid and token
        return None


def onboarding_link_rows(*, actor, user_ids: list[int]) -> list[dict]:
    """For the accounts `user_ids` (those this uploader just created), one row each: username, name, role, org
    and a fresh one-time link (path, or None when the page is not mounted) with its uidb64 and token.
    Only accounts with a grant inside the actor's user.add scope are listed; accounts that already set a
    password get no link (theirs would not work anyway). One query."""
    require_actor(actor)
    grants = RoleGrant.objects.filter(user_id__in=user_ids).select_related("user", "org").order_by("user__username", "pk")
    if not getattr(actor, "is_superuser", False):
        paths = grant_paths(actor, PERM)
        grants = grants.filter(path_q("org__path", paths)) if paths else grants.none()
    rows, seen = [], set()
    for g in grants:
        if g.user_id in seen:
            continue
        seen.add(g.user_id)
        user = g.user
        row = {"username": user.username, "display_name": user.display_name, "role": g.get_role_display(),
               "org": g.org.name, "org_code": g.org.code, "path": None, "uidb64": "", "token": "",
               "has_password": user.has_usable_password()}
        if not row["has_password"] and user.is_active:
            row["uidb64"] = urlsafe_base64_encode(force_bytes(user.pk))
            row["token"] = default_token_generator.make_token(user)
            row["path"] = _password_set_path(row["uidb64"], row["token"])
        rows.append(row)
    return rows
