"""Activity FilterSet, shared by the UI list and its export (and later the API). The generic list view builds it
with `(data, queryset=..., request=request)`; the queryset it gets is already restricted to the user's scope."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, ActivityKind, ActivityStatus
from core.forms import BootstrapFormMixin
from orgs.forms.pickers import org_picker
from orgs.models import Organization


class ActivityFilterSet(django_filters.FilterSet):
    org = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=Organization.objects.none(), method="filter_org")
    kind = django_filters.ChoiceFilter(label=_("类型"), choices=ActivityKind.choices)
    status = django_filters.ChoiceFilter(label=_("状态"), choices=ActivityStatus.choices)
    date_from = django_filters.DateFilter(label=_("开始日期"), field_name="starts_at", lookup_expr="date__gte",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label=_("截止日期"), field_name="starts_at", lookup_expr="date__lte",
                                        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Activity
        fields = ["org", "kind", "status", "date_from", "date_to"]

    def __init__(self, data=None, queryset=None, *, request_user=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        if request_user is None and self.request is not None:
            request_user = self.request.user
        if request_user is not None:
            self.filters["org"].queryset = Organization.objects.restrict(request_user, "view").active().order_by("path")
            self.filters["org"].extra["widget"] = org_picker("org.view")  # searches; never lists every org

    @property
    def qs(self):
        """Invalid filters list every record in scope (the page shows the errors beside the fields), never a
        guess at what was meant; the export refuses them (activities.views.records)."""
        if not hasattr(self, "_qs"):
            self._qs = super().qs if self.is_valid() else self.queryset.all()
        return self._qs

    def get_form_class(self):
        return type("ActivityFilterForm", (BootstrapFormMixin, super().get_form_class()), {})

    def filter_org(self, queryset, name, value):
        return queryset.filter(org__path__startswith=value.path)
