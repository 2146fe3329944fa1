"""Forms of the bulk onboarding pages: the upload and the confirmation (what the preview showed)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin


class OnboardingUploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label=_("账号清单（.xlsx）"),
        help_text=_("列：用户名、姓名、邮箱（可选）、角色、党组织编码；不超过 5 MB、2000 行。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )


class OnboardingConfirmForm(forms.Form):
    batch = forms.CharField(max_length=64, widget=forms.HiddenInput)
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)
