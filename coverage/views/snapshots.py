"""Coverage snapshot pages (覆盖情况报表): the list with trend lines and the "生成快照" form, a snapshot's
rows, and the .xlsx download. Thin: selectors read (scoped), coverage.actions.snapshots writes."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, apply_to_form
from coverage.actions.snapshots import snapshot_request
from coverage.forms.snapshots import SnapshotRequestForm
from coverage.models import CoverageSnapshot, SnapshotStatus
from coverage.selectors import snapshots as selectors
from orgs.scoping import get_scoped_or_404, has_perm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 20

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


@login_required
def snapshot_list(request):
    user = request.user
    if not has_perm(user, "snapshot.view"):
        raise Http404
    can_add = has_perm(user, "snapshot.add")
    form = None
    if can_add:
        form = SnapshotRequestForm(request.POST or None, user=user)
        if request.method == "POST" and form.is_valid():
            try:
                snapshot_request(actor=user, org=form.cleaned_data["org"])
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                messages.success(request, _("快照已开始生成，完成后将在站内通知中提醒您"))
                return redirect("coverage:snapshot_list")
    elif request.method == "POST":
        raise Http404
    page = Paginator(selectors.snapshot_list(user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    trend_org = _trend_org(request)
    trend_rows = selectors.snapshot_trend(user=user, org=trend_org) if trend_org is not None else []
    trend_orgs = list(selectors.snapshot_trend_orgs(user=user))
    if trend_org is not None and trend_org not in trend_orgs:
        trend_orgs.insert(0, trend_org)
    query = f"org={trend_org.pk}" if request.GET.get("org") and trend_org is not None else ""
    return render(request, "coverage/snapshots/snapshot_list.html", {
        "nav_section": "snapshots", "page": page, "query": query, "form": form, "can_add": can_add,
        "trend_org": trend_org, "trend_orgs": trend_orgs, "chart": trend_chart(trend_rows) if trend_rows else None,
        "series": TREND_SERIES,
    })


@login_required
def snapshot_detail(request, pk: int):
    snapshot = get_scoped_or_404(CoverageSnapshot.objects.defer("report").select_related("org", "requested_by"), request.user, "view", pk=pk)
    grouped = selectors.snapshot_rows(snapshot) if snapshot.status == SnapshotStatus.READY else {}
    return render(request, "coverage/snapshots/snapshot_detail.html", {
        "nav_section": "snapshots", "snapshot": snapshot, "period_label": selectors.snapshot_period_label(snapshot),
        "sections": [
            (_("合计"), grouped.get("total", [])),
            (_("按党组织"), grouped.get("org", [])),
            (_("按街道"), grouped.get("region", [])),
            (_("按行业"), grouped.get("industry", [])),
        ] if grouped else [],
    })


@login_required
def snapshot_download(request, pk: int):
    snapshot = get_scoped_or_404(CoverageSnapshot.objects.select_related("org"), request.user, "view", pk=pk)
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
