"""The REST API's foundation: every viewset is scoped through `restrict()` like every page.

- `viewsets.py`: `ScopedViewSet` (list/retrieve/create/update/destroy mixins that validate an input serializer and
  call the same actions as the UI), `transition` (POST actions on a detail), `StatsView` (grouped figures, JSON/CSV,
  ETag/Last-Modified with 304).
- `permissions.py`: the role gate (403 without the permission), the statistics-only token gate.
- `pagination.py`: cursor pagination (no COUNT), ordering from `?ordering=`.
- `renderers.py`: CSV with stable columns and formula escaping.
- `conditional.py`: ETag / Last-Modified and 304.
- `auth.py`, `throttling.py`: API tokens (django-rest-knox, hashed) and per-token throttling.
"""

from core.api.pagination import IdCursorPagination, PathCursorPagination, PortalCursorPagination
from core.api.viewsets import ScopedReadOnlyViewSet, ScopedViewSet, StatsView, transition

__all__ = [
    "IdCursorPagination",
    "PathCursorPagination",
    "PortalCursorPagination",
    "ScopedReadOnlyViewSet",
    "ScopedViewSet",
    "StatsView",
    "transition",
]
