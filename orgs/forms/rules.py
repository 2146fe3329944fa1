"""The rule-row edit form: a new value and the reason (the rules themselves are checked by orgs.actions.rules)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin


class RuleForm(BootstrapFormMixin, forms.Form):
    value = forms.DecimalField(label=_("新取值"), max_digits=12, decimal_places=2)
    reason = forms.CharField(label=_("修改原因"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写修改原因。")},
                             help_text=_("写明依据（如文件、会议决定），记入操作日志。"))

    def __init__(self, *args, integer: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value"].widget.attrs.update({"min": "0", "step": "1" if integer else "0.01"})
        if integer:
            self.fields["value"].help_text = _("该规则取整数。")
