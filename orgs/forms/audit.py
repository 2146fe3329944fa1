"""The audit log's filter form: it only validates GET values into plain filters (orgs.filtersets applies them)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import BootstrapFormMixin
from core.models import AuditEntry
from core.pagination import decode_cursor
from orgs.selectors import audit as selectors


class AuditFilterForm(BootstrapFormMixin, forms.Form):
    who = forms.CharField(label=gettext_lazy("操作人"), required=False, max_length=150)
    what = forms.CharField(label=gettext_lazy("操作"), required=False, max_length=60, widget=forms.Select)
    date_from = forms.DateField(label=gettext_lazy("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    org = forms.IntegerField(label=gettext_lazy("党组织（含下级）"), required=False, min_value=1, max_value=2**63 - 1,
                             widget=forms.Select)
    #: the keyset position (core.pagination): checked here so that a bad one is reported, not silently reset
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args, org_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        what_choices = [("", _("全部操作"))] + [
            (f"{resource}.", f"{label}（{resource}.*）") for resource, label in selectors.AUDIT_RESOURCES.items()
        ]
        asked = (self.data.get("what") or "") if self.is_bound else ""
        if asked and asked not in dict(what_choices) and selectors.ACTION_PATTERN.match(asked):
            what_choices.append((asked, asked))  # an exact action (e.g. from a link in the table) stays selected
        self.fields["what"].widget.choices = what_choices
        self.fields["what"].widget.attrs.pop("maxlength", None)  # a select, not a text box
        self.fields["org"].widget.choices = [("", _("全部党组织"))] + list(org_choices)

    def clean_who(self):
        return self.cleaned_data["who"].strip()

    def clean_what(self):
        value = self.cleaned_data["what"].strip()
        if value and not selectors.ACTION_PATTERN.match(value):
            raise forms.ValidationError(_("操作应为“资源.”或“资源.动作”，例如 member. 或 member.update。"))
        return value

    def clean_cursor(self):
        value = self.cleaned_data["cursor"]
        if value and decode_cursor(value, AuditEntry, selectors.ORDERING) is None:
            raise forms.ValidationError(_("翻页位置无效，已从最新记录显示。"))
        return value

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("截止日期不能早于开始日期。"))
        return data
