"""Who may call an endpoint: authenticated, the role's permission somewhere (else 403), the token's reach.

Scope is not decided here: the queryset is `restrict(user, action)`, so an object outside the caller's subtree is
404 exactly as on the pages. A 403 says "your role never may do this", which the API (unlike the pages, which
answer 404) states plainly so a REST client's operator can fix the grant."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from core.access import has_perm


class TokenReach(BasePermission):
    """A statistics-only token reaches only views marked `stats_endpoint = True` (and the schema)."""

    message = _("此令牌仅可访问统计接口（/api/v1/stats/）。")
    code = "token_scope"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None or not getattr(token, "is_stats_only", False):
            return True
        return bool(getattr(view, "stats_endpoint", False))


class RolePermission(BasePermission):
    """The view's `required_perm(request)` (e.g. "transfer.change") must be granted somewhere."""

    message = _("您的角色没有此操作的权限。")
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        perm = view.required_perm(request) if hasattr(view, "required_perm") else None
        return perm is None or has_perm(request.user, perm)
