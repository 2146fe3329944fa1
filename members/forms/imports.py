"""Upload forms for member import and roster comparison; the checks on the file itself live in actions."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from members.selectors.imports import import_target_orgs, roster_target_orgs
from members.spreadsheets import MAX_UPLOAD_BYTES
from orgs.forms import OrgChoiceField
from orgs.forms.pickers import use_org_picker


class _UploadForm(BootstrapFormMixin, forms.Form):
    accept = ".xlsx"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件过大：不能超过 %(mb)d MB。") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
        return upload


class MemberImportForm(_UploadForm):
    org = OrgChoiceField(label=_("导入到党组织"), queryset=None)
    file = forms.FileField(label=_("党员信息表（.xlsx）"), help_text=_("请使用下载的模板填写；不超过 5 MB、20000 行。"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = import_target_orgs(user=user)
        use_org_picker(self.fields["org"], "member_import.add")


class RosterUploadForm(_UploadForm):
    org = OrgChoiceField(label=_("比对范围"), queryset=None, help_text=_("在该党组织管理范围内的覆盖单位中匹配站点名称。"))
    platform = forms.CharField(label=_("平台"), max_length=100, required=False)
    file = forms.FileField(label=_("从业人员名单（.xlsx 或 .csv）"),
                           help_text=_("列：姓名、身份证号、站点/单位；不超过 5 MB、20000 行。名单比对完成后即删除，不予保存。"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = roster_target_orgs(user=user)
        use_org_picker(self.fields["org"], "roster.add")
