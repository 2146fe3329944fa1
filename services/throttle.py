"""Abuse limits of the public pages: who the client is, and how many times it came in a window.

Hits are PublicHit rows keyed by a keyed hash (never the raw address or phone), so the limits hold
across gunicorn workers and hosts without a shared cache. Writes (`hit_record`) live in
services/actions/intake.py; this module only reads.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min

from core.crypto import blind_index
from core.http import client_address  # noqa: F401 - the one definition; callers use throttle.client_address
from services.models import PublicHit

ADDRESS_PURPOSE = "hit-address"
PHONE_PURPOSE = "requester_phone"  # the same index as ServiceRequest.requester_phone_index
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(hours=24)


def address_key(address: str) -> str:
    return blind_index(address or "unknown", purpose=ADDRESS_PURPOSE)


def phone_key(phone: str) -> str:
    return blind_index(phone, purpose=PHONE_PURPOSE)


def hits_in_window(*, kind: str, key: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    """(number of hits after `since`, the oldest of them) in one query."""
    found = PublicHit.objects.filter(kind=kind, key=key, created_at__gt=since).aggregate(n=Count("id"), oldest=Min("created_at"))
    return found["n"], found["oldest"]
