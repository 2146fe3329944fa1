"""Coverage snapshots in the API: the list and one snapshot with its rows, requesting one (enqueued through the
outbox like the /reports/ page: 202 with the snapshot pending) and its .xlsx report once ready.

ETag / Last-Modified with 304 (core.api.conditional): the ETag hashes the body; Last-Modified is the time a ready
snapshot was finished, and for the list the newest such time among the snapshots filtered. A snapshot still being
generated has no Last-Modified (its status changes without a timestamp), and neither has a list holding one: the
ETag alone answers 304 for them, so a poller never misses "ready"."""

from __future__ import annotations

from urllib.parse import quote

import django_filters
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from core.api import ScopedViewSet
from core.api.conditional import ConditionalMixin
from core.api.viewsets import CreateMixin
from core.spreadsheets import XLSX_CONTENT_TYPE
from coverage.actions.snapshots import IN_PROGRESS, snapshot_request
from coverage.models import CoverageSnapshot, SnapshotKind, SnapshotRow, SnapshotStatus
from coverage.selectors.snapshots import FIGURE_FIELDS, snapshot_orgs, snapshot_period_label, snapshot_rows


# ---------------------------------------------------------------- filters
class SnapshotFilterSet(django_filters.FilterSet):
    """The snapshot list's filters (the /reports/ page has none yet; move this to coverage/filtersets.py when it
    gets them). The queryset is already restricted to the caller's snapshot.view scope."""

    org = django_filters.NumberFilter(label=gettext_lazy("党组织"), field_name="org_id")
    kind = django_filters.ChoiceFilter(label=gettext_lazy("类别"), choices=SnapshotKind.choices)
    status = django_filters.ChoiceFilter(label=gettext_lazy("状态"), choices=SnapshotStatus.choices)
    period_from = django_filters.DateFilter(label=gettext_lazy("所属期间起（不早于）"), field_name="period_start",
                                            lookup_expr="gte")
    period_to = django_filters.DateFilter(label=gettext_lazy("所属期间起（不晚于）"), field_name="period_start",
                                          lookup_expr="lte")

    class Meta:
        model = CoverageSnapshot
        fields = ["org", "kind", "status", "period_from", "period_to"]


# ---------------------------------------------------------------- serializers
class SnapshotSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    period_label = serializers.SerializerMethodField()
    requested_by_name = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = CoverageSnapshot
        fields = [
            "id", "org", "org_name", "kind", "kind_display", "period_start", "period_end", "period_label", "status",
            "status_display", "requested_by", "requested_by_name", "requested_at", "taken_at", "report_built_at",
            "report_url",
        ]
        read_only_fields = fields

    def get_period_label(self, obj) -> str:
        return snapshot_period_label(obj)

    def get_requested_by_name(self, obj) -> str | None:
        return str(obj.requested_by) if obj.requested_by_id else None  # None: the monthly run

    def get_report_url(self, obj) -> str | None:
        """The .xlsx report's path once the snapshot is ready."""
        if obj.status != SnapshotStatus.READY or obj.report_built_at is None:
            return None
        return reverse("api-snapshot-report", kwargs={"pk": obj.pk})


class SnapshotRowSerializer(serializers.ModelSerializer):
    org_rate = serializers.FloatField(read_only=True, allow_null=True)
    work_rate = serializers.FloatField(read_only=True, allow_null=True)
    reach_rate = serializers.FloatField(read_only=True, allow_null=True)
    gig_reach_rate = serializers.FloatField(read_only=True, allow_null=True)
    compliance_rate = serializers.FloatField(read_only=True, allow_null=True)
    satisfaction_avg = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = SnapshotRow
        fields = [
            "key", "label", "position", *FIGURE_FIELDS, "org_rate", "work_rate", "reach_rate", "gig_reach_rate",
            "compliance_rate", "satisfaction_avg",
        ]
        read_only_fields = fields


class SnapshotRowsSerializer(serializers.Serializer):
    """A ready snapshot's rows per dimension, in order (empty lists until it is ready)."""

    total = SnapshotRowSerializer(many=True, help_text="the whole subtree (one row)")
    org = SnapshotRowSerializer(many=True, help_text="each org below it")
    region = SnapshotRowSerializer(many=True, help_text="each street")
    industry = SnapshotRowSerializer(many=True, help_text="each industry")


class SnapshotDetailSerializer(SnapshotSerializer):
    rows = serializers.SerializerMethodField()

    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "rows"]
        read_only_fields = fields

    @extend_schema_field(SnapshotRowsSerializer)
    def get_rows(self, obj):
        grouped = snapshot_rows(obj) if obj.status == SnapshotStatus.READY else {}
        return SnapshotRowsSerializer({name: grouped.get(name, []) for name in SnapshotRowsSerializer._declared_fields}).data


@extend_schema_field(OpenApiTypes.INT)
class SnapshotOrgField(serializers.PrimaryKeyRelatedField):
    """An org where the caller may take snapshots (the page form's choices): any other id reads as "does not exist"."""

    def get_queryset(self):
        user = getattr(self.context.get("request"), "user", None) or AnonymousUser()
        return snapshot_orgs(user=user, perm="snapshot.add")


class SnapshotCreateSerializer(serializers.Serializer):
    org = SnapshotOrgField(help_text="the org whose subtree is counted, this month so far")


# ---------------------------------------------------------------- the viewset
class _XlsxOrJson(BaseContentNegotiation):
    """The report answers its workbook whatever Accept says, and its errors in JSON (the first renderer)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class SnapshotViewSet(ConditionalMixin, CreateMixin, ScopedViewSet):
    """Coverage snapshots in the caller's snapshot.view scope: figures of an org subtree at one moment, with rows by
    org, street and industry once ready. POST (snapshot.add) requests one for this month so far: it is taken by a
    worker, so the answer is 202 with the snapshot pending; poll it (ETag / If-None-Match) until `status` is ready,
    then download `report_url`. A second request for an org whose snapshot is still being generated is 409."""

    model = CoverageSnapshot
    serializer_class = SnapshotSerializer
    create_serializer_class = SnapshotCreateSerializer
    filterset_class = SnapshotFilterSet
    ordering_fields = ["id", "period_start", "requested_at"]

    def get_serializer_class(self):
        return SnapshotDetailSerializer if self.action == "retrieve" else SnapshotSerializer

    def prepare(self, queryset):
        return queryset.defer("report").select_related("org", "requested_by")

    def get_object(self):
        if getattr(self, "_object", None) is None:  # read once: the detail and its Last-Modified
            self._object = super().get_object()
        return self._object

    def create_object(self, data):
        return snapshot_request(actor=self.request.user, org=data["org"])

    @extend_schema(request=SnapshotCreateSerializer, responses={202: SnapshotSerializer})
    def create(self, request, *args, **kwargs):
        snapshot = self.create_object(self.input(self.create_serializer_class))
        response = self.output(snapshot, status_code=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api-snapshot-detail", kwargs={"pk": snapshot.pk})
        return response

    @extend_schema(responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}, summary="The snapshot's .xlsx report")
    @action(detail=True, methods=["get"], content_negotiation_class=_XlsxOrJson)
    def report(self, request, pk=None):
        """The stored .xlsx report of a ready snapshot; 404 until it is ready."""
        snapshot = self.get_object()
        if snapshot.status != SnapshotStatus.READY or not snapshot.report:
            raise NotFound  # the API's one 404 ("未找到。"): `status` says why
        name = f"{_('覆盖情况报表')}-{snapshot.org.name}-{snapshot.period_start:%Y%m}"
        if snapshot.kind != SnapshotKind.MONTHLY:
            name += f"-{snapshot.period_end:%Y%m%d}"
        response = HttpResponse(bytes(snapshot.report), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = (
            f"attachment; filename=\"snapshot-{snapshot.pk}.xlsx\"; filename*=UTF-8''{quote(name)}.xlsx"
        )
        return response

    # -- conditional GET ---------------------------------------------------------------------------------------
    def last_modified(self, request):
        if self.action == "retrieve":
            snapshot = self.get_object()
            ready = snapshot.status == SnapshotStatus.READY
            return (snapshot.report_built_at or snapshot.taken_at) if ready else None
        if self.action != "list":
            return None
        newest = self.filter_queryset(self.get_queryset()).order_by().aggregate(
            requested=Max("requested_at"), built=Max("report_built_at"), taken=Max("taken_at"),
            in_progress=Count("pk", filter=Q(status__in=IN_PROGRESS)),
        )
        if newest["in_progress"]:
            return None
        times = [newest[key] for key in ("requested", "built", "taken") if newest[key] is not None]
        return max(times) if times else None

    def finalize_response(self, request, response, *args, **kwargs):
        if not isinstance(response, Response):  # the report's workbook: no ETag over its bytes
            return super(ConditionalMixin, self).finalize_response(request, response, *args, **kwargs)
        return super().finalize_response(request, response, *args, **kwargs)
