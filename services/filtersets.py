"""The services app's FilterSets: the request queue (shared by the staff queue, its export and the API), the
service point registry and the 15-minute circle. The generic list views and the API's viewsets (DjangoFilterBackend)
build them with `(data, queryset=..., request=request)`; the querysets they get are already restricted to the
user's scope.

A filter that could list thousands of rows does not: org filters search (the org picker), and the assignee
filter offers a bounded list (the user, "none", the first ASSIGNEE_LIMIT assignees and the one chosen)."""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.forms import BootstrapFormMixin
from orgs.forms import OrgChoiceField, RegionChoiceField
from orgs.forms.pickers import org_picker
from orgs.models import Organization, Region, Workplace
from orgs.scoping import grant_paths, path_q
from services.models import (
    AMENITIES,
    OPEN_STATUSES,
    PointKind,
    PointStatus,
    Priority,
    RequestStatus,
    ServiceCategory,
    ServicePoint,
    ServiceRequest,
)
from services.selectors import points as point_selectors

OPEN, ALL = "open", "all"
STATUS_CHOICES = [(OPEN, _("在办（未办结）")), (ALL, _("全部状态")), *RequestStatus.choices]
ME, NONE = "me", "none"
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
#: at most this many assignees are listed in the queue's assignee filter (plus "me", "none" and the chosen one)
ASSIGNEE_LIMIT = 100
USER_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only ("²".isdigit() is true; int("²") fails)
USER_ID_OR_KEYWORD = re.compile(r"^(me|none|[0-9]{1,18})$")


class _BootstrapForm:
    def get_form_class(self):
        return type(f"{type(self).__name__}Form", (BootstrapFormMixin, super().get_form_class()), {})


class AssigneeFilter(django_filters.Filter):
    """"me", "none" or a user id, shown as a bounded select (a district has thousands of staff accounts)."""

    field_class = forms.RegexField


class RequestFilterSet(_BootstrapForm, django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("查询码/内容"), method="filter_q")
    status = django_filters.MultipleChoiceFilter(label=_("状态"), choices=STATUS_CHOICES, method="filter_status",
                                                 widget=forms.SelectMultiple(attrs={"size": 3}))
    category = django_filters.ModelChoiceFilter(label=_("类别"), queryset=ServiceCategory.objects.all())
    overdue = django_filters.ChoiceFilter(label=_("是否逾期"), choices=[("yes", _("已逾期")), ("no", _("未逾期"))],
                                          method="filter_overdue")
    assignee = AssigneeFilter(label=_("经办人"), regex=USER_ID_OR_KEYWORD, method="filter_assignee", widget=forms.Select)
    org = django_filters.ModelChoiceFilter(label=_("承办党组织（含下级）"), queryset=Organization.objects.none(),
                                           method="filter_org")
    escalated = django_filters.ChoiceFilter(label=_("逾期升级"), choices=[("mine", _("升级至我方督办")), ("any", _("已升级"))],
                                            method="filter_escalated")
    priority = django_filters.ChoiceFilter(label=_("优先级"), choices=Priority.choices)
    submitted_from = django_filters.DateFilter(label=_("提交日期起"), field_name="submitted_at", lookup_expr="date__gte",
                                               widget=DATE_WIDGET)
    submitted_to = django_filters.DateFilter(label=_("提交日期止"), field_name="submitted_at", lookup_expr="date__lte",
                                             widget=DATE_WIDGET)

    class Meta:
        model = ServiceRequest
        fields = ["q", "status", "category", "overdue", "assignee", "org", "escalated", "priority", "submitted_from", "submitted_to"]

    def __init__(self, data=None, queryset=None, *, request_user=None, now=None, **kwargs):
        # Always bound: the queue shows open requests unless asked otherwise (also with no query string).
        data = data.copy() if data is not None else QueryDict(mutable=True)
        if not data.get("status"):
            if hasattr(data, "setlist"):
                data.setlist("status", [OPEN])
            else:
                data["status"] = [OPEN]
        super().__init__(data, queryset, **kwargs)
        if request_user is None and self.request is not None:
            request_user = self.request.user
        self.request_user = request_user
        self.now = now or timezone.now()
        assignee_choices = [(ME, _("我")), (NONE, _("未指定"))]
        if request_user is not None:
            self.filters["org"].queryset = Organization.objects.restrict(request_user, "view").active().order_by("path")
            self.filters["org"].extra["widget"] = org_picker("org.view")  # searches; never lists every org
            chosen = str(data.get("assignee") or "")
            assignee_choices += [(str(pk), name) for pk, name in _assignee_choices(queryset, chosen)]
        self.filters["assignee"].extra["widget"] = forms.Select(choices=[("", "---------"), *assignee_choices])

    @property
    def qs(self):
        """Invalid filters show the default queue (open requests), never a guess at what was meant."""
        if not hasattr(self, "_qs"):
            self._qs = super().qs if self.is_valid() else self.queryset.filter(status__in=OPEN_STATUSES)
        return self._qs

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        code = value.replace("-", "").replace(" ", "").upper()
        return queryset.filter(Q(tracking_code=code) | Q(description__icontains=value))

    def filter_status(self, queryset, name, value):
        values = set(value or [OPEN])
        if ALL in values:
            return queryset
        statuses = values - {OPEN}
        if OPEN in values:
            statuses |= set(OPEN_STATUSES)
        return queryset.filter(status__in=statuses)

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status__in=OPEN_STATUSES, due_at__lt=self.now)
        if value == "yes":
            return queryset.filter(overdue)
        if value == "no":
            return queryset.exclude(overdue)
        return queryset

    def filter_assignee(self, queryset, name, value):
        if value == ME:
            return queryset.filter(assignee=self.request_user)
        if value == NONE:
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=value) if USER_ID.fullmatch(str(value)) else queryset

    @extend_schema_field(OpenApiTypes.INT)  # an org id (the API schema: "org" is no field of the model)
    def filter_org(self, queryset, name, value):
        return queryset.filter(responsible_org__path__startswith=value.path) if value else queryset

    def filter_escalated(self, queryset, name, value):
        if value == "any":
            return queryset.filter(escalated_to__isnull=False)
        user = self.request_user
        if value == "mine" and user is not None:
            if user.is_superuser:
                return queryset.filter(escalated_to__isnull=False)
            paths = grant_paths(user, "service_request.view")
            return queryset.filter(path_q("escalated_to__path", paths))
        return queryset


def _assignee_choices(queryset, chosen: str = "") -> list[tuple[int, str]]:
    """People currently assigned to requests the user can see: the first ASSIGNEE_LIMIT by username (one
    query), and the chosen one when it is further down (one more)."""
    if queryset is None:
        return []
    from core.models import User

    rows = User.objects.filter(assigned_requests__in=queryset.values("pk")).distinct().order_by("username")
    found = [(user.pk, str(user)) for user in rows.only("pk", "username", "display_name")[:ASSIGNEE_LIMIT]]
    if USER_ID.fullmatch(chosen) and int(chosen) not in {pk for pk, _name in found}:
        found += [(user.pk, str(user)) for user in rows.filter(pk=int(chosen)).only("pk", "username", "display_name")]
    return found


class _RegionFilter(django_filters.ModelChoiceFilter):
    field_class = RegionChoiceField  # indented by depth


class _OrgFilter(django_filters.ModelChoiceFilter):
    field_class = OrgChoiceField


class PointFilterSet(_BootstrapForm, django_filters.FilterSet):
    """The point registry: kind, status, region subtree, operator org subtree, amenity. A filter that does
    not validate (an unknown kind, a region that does not exist) lists nothing rather than everything."""

    kind = django_filters.ChoiceFilter(label=_("类型"), choices=PointKind.choices, empty_label=_("全部"))
    status = django_filters.ChoiceFilter(label=_("状态"), choices=PointStatus.choices, empty_label=_("全部"))
    region = _RegionFilter(label=_("区域"), queryset=Region.objects.none(), method="filter_region", empty_label=_("全部"))
    operator_org = _OrgFilter(label=_("运营党组织"), queryset=Organization.objects.none(), method="filter_operator_org",
                              empty_label=_("全部"))
    amenity = django_filters.ChoiceFilter(
        label=_("服务设施"), choices=[(name, ServicePoint._meta.get_field(name).verbose_name) for name in AMENITIES],
        method="filter_amenity", empty_label=_("全部"),
    )

    class Meta:
        model = ServicePoint
        fields = ["kind", "status", "region", "operator_org", "amenity"]

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["region"].queryset = point_selectors.region_choices()
        if self.request is not None:
            self.filters["operator_org"].queryset = point_selectors.point_filter_orgs(user=self.request.user)
            self.filters["operator_org"].extra["widget"] = org_picker("org.view")  # searches; never lists every org

    @property
    def qs(self):
        if not hasattr(self, "_qs"):
            self._qs = super().qs if not self.is_bound or self.is_valid() else self.queryset.none()
        return self._qs

    def filter_region(self, queryset, name, value):
        return queryset.filter(region__path__startswith=value.path) if value else queryset

    def filter_operator_org(self, queryset, name, value):
        return queryset.filter(operator_org__path__startswith=value.path) if value else queryset

    def filter_amenity(self, queryset, name, value):
        return queryset.filter(**{value: True}) if value in AMENITIES else queryset


class CircleFilterSet(_BootstrapForm, django_filters.FilterSet):
    """The 15-minute circle: all active visible workplaces, or only those outside the circle."""

    outside = django_filters.BooleanFilter(label=_("只看服务圈外的单位"), method="filter_outside",
                                           widget=forms.CheckboxInput)

    class Meta:
        model = Workplace
        fields = ["outside"]

    def filter_outside(self, queryset, name, value):
        return point_selectors.outside_circle(queryset) if value else queryset
