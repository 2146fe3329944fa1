"""The request queue's FilterSet, shared by the staff queue, its export (and later the API)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from orgs.forms.pickers import org_picker
from orgs.models import Organization
from orgs.scoping import grant_paths, path_q
from services.models import OPEN_STATUSES, Priority, RequestStatus, ServiceCategory, ServiceRequest

OPEN, ALL = "open", "all"
STATUS_CHOICES = [(OPEN, _("在办（未办结）")), (ALL, _("全部状态")), *RequestStatus.choices]
ME, NONE = "me", "none"
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RequestFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("查询码/内容"), method="filter_q")
    status = django_filters.MultipleChoiceFilter(label=_("状态"), choices=STATUS_CHOICES, method="filter_status",
                                                 widget=forms.SelectMultiple(attrs={"size": 3}))
    category = django_filters.ModelChoiceFilter(label=_("类别"), queryset=ServiceCategory.objects.all())
    overdue = django_filters.ChoiceFilter(label=_("是否逾期"), choices=[("yes", _("已逾期")), ("no", _("未逾期"))],
                                          method="filter_overdue")
    assignee = django_filters.ChoiceFilter(label=_("经办人"), choices=[], method="filter_assignee")
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
        if data is not None and not data.get("status"):
            data = data.copy()  # the queue shows open requests unless asked otherwise
            if hasattr(data, "setlist"):
                data.setlist("status", [OPEN])
            else:
                data["status"] = [OPEN]
        super().__init__(data, queryset, **kwargs)
        self.request_user = request_user
        self.now = now or timezone.now()
        assignee_choices = [(ME, _("我")), (NONE, _("未指定"))]
        if request_user is not None:
            self.filters["org"].queryset = Organization.objects.restrict(request_user, "view").active().order_by("path")
            self.filters["org"].extra["widget"] = org_picker("org.view")  # searches; never lists every org
            assignee_choices += [(str(pk), name) for pk, name in _assignee_choices(queryset)]
        self.filters["assignee"].extra["choices"] = assignee_choices

    def get_form_class(self):
        return type("RequestFilterForm", (BootstrapFormMixin, super().get_form_class()), {})

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
        return queryset.filter(assignee_id=value) if str(value).isdigit() else queryset

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


def _assignee_choices(queryset):
    """People currently assigned to requests the user can see (one query)."""
    if queryset is None:
        return []
    from core.models import User

    rows = User.objects.filter(assigned_requests__in=queryset.values("pk")).distinct().order_by("username")
    return [(user.pk, str(user)) for user in rows.only("pk", "username", "display_name")]
