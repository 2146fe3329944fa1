from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import IdCursorPagination, PathCursorPagination, ScopedReadOnlyViewSet
from coverage.api.serializers import CoverageFiguresSerializer, OrganizationSerializer, WorkplaceSerializer
from coverage.filtersets import WorkplaceFilterSet
from coverage.selectors import figures as selectors
from orgs.models import Organization, Workplace


class OrganizationViewSet(ScopedReadOnlyViewSet):
    serializer_class = OrganizationSerializer
    pagination_class = PathCursorPagination
    filterset_fields = ["kind", "status", "industry", "formation_mode"]

    model = Organization

    @action(detail=True, methods=["get"])
    def coverage(self, request, pk=None):
        """Coverage figures of this org's subtree, and per child."""
        org = self.get_object()
        return Response({
            "org": CoverageFiguresSerializer(selectors.coverage_for_org(user=request.user, org=org)).data,
            "children": CoverageFiguresSerializer(selectors.coverage_by_child(user=request.user, org=org), many=True).data,
        })


class WorkplaceViewSet(ScopedReadOnlyViewSet):
    serializer_class = WorkplaceSerializer
    pagination_class = IdCursorPagination
    filterset_class = WorkplaceFilterSet

    model = Workplace

    def prepare(self, queryset):
        return selectors.annotate_coverage(queryset)

    def filter_queryset(self, queryset):
        filterset = WorkplaceFilterSet(self.request.query_params, queryset=queryset, request_user=self.request.user)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs
