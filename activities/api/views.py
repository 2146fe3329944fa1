"""The organizational-life API: meeting records with attendance (log, edit/resubmit, return for correction),
compliance exemptions, and the compliance board's figures. Short viewsets on core.api: scoping, permissions,
filters and pages are the base class's; writes call the same actions as the pages."""

from __future__ import annotations

from collections import defaultdict

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from activities.actions import ActivityAlreadySaved, activity_create, activity_return, activity_update, exemption_create
from activities.api.serializers import (
    IDEMPOTENCY_HEADER,
    ActivityCreateSerializer,
    ActivityReturnSerializer,
    ActivitySerializer,
    ActivityUpdateSerializer,
    ComplianceBoardSerializer,
    ComplianceQuerySerializer,
    ComplianceStatus,
    ExemptionCreateSerializer,
    ExemptionSerializer,
)
from activities.filtersets import ActivityFilterSet, ExemptionFilterSet
from activities.models import Activity, Cycle, Exemption
from activities.selectors import compliance
from core.api.viewsets import CreateMixin, PortalAPIMixin, ScopedViewSet, UpdateMixin, transition
from core.dates import date_bounds
from orgs.models import Organization


# ---------------------------------------------------------------- meeting records
# The request bodies are the input serializers (spectacular would describe the output one); the transition's is
# declared here too because DRF's @action replaces the schema that core.api.transition attaches before it.
@extend_schema_view(
    create=extend_schema(
        summary="Log a meeting (idempotent with Idempotency-Key)",
        request=ActivityCreateSerializer,
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=False,
                                     description="16-64 letters, digits, - or _ (e.g. a UUID); a retry answers 200 with the saved record")],
        responses={201: ActivitySerializer, 200: OpenApiResponse(ActivitySerializer, description="a retry: the record the first POST saved")},
    ),
    partial_update=extend_schema(summary="Edit a record (a returned one is resubmitted)", request=ActivityUpdateSerializer),
    return_for_correction=extend_schema(summary="Return for correction (with a reason)", request=ActivityReturnSerializer),
)
class ActivityViewSet(CreateMixin, UpdateMixin, ScopedViewSet):
    """Organizational-life records (三会一课, 主题党日, 组织生活会, 民主评议 and other work) with their attendance,
    file metadata and history, inside the caller's subtree. Filters are the list page's."""

    model = Activity
    serializer_class = ActivitySerializer
    create_serializer_class = ActivityCreateSerializer
    update_serializer_class = ActivityUpdateSerializer
    filterset_class = ActivityFilterSet
    ordering_fields = ["id", "starts_at"]

    def prepare(self, queryset):
        # a constant number of queries per page: attendance rows and their members, files, events and their actors
        return queryset.select_related("org", "party_group", "created_by").prefetch_related(
            "attendance__member", "files", "events__actor"
        )

    def create(self, request, *args, **kwargs):
        try:
            return super().create(request, *args, **kwargs)
        except ActivityAlreadySaved as exc:  # the same key again: the record the first POST saved, nothing new
            return self.output(exc.activity)

    def create_object(self, data):
        return activity_create(actor=self.request.user, **data)

    def update_object(self, obj, data):
        return activity_update(actor=self.request.user, activity=obj, **data)

    @transition("return", verb="review", input_serializer=ActivityReturnSerializer)
    def return_for_correction(self, request, obj, **data):
        """District staff return a record for correction; the secretary's PATCH resubmits it."""
        return activity_return(actor=request.user, activity=obj, reason=data["reason"])


# ---------------------------------------------------------------- exemptions
@extend_schema_view(create=extend_schema(summary="Register an exemption", request=ExemptionCreateSerializer))
class ExemptionViewSet(CreateMixin, ScopedViewSet):
    """Compliance exemptions (组织生活豁免): an org exempt from a rule (or every rule) for a date range."""

    model = Exemption
    serializer_class = ExemptionSerializer
    create_serializer_class = ExemptionCreateSerializer
    filterset_class = ExemptionFilterSet
    ordering_fields = ["id", "starts_on"]

    def prepare(self, queryset):
        return queryset.select_related("org", "rule", "approved_by")

    def create_object(self, data):
        return exemption_create(actor=self.request.user, **data)


# ---------------------------------------------------------------- compliance
def _infer_period_type(key: str | None) -> str:
    """"2026-Q4" is a quarter, "2026-03" a month, "2026" a year (when `period_type` is not given)."""
    key = (key or "").strip().upper()
    if "Q" in key:
        return Cycle.QUARTER
    if key.isdigit():
        return Cycle.YEAR
    return Cycle.MONTH


def _status(totals) -> str:
    if totals.behind:
        return ComplianceStatus.BEHIND
    return ComplianceStatus.MET if totals.expected else ComplianceStatus.NOT_EXPECTED


def _kinds(branches) -> list[dict]:
    """Expected/held/met per meeting kind over `branches` (OrgCompliance rows of the report; no query)."""
    by_kind: dict[str, dict] = {}
    for branch in branches:
        for result in branch.rules:
            row = by_kind.setdefault(result.rule.kind, {
                "kind": result.rule.kind, "kind_display": result.rule.get_kind_display(),
                "expected": 0, "held": 0, "met": 0, "exempt_cycles": 0,
            })
            row["expected"] += result.expected
            row["held"] += result.held
            row["met"] += result.met
            row["exempt_cycles"] += result.exempt_cycles
    for row in by_kind.values():
        row["rate"] = round(100 * row["met"] / row["expected"], 1) if row["expected"] else None
    return sorted(by_kind.values(), key=lambda r: r["kind"])


def _figures(org, totals, branches) -> dict:
    status = _status(totals)
    return {
        "org": org, "branches": totals.branches, "behind": totals.behind, "expected": totals.expected,
        "met": totals.met, "held": totals.held, "rate": totals.rate, "status": status,
        "status_display": ComplianceStatus(status).label, "kinds": _kinds(branches),
    }


class ComplianceViewSet(PortalAPIMixin, viewsets.GenericViewSet):
    """Compliance of organizational life for one org and period, as on the compliance board: the org's subtree
    figures and one row per direct child (a page of at most 50, `next` for more), each with expected/held/met
    per meeting kind. Scope: the caller's activity.view subtree (another org is 404)."""

    serializer_class = ComplianceBoardSerializer
    pagination_class = None
    filter_backends: list = []
    renderer_classes = [JSONRenderer]

    def required_perm(self, request) -> str:
        return "activity.view"

    def _root(self, user, org_pk) -> Organization:
        if org_pk is not None:
            root = compliance.compliance_org_or_none(user=user, pk=org_pk)
        else:
            root = compliance.compliance_roots(user=user).first()
        if root is None:
            raise NotFound
        return root

    def _period(self, kind: str | None, key: str | None):
        kind = kind or _infer_period_type(key)
        period, error = compliance.period_or_error(kind, key)
        if error:  # never answer for another period than the one asked for
            earliest, latest = date_bounds()
            raise ValidationError({"period": [_("“%(key)s”不是有效的期间（格式如 %(example)s，须在 %(earliest)s 至 %(latest)s 之间）。") % {
                "key": (key or "")[:20], "example": compliance.PERIOD_EXAMPLES[kind],
                "earliest": earliest.isoformat(), "latest": latest.isoformat(),
            }]})
        return period

    @extend_schema(parameters=[ComplianceQuerySerializer], responses=ComplianceBoardSerializer)
    def list(self, request, *args, **kwargs):
        query = ComplianceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        user = request.user
        root = self._root(user, params.get("org"))
        period = self._period(params.get("period_type"), params.get("period"))
        board = compliance.compliance_board(user=user, root=root, period=period, cursor=params.get("cursor", ""),
                                            size=params.get("per_page", compliance.BOARD_PAGE_SIZE))
        report = board.report
        step = (root.depth + 1) * Organization.steplen
        branches_by_child = defaultdict(list)
        for branch in report.branches:
            branches_by_child[branch.org.path[:step]].append(branch)
        next_url = None
        if board.children.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", board.children.next_cursor)
        data = {
            "period": {"kind": period.kind, "key": period.key, "label": period.label, "start": period.start, "end": period.end},
            "totals": _figures(root, report.root_totals, report.branches),
            "children_total": board.children_total,
            "next": next_url,
            "results": [_figures(child, totals, branches_by_child.get(child.path, [])) for child, totals in board.children],
        }
        return Response(ComplianceBoardSerializer(data).data)
