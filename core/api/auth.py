"""API token authentication: `Authorization: Token <token>` against core.models.ApiToken (django-rest-knox).

What differs from knox's TokenAuthentication, and why:
- An expired token is refused but kept (knox deletes it): the issuing page lists it as expired.
- A revoked token and a deactivated account are refused; every refusal is a 401 with our message (gettext) and
  the `WWW-Authenticate: Token` challenge (a request without credentials is a 401 too, not a 403).
- Each successful use refreshes `last_used_at`/`last_used_address` at most once a minute per token, or at once
  from a new address, in one conditional UPDATE (two requests at once cannot both refresh it), and each refresh
  writes an "api_token.use" audit row: reads are attributable too.
- The token's prefix is bound to the request's audit context (core.audit.bind_api_token), so every audit row
  the request's actions write names the token.

This module must not import rest_framework.views (DRF imports the authentication classes while importing it).
"""

from __future__ import annotations

import binascii
import datetime as dt
from hmac import compare_digest

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from core.audit import audit_record, bind_api_token
from core.http import client_address

KEYWORD = "Token"
#: how often a token's last use is written (and audited) while it keeps calling from the same address
TOUCH_INTERVAL = dt.timedelta(minutes=1)
ADDRESS_LENGTH = 64


class ApiTokenAuthentication(TokenAuthentication):
    """`request.user` is the token's user (so the token sees exactly that user's scope), `request.auth` the
    ApiToken (`request.auth.is_stats_only` for the statistics-only gate, core.api.permissions.TokenReach)."""

    keyword = KEYWORD

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # no token: another authentication (the session) may apply
        if len(parts) == 1:
            raise exceptions.AuthenticationFailed(_("令牌格式错误：未提供令牌。"))
        if len(parts) > 2:
            raise exceptions.AuthenticationFailed(_("令牌格式错误：令牌中不能含有空格。"))
        user, token = self.authenticate_credentials(parts[1])
        bind_api_token(token.token_key)
        self.touch(request, token)
        return user, token

    def authenticate_credentials(self, token):
        from core.models import ApiToken

        try:
            plain = token.decode("ascii") if isinstance(token, bytes) else str(token)
            digest = hash_token(plain)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise exceptions.AuthenticationFailed(_("令牌无效。")) from None
        candidates = ApiToken.objects.filter(token_key=plain[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related("user")
        for candidate in candidates:
            if compare_digest(digest, candidate.digest):
                return self.validate_token(candidate)
        raise exceptions.AuthenticationFailed(_("令牌无效。"))

    def validate_token(self, token):
        state = token.state
        if state == token.State.REVOKED:
            raise exceptions.AuthenticationFailed(_("令牌已撤销。"))
        if state == token.State.EXPIRED:
            raise exceptions.AuthenticationFailed(_("令牌已过期。"))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("令牌所属账号已停用。"))
        return token.user, token

    def validate_user(self, auth_token):
        return self.validate_token(auth_token)

    def authenticate_header(self, request) -> str:
        return self.keyword

    def touch(self, request, token) -> bool:
        """Write the last use (and its audit row) when the last one is a minute old or came from elsewhere. The
        condition is in the UPDATE itself, so of two requests at once only one writes."""
        from core.models import ApiToken

        now = timezone.now()
        address = client_address(request)[:ADDRESS_LENGTH]
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_INTERVAL) | ~Q(last_used_address=address)
        refreshed = ApiToken.objects.filter(pk=token.pk).filter(stale).update(last_used_at=now, last_used_address=address)
        if not refreshed:
            return False
        token.last_used_at, token.last_used_address = now, address
        audit_record(actor=token.user, action="api_token.use", obj=token, object_id=token.token_key,
                     org_path=token.org_path, changes={"path": request.path[:200], "method": request.method})
        return True
