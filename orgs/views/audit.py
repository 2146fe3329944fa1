"""The audit log for district staff (/audit/): every write made through an action, newest first, filtered
by who, what, when and org subtree, paged by keyset ("older" carries the cursor), exported to .xlsx with the
same filters. Read-only: nothing here edits or deletes a row. Thin: orgs.selectors.audit reads.

A bad filter value is reported and skipped on the page (the others still apply), and refuses the export
(never export other rows than asked for)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.views.generic import ScopedListView
from orgs.filtersets import AuditEntryFilterSet
from orgs.selectors import audit as selectors

EXPORT_HEADERS = [
    gettext_lazy("时间"), gettext_lazy("操作人"), gettext_lazy("来源地址"), gettext_lazy("操作"), gettext_lazy("对象"),
    gettext_lazy("对象类型"), gettext_lazy("对象编号"), gettext_lazy("变更内容"),
]


def _error_text(form) -> str:
    return "；".join(
        f"{form.fields[name].label}: {error}" if name in form.fields and form.fields[name].label else str(error)
        for name, errors in form.errors.items() for error in errors
    )


class AuditListView(ScopedListView):
    perm = selectors.PERM
    nav_section = "audit"
    title = gettext_lazy("操作日志")
    template_name = "orgs/audit/list.html"
    table_template_name = "orgs/audit/_table.html"
    filterset_class = AuditEntryFilterSet
    ordering = selectors.ORDERING
    page_size = selectors.PAGE_SIZE
    max_page_size = selectors.PAGE_SIZE
    show_total = False  # a page never counts the log
    export_headers = EXPORT_HEADERS

    @property
    def export_limit(self) -> int:
        return selectors.EXPORT_LIMIT

    def get_queryset(self):
        return selectors.audit_entries_for(user=self.request.user)

    def filter_data(self):
        data = super().filter_data()
        if self.request.GET.get("cursor"):
            data["cursor"] = self.request.GET["cursor"]  # the form checks it (a bad one is reported)
        return data

    def filtered_queryset(self):
        qs = super().filtered_queryset()
        if self.filterset.errors and not self.exporting:
            messages.warning(self.request, _("部分筛选条件有误，已忽略：%(errors)s") % {"errors": _error_text(self.filterset.form)})
        return qs

    @property
    def exporting(self) -> bool:
        return self.request.GET.get("format") == "xlsx"

    def export(self, qs):
        if self.filterset.errors:
            messages.error(self.request, _("筛选条件有误，未导出：%(errors)s") % {"errors": _error_text(self.filterset.form)})
            return redirect(f"{self.request.path}?{self.query_string()}")
        return super().export(qs)

    def export_rows(self, qs):
        return selectors.audit_export_rows(qs, limit=self.export_limit)

    def decorate(self, rows: list) -> list:
        for entry in rows:
            entry.change_lines = selectors.change_lines(entry)
        return rows
