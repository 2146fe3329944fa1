"""Per-token request limits for the REST API (DRF's SimpleRateThrottle, counted in the default cache).

The key is the API token when the request carries one (each client its own budget, however many share an
account), else the signed-in account, else the client address (core.http.client_address: the same trusted-proxy
rule as the login lockout). Rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]: "api" for authenticated
callers, the tighter "api_anon" for the rest. Over the limit DRF raises Throttled: a 429 with Retry-After.

The rates are read from DRF's settings on every request (SimpleRateThrottle binds them once, at import), so
`override_settings(REST_FRAMEWORK=...)` changes them in tests.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.http import client_address


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"
    anon_scope = "api_anon"

    @property
    def THROTTLE_RATES(self):  # noqa: N802 - the attribute SimpleRateThrottle reads
        return api_settings.DEFAULT_THROTTLE_RATES

    def __init__(self):
        # The rate depends on who calls: chosen in allow_request, once the request is authenticated.
        self.rate = None

    def scope_for(self, request) -> str:
        user = getattr(request, "user", None)
        return self.scope if user is not None and user.is_authenticated else self.anon_scope

    def get_cache_key(self, request, view) -> str:
        from core.models import ApiToken

        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            ident = f"token:{token.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{client_address(request)}"
        return self.cache_format % {"scope": self.current_scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        self.current_scope = self.scope_for(request)
        rates = self.THROTTLE_RATES
        if self.current_scope not in rates:
            raise ImproperlyConfigured(f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for {self.current_scope!r}")
        self.rate = rates[self.current_scope]
        if self.rate is None:
            return True  # a rate of None: unlimited (DRF's convention)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
