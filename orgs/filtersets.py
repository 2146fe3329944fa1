"""The orgs app's FilterSets for its list pages (accounts, the security-event log, the audit log). The generic
list views build them with `(data, queryset=..., request=request)`; the querysets they get are already
restricted to the user's scope by the selectors."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from orgs.forms.audit import AuditFilterForm
from orgs.models import Organization, SecurityEventKind
from orgs.scoping import get_scoped_or_404
from orgs.selectors import audit as audit_selectors


class _BootstrapForm:
    def get_form_class(self):
        return type(f"{type(self).__name__}Form", (BootstrapFormMixin, super().get_form_class()), {})


class UserFilterSet(_BootstrapForm, django_filters.FilterSet):
    """/users/: a username or display name contains the search."""

    q = django_filters.CharFilter(label=_("搜索"), method="filter_q", max_length=50)

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.form.fields["q"].widget.input_type = "search"
        self.form.fields["q"].widget.attrs["placeholder"] = _("用户名或姓名")

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(display_name__icontains=value))


class SecurityEventFilterSet(_BootstrapForm, django_filters.FilterSet):
    """/security/: one kind of event (an unknown kind is ignored: every kind is listed)."""

    kind = django_filters.ChoiceFilter(label=_("类别"), choices=SecurityEventKind.choices, empty_label=_("全部类别"))


class AuditEntryFilterSet:
    """/audit/: who, what, when and org subtree, validated by AuditFilterForm. Not a django-filter FilterSet
    because a bad value is reported and skipped (the other filters still apply), and an org outside the
    viewer's scope is 404 rather than "not a choice". Same interface as a FilterSet (form, qs, errors)."""

    def __init__(self, data=None, queryset=None, *, request=None, **_kwargs):
        self.queryset = queryset
        self.request = request
        self.is_bound = data is not None
        self.form = AuditFilterForm(data, org_choices=audit_selectors.audit_org_choices(user=request.user))

    @property
    def errors(self):
        if not self.is_bound:
            return {}
        return self.form.errors

    @property
    def qs(self):
        if not hasattr(self, "_qs"):
            data = {}
            if self.is_bound:
                self.form.is_valid()
                data = self.form.cleaned_data  # only the fields that passed
            org = None
            if data.get("org"):
                org = get_scoped_or_404(Organization.objects, self.request.user, "view", pk=data["org"])
            self._qs = audit_selectors.audit_entries_filter(
                self.queryset, who=data.get("who", ""), what=data.get("what", ""), date_from=data.get("date_from"),
                date_to=data.get("date_to"), org=org,
            )
        return self._qs
