"""Reads for the public pages (no account, no scope): only what a requester may see.

Nothing here returns staff names, internal notes, coverage data or other requests. The tracking
look-up behaves the same whether the code is unknown or the credential is wrong: one query, the same two
keyed hashes, one constant-time comparison (services/credentials.py says what the credential is).
"""

from __future__ import annotations

import hmac
import re

from django.db.models import Prefetch

from orgs.models import Region, RegionKind, Workplace
from services import credentials
from services.models import ServiceCategory, ServiceRequest, TimelineEntry

STREET_DEPTH = 2  # district → street → community
_NOT_CODE = re.compile(r"[^0-9A-Z]")


def normalize_tracking_code(value: str) -> str:
    """'abcd-efgh jkmn' → 'ABCDEFGHJKMN' (dashes, spaces and case do not matter)."""
    return _NOT_CODE.sub("", (value or "").upper())


def intake_categories():
    return ServiceCategory.objects.filter(enabled=True).order_by("position", "id")


def intake_category(code: str) -> ServiceCategory | None:
    return ServiceCategory.objects.filter(enabled=True, code=code).first()


def street_choices() -> list[tuple[int, str]]:
    """Streets and communities by name, in tree order (a community shown under its street)."""
    rows = Region.objects.filter(kind__in=[RegionKind.STREET, RegionKind.COMMUNITY]).order_by("path").values_list(
        "pk", "name", "kind")
    return [(pk, name if kind == RegionKind.STREET else f"　{name}") for pk, name, kind in rows]


def workplace_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """Active workplaces' names grouped by street (two queries whatever the number of workplaces)."""
    street_len = Region.steplen * STREET_DEPTH
    streets = dict(Region.objects.filter(depth=STREET_DEPTH).values_list("path", "name"))
    groups: dict[str, list[tuple[int, str]]] = {}
    for pk, name, path in Workplace.objects.filter(is_active=True).order_by("name", "id").values_list("pk", "name", "region__path"):
        label = streets.get((path or "")[:street_len], "") if len(path or "") >= street_len else ""
        groups.setdefault(label, []).append((pk, name))
    return sorted(groups.items(), key=lambda item: (item[0] == "", item[0]))


def intake_workplace(pk) -> Workplace | None:
    return Workplace.objects.filter(is_active=True, pk=pk).select_related("region", "responsible_org").first()


def intake_region(pk) -> Region | None:
    return Region.objects.filter(kind__in=[RegionKind.STREET, RegionKind.COMMUNITY], pk=pk).first()


_DECOY = "0" * 64  # compared against when the code is unknown: never equal to a real hash


def track_lookup(*, code: str, secret: str) -> ServiceRequest | None:
    """The request with this code whose credential is `secret`, else None (same work either way).

    The credential is the request's 查询密码, or for requests from before it existed (no stored hash) the
    complete phone number they were submitted with. The last four digits of the phone open nothing."""
    code = normalize_tracking_code(code)
    found = ServiceRequest.objects.filter(tracking_code=code).only(
        "pk", "tracking_code", "access_secret_hash", "requester_phone_index").first()
    by_secret = credentials.secret_hash(code=code, secret=secret)
    by_phone = credentials.phone_digest(secret)
    if found is None:
        given, expected = by_secret, _DECOY
    elif found.access_secret_hash:
        given, expected = by_secret, found.access_secret_hash
    else:
        given, expected = by_phone, found.requester_phone_index
    matches = bool(given) and hmac.compare_digest(given.encode(), (expected or _DECOY).encode())
    return found if found is not None and matches else None


def public_request(*, code: str) -> ServiceRequest | None:
    """The request with this code, with what the tracking page shows: category, handling org's name and
    the public timeline entries only (one query for the row, one for the entries)."""
    public_entries = Prefetch("timeline", queryset=TimelineEntry.objects.filter(public=True).order_by("created_at", "id"),
                              to_attr="public_entries")
    return (
        ServiceRequest.objects.filter(tracking_code=normalize_tracking_code(code))
        .select_related("category", "responsible_org")
        .prefetch_related(public_entries)
        .first()
    )
