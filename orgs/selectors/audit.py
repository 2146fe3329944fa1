"""Reads of the audit log (core.models.AuditEntry) for the page district staff review (/audit/).

Scope (the same rule as the security-event log, orgs.selectors.security): superusers see every row; a user
holding "audit.view" sees the rows whose `org_path` lies under one of the nodes where they hold it, and the
rows without an org only when they hold it at a root. Everyone else sees nothing (the view answers 404).

Paging is by keyset on ORDERING (core.pagination, the generic list view): a page never counts the table and
costs the same at any depth.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import add_days
from core.models import AuditEntry
from orgs.scoping import grant_paths, has_perm, orgs_where

PERM = "audit.view"
PAGE_SIZE = 50
#: newest first; the id breaks ties between rows written in the same microsecond
ORDERING = ("-created_at", "-pk")
EXPORT_LIMIT = 50_000

#: The resources actions write rows for ("<resource>.<verb>"), offered as the "what" filter (a prefix).
AUDIT_RESOURCES: dict[str, Any] = {
    "org": _("党组织"),
    "workplace": _("覆盖单位"),
    "assignment": _("指导员派驻"),
    "instructor": _("党建指导员"),
    "member": _("党员"),
    "transfer": _("组织关系转接"),
    "member_import": _("党员导入"),
    "roster": _("花名册比对"),
    "activity": _("组织生活"),
    "activity_file": _("组织生活附件"),
    "exemption": _("豁免"),
    "service_request": _("服务诉求"),
    "service_point": _("服务阵地"),
    "service_category": _("诉求类别"),
    "reply_template": _("回复模板"),
    "reminder_rule": _("提醒规则"),
    "snapshot": _("覆盖报表"),
    "user": _("用户账号"),
    "role_grant": _("角色授权"),
    "rule": _("规则"),
    "api_token": _("API 令牌"),
}

#: "member." (a resource prefix) or "member.update" (one action).
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.([a-z][a-z0-9_]*)?$")


def audit_entries_for(*, user) -> QuerySet[AuditEntry]:
    """The audit rows `user` may review, newest first."""
    qs = AuditEntry.objects.order_by("-created_at", "-id")
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_superuser:
        return qs
    if not has_perm(user, PERM):
        return qs.none()
    paths = grant_paths(user, PERM)
    q = Q()
    for path in paths:
        q |= Q(org_path__startswith=path)
    if any(len(path) == 4 for path in paths):  # a grant at a root also sees rows without an org
        q |= Q(org_path="")
    return qs.filter(q) if paths else qs.none()


def audit_org_choices(*, user) -> list[tuple[int, str]]:
    """(id, indented name) of the active orgs where `user` may review the log, for the subtree filter."""
    orgs = orgs_where(user, PERM).order_by("path").only("id", "name", "depth")[:1000]
    return [(org.pk, "　" * (org.depth - 1) + org.name) for org in orgs]


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of a local (Asia/Shanghai) date as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_entries_filter(qs: QuerySet[AuditEntry], *, who: str = "", what: str = "", date_from: dt.date | None = None,
                         date_to: dt.date | None = None, org=None) -> QuerySet[AuditEntry]:
    """Narrow `qs` by actor name (contains), action (prefix "member." or exact), local dates and org subtree."""
    who = (who or "").strip()
    if who:
        qs = qs.filter(Q(actor_label__icontains=who) | Q(actor__username__icontains=who)
                       | Q(actor__display_name__icontains=who))
    if what:
        qs = qs.filter(action__startswith=what) if what.endswith(".") else qs.filter(action=what)
    if date_from:
        qs = qs.filter(created_at__gte=_day_start(date_from))
    if date_to:
        following = add_days(date_to, 1)
        if following is not None:
            qs = qs.filter(created_at__lt=_day_start(following))
    if org is not None:
        qs = qs.filter(org_path__startswith=org.path)
    return qs


# ---------------------------------------------------------------- the former cursor format
# The page now pages with core.pagination's signed cursors; this exact "<microseconds>-<id>" form is kept
# for what still refers to a row's position by it (tests/core/test_audit_log.py).
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CURSOR = re.compile(r"^(\d{1,17})-(\d{1,18})$")


def encode_cursor(entry: AuditEntry) -> str:
    """The position after `entry`: "<microseconds since 1970 UTC>-<id>" (exact, no float rounding)."""
    delta = entry.created_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}-{entry.pk}"


def decode_cursor(value: str) -> tuple[dt.datetime, int] | None:
    """(created_at, id) from `encode_cursor`, or None for anything else."""
    match = _CURSOR.match(value or "")
    if not match:
        return None
    try:
        at = _EPOCH + dt.timedelta(microseconds=int(match.group(1)))
    except OverflowError:
        return None
    return at, int(match.group(2))


# ---------------------------------------------------------------- rendering the changes
_labels_cache: dict[str, dict[str, str]] = {}


def _field_labels(object_type: str) -> dict[str, str]:
    """{attname or name: verbose name} of the model named "app_label.model" (empty when unknown)."""
    if object_type not in _labels_cache:
        labels: dict[str, str] = {}
        try:
            model = apps.get_model(object_type)
        except (LookupError, ValueError):
            model = None
        if model is not None:
            for field in model._meta.concrete_fields:
                labels[field.attname] = labels[field.name] = str(field.verbose_name)
        _labels_cache[object_type] = labels
    return _labels_cache[object_type]


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def change_lines(entry: AuditEntry) -> list[str]:
    """The row's changes as "field: before → after" lines (values were masked when the row was written);
    a note or any other single value as "field: value"."""
    changes = entry.changes if isinstance(entry.changes, dict) else {"note": entry.changes}
    labels = _field_labels(entry.object_type)
    lines = []
    for name, value in changes.items():
        label = labels.get(name) or (str(_("说明")) if name == "note" else name)
        if isinstance(value, list) and len(value) == 2:
            lines.append(f"{label}: {_shown(value[0])} → {_shown(value[1])}")
        else:
            lines.append(f"{label}: {_shown(value)}")
    return lines


def audit_export_too_large(qs: QuerySet[AuditEntry], *, limit: int = EXPORT_LIMIT) -> bool:
    """Whether `qs` holds more than `limit` rows (one query that stops at row limit + 1; no COUNT)."""
    return qs.order_by("-created_at", "-id")[limit:limit + 1].exists()


def audit_export_rows(qs: QuerySet[AuditEntry], *, limit: int = EXPORT_LIMIT):
    """The rows of the .xlsx export (at most `limit`), read in chunks."""
    for entry in qs.order_by("-created_at", "-id")[:limit].iterator(chunk_size=2000):
        yield [
            timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"), entry.actor_label, entry.address,
            entry.action, entry.object_repr, entry.object_type, entry.object_id, "\n".join(change_lines(entry)),
        ]
