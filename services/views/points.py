"""Staff pages for service points (the registry, one point, create and edit) and the 15-minute circle (which
workplaces have an open point within reach, with the figures and an export). Thin: selectors read, actions
write; the point querysets are restricted to the user's scope by the generic views."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.views.generic import ScopedDetailView, ScopedFormView, ScopedListView
from services.actions import points as actions
from services.filtersets import CircleFilterSet, PointFilterSet
from services.forms.points import ServicePointForm
from services.models import ServicePoint
from services.selectors import points as selectors

NAV = "service_points"
#: the detail page lists at most this many of the workplaces a point serves
SERVED_LIMIT = 50


class PointListView(ScopedListView):
    perm = "service_point.view"
    nav_section = NAV
    title = gettext_lazy("服务阵地")
    template_name = "services/points/list.html"
    table_template_name = "services/points/_table.html"
    filterset_class = PointFilterSet
    ordering = ("name", "id")

    def get_queryset(self):
        return selectors.point_list(user=self.request.user)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_add"] = self.may("service_point.add")
        return context


class PointDetailView(ScopedDetailView):
    perm = "service_point.view"
    nav_section = NAV
    template_name = "services/points/detail.html"
    queryset = ServicePoint.objects.select_related("region", "operator_org")
    context_object_name = "point"

    def get_title(self) -> str:
        return self.object.name

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update({
            "served": selectors.point_served_workplaces(user=user, point=self.object)[:SERVED_LIMIT],
            "reach_m": selectors.reach_m(), "can_change": selectors.point_may_change(user=user, point=self.object),
        })
        return context


class PointFormMixin:
    nav_section = NAV
    template_name = "services/points/form.html"

    def get_cancel_url(self) -> str:
        if self.object is not None:
            return reverse("services:point_detail", args=[self.object.pk])
        return reverse("services:point_list")

    def get_success_url(self, result) -> str:
        return reverse("services:point_detail", args=[result.pk])


class PointCreateView(PointFormMixin, ScopedFormView):
    perm = "service_point.add"
    title = gettext_lazy("登记服务阵地")
    form_class = ServicePointForm

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "perm": "service_point.add"}

    def perform(self, form):
        return actions.service_point_create(actor=self.request.user, **form.cleaned_data)

    def get_success_message(self, result) -> str:
        return _("已登记“%(name)s”，15分钟服务圈已重新计算。") % {"name": result.name}


class PointEditView(PointFormMixin, ScopedFormView):
    perm = "service_point.change"
    title = gettext_lazy("编辑服务阵地")
    form_class = ServicePointForm
    queryset = ServicePoint.objects.select_related("region", "operator_org")
    object_action = "change"
    success_message = gettext_lazy("已保存，15分钟服务圈已重新计算。")

    def get_title(self) -> str:
        return f"{self.title} · {self.object.name}"

    def get_form_kwargs(self) -> dict:
        # The form validates a copy: the page keeps the saved name while the input is being corrected.
        return {**super().get_form_kwargs(), "perm": "service_point.change", "instance": self.get_object()}

    def perform(self, form):
        return actions.service_point_update(actor=self.request.user, point=self.object, **form.cleaned_data)


class PointCircleView(ScopedListView):
    """Active visible workplaces, each with its nearest open point and distance; the figures over all of them."""

    perm = "service_point.view"
    nav_section = NAV
    title = gettext_lazy("15分钟服务圈")
    template_name = "services/points/circle.html"
    table_template_name = "services/points/_circle_table.html"
    filterset_class = CircleFilterSet
    ordering = ("name", "id")
    export_headers = [
        gettext_lazy("单位名称"), gettext_lazy("所在区域"), gettext_lazy("主管党组织"), gettext_lazy("从业人员"),
        gettext_lazy("最近服务阵地"), gettext_lazy("直线距离（米）"), gettext_lazy("在15分钟服务圈内"),
    ]

    @cached_property
    def reach_m(self) -> int:
        return selectors.reach_m()

    def get_queryset(self):
        return selectors.circle_workplaces(user=self.request.user)

    def export_row(self, obj) -> list:
        reach = getattr(obj, "reach", None)
        within = bool(reach and reach.distance_m <= self.reach_m)
        return [
            obj.name, obj.region.name, obj.responsible_org.name, obj.gig_worker_count,
            reach.nearest_point.name if reach else "", reach.distance_m if reach else "", _("是") if within else _("否"),
        ]

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(summary=selectors.circle_summary(user=self.request.user), reach_m=self.reach_m,
                       reach_km=self.reach_m / 1000)
        return context
