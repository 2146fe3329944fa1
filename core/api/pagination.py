"""Cursor pagination for every collection: no COUNT, the same cost on page 1 and page 1,000 (PRACTICES.md)."""

from rest_framework.pagination import CursorPagination


class PortalCursorPagination(CursorPagination):
    """Opaque `cursor`, `per_page` up to 100; the order comes from `?ordering=` (OrderingFilter) or `ordering`.

    DRF's cursor keeps its position on the first ordering field and an offset among equal values, so every
    `ordering_fields` entry a viewset allows should be (nearly) unique or indexed; the default is `-id`."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "per_page"
    max_page_size = 100


class IdCursorPagination(PortalCursorPagination):
    ordering = "id"


class PathCursorPagination(PortalCursorPagination):
    """Trees are ordered by their materialized path: parents before children."""

    ordering = "path"
