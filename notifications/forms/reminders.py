"""Forms of the reminder rules pages. They collect and check input; notifications.actions.reminder_rules saves (and
checks the same rules again, for every caller)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from notifications.actions.reminder_rules import template_errors
from notifications.models import RECIPIENT_ROLES, Channel, OffsetUnit, ReminderKind
from orgs.models import Role


class CheckboxList(forms.CheckboxSelectMultiple):
    """Checkboxes styled one by one (the Bootstrap class on the wrapper would draw it as a checkbox)."""

    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        option["attrs"]["class"] = "form-check-input me-1"
        return option


ROLE_LABELS = dict(Role.choices)


class KindChoiceForm(BootstrapFormMixin, forms.Form):
    """Step one of adding a rule: which kind (the context keys and direction depend on it)."""

    kind = forms.ChoiceField(label=_("提醒类型"), choices=ReminderKind.choices)


class ReminderRuleForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    kind = forms.ChoiceField(label=_("提醒类型"), choices=ReminderKind.choices, disabled=True,
                             help_text=_("类型确定后不能修改；需要其他类型请新增规则"))
    offset = forms.IntegerField(label=_("提前/延后量"), min_value=0, max_value=3650,
                                help_text=_("距参考日期多少天或多少个月；方向由提醒类型决定"))
    offset_unit = forms.ChoiceField(label=_("单位"), choices=OffsetUnit.choices)
    repeat_every_days = forms.IntegerField(label=_("重复间隔（天）"), min_value=0, max_value=365, initial=0,
                                           help_text=_("0 表示不重复"))
    repeat_limit = forms.IntegerField(label=_("最多重复次数"), min_value=0, max_value=50, initial=0,
                                      help_text=_("首次提醒之后最多再提醒几次（条件仍成立时）"))
    recipients = forms.MultipleChoiceField(
        label=_("接收角色"), widget=CheckboxList,
        choices=[(str(role), ROLE_LABELS[role]) for role in RECIPIENT_ROLES],
        help_text=_("该党组织（及上级党组织）上担任这些角色的人员"),
        error_messages={"required": _("请至少选择一个接收角色。")},
    )
    channels = forms.MultipleChoiceField(label=_("发送渠道"), widget=CheckboxList, choices=Channel.choices,
                                         error_messages={"required": _("请至少选择一个发送渠道。")})
    subject_template = forms.CharField(label=_("标题模板"), max_length=200)
    body_template = forms.CharField(label=_("正文模板"), widget=forms.Textarea(attrs={"rows": 6}))
    enabled = forms.BooleanField(label=_("启用"), required=False)
    effective_from = forms.DateField(label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                     help_text=_("早于此日期应发的提醒一律不发"))

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["kind"].initial = kind
        for name in ("recipients", "channels"):
            self.fields[name].widget.attrs["class"] = "vstack gap-1"

    def clean(self):
        data = super().clean()
        data["kind"] = self.kind
        if data.get("repeat_limit") and not data.get("repeat_every_days"):
            self.add_error("repeat_every_days", _("设置了重复次数，请同时填写重复间隔（天）；不重复请把重复次数设为 0。"))
        if "subject_template" in data and "body_template" in data:
            for field, message in template_errors(data["subject_template"], data["body_template"], self.kind).items():
                self.add_error(field, message)
        return data
