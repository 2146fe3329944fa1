"""The one scoping choke point: ScopedQuerySet.restrict(user, action).

Every view, viewset and selector that returns domain objects starts from
`Model.objects.restrict(user, action)`. A grant at an org node covers the
subtree under it (treebeard materialized path: one indexed prefix query).
Objects outside a user's scope are filtered out, so views answer 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.http import Http404

from orgs.permissions import role_allows

if TYPE_CHECKING:  # pragma: no cover
    pass


def _load_grants(user) -> list[tuple[str, str]]:
    """(role, org path) pairs of the user's grants, cached on the user object for the request."""
    cached = getattr(user, "_portal_grants", None)
    if cached is None:
        from orgs.models import RoleGrant

        cached = list(
            RoleGrant.objects.filter(user_id=user.pk, org__status="active").values_list("role", "org__path")
        )
        user._portal_grants = cached
    return cached


def minimal_paths(paths: list[str]) -> list[str]:
    """Drop paths that lie under another path in the list: the covering prefixes remain."""
    result: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(kept) for kept in result):
            result.append(path)
    return result


def grant_paths(user, perm: str) -> list[str]:
    """Org paths at which `user` holds a role allowing `perm`."""
    if not user or not user.is_authenticated or not user.is_active:
        return []
    return minimal_paths([path for role, path in _load_grants(user) if role_allows(role, perm)])


def user_roles(user) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    return {role for role, _path in _load_grants(user)}


def has_perm(user, perm: str) -> bool:
    """True when the user may do `perm` somewhere (used to show menu items and buttons)."""
    if user and user.is_authenticated and user.is_superuser:
        return True
    return bool(grant_paths(user, perm))


def may(user, perm: str, org) -> bool:
    """One check: may `user` do `perm` at `org` (a grant allowing `perm` at the org or above it)? No query
    beyond the user's cached grants. Superusers and the SYSTEM actor may; None may not."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(org.path.startswith(path) for path in grant_paths(user, perm))


def orgs_where(user, perm: str):
    """The active orgs where `user` may do `perm`: a queryset (one prefix scan per grant).
    The one answer to "the orgs where I may X" (form choices, pickers, filters)."""
    from orgs.models import Organization

    qs = Organization.objects.active()
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_superuser:
        return qs
    paths = grant_paths(user, perm)
    return qs.filter(path_q("path", paths)) if paths else qs.none()


def path_q(field: str, paths: list[str]) -> Q:
    """Q matching rows whose `field` (a treebeard path) lies under any of `paths`."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


class ScopedQuerySet(models.QuerySet):
    """QuerySet with `restrict(user, action)`; models define `scope_resource` and `scope_q()`."""

    def restrict(self, user, action: str = "view"):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        perm = f"{self.model.scope_resource}.{action}"
        paths = grant_paths(user, perm)
        q = self.model.scope_q(user=user, paths=paths, action=action)
        if q is None:
            return self.none()
        return self.filter(q)


def get_scoped_or_404(queryset, user, action: str = "view", **lookup):
    """Fetch one object inside the user's scope; missing and forbidden look the same (404)."""
    try:
        return queryset.restrict(user, action).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
