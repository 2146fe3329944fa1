"""Writes of REST clients' API tokens (core.models.ApiToken), by district staff (`api_token.add` / `.change`).

Rules (each action re-checks them; a form or URL is never trusted):
- A token is issued to an active account holding at least one role grant, every grant inside the issuer's
  subtrees (orgs.selectors.tokens.may_issue_token): the token acts with all of the account's grants.
- It needs a name and an expiry between tomorrow and one year from today (the product's rule); it is valid
  through the chosen day (Asia/Shanghai) and expires at the start of the next.
- The token itself is returned once, to be shown once; only knox's SHA-512 digest and the 15-character prefix
  (`token_key`) are stored. The audit row names the prefix, never the token.
- Revoking stamps `revoked_at`/`revoked_by` (the row stays, listed as revoked); a revoked token is refused at
  once by core.api.auth. Revoking needs the same scope as issuing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import get_digest_token
from knox.settings import CONSTANTS

from core.audit import audit_record, require_actor, user_or_none
from core.dates import add_months
from core.exceptions import DomainError
from core.models import ApiToken
from orgs.selectors.tokens import may_issue_token, token_home_org

#: the longest a token may live (the product's rule: at most one year)
MAX_MONTHS = 12
NAME_LENGTH = 100


def expiry_bounds(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(earliest, latest) last day of validity a token may be given: tomorrow .. one year from today."""
    today = today or timezone.localdate()
    return today + dt.timedelta(days=1), add_months(today, MAX_MONTHS)


def expiry_moment(expires_on: dt.date) -> dt.datetime:
    """The moment a token valid through `expires_on` expires: the start of the next day, local time."""
    return timezone.make_aware(dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time.min))


def _new_digest_token() -> tuple[str, str]:
    """knox's (digest, token), with a prefix no other token has (the prefix names a token on the pages)."""
    for _attempt in range(5):
        digest, token = get_digest_token()
        if not ApiToken.objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).exists():
            return digest, token
    raise RuntimeError("could not draw an unused token prefix")  # pragma: no cover - 60 random bits, 5 times


@transaction.atomic
def api_token_issue(*, actor, user, name: str, scope: str, expires_on: dt.date) -> tuple[ApiToken, str]:
    """A new token for `user`; returns (token, plaintext). Show the plaintext once; never store or log it."""
    require_actor(actor)
    user = get_user_model().objects.select_for_update().get(pk=user.pk)  # grants are read under the account's lock
    if not may_issue_token(actor=actor, user=user):
        raise DomainError(_("只能为在您管理范围内持有角色、且全部授权都在您管理范围内的启用账号签发令牌。"), field="username")
    name = (name or "").strip()
    if not name:
        raise DomainError(_("请填写令牌名称。"), field="name")
    if len(name) > NAME_LENGTH:
        raise DomainError(_("令牌名称不能超过 %(count)s 个字符。") % {"count": NAME_LENGTH}, field="name")
    if scope not in ApiToken.Scope.values:
        raise DomainError(_("未知的令牌范围。"), field="scope")
    earliest, latest = expiry_bounds()
    if expires_on is None or not earliest <= expires_on <= latest:
        raise DomainError(_("有效期须在 %(earliest)s 至 %(latest)s 之间（最长一年）。")
                          % {"earliest": earliest.isoformat(), "latest": latest.isoformat()}, field="expires_on")
    home = token_home_org(user)
    digest, plaintext = _new_digest_token()
    token = ApiToken(digest=digest, token_key=plaintext[: CONSTANTS.TOKEN_KEY_LENGTH], user=user, name=name, scope=scope,
                     expiry=expiry_moment(expires_on), issued_by=user_or_none(actor), org_path=home.path if home else "")
    token.save(force_insert=True)
    audit_record(actor=actor, action="api_token.issue", obj=token, object_id=token.token_key, org=home,
                 changes={"user": [None, user.pk], "name": [None, name], "scope": [None, scope],
                          "expiry": [None, token.expiry.isoformat()]})
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Stop a token at once (it stays listed, as revoked)."""
    require_actor(actor)
    token = ApiToken.objects.select_for_update().filter(pk=token.pk).first()
    if token is None or not ApiToken.objects.restrict(actor, "change").filter(pk=token.pk).exists():
        raise DomainError(_("该令牌不在您的管理范围内。"))
    if token.revoked_at is not None:
        raise DomainError(_("该令牌已撤销。"))
    token.revoked_at = timezone.now()
    token.revoked_by = user_or_none(actor)
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, action="api_token.revoke", obj=token, object_id=token.token_key, org_path=token.org_path,
                 changes={"revoked_at": [None, token.revoked_at.isoformat()]})
    return token
