"""Organizational-life pages: log a meeting (one page, one submit, phone first), list + export, month
calendar, detail (attendance, quorum, minutes, files, history), edit/resubmit, return for correction, and
the scope-checked file view. Thin: selectors read, actions write; classes on core.views.generic."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities import actions, selectors
from activities.actions import ACTIVITY_FIELDS, ActivityAlreadySaved, quorum_statement
from activities.filtersets import ActivityFilterSet
from activities.forms import (
    ActivityForm,
    CalendarOrgForm,
    PickOrgForm,
    ReturnForm,
    UploadForm,
    attendance_from_post,
    loggable_orgs,
)
from activities.models import Activity, ActivityEventKind, ActivityKind, ActivityStatus, AttendanceStatus, Cycle
from activities.selectors import compliance
from activities.views.compliance import bad_request_page
from core.dates import add_months
from core.views.generic import PortalView, ScopedActionView, ScopedDetailView, ScopedFormView, ScopedListView
from orgs.models import Organization
from orgs.scoping import get_scoped_or_404

NAV = "activities"
ORDERING = ("-starts_at", "-pk")


def _pk_or_none(value) -> int | None:
    """An id typed in a URL or form: ASCII digits only (str.isdigit() also accepts "²", which int() refuses)."""
    value = str(value or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# ---------------------------------------------------------------- list and export
class ActivityListView(ScopedListView):
    perm = "activity.view"
    nav_section = NAV
    title = gettext_lazy("组织生活")
    template_name = "activities/records/list.html"
    table_template_name = "activities/records/_table.html"
    filterset_class = ActivityFilterSet
    ordering = ORDERING
    export_title = gettext_lazy("组织生活记录")
    export_limit = 50_000
    export_headers = [
        gettext_lazy("类型"), gettext_lazy("党组织"), gettext_lazy("党小组"), gettext_lazy("开始时间"), gettext_lazy("结束时间"),
        gettext_lazy("地点"), gettext_lazy("线上开展"), gettext_lazy("议题/主题"), gettext_lazy("主持人"), gettext_lazy("记录人"),
        gettext_lazy("授课人"), gettext_lazy("应到"), gettext_lazy("实到"), gettext_lazy("表决情况"), gettext_lazy("状态"),
        gettext_lazy("会议记录"), gettext_lazy("决议事项"),
    ]

    def get_queryset(self):
        return selectors.activity_rows(user=self.request.user)

    def get_page(self, qs):
        # the attendance counts are added to the page's query only (the COUNT of the pager stays a plain one)
        return super().get_page(selectors.with_attendance_counts(qs))

    def export(self, qs):
        filterset = self.filterset
        if filterset.is_bound and not filterset.is_valid():  # never export other records than asked for
            errors = "；".join(str(e) for errs in filterset.errors.values() for e in errs)
            return bad_request_page(self.request, _("筛选条件有误，未导出：%(errors)s") % {"errors": errors},
                                    back=reverse("activities:activity_list"))
        return super().export(qs)

    def export_rows(self, qs):
        rows = selectors.with_attendance_counts(qs).order_by(*ORDERING)
        return (self.export_row(a) for a in rows.iterator(chunk_size=2000))

    def export_row(self, a) -> list:
        return [a.get_kind_display(), a.org.name, a.party_group.name if a.party_group else "", _local(a.starts_at),
                _local(a.ends_at), a.place, _("是") if a.online else _("否"), a.topic, a.host, a.recorder, a.lecturer,
                a.n_expected, a.n_present, quorum_statement(a), a.get_status_display(), a.minutes, a.decisions]

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_add"] = self.may("activity.add")
        return context


# ---------------------------------------------------------------- calendar
class ActivityCalendarView(PortalView):
    perm = "activity.view"
    nav_section = NAV
    title = gettext_lazy("组织生活月历")
    template_name = "activities/records/calendar.html"

    def get(self, request, *args, **kwargs):
        user = request.user
        org_id = request.GET.get("org")
        if org_id:
            org = get_scoped_or_404(Organization.objects, user, "view", pk=org_id)
        else:
            org = Organization.objects.restrict(user, "view").active().order_by("path").first()
            if org is None:
                raise Http404
        today = timezone.localdate()
        period, error = compliance.period_or_error(Cycle.MONTH, request.GET.get("month"), today=today)
        if error:
            messages.warning(request, error)
        first = period.start
        previous = add_months(first, -1) or first
        following = add_months(first, 1) or first
        weeks = selectors.activity_calendar(user=user, org=org, year=first.year, month=first.month)
        return self.render_to_response(self.get_context_data(
            org=org, first=first, weeks=weeks, today=today,
            previous=previous.strftime("%Y-%m"), following=following.strftime("%Y-%m"),
            org_form=CalendarOrgForm(user=user, initial={"org": org.pk}), can_add=self.may("activity.add"),
        ))


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


def _return_reason(activity) -> str:
    """The reason of the latest return while the record waits for correction (events are prefetched)."""
    if activity.status != ActivityStatus.RETURNED:
        return ""
    returns = [e for e in activity.events.all() if e.kind == ActivityEventKind.RETURNED]
    return returns[-1].reason if returns else ""


class ActivityFormMixin:
    """The one-page record form: the form, the attendance toggles of the expected members, the kinds."""

    nav_section = NAV
    template_name = "activities/records/form.html"
    form_class = ActivityForm
    form_takes_user = False

    def attendance_rows(self):
        posted = self.request.POST if self.request.method == "POST" else None
        return _rows(self.members, posted, getattr(self, "existing", None))

    def get_success_url(self, result) -> str:
        return reverse("activities:activity_detail", args=[result.pk])


class ActivityCreateView(ActivityFormMixin, ScopedFormView):
    """Users who may log for one org go straight to its form; others pick the org first (?org=)."""

    perm = "activity.add"
    title = gettext_lazy("登记组织生活")

    def check_permission(self) -> None:
        super().check_permission()
        orgs = loggable_orgs(self.request.user)
        org_id = self.request.POST.get("org") or self.request.GET.get("org")
        self.org = None
        if org_id:
            pk = _pk_or_none(org_id)
            self.org = orgs.filter(pk=pk).first() if pk is not None else None
            if self.org is None:
                raise Http404
        else:
            candidates = list(orgs[:2])
            if len(candidates) == 1:
                self.org = candidates[0]
        self.members = list(selectors.expected_members(self.org)) if self.org is not None else []

    def get(self, request, *args, **kwargs):
        if self.org is None:
            return self.pick_org()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.org is None:
            return self.pick_org()
        return super().post(request, *args, **kwargs)

    def pick_org(self):
        return self.response_class(request=self.request, template=["activities/activity_pick_org.html"],
                                   context=self.get_context_data(pick_form=PickOrgForm(user=self.request.user)),
                                   using=self.template_engine)

    def get_form_kwargs(self) -> dict:
        now = timezone.localtime().replace(second=0, microsecond=0)
        kwargs = super().get_form_kwargs()
        kwargs["initial"] = {"starts_at": now}
        return {**kwargs, "org": self.org}

    def perform(self, form):
        data = form.cleaned_data
        try:
            return actions.activity_create(
                actor=self.request.user, org=self.org, kind=data["kind"], starts_at=data["starts_at"], topic=data["topic"],
                party_group=data["party_group"], files=data["files"], submission_token=data.get("submission_token"),
                attendance=attendance_from_post(self.request.POST, [m.pk for m in self.members]), **_values(data),
            )
        except ActivityAlreadySaved as exc:  # the same form posted again: show what the first post saved
            messages.info(self.request, str(exc.message))
            return HttpResponseRedirect(reverse("activities:activity_detail", args=[exc.activity.pk]))

    def get_success_message(self, result) -> str:
        return _("已登记“%(topic)s”。") % {"topic": result.topic}

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.org is not None:
            context.update(org=self.org, rows=self.attendance_rows(), kinds=ActivityKind.choices)
        return context


class ActivityEditView(ActivityFormMixin, ScopedFormView):
    perm = "activity.change"
    queryset = selectors.activity_detail_queryset()
    object_action = "change"
    success_message = gettext_lazy("已保存。")

    def check_permission(self) -> None:
        super().check_permission()  # fetches self.object (404 outside the user's change scope)
        rows = list(self.object.attendance.all())
        self.existing = {row.member_id: (row.status, row.leave_reason) for row in rows}
        self.members = [row.member for row in rows]

    def get_title(self) -> str:
        return _("修改后重新提交") if self.object.status == ActivityStatus.RETURNED else _("修改记录")

    def get_initial(self) -> dict:
        activity = self.object
        initial = {f: getattr(activity, f) for f in ACTIVITY_FIELDS}
        initial.update(kind=activity.kind, starts_at=timezone.localtime(activity.starts_at), party_group=activity.party_group_id)
        if activity.ends_at:
            initial["ends_at"] = timezone.localtime(activity.ends_at)
        return initial

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        kwargs.pop("files", None)
        return {**kwargs, "org": self.object.org, "editing": True}

    def perform(self, form):
        data = form.cleaned_data
        return actions.activity_update(
            actor=self.request.user, activity=self.object, kind=data["kind"], starts_at=data["starts_at"],
            party_group=data["party_group"], topic=data["topic"],
            attendance=attendance_from_post(self.request.POST, [m.pk for m in self.members]), **_values(data),
        )

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(org=self.object.org, activity=self.object, kinds=ActivityKind.choices, rows=self.attendance_rows(),
                       return_reason=_return_reason(self.object))
        return context


# ---------------------------------------------------------------- detail, return, upload, files
class ActivityDetailMixin:
    """The record page's context; the return and upload forms re-render it with their errors."""

    nav_section = NAV
    template_name = "activities/records/detail.html"

    def detail_context(self, activity, **forms) -> dict[str, Any]:
        user = self.request.user
        return {
            "activity": activity, "return_reason": _return_reason(activity),
            "summary": selectors.attendance_summary(activity), "quorum": quorum_statement(activity),
            "can_change": selectors.activity_may(user=user, activity=activity, action="change"),
            "can_review": (selectors.activity_may(user=user, activity=activity, action="review")
                           and activity.status != ActivityStatus.RETURNED),
            "return_form": forms.get("return_form") or ReturnForm(), "upload_form": forms.get("upload_form") or UploadForm(),
        }


class ActivityDetailView(ActivityDetailMixin, ScopedDetailView):
    perm = "activity.view"
    queryset = selectors.activity_detail_queryset()
    context_object_name = "activity"

    def get_title(self) -> str:
        return self.object.topic

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.detail_context(self.object))
        return context


class ActivityRecordFormView(ActivityDetailMixin, ScopedFormView):
    """A form posted from the record page: success redirects back to it, errors show on it (status 200)."""

    http_method_names = ["post"]
    queryset = selectors.activity_detail_queryset()
    form_takes_user = False
    form_context_name = ""

    def get_success_url(self, result) -> str:
        return reverse("activities:activity_detail", args=[self.object.pk])

    def get_title(self) -> str:
        return self.object.topic

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.detail_context(self.object, **{self.form_context_name: context["form"]}))
        return context


class ActivityReturnView(ActivityRecordFormView):
    perm = "activity.review"
    object_action = "review"
    form_class = ReturnForm
    form_context_name = "return_form"
    success_message = gettext_lazy("已退回修改。")

    def perform(self, form):
        return actions.activity_return(actor=self.request.user, activity=self.object, reason=form.cleaned_data["reason"])


class ActivityUploadView(ActivityRecordFormView):
    perm = "activity.change"
    object_action = "change"
    form_class = UploadForm
    form_context_name = "upload_form"
    success_message = gettext_lazy("已上传。")

    def perform(self, form):
        return actions.activity_add_files(actor=self.request.user, activity=self.object, uploads=form.cleaned_data["files"])


class ActivityFileView(PortalView):
    """Serve a file only to users who may see its record (another branch's file is 404)."""

    perm = "activity.view"

    def get(self, request, *args, **kwargs):
        pk = kwargs["pk"]
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


class ActivityFileRemoveView(ScopedActionView):
    """The URL names the file; the object fetched (for "change", 404 outside scope) is its record."""

    perm = "activity.change"
    queryset = Activity.objects.all()
    object_action = "change"
    lookup_field = "files__pk"
    success_message = gettext_lazy("已删除附件。")

    @cached_property
    def file(self):
        return self.object.files.get(pk=self.kwargs["pk"])

    def perform(self, obj):
        return actions.activity_remove_file(actor=self.request.user, file=self.file)

    def get_success_url(self, obj) -> str:
        return reverse("activities:activity_detail", args=[obj.pk])
