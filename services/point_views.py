"""Staff pages for service points and the 15-minute circle. Thin: selectors read, actions write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.exceptions import DomainError, apply_to_form
from core.xlsx import workbook_response
from orgs.scoping import get_scoped_or_404, has_perm
from services.actions import points as actions
from services.models import ServicePoint
from services.point_forms import CircleFilterForm, PointFilterForm, ServicePointForm
from services.selectors import points as selectors

PAGE_SIZE = 50


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return query.urlencode()


@login_required
def point_list(request):
    form = PointFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    if request.GET and not form.is_valid():
        points = ServicePoint.objects.restrict(request.user, "view").none()
    else:
        points = selectors.point_list(user=request.user, filters=filters)
    page = Paginator(points, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "services/points/point_list.html", {
        "nav_section": "service_points", "form": form, "page": page, "query": _query_without_page(request),
        "can_add": has_perm(request.user, "service_point.add"),
    })


@login_required
def point_detail(request, pk: int):
    point = get_scoped_or_404(selectors.point_detail_queryset(), request.user, "view", pk=pk)
    served = selectors.point_served_workplaces(user=request.user, point=point)
    return render(request, "services/points/point_detail.html", {
        "nav_section": "service_points", "point": point, "served": served[:PAGE_SIZE], "reach_m": selectors.reach_m(),
        "can_change": ServicePoint.objects.restrict(request.user, "change").filter(pk=point.pk).exists(),
    })


@login_required
def point_create(request):
    if not has_perm(request.user, "service_point.add"):
        raise Http404
    form = ServicePointForm(request.POST or None, user=request.user, perm="service_point.add")
    if request.method == "POST" and form.is_valid():
        try:
            point = actions.service_point_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已登记“%(name)s”，15分钟服务圈已重新计算。") % {"name": point.name})
            return redirect("services:point_detail", pk=point.pk)
    return render(request, "services/points/point_form.html", {
        "nav_section": "service_points", "form": form, "title": _("登记服务阵地"),
    })


@login_required
def point_edit(request, pk: int):
    point = get_scoped_or_404(ServicePoint.objects.select_related("region", "operator_org"), request.user, "change", pk=pk)
    # The form validates a copy: the page keeps the saved name while the input is being corrected.
    editing = get_scoped_or_404(ServicePoint.objects, request.user, "change", pk=pk)
    form = ServicePointForm(request.POST or None, instance=editing, user=request.user, perm="service_point.change")
    if request.method == "POST" and form.is_valid():
        try:
            actions.service_point_update(actor=request.user, point=point, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已保存，15分钟服务圈已重新计算。"))
            return redirect("services:point_detail", pk=point.pk)
    return render(request, "services/points/point_form.html", {
        "nav_section": "service_points", "form": form, "point": point, "title": _("编辑服务阵地"),
    })


@login_required
def point_circle(request):
    form = CircleFilterForm(request.GET or None)
    outside_only = bool(form.is_valid() and form.cleaned_data.get("outside"))
    rows = selectors.circle_workplaces(user=request.user, outside_only=outside_only)
    reach_m = selectors.reach_m()
    if request.GET.get("format") == "xlsx":
        return _circle_export(rows, reach_m)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "services/points/circle.html", {
        "nav_section": "service_points", "form": form, "page": page, "query": _query_without_page(request),
        "summary": selectors.circle_summary(user=request.user), "reach_m": reach_m, "reach_km": reach_m / 1000,
    })


def _circle_export(rows, reach_m: int):
    yes, no = _("是"), _("否")
    headers = [_("单位名称"), _("所在区域"), _("主管党组织"), _("从业人员"), _("最近服务阵地"), _("直线距离（米）"), _("在15分钟服务圈内")]

    def lines():
        for w in rows.iterator(chunk_size=2000):
            reach = getattr(w, "reach", None)
            yield [
                w.name, w.region.name, w.responsible_org.name, w.gig_worker_count,
                reach.nearest_point.name if reach else "", reach.distance_m if reach else "",
                yes if reach and reach.distance_m <= reach_m else no,
            ]

    title = _("15分钟服务圈")
    return workbook_response(filename=title, title=title, headers=[str(h) for h in headers], rows=lines())
