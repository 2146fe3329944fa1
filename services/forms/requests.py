"""Forms of the staff request pages: one small form per action, the phone reveal, categories and reply
templates. They collect input; services.actions.handling checks the rules (texts a rule requires are left
optional here so the action's message, on the right field, is the one users see).

Org choices (reroute target, a category's default org) can be thousands in a city district: they use the
org picker, which renders the chosen option and a few more and searches the rest (orgs:org_pick)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from orgs.forms.pickers import use_org_picker
from services.models import ExtraField, Priority, ReplyTemplate, Routing

TEXTAREA = {"rows": 3}


class OrgChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "　" * (obj.depth - 1) + obj.name


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class CheckboxList(forms.CheckboxSelectMultiple):
    """Checkboxes styled one by one (the Bootstrap class on the wrapper would draw it as a checkbox)."""

    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        option["attrs"]["class"] = "form-check-input me-1"
        return option


class AcceptForm(BootstrapFormMixin, forms.Form):
    assignee = UserChoiceField(label=_("经办人"), queryset=None, required=False, empty_label=_("（不变）"))

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class StartForm(BootstrapFormMixin, forms.Form):
    pass


class ResolveForm(BootstrapFormMixin, forms.Form):
    reply = forms.CharField(label=_("答复内容（提出人可见）"), widget=forms.Textarea(attrs=TEXTAREA), required=False, max_length=2000)


class RejectForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("不予受理理由（提出人可见）"), widget=forms.Textarea(attrs=TEXTAREA), required=False, max_length=2000)
    redirect_to = forms.CharField(label=_("建议办理渠道"), max_length=200, required=False,
                                  help_text=_("例如：区法律援助中心（地址、电话）或 12345 热线"))


class RerouteForm(BootstrapFormMixin, forms.Form):
    org = OrgChoiceField(label=_("改派至"), queryset=None, required=False)
    reason = forms.CharField(label=_("改派原因"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = targets
        use_org_picker(self.fields["org"], "service_request.change")


class AssignForm(BootstrapFormMixin, forms.Form):
    assignee = UserChoiceField(label=_("经办人"), queryset=None, required=False, empty_label=_("（取消指定）"))

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class PriorityForm(BootstrapFormMixin, forms.Form):
    priority = forms.ChoiceField(label=_("优先级"), choices=Priority.choices)
    reason = forms.CharField(label=_("调整原因"), max_length=200, required=False)


class NoteForm(BootstrapFormMixin, forms.Form):
    body = forms.CharField(label=_("内部备注（提出人不可见）"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)


class ReplyForm(BootstrapFormMixin, forms.Form):
    body = forms.CharField(label=_("回复内容（提出人可见）"), widget=forms.Textarea(attrs=TEXTAREA), required=False, max_length=2000)


class RevealForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("查看事由"), max_length=200, required=False, help_text=_("查看完整号码会被记录。"),
                             widget=forms.TextInput(attrs={"placeholder": _("查看事由，如：电话回访")}))


# ---------------------------------------------------------------- categories
class CategoryForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=50)
    guidance = forms.CharField(label=_("办理指引"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("在提交页展示给提出人"))
    required_fields = forms.MultipleChoiceField(label=_("必填补充项"), choices=ExtraField.choices, required=False,
                                                widget=CheckboxList)
    routing = forms.ChoiceField(label=_("分派方式"), choices=Routing.choices)
    default_org = OrgChoiceField(label=_("责任党组织/部门"), queryset=None, required=False)
    sla_hours = forms.IntegerField(label=_("办理时限（小时）"), min_value=1, max_value=24 * 90)
    enabled = forms.BooleanField(label=_("启用"), required=False)

    def __init__(self, *args, orgs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_org"].queryset = orgs
        use_org_picker(self.fields["default_org"], "service_request.change")
        self.fields["required_fields"].widget.attrs["class"] = "vstack gap-1"


class ReplyTemplateForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["title", "body", "position"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"body": _("可用占位符：{code} 查询码，{category} 类别，{org} 承办党组织")}
