from rest_framework import serializers

from orgs.models import Organization, Workplace


class OrganizationSerializer(serializers.ModelSerializer):
    parent = serializers.SerializerMethodField()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id", "code", "name", "kind", "kind_display", "formation_mode", "industry", "region", "parent", "depth",
            "numchild", "status", "established_on", "dissolved_on", "document_number", "has_committee",
        ]

    def get_parent(self, obj) -> str | None:
        # the parent's path, not its id: one query fewer per row, and enough to rebuild the tree
        return obj.path[: -obj.steplen] or None


class WorkplaceSerializer(serializers.ModelSerializer):
    coverage_state = serializers.CharField(read_only=True)
    org_covered = serializers.BooleanField(read_only=True)
    assigned = serializers.BooleanField(read_only=True)
    full_members = serializers.IntegerField(read_only=True)

    class Meta:
        model = Workplace
        fields = [
            "id", "name", "kind", "industry", "address", "latitude", "longitude", "region", "responsible_org",
            "gig_worker_count", "has_trade_union", "is_active", "coverage_state", "org_covered", "assigned", "full_members",
        ]


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
