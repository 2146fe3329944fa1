"""Base classes for the REST API: every viewset is scoped through restrict() like every view."""

from rest_framework import viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated


class PathCursorPagination(CursorPagination):
    """Cursor pagination (no COUNT per request); trees are ordered by their path."""

    ordering = "path"
    page_size = 50


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 50


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Read-only viewset whose queryset is `model.objects.restrict(user, "view")`: out of scope is 404."""

    permission_classes = [IsAuthenticated]
    scope_action = "view"
    model = None

    def prepare(self, queryset):
        """Hook for select_related/annotations on the already-restricted queryset."""
        return queryset

    def get_queryset(self):
        return self.prepare(self.model.objects.restrict(self.request.user, self.scope_action))
