"""Who a request comes from, and the login lockout's limits (django-axes reads them through settings.AXES_*).

`client_address` is the one place the portal decides a client's address: the public pages' abuse limits
(services/throttle.py) and the login lockout use it, so both trust exactly the same proxies.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

# The seeded values (portal/migrations/0010_step6_rules.py), used only while the rule rows are missing.
LOGIN_FAILURE_LIMIT_DEFAULT = 5
LOGIN_LOCKOUT_MINUTES_DEFAULT = 15


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind N trusted proxies the Nth X-Forwarded-For entry
    from the right (each proxy appends what it saw; entries further left are the client's to forge)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "PORTAL_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
        if len(entries) >= proxies:
            return entries[-proxies]
    return remote or "unknown"


def login_client_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: `client_address` when it is an IP address, else None. Axes stores it in a
    GenericIPAddressField (inet on PostgreSQL): a forged X-Forwarded-For entry or a request without
    REMOTE_ADDR (force_login, management commands) must not turn a login into a database error."""
    import ipaddress

    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _rule_or_default(key: str, default: int) -> int:
    from core.rules import rule_int  # models are not ready when settings import this module's path

    try:
        value = rule_int(key)
    except ImproperlyConfigured:
        # A missing row must not lock everyone out of the login page (nor let everyone in unlimited).
        logger.warning("rule row %s is missing; using %s", key, default)
        return default
    return max(value, 1)


def login_failure_limit(request=None, credentials=None) -> int:
    """AXES_FAILURE_LIMIT: failures (per account, or per address) that lock it: rule login_failure_limit."""
    return _rule_or_default("login_failure_limit", LOGIN_FAILURE_LIMIT_DEFAULT)


def login_lockout_period(request=None) -> dt.timedelta:
    """AXES_COOLOFF_TIME: how long a lockout lasts: rule login_lockout_minutes."""
    return dt.timedelta(minutes=_rule_or_default("login_lockout_minutes", LOGIN_LOCKOUT_MINUTES_DEFAULT))
