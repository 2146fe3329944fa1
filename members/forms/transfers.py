"""Forms for transfers (组织关系转接): they collect and validate input; members.actions.transfers writes."""

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin, SearchSelect
from members.actions.transfers import STEP_LABELS, STEPS
from members.models import TransferKind
from orgs.forms import DATE_WIDGET, OrgChoiceField
from orgs.models import Organization, OrgKind


def receiving_org_choices():
    """Any active org in the system may receive a member (the sending side picks it, wherever it sits)."""
    return Organization.objects.active().exclude(kind=OrgKind.PARTY_GROUP).order_by("path")


def receiving_org_picker() -> SearchSelect:
    """The receiving org lies anywhere in the district, outside the requester's scope too, so its search is
    members:receiving_org_pick (every receiving org), not orgs:org_pick (the orgs in the user's scope)."""
    return SearchSelect(search_url=reverse_lazy("members:receiving_org_pick"))


class TransferRequestForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("转接类型"), choices=TransferKind.choices)
    to_org = OrgChoiceField(
        label=_("接收党组织"), queryset=Organization.objects.none(), required=False,
        help_text=_("系统内转接必填；从系统外转入时默认为党员当前登记的党组织。"),
    )
    external_org_name = forms.CharField(label=_("系统外党组织"), max_length=100, required=False,
                                        help_text=_("转出系统外或从系统外转入时必填。"))
    cross_province = forms.BooleanField(label=_("跨省转接"), required=False)
    letter_number = forms.CharField(label=_("介绍信编号"), max_length=40, required=False,
                                    help_text=_("从系统外转入时填写对方开具的介绍信编号；其他类型在审批时开具。"))
    dues_paid_until = forms.DateField(label=_("党费交至"), widget=DATE_WIDGET)
    reason = forms.CharField(label=_("转接原因"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["to_org"]
        field.queryset = receiving_org_choices()
        widget = receiving_org_picker()
        widget.attrs.update(field.widget.attrs)
        widget.choices = field.choices
        field.widget = widget

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == TransferKind.INTERNAL and not data.get("to_org"):
            self.add_error("to_org", _("系统内转接须选择接收党组织。"))
        if kind in (TransferKind.OUT, TransferKind.IN) and not (data.get("external_org_name") or "").strip():
            self.add_error("external_org_name", _("请填写系统外党组织名称。"))
        if kind == TransferKind.IN and not (data.get("letter_number") or "").strip():
            self.add_error("letter_number", _("请填写系统外党组织开具的介绍信编号。"))
        return data


class TransferActForm(BootstrapFormMixin, forms.Form):
    """One step on a transfer; `version` is what the user saw, so a late second click is a clear conflict."""

    step = forms.ChoiceField(choices=[(step, STEP_LABELS[step]) for step in STEPS], widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    letter_number = forms.CharField(label=_("介绍信编号"), max_length=40, required=False,
                                    help_text=_("留空则自动生成。"))
    reason = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000, required=False)

    def clean(self):
        data = super().clean()
        if data.get("step") == "return" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("退回须填写原因。"))
        return data
