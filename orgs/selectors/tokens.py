"""Reads of REST clients' API tokens (core.models.ApiToken) for district staff (/api-tokens/).

Scope (the rule of accounts, orgs.selectors.users): a token is visible (`api_token.view`) when its account holds
at least one role grant inside the subtrees where the actor holds `api_token.view`; it may be revoked
(`api_token.change`) and issued (`api_token.add`) only for an account whose every grant lies inside the actor's
subtrees for that permission, and which is no superuser: a token acts with all of its account's grants, so
staff of a committee cannot hand out (or cut off) access that reaches above them. Superusers see every token.

The rule is installed into `ApiToken.objects.restrict()` when orgs loads (core cannot import orgs): every read
of tokens on behalf of a user goes through it.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from core.models import ApiToken, install_token_scope
from orgs.models import RoleGrant
from orgs.scoping import grant_paths, path_q
from orgs.selectors.users import users_for

RESOURCE = "api_token"


def _grants_of(user_ref, paths: list[str], *, inside: bool):
    grants = RoleGrant.objects.filter(user_id=user_ref)
    return Exists(grants.filter(path_q("org__path", paths)) if inside else grants.exclude(path_q("org__path", paths)))


def token_scope_q(user, action: str):
    """The ApiToken rows `user` (not a superuser: restrict() lets those through) may `api_token.<action>`."""
    paths = grant_paths(user, f"{RESOURCE}.{action}")
    if not paths:
        return None
    inside = _grants_of(OuterRef("user_id"), paths, inside=True)
    if action == "view":
        return Q(inside)
    return Q(inside) & ~Q(_grants_of(OuterRef("user_id"), paths, inside=False)) & Q(user__is_superuser=False)


install_token_scope(token_scope_q)


def api_tokens_for(*, actor) -> QuerySet[ApiToken]:
    """Tokens the actor may see, newest first, with their account, issuer and revoker (no per-row queries)."""
    return (ApiToken.objects.restrict(actor, "view").select_related("user", "issued_by", "revoked_by")
            .order_by("-created", "-token_key"))


def api_token_scoped_or_404(*, actor, token_key: str, action: str = "view") -> ApiToken:
    """One token by its prefix inside the actor's scope for `action`; missing and out of scope look the same."""
    try:
        return ApiToken.objects.restrict(actor, action).select_related("user").get(token_key=token_key)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def revocable_token_keys(*, actor, tokens) -> set[str]:
    """The prefixes among `tokens` (a page of them) the actor may revoke: one query per page."""
    keys = [token.token_key for token in tokens]
    if not keys:
        return set()
    return set(ApiToken.objects.restrict(actor, "change").filter(token_key__in=keys).values_list("token_key", flat=True))


def may_issue_token(*, actor, user) -> bool:
    """Whether the actor may issue a token to `user`: an active account, no superuser (unless the actor is one),
    holding at least one grant, every grant inside the actor's `api_token.add` subtrees."""
    if actor is None or not actor.is_authenticated or not actor.is_active or user is None or not user.is_active:
        return False
    if actor.is_superuser:
        return True
    paths = grant_paths(actor, f"{RESOURCE}.add")
    if not paths or user.is_superuser:
        return False
    grants = RoleGrant.objects.filter(user_id=user.pk)
    return grants.exists() and not grants.exclude(path_q("org__path", paths)).exists()


def token_user_by_username(*, actor, username: str):
    """The account named `username` among those the actor may see with `api_token.add` (its grants in scope), or
    None: an account outside the actor's scope looks exactly like one that does not exist."""
    username = (username or "").strip()
    if not username:
        return None
    return users_for(actor=actor, perm=f"{RESOURCE}.add").filter(username__iexact=username).first()


def token_home_org(user):
    """Where a token's audit rows are filed: its account's highest grant node (None without grants)."""
    grant = RoleGrant.objects.filter(user_id=user.pk).select_related("org").order_by("org__depth", "org__path").first()
    return grant.org if grant else None
