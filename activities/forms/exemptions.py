"""The exemption form: orgs limited to where the user may add exemptions (a searching picker: a district has
thousands of branches)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from activities.models import ComplianceRule
from core.forms import BootstrapFormMixin
from orgs.forms.pickers import use_org_picker
from orgs.models import BRANCH_KINDS, OrgKind
from orgs.selectors import orgs_where


class ExemptionForm(BootstrapFormMixin, forms.Form):
    org = forms.ModelChoiceField(label=_("党组织"), queryset=None)
    rule = forms.ModelChoiceField(label=_("规则"), queryset=None, required=False, empty_label=_("全部规则"))
    starts_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因"), max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs_where(user=user, perm="exemption.add").filter(
            kind__in=[*BRANCH_KINDS, OrgKind.PARTY_GROUP]
        ).order_by("path")
        use_org_picker(self.fields["org"], "exemption.add")
        self.fields["rule"].queryset = ComplianceRule.objects.filter(enabled=True).order_by("kind")

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("结束日期不能早于开始日期。"))
        return data
