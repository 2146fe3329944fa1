"""Reads of portal accounts for district staff (/users/): which users an actor may see, their grants.

Scope: a user is visible to an actor when the user holds at least one role grant inside the subtrees where the
actor may `user.view` (superusers see every account). Everyone else is a 404, the same as a missing account.
Account-wide changes (deactivate, a new set-password link, the reveal right) need more: every grant of the user
inside the actor's `user.change` subtrees (`may_change_account`), so staff of a committee cannot lock out
someone who also holds a role above them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.http import urlsafe_base64_decode

from orgs.models import Organization, RoleGrant
from orgs.scoping import grant_paths, orgs_where, path_q

REVEAL_APP_LABEL = "members"
REVEAL_CODENAME = "reveal_personal_data"  # the Django permission members.reveal_personal_data


def _paths(actor, perm: str) -> list[str] | None:
    """The subtree paths of `perm` for `actor`; None means everywhere (superusers and SYSTEM)."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return []
    if actor.is_superuser:
        return None
    return grant_paths(actor, perm)


def _grants_in(paths: list[str] | None) -> QuerySet[RoleGrant]:
    qs = RoleGrant.objects.all()
    return qs if paths is None else qs.filter(path_q("org__path", paths))


def reveal_permission_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}codename": REVEAL_CODENAME, f"{prefix}content_type__app_label": REVEAL_APP_LABEL})


def users_for(*, actor, search: str = "", perm: str = "user.view") -> QuerySet:
    """Accounts the actor may see, by username, with `grants_in_scope` (the grants inside the actor's subtrees,
    org loaded) prefetched and `may_reveal` annotated: a fixed number of queries for any page size."""
    User = get_user_model()
    paths = _paths(actor, perm)
    if paths == []:
        return User.objects.none()
    qs = User.objects.all()
    if paths is not None:
        qs = qs.filter(Exists(_grants_in(paths).filter(user_id=OuterRef("pk"))))
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    may_reveal = User.user_permissions.through.objects.filter(user_id=OuterRef("pk")).filter(reveal_permission_q("permission__"))
    in_scope = _grants_in(paths).select_related("org").order_by("org__path", "role")
    return (
        qs.annotate(may_reveal=Exists(may_reveal))
        .prefetch_related(Prefetch("grants", queryset=in_scope, to_attr="grants_in_scope"))
        .order_by("username", "pk")
    )


def user_scoped_or_404(*, actor, pk, perm: str = "user.view"):
    """One account inside the actor's scope; missing and out of scope look the same (404)."""
    try:
        return users_for(actor=actor, perm=perm).get(pk=pk)
    except (get_user_model().DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def grant_scoped_or_404(*, actor, user, pk, perm: str = "user.change") -> RoleGrant:
    """One grant of `user` at a node where the actor may `perm`; otherwise 404."""
    try:
        return _grants_in(_paths(actor, perm)).select_related("org").get(user_id=user.pk, pk=pk)
    except (RoleGrant.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def grants_for(*, actor, perm: str = "user.view") -> QuerySet[RoleGrant]:
    """The grants at nodes where the actor may `perm` (the grants listed with the accounts), account and org loaded."""
    paths = _paths(actor, perm)
    if paths == []:
        return RoleGrant.objects.none()
    return _grants_in(paths).select_related("user", "org")


def grants_outside_scope_count(*, actor, user, perm: str = "user.view") -> int:
    """How many of the user's grants lie outside the actor's subtrees (shown as a number, never by name)."""
    paths = _paths(actor, perm)
    if paths is None:
        return 0
    return RoleGrant.objects.filter(user_id=user.pk).exclude(path_q("org__path", paths)).count()


def may_change_account(*, actor, user) -> bool:
    """Whether the actor may make account-wide changes to `user`: every grant of the user inside the actor's
    `user.change` subtrees, the user not a superuser (unless the actor is one), and at least one grant."""
    paths = _paths(actor, "user.change")
    if paths is None:
        return True
    if not paths or user.is_superuser:
        return False
    grants = RoleGrant.objects.filter(user_id=user.pk)
    return grants.exists() and not grants.exclude(path_q("org__path", paths)).exists()


def user_may_reveal(*, user) -> bool:
    """Whether the account holds members.reveal_personal_data directly (portal access never comes from groups).
    Read from the table, not `user.has_perm`, which answers False for a deactivated account."""
    return user.user_permissions.filter(reveal_permission_q()).exists()


def password_link_user(*, uidb64: str, token: str):
    """The active account a set-password link is for, or None when the link is wrong, used or expired."""
    User = get_user_model()
    try:
        user = User._default_manager.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError, User.DoesNotExist):
        return None
    if not user.is_active or not default_token_generator.check_token(user, token):
        return None
    return user


def grant_orgs_for(*, actor, perm: str = "user.add") -> QuerySet[Organization]:
    """Active orgs where the actor may create accounts or grant roles (form choices), tree order."""
    return orgs_where(actor, perm).order_by("path")
