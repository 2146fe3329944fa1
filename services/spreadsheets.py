"""The request queue as .xlsx: masked phone (first three digits only), local (Asia/Shanghai) times, formula-escaped cells."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import crypto
from core.xlsx import workbook_response
from services.credentials import requester_phone_mask

HEADERS = [
    gettext_lazy("查询码"), gettext_lazy("类别"), gettext_lazy("诉求内容"), gettext_lazy("提出人"), gettext_lazy("联系电话"),
    gettext_lazy("所在单位"), gettext_lazy("承办党组织"), gettext_lazy("经办人"), gettext_lazy("优先级"), gettext_lazy("状态"),
    gettext_lazy("提交时间"), gettext_lazy("办理期限"), gettext_lazy("是否逾期"), gettext_lazy("已升级至"),
    gettext_lazy("办结时间"), gettext_lazy("满意度"),
]


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _masked_phone(token: str) -> str:
    try:
        return requester_phone_mask(crypto.decrypt(token))
    except ValueError:
        return ""


def request_row(r, *, now=None) -> list:
    """One request as a row of HEADERS (the phone masked)."""
    return [
        r.display_code, r.category.name, r.description, r.requester_name, _masked_phone(r.requester_phone_encrypted),
        r.workplace.name if r.workplace else "", r.responsible_org.name, str(r.assignee) if r.assignee else "",
        r.get_priority_display(), r.get_status_display(), _local(r.submitted_at), _local(r.due_at),
        _("是") if r.is_overdue(now or timezone.now()) else _("否"), r.escalated_to.name if r.escalated_to else "",
        _local(r.resolved_at), r.satisfaction or "",
    ]


def request_rows(requests, *, now=None):
    now = now or timezone.now()
    for r in requests:
        yield request_row(r, now=now)


def request_export(requests, *, now=None):
    title = _("服务诉求")
    return workbook_response(filename=title, title=title, headers=[str(h) for h in HEADERS], rows=request_rows(requests, now=now))
