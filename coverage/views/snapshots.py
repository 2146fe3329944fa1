"""Coverage snapshot pages (覆盖情况报表): the list with trend lines and the "生成快照" form, a snapshot's
rows, and the .xlsx download. Thin: selectors read (scoped), coverage.actions.snapshots writes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, apply_to_form
from core.views.generic import PortalView, ScopedDetailView, ScopedListView, ScopedObjectMixin
from coverage.actions.snapshots import snapshot_request
from coverage.forms.snapshots import SnapshotRequestForm
from coverage.models import CoverageSnapshot, SnapshotStatus
from coverage.selectors import snapshots as selectors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NAV = "snapshots"

# (label, row property, colour, dash pattern): the dash tells the lines apart without colour too.
TREND_SERIES = [
    (gettext_lazy("组织覆盖率"), "org_rate", "#c00000", ""),
    (gettext_lazy("工作覆盖率"), "work_rate", "#0d6efd", "6 3"),
    (gettext_lazy("15分钟服务圈覆盖率"), "reach_rate", "#198754", "2 3"),
    (gettext_lazy("三会一课达标率"), "compliance_rate", "#b35c00", "8 3 2 3"),
]
CHART_W, CHART_H = 640, 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 28, 14, 44


def trend_chart(rows) -> dict:
    """Geometry of an inline SVG line chart (0–100 %) of the trend rows: server-rendered, no JS."""
    plot_w, plot_h = CHART_W - PAD_LEFT - PAD_RIGHT, CHART_H - PAD_TOP - PAD_BOTTOM
    n = len(rows)

    def x(i: int) -> float:
        return round(PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2), 1)

    def y(value: float) -> float:
        return round(PAD_TOP + plot_h * (1 - max(0.0, min(100.0, value)) / 100), 1)

    periods = [row.snapshot.period_start.strftime("%Y-%m") for row in rows]
    step = max(1, (n + 11) // 12)  # at most about 12 labels on the x axis
    series = []
    for label, attr, colour, dash in TREND_SERIES:
        dots = [{"x": x(i), "y": y(value), "value": value, "period": periods[i]}
                for i, row in enumerate(rows) if (value := getattr(row, attr)) is not None]
        series.append({"label": label, "colour": colour, "dash": dash, "dots": dots,
                       "points": " ".join(f"{d['x']},{d['y']}" for d in dots)})
    return {
        "width": CHART_W, "height": CHART_H, "left": PAD_LEFT, "right": CHART_W - PAD_RIGHT,
        "top": PAD_TOP, "tick_x": PAD_LEFT - 6, "bottom": CHART_H - PAD_BOTTOM, "label_y": CHART_H - PAD_BOTTOM + 18,
        "axis_title_y": CHART_H - 6,
        "y_ticks": [{"value": v, "y": y(v)} for v in (0, 25, 50, 75, 100)],
        "x_labels": [{"x": x(i), "text": periods[i]} for i in range(n) if i % step == 0 or i == n - 1],
        "series": series,
        "table": [{"period": periods[i], "values": [getattr(row, attr) for _l, attr, _c, _d in TREND_SERIES]}
                  for i, row in enumerate(rows)],
    }


def _trend_org(request):
    """The org of the trend lines: ?org= inside the user's snapshot.view scope, else the top of it."""
    org_pk = request.GET.get("org")
    if not org_pk:
        return selectors.snapshot_top_org(user=request.user)
    try:
        org = selectors.snapshot_orgs(user=request.user).filter(pk=int(org_pk)).first()
    except (TypeError, ValueError):
        org = None
    if org is None:
        raise Http404
    return org


class SnapshotListView(ScopedListView):
    """The snapshots in scope (keyset pages, newest period first), the trend lines of one org (?org=, 404
    outside scope) and, for snapshot.add, the "生成快照" form, which posts here (404 without snapshot.add)."""

    perm = "snapshot.view"
    nav_section = NAV
    title = gettext_lazy("覆盖情况报表")
    template_name = "coverage/snapshots/list.html"
    table_template_name = "coverage/snapshots/_table.html"
    ordering = ("-period_start", "-requested_at", "-pk")
    page_size = 20
    request_form = None

    def get_queryset(self):
        return selectors.snapshot_list(user=self.request.user)

    def post(self, request, *args, **kwargs):
        if not self.may("snapshot.add"):
            raise Http404
        form = SnapshotRequestForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                snapshot_request(actor=request.user, org=form.cleaned_data["org"])
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                messages.success(request, _("快照已开始生成，完成后将在站内通知中提醒您"))
                return redirect("coverage:snapshot_list")
        self.request_form = form  # the list again, with the form's errors
        return self.get(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        can_add = self.may("snapshot.add")
        form = self.request_form or (SnapshotRequestForm(user=user) if can_add else None)
        trend_org = _trend_org(self.request)
        trend_rows = selectors.snapshot_trend(user=user, org=trend_org) if trend_org is not None else []
        trend_orgs = list(selectors.snapshot_trend_orgs(user=user))
        if trend_org is not None and trend_org not in trend_orgs:
            trend_orgs.insert(0, trend_org)
        context.update({
            "form": form, "can_add": can_add, "trend_org": trend_org, "trend_orgs": trend_orgs,
            "chart": trend_chart(trend_rows) if trend_rows else None, "series": TREND_SERIES,
        })
        return context


class SnapshotDetailView(ScopedDetailView):
    """One snapshot's rows by dimension (once ready); 404 outside scope."""

    perm = "snapshot.view"
    nav_section = NAV
    template_name = "coverage/snapshots/detail.html"
    queryset = CoverageSnapshot.objects.defer("report").select_related("org", "requested_by")
    context_object_name = "snapshot"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        snapshot = self.object
        grouped = selectors.snapshot_rows(snapshot) if snapshot.status == SnapshotStatus.READY else {}
        context.update({
            "period_label": selectors.snapshot_period_label(snapshot),
            "sections": [
                (_("合计"), grouped.get("total", [])),
                (_("按党组织"), grouped.get("org", [])),
                (_("按街道"), grouped.get("region", [])),
                (_("按行业"), grouped.get("industry", [])),
            ] if grouped else [],
        })
        return context


class SnapshotDownloadView(ScopedObjectMixin, PortalView):
    """The stored .xlsx report of a ready snapshot (404 outside scope; before it is ready: back to the
    snapshot with a message)."""

    perm = "snapshot.view"
    queryset = CoverageSnapshot.objects.select_related("org")

    def get(self, request, *args, **kwargs):
        snapshot = self.get_object()
        if snapshot.status != SnapshotStatus.READY or not snapshot.report:
            messages.warning(request, _("该快照的报表尚未生成完成，请稍后再下载。"))
            return redirect("coverage:snapshot_detail", pk=snapshot.pk)
        name = f"{_('覆盖情况报表')}-{snapshot.org.name}-{snapshot.period_start:%Y%m}"
        if snapshot.kind != "monthly":
            name += f"-{snapshot.period_end:%Y%m%d}"
        response = HttpResponse(bytes(snapshot.report), content_type=XLSX)
        response["Content-Disposition"] = (
            f"attachment; filename=\"snapshot-{snapshot.pk}.xlsx\"; filename*=UTF-8''{quote(name)}.xlsx"
        )
        return response
