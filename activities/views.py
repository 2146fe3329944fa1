"""Organizational-life pages: log a meeting (one page, one submit, phone first), list + export, month
calendar, detail (attendance, quorum, minutes, files, history), edit/resubmit, return for correction, and
the scope-checked file view. Thin: selectors read, actions write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from activities import actions, compliance, selectors
from activities.actions import ACTIVITY_FIELDS, ActivityAlreadySaved, quorum_statement
from activities.board_views import bad_request_page
from activities.forms import ActivityForm, ReturnForm, UploadForm, attendance_from_post, loggable_orgs
from activities.models import Activity, ActivityEventKind, ActivityKind, ActivityStatus, AttendanceStatus, Cycle
from core.dates import add_months
from core.exceptions import DomainError, apply_to_form
from core.xlsx import workbook_response
from orgs.models import Organization
from orgs.scoping import get_scoped_or_404, has_perm

PAGE_SIZE = 50
NAV = "activities"


def _can(user, activity: Activity, action: str) -> bool:
    return Activity.objects.restrict(user, action).filter(pk=activity.pk).exists()


def _pk_or_none(value) -> int | None:
    """An id typed in a URL or form: ASCII digits only (str.isdigit() also accepts "²", which int() refuses)."""
    value = str(value or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


# ---------------------------------------------------------------- list and export
EXPORT_HEADERS = [
    gettext_lazy("类型"), gettext_lazy("党组织"), gettext_lazy("党小组"), gettext_lazy("开始时间"), gettext_lazy("结束时间"),
    gettext_lazy("地点"), gettext_lazy("线上开展"), gettext_lazy("议题/主题"), gettext_lazy("主持人"), gettext_lazy("记录人"),
    gettext_lazy("授课人"), gettext_lazy("应到"), gettext_lazy("实到"), gettext_lazy("表决情况"), gettext_lazy("状态"),
    gettext_lazy("会议记录"), gettext_lazy("决议事项"),
]


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@login_required
def activity_list(request):
    if not has_perm(request.user, "activity.view"):
        raise Http404
    filterset = selectors.activity_filterset(user=request.user, data=request.GET or None)
    if request.GET.get("format") == "xlsx":
        if filterset.is_bound and not filterset.is_valid():  # never export other records than asked for
            errors = "；".join(str(e) for errs in filterset.errors.values() for e in errs)
            return bad_request_page(request, _("筛选条件有误，未导出：%(errors)s") % {"errors": errors},
                                    back=reverse("activities:activity_list"))
        return _export(selectors.activity_list(user=request.user, filters=request.GET))
    qs = selectors.activity_list(user=request.user, filters=request.GET)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "activities/activity_list.html", {
        "nav_section": NAV, "filter": filterset,
        "page": page, "query": query.urlencode(), "can_add": has_perm(request.user, "activity.add"),
    })


def _export(qs):
    rows = (
        [a.get_kind_display(), a.org.name, a.party_group.name if a.party_group else "", _local(a.starts_at), _local(a.ends_at),
         a.place, _("是") if a.online else _("否"), a.topic, a.host, a.recorder, a.lecturer, a.n_expected, a.n_present,
         quorum_statement(a), a.get_status_display(), a.minutes, a.decisions]
        for a in qs
    )
    title = _("组织生活记录")
    return workbook_response(filename=title, title=title, headers=[str(h) for h in EXPORT_HEADERS], rows=rows)


# ---------------------------------------------------------------- calendar
@login_required
def activity_calendar(request):
    if not has_perm(request.user, "activity.view"):
        raise Http404
    org_id = request.GET.get("org")
    if org_id:
        org = get_scoped_or_404(Organization.objects, request.user, "view", pk=org_id)
    else:
        org = Organization.objects.restrict(request.user, "view").active().order_by("path").first()
        if org is None:
            raise Http404
    today = timezone.localdate()
    period, error = compliance.period_or_error(Cycle.MONTH, request.GET.get("month"), today=today)
    if error:
        messages.warning(request, error)
    first = period.start
    previous = add_months(first, -1) or first
    following = add_months(first, 1) or first
    weeks = selectors.activity_calendar(user=request.user, org=org, year=first.year, month=first.month)
    return render(request, "activities/activity_calendar.html", {
        "nav_section": NAV, "org": org, "first": first, "weeks": weeks, "today": today,
        "previous": previous.strftime("%Y-%m"), "following": following.strftime("%Y-%m"),
        "orgs": Organization.objects.restrict(request.user, "view").active().order_by("path")[:500],
        "can_add": has_perm(request.user, "activity.add"),
    })


# ---------------------------------------------------------------- log a meeting, edit/resubmit
def _rows(members, data, existing: dict | None = None):
    """(member, status, reason, voting) for the attendance toggles, keeping what was posted."""
    existing = existing or {}
    rows = []
    for member in members:
        status, reason = existing.get(member.pk, (AttendanceStatus.PRESENT, ""))
        if data is not None and data.get(f"att-{member.pk}"):
            status, reason = data.get(f"att-{member.pk}"), data.get(f"reason-{member.pk}", "")
        rows.append((member, status, reason, actions.is_voting(member)))
    return rows


def _values(data: dict) -> dict:
    return {k: v for k, v in data.items() if k in ACTIVITY_FIELDS and k != "topic"}


@login_required
def activity_create(request):
    if not has_perm(request.user, "activity.add"):
        raise Http404
    orgs = loggable_orgs(request.user)
    org_id = request.POST.get("org") or request.GET.get("org")
    if org_id:
        pk = _pk_or_none(org_id)
        org = orgs.filter(pk=pk).first() if pk is not None else None
        if org is None:
            raise Http404
    else:
        candidates = list(orgs[:2])
        if len(candidates) != 1:
            return render(request, "activities/activity_pick_org.html", {"nav_section": NAV, "orgs": orgs[:500]})
        org = candidates[0]
    members = list(selectors.expected_members(org))
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = ActivityForm(request.POST or None, request.FILES or None, org=org, initial={"starts_at": now})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = actions.activity_create(
                actor=request.user, org=org, kind=data["kind"], starts_at=data["starts_at"], topic=data["topic"],
                party_group=data["party_group"], attendance=attendance_from_post(request.POST, [m.pk for m in members]),
                files=data["files"], submission_token=data.get("submission_token"), **_values(data),
            )
        except ActivityAlreadySaved as exc:  # the same form posted again: show what the first post saved
            messages.info(request, str(exc.message))
            return redirect("activities:activity_detail", pk=exc.activity.pk)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已登记“%(topic)s”。") % {"topic": activity.topic})
            return redirect("activities:activity_detail", pk=activity.pk)
    return render(request, "activities/activity_form.html", {
        "nav_section": NAV, "form": form, "org": org, "rows": _rows(members, request.POST if request.method == "POST" else None),
        "kinds": ActivityKind.choices, "title": _("登记组织生活"),
    })


@login_required
def activity_edit(request, pk: int):
    activity = get_scoped_or_404(selectors.activity_detail_queryset(), request.user, "change", pk=pk)
    existing = {row.member_id: (row.status, row.leave_reason) for row in activity.attendance.all()}
    members = [row.member for row in activity.attendance.all()]
    initial = {f: getattr(activity, f) for f in ACTIVITY_FIELDS}
    initial.update(kind=activity.kind, starts_at=timezone.localtime(activity.starts_at), party_group=activity.party_group_id)
    if activity.ends_at:
        initial["ends_at"] = timezone.localtime(activity.ends_at)
    form = ActivityForm(request.POST or None, org=activity.org, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.activity_update(
                actor=request.user, activity=activity, kind=data["kind"], starts_at=data["starts_at"],
                party_group=data["party_group"], topic=data["topic"],
                attendance=attendance_from_post(request.POST, [m.pk for m in members]), **_values(data),
            )
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("activities:activity_detail", pk=activity.pk)
    return render(request, "activities/activity_form.html", {
        "nav_section": NAV, "form": form, "org": activity.org, "activity": activity, "kinds": ActivityKind.choices,
        "rows": _rows(members, request.POST if request.method == "POST" else None, existing),
        "title": _("修改后重新提交") if activity.status == ActivityStatus.RETURNED else _("修改记录"),
        "return_reason": _return_reason(activity),
    })


# ---------------------------------------------------------------- detail, return, files
def _return_reason(activity) -> str:
    """The reason of the latest return while the record waits for correction (events are prefetched)."""
    if activity.status != ActivityStatus.RETURNED:
        return ""
    returns = [e for e in activity.events.all() if e.kind == ActivityEventKind.RETURNED]
    return returns[-1].reason if returns else ""


def _detail(request, activity, **extra):
    user = request.user
    context = {
        "return_reason": _return_reason(activity),
        "nav_section": NAV, "activity": activity, "summary": selectors.attendance_summary(activity),
        "quorum": quorum_statement(activity), "can_change": _can(user, activity, "change"),
        "can_review": _can(user, activity, "review") and activity.status != ActivityStatus.RETURNED,
        "return_form": ReturnForm(), "upload_form": UploadForm(),
    }
    context.update(extra)
    return render(request, "activities/activity_detail.html", context)


@login_required
def activity_detail(request, pk: int):
    activity = get_scoped_or_404(selectors.activity_detail_queryset(), request.user, "view", pk=pk)
    return _detail(request, activity)


@login_required
@require_POST
def activity_return(request, pk: int):
    activity = get_scoped_or_404(selectors.activity_detail_queryset(), request.user, "review", pk=pk)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            actions.activity_return(actor=request.user, activity=activity, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已退回修改。"))
            return redirect("activities:activity_detail", pk=activity.pk)
    return _detail(request, activity, return_form=form)


@login_required
@require_POST
def activity_upload(request, pk: int):
    activity = get_scoped_or_404(selectors.activity_detail_queryset(), request.user, "change", pk=pk)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            actions.activity_add_files(actor=request.user, activity=activity, uploads=form.cleaned_data["files"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已上传。"))
            return redirect("activities:activity_detail", pk=activity.pk)
    return _detail(request, activity, upload_form=form)


@login_required
def activity_file(request, pk: int):
    """Serve a file only to users who may see its record (another branch's file is 404)."""
    activity = get_scoped_or_404(Activity.objects, request.user, "view", files__pk=pk)
    record = activity.files.get(pk=pk)
    try:
        handle = record.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=record.content_type, as_attachment=not record.is_photo,
                            filename=record.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, private=True, max_age=3600)
    return response


@login_required
@require_POST
def activity_file_remove(request, pk: int):
    activity = get_scoped_or_404(Activity.objects, request.user, "change", files__pk=pk)
    try:
        actions.activity_remove_file(actor=request.user, file=activity.files.get(pk=pk))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已删除附件。"))
    return redirect("activities:activity_detail", pk=activity.pk)

