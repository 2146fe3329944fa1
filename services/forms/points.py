"""The service point form (create and edit). Saving is done by services.actions.points; this only collects
and validates input. The list and circle filters are FilterSets (services/filtersets.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from orgs.forms import OrgChoiceField, RegionChoiceField
from orgs.forms.pickers import use_org_picker
from orgs.models import Organization, Region
from services.models import AMENITIES, ServicePoint
from services.selectors import points as selectors


class ServicePointForm(BootstrapFormMixin, forms.ModelForm):
    """Create or edit a point. Operator org choices: where the user holds service_point.add (create)
    or service_point.change (edit), searched with the org picker (a district has thousands of orgs)."""

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
        use_org_picker(self.fields["operator_org"], perm)
        self.fields["latitude"].help_text = _("十进制度，如 39.904200")
        self.fields["longitude"].help_text = _("十进制度，如 116.407400")
