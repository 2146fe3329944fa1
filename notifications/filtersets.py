"""The inbox's FilterSet (the API's /api/v1/notifications/; the page's all/unread switch is the `unread` filter).
The queryset it gets is already the caller's own inbox (notifications.selectors.inbox)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Notification, NotificationKind


class NotificationFilterSet(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(label=_("未读"), method="filter_unread")
    kind = django_filters.ChoiceFilter(label=_("类别"), choices=NotificationKind.choices)
    date_from = django_filters.DateFilter(label=_("开始日期"), field_name="created_at", lookup_expr="date__gte",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label=_("截止日期"), field_name="created_at", lookup_expr="date__lte",
                                        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Notification
        fields = ["unread", "kind", "date_from", "date_to"]

    def filter_unread(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(read_at__isnull=value)
