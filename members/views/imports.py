"""Member import (upload → preview → confirm, template and error workbooks) and roster comparison (数据比对:
list, upload, result, progress, headcount confirmation) pages. Thin: selectors read, actions write; objects
outside the user's scope are 404."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.spreadsheets import XLSX_CONTENT_TYPE
from core.views.generic import (
    PortalView,
    ScopedActionView,
    ScopedDetailView,
    ScopedFormView,
    ScopedListView,
    ScopedObjectMixin,
)
from members.actions import imports as actions
from members.forms.imports import MemberImportForm, RosterUploadForm
from members.models import MemberImport, RosterComparison, UploadStatus
from members.selectors import imports as selectors
from members.views.common import RateLimitedFormMixin

NAV = "members"
ERRORS_SHOWN = 200
RECENT_IMPORTS = 10


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename=\"download.xlsx\"; filename*=UTF-8''{quote(filename)}.xlsx"
    return response


class UploadPageMixin:
    """Pages about uploads say how long an unconfirmed upload is kept (rule row)."""

    nav_section = NAV

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "retention_days": selectors.upload_retention_days()}


# ---------------------------------------------------------------- member import
class ImportStartView(UploadPageMixin, RateLimitedFormMixin, ScopedFormView):
    perm = "member_import.add"
    title = gettext_lazy("批量导入党员")
    template_name = "members/imports/import_form.html"
    form_class = MemberImportForm
    submit_label = gettext_lazy("上传并预览")

    def perform(self, form):
        upload = form.cleaned_data["file"]
        with self.rate_limit():
            return actions.member_import_upload(actor=self.request.user, org=form.cleaned_data["org"],
                                                filename=upload.name, data=upload.read())

    def get_success_url(self, result) -> str:
        return reverse("members:import_preview", args=[result.pk])

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        recent = selectors.member_import_list(user=self.request.user)[:RECENT_IMPORTS]
        return {**super().get_context_data(**kwargs), "recent": recent}


class ImportTemplateView(PortalView):
    """The import template workbook (a download)."""

    perm = "member_import.add"

    def get(self, request, *args, **kwargs):
        return _xlsx_response(actions.import_template_bytes(), _("党员信息导入模板"))


class ImportPreviewView(UploadPageMixin, ScopedDetailView):
    perm = "member_import.view"
    title = gettext_lazy("导入预览")
    template_name = "members/imports/import_detail.html"
    queryset = MemberImport.objects.select_related("org").defer("file_encrypted")
    context_object_name = "item"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        item, user = self.object, self.request.user
        context.update({
            "errors": item.errors[:ERRORS_SHOWN], "errors_shown": ERRORS_SHOWN,
            "error_rows": len({e["row"] for e in item.errors}),
            "can_confirm": item.status == UploadStatus.PREVIEWED and item.valid_rows > 0
            and MemberImport.objects.restrict(user, "add").filter(pk=item.pk).exists(),
        })
        return context


class ImportConfirmView(ScopedActionView):
    """Write every valid row at once (all or nothing); the outcome comes back on the preview page."""

    perm = "member_import.add"
    queryset = MemberImport.objects.all()
    object_action = "add"

    def perform(self, obj):
        return actions.member_import_confirm(actor=self.request.user, member_import=obj)

    def get_success_url(self, obj) -> str:
        return reverse("members:import_preview", args=[obj.pk])

    def get_success_message(self, obj, result) -> str:
        return _("已导入 %(n)d 名党员。") % {"n": result.created_count}


class ImportErrorsView(ScopedObjectMixin, PortalView):
    """The error list of an import as a workbook (a download)."""

    perm = "member_import.view"
    queryset = MemberImport.objects.defer("file_encrypted")

    def get(self, request, *args, **kwargs):
        return _xlsx_response(actions.import_errors_bytes(self.get_object()), _("导入错误清单"))


# ---------------------------------------------------------------- roster comparison
class RosterListView(UploadPageMixin, ScopedListView):
    perm = "roster.view"
    title = gettext_lazy("数据比对")
    template_name = "members/imports/roster_list.html"
    table_template_name = "members/imports/_roster_table.html"
    ordering = ("-created_at", "-pk")

    def get_queryset(self):
        return selectors.roster_comparison_list(user=self.request.user)

    def decorate(self, rows: list) -> list:
        for comparison in rows:
            comparison.figures_visible = selectors.roster_figures_visible(user=self.request.user, comparison=comparison)
        return rows

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "can_add": self.may("roster.add")}


class RosterStartView(UploadPageMixin, RateLimitedFormMixin, ScopedFormView):
    perm = "roster.add"
    title = gettext_lazy("上传平台从业人员名单进行比对")
    template_name = "members/imports/roster_form.html"
    form_class = RosterUploadForm
    submit_label = gettext_lazy("上传并开始比对")

    def perform(self, form):
        upload = form.cleaned_data["file"]
        with self.rate_limit():
            return actions.roster_comparison_start(
                actor=self.request.user, org=form.cleaned_data["org"], platform=form.cleaned_data["platform"],
                filename=upload.name, data=upload.read(), address=self.request.META.get("REMOTE_ADDR", ""),
            )

    def get_success_url(self, result) -> str:
        return reverse("members:roster_detail", args=[result.pk])

    def get_cancel_url(self) -> str:
        return reverse("members:roster_list")


class RosterObjectMixin:
    """One comparison in the user's view scope (without the encrypted upload)."""

    perm = "roster.view"
    nav_section = NAV
    queryset = RosterComparison.objects.select_related("org", "uploaded_by", "headcounts_applied_by").defer("upload_encrypted")
    object_action = "view"


class RosterDetailView(UploadPageMixin, RosterObjectMixin, ScopedDetailView):
    title = gettext_lazy("比对结果")
    template_name = "members/imports/roster_detail.html"
    context_object_name = "item"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        comparison, user = self.object, self.request.user
        finished = comparison.status == UploadStatus.DONE
        context.update({
            "finished": finished,
            "figures_visible": selectors.roster_figures_visible(user=user, comparison=comparison),
            "groups": selectors.roster_findings(user=user, comparison=comparison) if finished else [],
            "headcounts": selectors.roster_headcount_proposals(user=user, comparison=comparison) if finished else None,
        })
        return context


class RosterProgressView(RosterObjectMixin, ScopedObjectMixin, PortalView):
    """htmx fragment, polled every 2 s while the comparison runs; asks for a full reload once it has finished."""

    template_name = "members/imports/_roster_progress.html"

    def get(self, request, *args, **kwargs):
        comparison = self.get_object()
        response = self.render_to_response({"item": comparison})
        if request.headers.get("HX-Request") and comparison.status in (UploadStatus.DONE, UploadStatus.FAILED):
            response["HX-Refresh"] = "true"
        return response


class RosterHeadcountsConfirmView(RosterObjectMixin, ScopedActionView):
    """Write the roster's headcounts to the workplaces (the action checks the user may change every one)."""

    def perform(self, obj):
        return actions.roster_headcounts_apply(actor=self.request.user, comparison=obj)

    def get_success_url(self, obj) -> str:
        return reverse("members:roster_detail", args=[obj.pk])

    def get_success_message(self, obj, result) -> str:
        return _("已更新 %(n)d 个单位的从业人数，并记入单位变更记录。") % {"n": len(result)}
