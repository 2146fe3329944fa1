"""Writes of portal accounts and role grants, by district staff (`user.add` / `user.change` at a node).

Rules (each action re-checks them; a form or URL is never trusted):
- An account is created at a node of the actor's subtree with one role there and an unusable password: nobody
  types a password for someone else. The action returns a one-time set-password path (Django's
  default_token_generator + uidb64, valid for PASSWORD_RESET_TIMEOUT). The token depends on the password hash,
  so it stops working once a password is set; issuing a new link sets a fresh unusable password first, so the
  old password and every earlier link stop working at once (a reset).
- Grants: added at a node of the actor's subtree; revoked where the actor may `user.change` the grant's node.
  An account's last grant is never revoked (it would drop out of every list; deactivate it instead), and nobody
  revokes their own last district-staff grant.
- Account-wide changes (deactivate, reactivate, new link, the reveal right) need every grant of the account
  inside the actor's subtree (orgs.selectors.users.may_change_account); nobody deactivates themselves.
- Every change writes one audit row; never a password or a token.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from core.audit import audit_record, require_actor
from core.exceptions import DomainError
from orgs.models import Organization, Role, RoleGrant
from orgs.scoping import may
from orgs.selectors.users import REVEAL_APP_LABEL, REVEAL_CODENAME, may_change_account, user_may_reveal, users_for


@dataclass(frozen=True)
class PasswordLink:
    """An account and the path of its one-time set-password page (show it once; never store or log it)."""

    user: object
    path: str


# ---------------------------------------------------------------- helpers
def _locked_user(user):
    """The account's row, locked: grant counts and flags are read and changed under the lock."""
    return get_user_model().objects.select_for_update().get(pk=user.pk)


def _drop_grant_cache(user) -> None:
    user.__dict__.pop("_portal_grants", None)


def _require_org(actor, perm: str, org: Organization | None, field: str = "org") -> Organization:
    if org is None or not may(actor, perm, org):
        raise DomainError(_("所选党组织不在您的管理范围内。"), field=field)
    if not org.is_active:
        raise DomainError(_("该党组织已撤销，不能在其下授予角色。"), field=field)
    return org


def _require_role(role: str) -> None:
    if role not in Role.values:
        raise DomainError(_("未知的角色。"), field="role")


def _require_account(actor, user) -> None:
    if not may_change_account(actor=actor, user=user):
        raise DomainError(_("该用户在您管理范围以外还有授权，只能由上级部门调整此账号。"))


def _home_org(user) -> Organization | None:
    """Where an account-wide audit row is filed: the account's highest grant node."""
    grant = RoleGrant.objects.filter(user_id=user.pk).select_related("org").order_by("org__depth", "org__path").first()
    return grant.org if grant else None


def _link(user) -> PasswordLink:
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return PasswordLink(user=user, path=reverse("orgs:password_set", kwargs={"uidb64": uidb64, "token": token}))


def _full_clean(user) -> None:
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


# ---------------------------------------------------------------- accounts
@transaction.atomic
def user_create(*, actor, username: str, display_name: str, email: str = "", org: Organization, role: str) -> PasswordLink:
    """A new account holding `role` at `org`, with an unusable password and a one-time set-password link."""
    require_actor(actor)
    _require_org(actor, "user.add", org)
    _require_role(role)
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise DomainError(_("请填写用户名。"), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("用户名“%(name)s”已被使用。") % {"name": username}, field="username")
    user = User(username=username, display_name=(display_name or "").strip(), email=(email or "").strip(), is_active=True)
    user.set_unusable_password()
    _full_clean(user)
    try:
        with transaction.atomic():  # a concurrent create of the same name loses here, not with a 500
            user.save()
    except IntegrityError:
        raise DomainError(_("用户名“%(name)s”已被使用。") % {"name": username}, field="username") from None
    grant = RoleGrant.objects.create(user=user, org=org, role=role)
    audit_record(
        actor=actor, action="user.create", obj=user, org=org,
        changes={"username": [None, user.username], "display_name": [None, user.display_name],
                 "email": [None, user.email], "role": [None, grant.role], "org": [None, org.pk]},
    )
    return _link(user)


@transaction.atomic
def user_password_link(*, actor, user) -> PasswordLink:
    """A new one-time set-password link; the old password and every earlier link stop working."""
    require_actor(actor)
    user = _locked_user(user)
    _require_account(actor, user)
    if not user.is_active:
        raise DomainError(_("账号已停用，请先恢复账号。"))
    user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="user.password_link", obj=user, org=_home_org(user),
                 changes={"note": "set-password link issued"})
    return _link(user)


@transaction.atomic
def user_password_set(*, actor, user, token: str, password: str):
    """Set the password through a set-password link (the account holder is the actor). The row is locked and
    the token checked again under the lock, so two submissions of one link set a password once."""
    require_actor(actor)
    user = _locked_user(user)
    if not user.is_active or not default_token_generator.check_token(user, token):
        raise DomainError(_("该链接无效或已使用，请联系管理员重新获取设置密码链接。"))
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="new_password1") from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="user.password_set", obj=user,
                 org=_home_org(user), changes={"note": "password set through a one-time link"})
    return user


@transaction.atomic
def user_deactivate(*, actor, user):
    """Stop an account from signing in (its sessions end: Django refuses inactive users on every request)."""
    require_actor(actor)
    if getattr(actor, "pk", None) == user.pk:
        raise DomainError(_("不能停用自己的账号。"))
    user = _locked_user(user)
    _require_account(actor, user)
    if not user.is_active:
        raise DomainError(_("账号已是停用状态。"))
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action="user.deactivate", obj=user, org=_home_org(user), changes={"is_active": [True, False]})
    return user


@transaction.atomic
def user_reactivate(*, actor, user):
    require_actor(actor)
    if getattr(actor, "pk", None) == user.pk:
        raise DomainError(_("不能恢复自己的账号。"))
    user = _locked_user(user)
    _require_account(actor, user)
    if user.is_active:
        raise DomainError(_("账号已是启用状态。"))
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action="user.reactivate", obj=user, org=_home_org(user), changes={"is_active": [False, True]})
    return user


@transaction.atomic
def user_reveal_right_set(*, actor, user, allowed: bool):
    """Give or take the right to reveal full ID numbers and phones (members.reveal_personal_data). Only district
    staff (`user.change`) may, for accounts wholly inside their subtree."""
    require_actor(actor)
    user = _locked_user(user)
    _require_account(actor, user)
    before = user_may_reveal(user=user)
    if before == bool(allowed):
        return user
    permission = Permission.objects.get(codename=REVEAL_CODENAME, content_type__app_label=REVEAL_APP_LABEL)
    if allowed:
        user.user_permissions.add(permission)
    else:
        user.user_permissions.remove(permission)
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)
    audit_record(actor=actor, action="user.reveal_right", obj=user, org=_home_org(user),
                 changes={"may_reveal": [before, bool(allowed)]})
    return user


# ---------------------------------------------------------------- grants
@transaction.atomic
def grant_add(*, actor, user, org: Organization, role: str) -> RoleGrant:
    """Give `user` (an account the actor may see) `role` at `org` (a node of the actor's subtree)."""
    require_actor(actor)
    _require_org(actor, "user.change", org)
    _require_role(role)
    user = _locked_user(user)
    if not users_for(actor=actor, perm="user.change").filter(pk=user.pk).exists():
        raise DomainError(_("该用户不在您的管理范围内。"))
    if RoleGrant.objects.filter(user_id=user.pk, org=org, role=role).exists():
        raise DomainError(_("该用户在此党组织已有这一角色。"), field="role")
    grant = RoleGrant.objects.create(user=user, org=org, role=role)
    _drop_grant_cache(user)
    audit_record(actor=actor, action="role_grant.add", obj=grant, org=org,
                 changes={"user": [None, user.pk], "org": [None, org.pk], "role": [None, role]})
    return grant


@transaction.atomic
def grant_revoke(*, actor, grant: RoleGrant) -> None:
    """Take back one grant. Refused for an account's last grant, and for the actor's own last district grant."""
    require_actor(actor)
    user = _locked_user(grant.user)
    grant = RoleGrant.objects.select_related("org").filter(pk=grant.pk, user_id=user.pk).first()
    if grant is None:
        raise DomainError(_("该授权已被撤销。"))
    if not may(actor, "user.change", grant.org):
        raise DomainError(_("所选党组织不在您的管理范围内。"))
    others = RoleGrant.objects.filter(user_id=user.pk).exclude(pk=grant.pk)
    if getattr(actor, "pk", None) == user.pk and grant.role == Role.DISTRICT and not others.filter(role=Role.DISTRICT).exists():
        raise DomainError(_("不能撤销您自己最后一项区委组织部工作人员授权。"))
    if not others.exists():
        raise DomainError(_("这是该用户唯一的授权，撤销后将无法管理此账号；如不再使用，请停用账号。"))
    audit_record(actor=actor, action="role_grant.revoke", obj=grant, org=grant.org,
                 changes={"user": [user.pk, None], "org": [grant.org_id, None], "role": [grant.role, None]})
    grant.delete()
    _drop_grant_cache(user)
    _drop_grant_cache(actor)
