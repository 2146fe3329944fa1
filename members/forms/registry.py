"""Registry forms (create/edit, advance, extend probation, reveal, exact search): they collect and validate
input; members.actions check the rules and save."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from members.models import Education, Gender, MemberRole, Occupation, RelationKind, RevealField, Stage
from members.validators import validate_id_number, validate_mobile
from orgs.forms import DATE_WIDGET, OrgChoiceField
from orgs.forms.pickers import use_org_picker, workplace_picker
from orgs.models import Organization, Workplace


def _blank(choices):
    return [("", "—")] + list(choices)


class MemberForm(BootstrapFormMixin, forms.Form):
    """Create (with org and stage) or edit (without: transfers and the pipeline change those)."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    gender = forms.ChoiceField(label=_("性别"), choices=_blank(Gender.choices), required=False)
    birth_date = forms.DateField(label=_("出生日期"), widget=DATE_WIDGET, required=False,
                                 help_text=_("留空则按身份证号中的出生日期填写"))
    id_number = forms.CharField(label=_("身份证号"), max_length=30, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}))
    ethnicity = forms.CharField(label=_("民族"), max_length=20, required=False, initial="汉族")
    education = forms.ChoiceField(label=_("学历"), choices=_blank(Education.choices), required=False)
    occupation = forms.ChoiceField(label=_("职业"), choices=Occupation.choices, initial=Occupation.OTHER)
    employer = forms.CharField(label=_("平台/用工单位"), max_length=100, required=False)
    org = OrgChoiceField(label=_("所在党组织"), queryset=Organization.objects.none())
    workplace = forms.ModelChoiceField(label=_("工作单位"), queryset=Workplace.objects.none(), required=False)
    stage = forms.ChoiceField(label=_("发展阶段"), choices=Stage.choices)
    applied_on = forms.DateField(label=_("递交入党申请日期"), widget=DATE_WIDGET, required=False)
    activist_on = forms.DateField(label=_("确定为积极分子日期"), widget=DATE_WIDGET, required=False)
    candidate_on = forms.DateField(label=_("列为发展对象日期"), widget=DATE_WIDGET, required=False)
    training_hours = forms.IntegerField(label=_("集中培训学时"), min_value=0, max_value=999, required=False, initial=0)
    admitted_on = forms.DateField(label=_("支部大会接收为预备党员日期"), widget=DATE_WIDGET, required=False)
    full_on = forms.DateField(label=_("转为正式党员日期"), widget=DATE_WIDGET, required=False)
    relation_kind = forms.ChoiceField(label=_("组织关系"), choices=RelationKind.choices, initial=RelationKind.HELD)
    home_org_name = forms.CharField(label=_("流出地党组织"), max_length=100, required=False)
    mobile_card_number = forms.CharField(label=_("流动党员活动证编号"), max_length=40, required=False)
    mobile_card_valid_until = forms.DateField(label=_("活动证有效期至"), widget=DATE_WIDGET, required=False)
    letter_number = forms.CharField(label=_("介绍信编号"), max_length=40, required=False)
    lost_contact_since = forms.DateField(label=_("失联起始日期"), widget=DATE_WIDGET, required=False)
    roles = forms.MultipleChoiceField(label=_("作用发挥"), choices=MemberRole.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        from orgs.selectors import orgs_where

        self.editing = editing
        self.fields["workplace"].queryset = Workplace.objects.restrict(user, "view").filter(is_active=True).order_by("name")
        picker = workplace_picker()  # a city has tens of thousands: search, do not list them all
        picker.attrs.update(self.fields["workplace"].widget.attrs)
        picker.choices = self.fields["workplace"].choices
        self.fields["workplace"].widget = picker
        self.fields["roles"].widget.attrs["class"] = ""  # checkboxes, not a select
        if editing:
            del self.fields["org"]
            del self.fields["stage"]
            for name in ("id_number", "phone"):
                self.fields[name].required = False
                self.fields[name].help_text = _("留空则不修改")
        else:
            self.fields["org"].queryset = orgs_where(user=user, perm="member.add").order_by("path")
            use_org_picker(self.fields["org"], "member.add")  # a district has thousands of orgs: search them

    def clean_id_number(self):
        value = self.cleaned_data.get("id_number", "")
        if not value and self.editing:
            return ""
        try:
            return validate_id_number(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from exc

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "")
        if not value:
            return ""
        try:
            return validate_mobile(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from exc

    def clean(self):
        data = super().clean()
        if data.get("training_hours") is None:
            data["training_hours"] = 0
        return data


class AdvanceForm(BootstrapFormMixin, forms.Form):
    to_stage = forms.ChoiceField(label=_("推进到"), choices=Stage.choices, widget=forms.HiddenInput)
    on = forms.DateField(label=_("日期"), widget=DATE_WIDGET)
    training_hours = forms.IntegerField(label=_("集中培训学时"), min_value=0, max_value=999, required=False)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, to_stage: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        if to_stage != Stage.PROBATIONARY:
            del self.fields["training_hours"]


class ExtendProbationForm(BootstrapFormMixin, forms.Form):
    months = forms.IntegerField(label=_("延长月数"), min_value=1, max_value=120)
    reason = forms.CharField(label=_("原因（支部大会决议）"), widget=forms.Textarea(attrs={"rows": 2}))


class RevealForm(BootstrapFormMixin, forms.Form):
    field = forms.ChoiceField(label=_("查看内容"), choices=RevealField.choices, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("查看事由"), max_length=200, min_length=2)


class ExactSearchForm(BootstrapFormMixin, forms.Form):
    pid = forms.CharField(label=_("身份证号或手机号"), max_length=30, widget=forms.TextInput(attrs={"autocomplete": "off"}))
