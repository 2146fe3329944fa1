"""Builders for service requests and service points (categories are seeded by migration)."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from decimal import Decimal

from django.utils import timezone

from core.crypto import blind_index, encrypt
from services.credentials import secret_hash
from services.models import (
    PointKind,
    PointStatus,
    RequestStatus,
    ServiceCategory,
    ServicePoint,
    ServiceRequest,
    TimelineEntry,
)

_counter = itertools.count(1)
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SECRET = "K7M9-P2QX"  # noqa: S105 - the 查询密码 make_request gives its rows unless told otherwise


def category(code: str = "other") -> ServiceCategory:
    return ServiceCategory.objects.get(code=code)


def make_request(
    *,
    org,
    category_code: str = "other",
    status: str = RequestStatus.SUBMITTED,
    phone: str = "13800138000",
    submitted_at: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
    secret: str | None = SECRET,
    **kwargs,
) -> ServiceRequest:
    """A request row written directly (bypasses intake), for tests of what happens after intake.

    It opens on the tracking page with `secret` (its 查询密码); `secret=None` makes a row from before
    查询密码 existed, which opens with the complete phone number."""
    cat = category(category_code)
    submitted_at = submitted_at or timezone.now()
    code = "".join(secrets.choice(ALPHABET) for _ in range(12))
    request = ServiceRequest.objects.create(
        tracking_code=code,
        access_secret_hash=secret_hash(code=code, secret=secret) if secret else "",
        category=cat,
        description=kwargs.pop("description", f"测试诉求{next(_counter)}"),
        requester_name=kwargs.pop("requester_name", "张师傅"),
        requester_phone_encrypted=encrypt(phone),
        requester_phone_index=blind_index(phone, purpose="requester_phone"),
        responsible_org=org,
        status=status,
        submitted_at=submitted_at,
        due_at=due_at or submitted_at + dt.timedelta(hours=cat.sla_hours),
        closed_at=kwargs.pop("closed_at", timezone.now() if status == RequestStatus.CLOSED else None),
        reject_reason=kwargs.pop("reject_reason", "不属于受理范围" if status == RequestStatus.REJECTED else ""),
        **kwargs,
    )
    TimelineEntry.objects.create(request=request, kind="submitted", public=True, to_status=RequestStatus.SUBMITTED,
                                 by_requester=True, created_at=submitted_at)
    return request


def make_point(*, org, region, lat: str | Decimal, lon: str | Decimal, name: str | None = None, **kwargs) -> ServicePoint:
    return ServicePoint.objects.create(
        name=name or f"驿站{next(_counter)}", kind=kwargs.pop("kind", PointKind.STATION), address=kwargs.pop("address", "测试路1号"),
        latitude=Decimal(str(lat)), longitude=Decimal(str(lon)), region=region, operator_org=org,
        opening_hours=kwargs.pop("opening_hours", "每天 08:00–22:00"), status=kwargs.pop("status", PointStatus.OPEN), **kwargs,
    )
