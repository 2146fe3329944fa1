"""Abuse limits of the public pages: who the client is, and how many times it came in a window.

Hits are PublicHit rows keyed by a keyed hash (never the raw address or phone), so the limits hold
across gunicorn workers and hosts without a shared cache. Writes (`hit_record`) live in
services/actions/intake.py; this module only reads.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, Min

from portal.crypto import blind_index
from services.models import PublicHit

ADDRESS_PURPOSE = "hit-address"
PHONE_PURPOSE = "requester_phone"  # the same index as ServiceRequest.requester_phone_index
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(hours=24)


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


def address_key(address: str) -> str:
    return blind_index(address or "unknown", purpose=ADDRESS_PURPOSE)


def phone_key(phone: str) -> str:
    return blind_index(phone, purpose=PHONE_PURPOSE)


def hits_in_window(*, kind: str, key: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    """(number of hits after `since`, the oldest of them) in one query."""
    found = PublicHit.objects.filter(kind=kind, key=key, created_at__gt=since).aggregate(n=Count("id"), oldest=Min("created_at"))
    return found["n"], found["oldest"]
