"""FilterSets shared by the UI lists (and their exports) and the REST API. The generic list view builds one with
`(data, queryset=..., request=request)`, DRF's DjangoFilterBackend the same way; the queryset it gets is already
restricted to the user's scope, and the org choices are the orgs the user may see (an org outside them is "not
a valid choice", never a hint that it exists)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, ActivityKind, ActivityStatus, ComplianceRule, Exemption
from core.forms import BootstrapFormMixin
from orgs.forms.pickers import org_picker
from orgs.models import Organization

YES_NO = [("", "---------"), ("true", _("是")), ("false", _("否"))]


class _OrgSubtreeMixin:
    """An `org` filter (the org and everything below it) whose choices are the active orgs the user may see."""

    def _init_org_filter(self, request_user) -> None:
        if request_user is None and self.request is not None:
            request_user = self.request.user
        if request_user is not None:
            self.filters["org"].queryset = Organization.objects.restrict(request_user, "view").active().order_by("path")
            self.filters["org"].extra["widget"] = org_picker("org.view")  # searches; never lists every org

    def filter_org(self, queryset, name, value):
        return queryset.filter(org__path__startswith=value.path)


class ActivityFilterSet(_OrgSubtreeMixin, django_filters.FilterSet):
    org = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=Organization.objects.none(), method="filter_org")
    kind = django_filters.ChoiceFilter(label=_("类型"), choices=ActivityKind.choices)
    status = django_filters.ChoiceFilter(label=_("状态"), choices=ActivityStatus.choices)
    date_from = django_filters.DateFilter(label=_("开始日期"), field_name="starts_at", lookup_expr="date__gte",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label=_("截止日期"), field_name="starts_at", lookup_expr="date__lte",
                                        widget=forms.DateInput(attrs={"type": "date"}))
    online = django_filters.BooleanFilter(label=_("线上开展"), widget=forms.Select(choices=YES_NO))

    class Meta:
        model = Activity
        fields = ["org", "kind", "status", "date_from", "date_to", "online"]

    def __init__(self, data=None, queryset=None, *, request_user=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self._init_org_filter(request_user)

    @property
    def qs(self):
        """Invalid filters list every record in scope (the page shows the errors beside the fields), never a
        guess at what was meant; the export refuses them (activities.views.records) and the API answers 400
        (DjangoFilterBackend checks is_valid() first)."""
        if not hasattr(self, "_qs"):
            self._qs = super().qs if self.is_valid() else self.queryset.all()
        return self._qs

    def get_form_class(self):
        return type("ActivityFilterForm", (BootstrapFormMixin, super().get_form_class()), {})


class ExemptionFilterSet(_OrgSubtreeMixin, django_filters.FilterSet):
    """Exemptions by org (subtree), rule and the dates they cover: `date_from`/`date_to` select the exemptions
    whose range overlaps them. (The API's; the exemption page lists without filters so far.)"""

    org = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=Organization.objects.none(), method="filter_org")
    rule = django_filters.ModelChoiceFilter(label=_("规则"), queryset=ComplianceRule.objects.order_by("kind", "pk"))
    date_from = django_filters.DateFilter(label=_("开始日期"), field_name="ends_on", lookup_expr="gte",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label=_("截止日期"), field_name="starts_on", lookup_expr="lte",
                                        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Exemption
        fields = ["org", "rule", "date_from", "date_to"]

    def __init__(self, data=None, queryset=None, *, request_user=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self._init_org_filter(request_user)

    def get_form_class(self):
        return type("ExemptionFilterForm", (BootstrapFormMixin, super().get_form_class()), {})
