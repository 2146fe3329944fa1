"""The form issuing an API token: collect and validate input; orgs.actions.tokens.api_token_issue writes (and
re-checks every rule)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from core.models import ApiToken
from orgs.actions.tokens import expiry_bounds
from orgs.selectors.tokens import token_user_by_username


class ApiTokenIssueForm(BootstrapFormMixin, forms.Form):
    # A username, not a list of accounts: a page never lists every account of a district.
    username = forms.CharField(label=_("令牌所属用户名"), max_length=150,
                               help_text=_("令牌以该账号的身份和权限范围访问接口；该账号须持有角色，且全部授权都在您的管理范围内。"))
    name = forms.CharField(label=_("令牌名称"), max_length=100, help_text=_("说明用途，如“市级驾驶舱”“大屏展示”。"))
    scope = forms.ChoiceField(label=_("访问范围"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.STATS,
                              help_text=_("“仅统计接口”只能访问 /api/v1/stats/，接触不到任何个人信息。"))
    expires_on = forms.DateField(label=_("有效期至"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                 help_text=_("令牌在所选日期当天结束时失效；有效期最长一年。"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = user
        earliest, latest = expiry_bounds()
        self.fields["expires_on"].widget.attrs.update(min=earliest.isoformat(), max=latest.isoformat())
        self.fields["username"].widget.attrs["autocomplete"] = "off"

    def clean_username(self):
        account = token_user_by_username(actor=self.actor, username=self.cleaned_data["username"])
        if account is None:
            raise forms.ValidationError(_("您的管理范围内没有这个用户名的账号。"))
        return account
