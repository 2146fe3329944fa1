"""Forms of the accounts pages: collect and validate input; orgs.actions.users writes."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from orgs.forms.pickers import use_org_picker
from orgs.models import Role
from orgs.selectors.users import grant_orgs_for


class GrantOrgField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "　" * (obj.depth - 1) + obj.name


class _GrantFields(BootstrapFormMixin, forms.Form):
    org = GrantOrgField(label=_("党组织"), queryset=None, help_text=_("角色覆盖该党组织及其全部下级组织。"))
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    perm = "user.change"

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = grant_orgs_for(actor=user, perm=self.perm)
        use_org_picker(self.fields["org"], self.perm)  # searches; never lists every org


class UserCreateForm(_GrantFields):
    username = forms.CharField(label=_("用户名"), max_length=150, help_text=_("登录用，可用字母、数字和 @ . + - _，创建后不能修改。"))
    display_name = forms.CharField(label=_("姓名"), max_length=50)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    perm = "user.add"

    field_order = ["username", "display_name", "email", "org", "role"]


class GrantAddForm(_GrantFields):
    pass


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("搜索"), max_length=50, required=False)


class PortalSetPasswordForm(BootstrapFormMixin, SetPasswordForm):
    """Django's form (both fields, AUTH_PASSWORD_VALIDATORS); orgs.actions.users.user_password_set saves.
    The help text is plain (Django's is HTML, which our form template escapes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("新密码")
        self.fields["new_password1"].help_text = " ".join(str(t) for t in password_validation.password_validators_help_texts())
        self.fields["new_password2"].label = _("再次输入新密码")
        self.fields["new_password2"].help_text = ""
