"""Forms of the public pages: submit a request, look it up, confirm or reopen it; where to measure the
nearest service points from.

The forms check shape (required, lengths); the rules (phone format, extra fields, limits) are checked
by services.actions.intake.request_submit, whose DomainErrors name these field names.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from services import credentials
from services.models import ExtraField, MemberAnswer
from services.selectors import points as point_selectors
from services.selectors import public

HONEYPOT = "website"  # a field people never see; bots fill every input

EXTRA_WIDGETS = {
    ExtraField.AMOUNT_OWED: forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("例如 3500")}),
    ExtraField.OWED_SINCE: forms.TextInput(attrs={"type": "month", "placeholder": _("例如 2025-03")}),
}


class _RadioButtons:
    """Radio choices rendered as large toggle buttons (Bootstrap .btn-check), not as text inputs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect):
                field.widget.attrs["class"] = "btn-check"


class IntakeForm(_RadioButtons, BootstrapFormMixin, forms.Form):
    description = forms.CharField(
        label=_("遇到了什么问题"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": _("请写清楚时间、地点、经过和需要的帮助")}),
    )
    requester_name = forms.CharField(label=_("您的称呼"), max_length=50, help_text=_("可只写姓氏，如“张师傅”"))
    phone = forms.CharField(
        label=_("手机号"), max_length=20, help_text=_("仅用于工作人员联系您，加密保存"),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    member_answer = forms.ChoiceField(label=_("您是党员吗"), choices=MemberAnswer.choices, initial=MemberAnswer.UNKNOWN,
                                      widget=forms.RadioSelect)
    region = forms.TypedChoiceField(label=_("所在街道/社区"), coerce=int, required=False, empty_value=None)
    workplace = forms.TypedChoiceField(label=_("所在站点或单位（选填）"), coerce=int, required=False, empty_value=None)
    place = forms.CharField(label=_("或填写所在地点（选填）"), max_length=200, required=False,
                            widget=forms.TextInput(attrs={"placeholder": _("例如 某某路与某某街交叉口")}))
    latitude = forms.CharField(required=False, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, widget=forms.HiddenInput)
    consent = forms.BooleanField(label=_("同意将联系电话用于办理本诉求"),
                                 error_messages={"required": _("请勾选同意，工作人员才能联系您办理。")})
    website = forms.CharField(label=_("请勿填写此项"), required=False,
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    def __init__(self, *args, category, **kwargs):
        super().__init__(*args, **kwargs)
        self.category = category
        self.fields["region"].choices = [("", _("请选择（可不选）"))] + public.street_choices()
        self.fields["workplace"].choices = [("", _("不选择"))] + [
            (street or _("其他"), options) for street, options in public.workplace_choices()
        ]
        self.extra_codes = [code for code in (category.required_fields or []) if code in ExtraField.values]
        for code in self.extra_codes:
            widget = EXTRA_WIDGETS.get(code, forms.TextInput())
            field = forms.CharField(label=ExtraField(code).label, max_length=100, widget=widget)
            field.widget.attrs["class"] = "form-control"
            self.fields[code] = field

    @property
    def extra_fields(self):
        return [self[code] for code in self.extra_codes]

    def clean_workplace(self):
        pk = self.cleaned_data.get("workplace")
        if pk is None:
            return None
        workplace = public.intake_workplace(pk)
        if workplace is None:
            raise forms.ValidationError(_("所选单位不存在或已停业，请重新选择。"))
        return workplace

    def clean_region(self):
        pk = self.cleaned_data.get("region")
        return public.intake_region(pk) if pk is not None else None

    def action_kwargs(self) -> dict:
        """Keyword arguments for services.actions.intake.request_submit."""
        data = self.cleaned_data
        return {
            "category": self.category, "description": data["description"], "requester_name": data["requester_name"],
            "phone": data["phone"], "member_answer": data["member_answer"], "workplace": data.get("workplace"),
            "place": data.get("place", ""), "latitude": data.get("latitude") or None, "longitude": data.get("longitude") or None,
            "region": data.get("region"), "extra": {code: data.get(code, "") for code in self.extra_codes},
        }


class TrackForm(BootstrapFormMixin, forms.Form):
    code = forms.CharField(
        label=_("查询码"), max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "placeholder": "XXXX-XXXX-XXXX"}),
    )
    secret = forms.CharField(
        label=_("查询密码"), max_length=30,
        help_text=_("提交成功时显示的8位查询密码；较早提交、没有查询密码的诉求，请填写提交时的完整手机号"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "placeholder": "XXXX-XXXX"}),
    )

    def clean_secret(self):
        value = self.cleaned_data["secret"]
        if not credentials.credential_shape_ok(value):
            raise forms.ValidationError(_("请输入8位查询密码；较早提交、没有查询密码的诉求，请输入完整手机号。"))
        return value


SATISFACTION_CHOICES = [
    (5, _("5 分 很满意")), (4, _("4 分 满意")), (3, _("3 分 一般")), (2, _("2 分 不满意")), (1, _("1 分 很不满意")),
]


class ConfirmForm(_RadioButtons, BootstrapFormMixin, forms.Form):
    satisfaction = forms.TypedChoiceField(label=_("对办理结果的满意程度"), choices=SATISFACTION_CHOICES, coerce=int,
                                          widget=forms.RadioSelect, error_messages={"required": _("请为办理结果打分。")})
    comment = forms.CharField(label=_("评价（选填）"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReopenForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("还有什么问题没有解决"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class NearestOriginForm(forms.Form):
    """Where to measure from: a street, a workplace (searched by name), or the browser's location
    (never stored)."""

    street = forms.TypedChoiceField(label=_("按街道"), coerce=int, required=False, empty_value=None)
    q = forms.CharField(label=_("按单位名称"), max_length=50, required=False,
                        widget=forms.TextInput(attrs={"placeholder": _("输入单位名称，如“顺丰”"), "class": "form-control"}))
    workplace = forms.IntegerField(required=False, widget=forms.HiddenInput,
                                   error_messages={"invalid": _("没有找到该单位，请重新搜索。")})
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90,
                           error_messages={"invalid": _("位置信息无效，请重新定位或选择街道。"),
                                           "min_value": _("纬度应在 -90 到 90 之间。"),
                                           "max_value": _("纬度应在 -90 到 90 之间。")})
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180,
                           error_messages={"invalid": _("位置信息无效，请重新定位或选择街道。"),
                                           "min_value": _("经度应在 -180 到 180 之间。"),
                                           "max_value": _("经度应在 -180 到 180 之间。")})

    def __init__(self, *args, streets: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.streets = {pk: (name, lat, lon) for pk, name, lat, lon in streets}
        self.candidates: list[tuple[int, str]] = []
        self.fields["street"].choices = [("", _("选择街道"))] + [(pk, name) for pk, name, _lat, _lon in streets]
        self.fields["street"].widget.attrs["class"] = "form-select"
        self.fields["street"].error_messages["invalid_choice"] = _("请从列表中选择街道。")

    def clean_workplace(self):
        pk = self.cleaned_data.get("workplace")
        if pk is None:
            return None
        origin = point_selectors.public_workplace_origin(pk)
        if origin is None:
            raise forms.ValidationError(_("没有找到该单位，请重新搜索。"))
        return origin

    def clean(self):
        data = super().clean()
        lat, lon = data.get("lat"), data.get("lon")
        if not self.errors and (lat is None) != (lon is None):
            raise forms.ValidationError(_("位置信息不完整，请重新定位或选择街道。"))
        return data

    def origin(self) -> point_selectors.Origin | None:
        """The chosen origin (call after is_valid()): location, then workplace, then name search, then
        street. A search matching several workplaces gives no origin and fills `candidates`."""
        data = self.cleaned_data
        if data.get("lat") is not None and data.get("lon") is not None:
            return point_selectors.Origin(data["lat"], data["lon"], str(_("您的当前位置")))
        if data.get("workplace"):
            return data["workplace"]
        if data.get("q"):
            matches = point_selectors.public_workplace_matches(data["q"])
            if len(matches) == 1:
                return point_selectors.public_workplace_origin(matches[0][0])
            self.candidates = matches
            if not matches:
                self.add_error("q", _("没有找到名称含“%(q)s”且已标注位置的单位。") % {"q": data["q"]})
            return None
        if data.get("street"):
            name, lat, lon = self.streets[data["street"]]
            return point_selectors.Origin(lat, lon, name)
        return None
