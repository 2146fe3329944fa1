"""Serializers of coverage's API resources: workplaces with their coverage state, and an org's coverage figures.
(The org tree's own resources are orgs.api.)"""

from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.fields import ScopedRelatedField
from orgs.models import Industry, Organization, Region, Workplace, WorkplaceKind
from orgs.selectors import CoverageState


class WorkplaceSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    industry_display = serializers.CharField(source="get_industry_display", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    responsible_org_name = serializers.CharField(source="responsible_org.name", read_only=True)
    coverage_state = serializers.ChoiceField(choices=list(CoverageState.LABELS.items()), read_only=True)
    coverage_state_display = serializers.SerializerMethodField()
    org_covered = serializers.BooleanField(read_only=True)
    assigned = serializers.BooleanField(read_only=True)
    own_branch = serializers.BooleanField(read_only=True)
    full_members = serializers.IntegerField(read_only=True)

    class Meta:
        model = Workplace
        fields = [
            "id", "name", "kind", "kind_display", "industry", "industry_display", "address", "latitude", "longitude", "region",
            "region_name", "responsible_org", "responsible_org_name", "gig_worker_count", "has_trade_union", "is_active",
            "coverage_state", "coverage_state_display", "org_covered", "assigned", "own_branch", "full_members", "updated_at",
        ]

    def get_coverage_state_display(self, obj) -> str:
        return str(CoverageState.LABELS.get(getattr(obj, "coverage_state", None), ""))


class WorkplaceInputSerializer(serializers.Serializer):
    """登记/编辑覆盖单位: the UI's workplace form (orgs.forms.WorkplaceForm) for orgs.actions.workplace_create/update.
    The responsible org is one the caller may see; whether they may file workplaces under it the action decides."""

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=WorkplaceKind.choices)
    industry = serializers.ChoiceField(choices=Industry.choices)
    region = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all())
    responsible_org = ScopedRelatedField(model=Organization, verb="view")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False,
                                         allow_null=True)
    gig_worker_count = serializers.IntegerField(min_value=0, required=False)
    has_trade_union = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)

    def validate(self, data):
        # the form's rule, on the values the workplace will have (a PATCH may send one of the two)
        instance = self.instance
        latitude = data["latitude"] if "latitude" in data else getattr(instance, "latitude", None)
        longitude = data["longitude"] if "longitude" in data else getattr(instance, "longitude", None)
        if (latitude is None) != (longitude is None):
            raise serializers.ValidationError(_("经纬度须同时填写或同时留空。"))
        return data


class CoverageFiguresSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    workplaces = serializers.IntegerField()
    org_covered = serializers.IntegerField()
    work_covered = serializers.IntegerField()
    uncovered = serializers.IntegerField()
    org_rate = serializers.FloatField(allow_null=True)
    work_rate = serializers.FloatField(allow_null=True)
    gig_workers = serializers.IntegerField()
    gig_workers_org_covered = serializers.IntegerField()
    gig_workers_work_covered = serializers.IntegerField()
    needs_own_branch = serializers.IntegerField()
    within_reach = serializers.IntegerField(help_text="workplaces within the 15-minute service circle")
    gig_workers_within_reach = serializers.IntegerField()
    reach_rate = serializers.FloatField(allow_null=True)
    gig_reach_rate = serializers.FloatField(allow_null=True)


class OrgCoverageSerializer(serializers.Serializer):
    org = CoverageFiguresSerializer(help_text="the org's whole subtree (within the caller's scope)")
    children = CoverageFiguresSerializer(many=True, help_text="each direct child the caller may see")
