"""One FilterSet per model, shared by the UI and the API."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from orgs.forms.pickers import org_picker
from orgs.models import Industry, Organization, Region, Workplace, WorkplaceKind


class WorkplaceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("名称/地址"), method="filter_q")
    region = django_filters.ModelChoiceFilter(label=_("区域"), queryset=Region.objects.none(), method="filter_region")
    industry = django_filters.ChoiceFilter(label=_("行业"), choices=Industry.choices)
    kind = django_filters.ChoiceFilter(label=_("单位类型"), choices=WorkplaceKind.choices)
    coverage = django_filters.ChoiceFilter(
        label=_("覆盖状态"),
        choices=[("org", _("组织覆盖")), ("work", _("工作覆盖（含组织覆盖）")), ("work_only", _("仅工作覆盖")), ("none", _("未覆盖（空白点）")),
                 ("needs_branch", _("应单独建支部未建"))],
        method="filter_coverage",
    )
    org = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=Organization.objects.none(), method="filter_org")
    has_trade_union = django_filters.BooleanFilter(
        label=_("已建工会"), widget=forms.Select(choices=[("", _("全部")), ("true", _("是")), ("false", _("否"))])
    )
    status = django_filters.ChoiceFilter(
        label=_("经营状态"), choices=[("active", _("在营")), ("closed", _("已停业")), ("all", _("全部"))],
        method="filter_status", empty_label=_("在营（默认）"),
    )

    class Meta:
        model = Workplace
        fields = ["q", "region", "industry", "kind", "coverage", "org", "has_trade_union", "status"]

    def __init__(self, data=None, queryset=None, *, request_user=None, request=None, **kwargs):
        # the generic list views pass the request, the API and the selectors the user
        if request_user is None and request is not None:
            request_user = getattr(request, "user", None)
        super().__init__(data, queryset, request=request, **kwargs)
        self.filters["region"].queryset = Region.objects.order_by("path")
        if request_user is not None:
            self.filters["org"].queryset = Organization.objects.restrict(request_user, "view").active().order_by("path")
            self.filters["org"].extra["widget"] = org_picker("org.view")  # searches; never lists every org

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()  # an invalid value lists nothing, never everything
        qs = super().qs
        # Closed workplaces are out of the figures; the list hides them unless asked.
        if not (self.form.cleaned_data.get("status") if hasattr(self.form, "cleaned_data") else None):
            qs = qs.filter(is_active=True)
        return qs

    def filter_status(self, queryset, name, value):
        if value == "closed":
            return queryset.filter(is_active=False)
        if value == "active":
            return queryset.filter(is_active=True)
        return queryset  # "all"

    def get_form_class(self):
        from core.forms import BootstrapFormMixin

        return type("WorkplaceFilterForm", (BootstrapFormMixin, super().get_form_class()), {})

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(address__icontains=value))

    def filter_region(self, queryset, name, value):
        return queryset.filter(region__path__startswith=value.path) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_org(self, queryset, name, value):
        return queryset.filter(Workplace.in_subtrees_q([value.path])) if value else queryset

    def filter_coverage(self, queryset, name, value):
        from core.rules import rule_int

        if value == "org":
            return queryset.filter(org_covered=True)
        if value == "work":
            return queryset.filter(Q(org_covered=True) | Q(assigned=True))
        if value == "work_only":
            return queryset.filter(org_covered=False, assigned=True)
        if value == "none":
            return queryset.filter(org_covered=False, assigned=False)
        if value == "needs_branch":
            return queryset.filter(full_members__gte=rule_int("own_branch_min_full_members"), own_branch=False)
        return queryset
