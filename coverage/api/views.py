"""Coverage's API resources: workplaces with their coverage state (and their writes, through orgs' actions), and
an org's coverage figures at `/orgs/{id}/coverage/` (they count members, so they live here, above orgs)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from core.api import IdCursorPagination, ScopedViewSet
from core.api.viewsets import CreateMixin, UpdateMixin
from coverage.api.serializers import (
    CoverageFiguresSerializer,
    OrgCoverageSerializer,
    WorkplaceInputSerializer,
    WorkplaceSerializer,
)
from coverage.filtersets import WorkplaceFilterSet
from coverage.selectors import figures as selectors
from orgs import actions
from orgs.models import Organization, Workplace


class OrgCoverageViewSet(ScopedViewSet):
    """One org's coverage figures (routed as `orgs/{id}/coverage/` by coverage.api.urls)."""

    model = Organization
    serializer_class = OrgCoverageSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(responses=OrgCoverageSerializer, summary="Coverage figures of an org's subtree, and per child")
    def coverage(self, request, pk=None):
        """Coverage figures of the org's subtree (workplaces the caller may see), and of each visible child."""
        org = self.get_object()
        return Response({
            "org": CoverageFiguresSerializer(selectors.coverage_for_org(user=request.user, org=org)).data,
            "children": CoverageFiguresSerializer(selectors.coverage_by_child(user=request.user, org=org), many=True).data,
        })


@extend_schema_view(
    create=extend_schema(summary="Register a workplace", request=WorkplaceInputSerializer),
    partial_update=extend_schema(summary="Edit a workplace", request=WorkplaceInputSerializer(partial=True)),
)
class WorkplaceViewSet(CreateMixin, UpdateMixin, ScopedViewSet):
    """Workplaces to be covered (两个覆盖) in the caller's subtrees, with their coverage state; filtered like the
    workplace list page (closed ones only with `?status=closed` or `all`). POST registers one, PATCH edits it."""

    model = Workplace
    serializer_class = WorkplaceSerializer
    create_serializer_class = WorkplaceInputSerializer
    update_serializer_class = WorkplaceInputSerializer
    pagination_class = IdCursorPagination
    filterset_class = WorkplaceFilterSet
    ordering_fields = ["id", "name", "gig_worker_count"]

    def prepare(self, queryset):
        return selectors.annotate_coverage(queryset).select_related("region", "responsible_org")

    def create_object(self, data):
        return actions.workplace_create(actor=self.request.user, **data)

    def update_object(self, obj, data):
        return actions.workplace_update(actor=self.request.user, workplace=obj, **data)
