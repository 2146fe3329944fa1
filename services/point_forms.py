"""Forms for service points, the circle page and the public nearest-points page. Saving is done by
services.actions.points; these only collect and validate input."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from orgs.forms import OrgChoiceField, RegionChoiceField
from orgs.models import Organization, Region
from services.models import AMENITIES, PointKind, PointStatus, ServicePoint
from services.selectors import points as selectors


class ServicePointForm(BootstrapFormMixin, forms.ModelForm):
    """Create or edit a point. Operator org choices: where the user holds service_point.add (create)
    or service_point.change (edit)."""

    region = RegionChoiceField(label=_("所在区域"), queryset=Region.objects.none())
    operator_org = OrgChoiceField(label=_("运营党组织"), queryset=Organization.objects.none())

    class Meta:
        model = ServicePoint
        fields = [
            "name", "kind", "status", "address", "latitude", "longitude", "region", "operator_org", "opening_hours",
            "phone", *AMENITIES, "other_amenities",
        ]

    def __init__(self, *args, user, perm: str = "service_point.add", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = selectors.region_choices()
        self.fields["operator_org"].queryset = selectors.point_operator_orgs(user=user, perm=perm)
        self.fields["latitude"].help_text = _("十进制度，如 39.904200")
        self.fields["longitude"].help_text = _("十进制度，如 116.407400")


class PointFilterForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=[("", _("全部"))] + list(PointKind.choices), required=False)
    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部"))] + list(PointStatus.choices), required=False)
    region = RegionChoiceField(label=_("区域"), queryset=Region.objects.none(), required=False, empty_label=_("全部"))
    operator_org = OrgChoiceField(label=_("运营党组织"), queryset=Organization.objects.none(), required=False,
                                  empty_label=_("全部"))
    amenity = forms.ChoiceField(label=_("服务设施"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = selectors.region_choices()
        self.fields["operator_org"].queryset = selectors.point_filter_orgs(user=user)
        self.fields["amenity"].choices = [("", _("全部"))] + [
            (name, ServicePoint._meta.get_field(name).verbose_name) for name in AMENITIES
        ]


class CircleFilterForm(BootstrapFormMixin, forms.Form):
    outside = forms.BooleanField(label=_("只看服务圈外的单位"), required=False)


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
        origin = selectors.public_workplace_origin(pk)
        if origin is None:
            raise forms.ValidationError(_("没有找到该单位，请重新搜索。"))
        return origin

    def clean(self):
        data = super().clean()
        lat, lon = data.get("lat"), data.get("lon")
        if not self.errors and (lat is None) != (lon is None):
            raise forms.ValidationError(_("位置信息不完整，请重新定位或选择街道。"))
        return data

    def origin(self) -> selectors.Origin | None:
        """The chosen origin (call after is_valid()): location, then workplace, then name search, then
        street. A search matching several workplaces gives no origin and fills `candidates`."""
        data = self.cleaned_data
        if data.get("lat") is not None and data.get("lon") is not None:
            return selectors.Origin(data["lat"], data["lon"], str(_("您的当前位置")))
        if data.get("workplace"):
            return data["workplace"]
        if data.get("q"):
            matches = selectors.public_workplace_matches(data["q"])
            if len(matches) == 1:
                return selectors.public_workplace_origin(matches[0][0])
            self.candidates = matches
            if not matches:
                self.add_error("q", _("没有找到名称含“%(q)s”且已标注位置的单位。") % {"q": data["q"]})
            return None
        if data.get("street"):
            name, lat, lon = self.streets[data["street"]]
            return selectors.Origin(lat, lon, name)
        return None
