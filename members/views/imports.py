"""Member import (upload → preview → confirm, error workbook) and roster comparison (数据比对) pages. Thin:
selectors read, actions write; objects outside the user's scope are 404."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError, RateLimitedError, apply_to_form
from core.spreadsheets import XLSX_CONTENT_TYPE
from members import import_forms
from members.actions import imports as actions
from members.models import MemberImport, RosterComparison, UploadStatus
from members.selectors import imports as selectors
from orgs.scoping import get_scoped_or_404, has_perm

PAGE_SIZE = 50
ERRORS_SHOWN = 200


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename=\"download.xlsx\"; filename*=UTF-8''{quote(filename)}.xlsx"
    return response


# ---------------------------------------------------------------- member import
@login_required
def import_start(request):
    if not has_perm(request.user, "member_import.add"):
        raise Http404
    form = import_forms.MemberImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            member_import = actions.member_import_upload(
                actor=request.user, org=form.cleaned_data["org"], filename=upload.name, data=upload.read()
            )
        except DomainError as exc:
            _rate_limited(form, exc)
        else:
            return redirect("members:import_preview", pk=member_import.pk)
    recent = selectors.member_import_list(user=request.user)[:10]
    return _with_retry_after(render(request, "members/imports/import_start.html", {
        "nav_section": "members", "form": form, "recent": recent, "retention_days": selectors.upload_retention_days(),
    }, status=429 if getattr(form, "rate_limited", None) else 200), form)


def _rate_limited(form, exc: DomainError) -> None:
    """Show the error on the form; remember a rate limit so that the page answers 429 with Retry-After."""
    apply_to_form(form, exc)
    if isinstance(exc, RateLimitedError):
        form.rate_limited = exc.retry_after


def _with_retry_after(response: HttpResponse, form) -> HttpResponse:
    if getattr(form, "rate_limited", None):
        response["Retry-After"] = str(form.rate_limited)
    return response


@login_required
def import_template(request):
    if not has_perm(request.user, "member_import.add"):
        raise Http404
    return _xlsx_response(actions.import_template_bytes(), _("党员信息导入模板"))


@login_required
def import_preview(request, pk: int):
    member_import = get_scoped_or_404(MemberImport.objects.select_related("org").defer("file_encrypted"), request.user, "view", pk=pk)
    return render(request, "members/imports/import_preview.html", {
        "nav_section": "members", "item": member_import, "errors": member_import.errors[:ERRORS_SHOWN],
        "errors_shown": ERRORS_SHOWN, "error_rows": len({e["row"] for e in member_import.errors}),
        "retention_days": selectors.upload_retention_days(),
        "can_confirm": member_import.status == UploadStatus.PREVIEWED and member_import.valid_rows > 0
        and MemberImport.objects.restrict(request.user, "add").filter(pk=pk).exists(),
    })


@login_required
@require_POST
def import_confirm(request, pk: int):
    member_import = get_scoped_or_404(MemberImport.objects, request.user, "add", pk=pk)
    try:
        member_import = actions.member_import_confirm(actor=request.user, member_import=member_import)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已导入 %(n)d 名党员。") % {"n": member_import.created_count})
    return redirect("members:import_preview", pk=pk)


@login_required
def import_errors(request, pk: int):
    member_import = get_scoped_or_404(MemberImport.objects.defer("file_encrypted"), request.user, "view", pk=pk)
    return _xlsx_response(actions.import_errors_bytes(member_import), _("导入错误清单"))


# ---------------------------------------------------------------- roster comparison
@login_required
def roster_list(request):
    if not has_perm(request.user, "roster.view"):
        raise Http404
    page = Paginator(selectors.roster_comparison_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(c, selectors.roster_figures_visible(user=request.user, comparison=c)) for c in page.object_list]
    return render(request, "members/imports/roster_list.html", {
        "nav_section": "members", "page": page, "rows": rows, "query": "", "can_add": has_perm(request.user, "roster.add"),
        "retention_days": selectors.upload_retention_days(),
    })


@login_required
def roster_start(request):
    if not has_perm(request.user, "roster.add"):
        raise Http404
    form = import_forms.RosterUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            comparison = actions.roster_comparison_start(
                actor=request.user, org=form.cleaned_data["org"], platform=form.cleaned_data["platform"],
                filename=upload.name, data=upload.read(), address=request.META.get("REMOTE_ADDR", ""),
            )
        except DomainError as exc:
            _rate_limited(form, exc)
        else:
            return redirect("members:roster_detail", pk=comparison.pk)
    return _with_retry_after(render(request, "members/imports/roster_start.html", {
        "nav_section": "members", "form": form, "retention_days": selectors.upload_retention_days(),
    }, status=429 if getattr(form, "rate_limited", None) else 200), form)


def _comparison(request, pk: int) -> RosterComparison:
    return get_scoped_or_404(RosterComparison.objects.select_related("org", "uploaded_by", "headcounts_applied_by").defer("upload_encrypted"),
                             request.user, "view", pk=pk)


@login_required
def roster_detail(request, pk: int):
    comparison = _comparison(request, pk)
    finished = comparison.status == UploadStatus.DONE
    return render(request, "members/imports/roster_detail.html", {
        "nav_section": "members", "item": comparison, "finished": finished,
        "figures_visible": selectors.roster_figures_visible(user=request.user, comparison=comparison),
        "groups": selectors.roster_findings(user=request.user, comparison=comparison) if finished else [],
        "headcounts": selectors.roster_headcount_proposals(user=request.user, comparison=comparison) if finished else None,
        "retention_days": selectors.upload_retention_days(),
    })


@login_required
@require_POST
def roster_headcounts_confirm(request, pk: int):
    comparison = _comparison(request, pk)
    try:
        changed = actions.roster_headcounts_apply(actor=request.user, comparison=comparison)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已更新 %(n)d 个单位的从业人数，并记入单位变更记录。") % {"n": len(changed)})
    return redirect("members:roster_detail", pk=pk)


@login_required
def roster_progress(request, pk: int):
    """htmx partial, polled every 2 s while the comparison runs; asks for a full reload once it has finished."""
    comparison = _comparison(request, pk)
    response = render(request, "members/imports/_roster_progress.html", {"item": comparison})
    if request.headers.get("HX-Request") and comparison.status in (UploadStatus.DONE, UploadStatus.FAILED):
        response["HX-Refresh"] = "true"
    return response
