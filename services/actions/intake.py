"""Intake without an account: route a request to an org, give it a tracking code, store it, count the hit.

- Routing (`route_request`): "workplace_first" hands the request to the active branch covering the
  requester's workplace (a 单独组建 branch first, then joint/area branches, then a 党总支, by tree path), else the
  category's responsible org, else the closest active regional committee of the request's region or an
  ancestor region, else the workplace's responsible org, else the district root. "category_org" (legal aid,
  counseling: handled centrally and confidentially) starts at the category's org and skips the branch.
- Tracking codes: 12 characters from 31 unambiguous symbols (no 0/O/1/I/L), 31**12 ≈ 2**59, drawn with
  `secrets`; shown as XXXX-XXXX-XXXX and accepted in any case with or without dashes/spaces.
- Abuse limits (rule rows): per client address per rolling hour and per phone per rolling 24 hours,
  counted in PublicHit rows keyed by keyed hashes. Hits are written only for accepted submissions. The
  limit check and the write happen under a lock on the rule rows, so concurrent submissions cannot both
  slip under a limit (intake volume is small; the lock is held for one short transaction).
- The phone is personal data: stored encrypted plus a blind index; never logged, never in a URL.
- The requester's 查询密码 (services/credentials.py): drawn here, only its keyed hash is stored; the
  plaintext exists only on the returned object (`access_secret`) for the confirmation page to show once.
- Audit: an accepted submission writes one row "service_request.submit" as SYSTEM with the note "public"
  (the requester has no account) and only routing facts: never the phone, the name, the text or the hash.
  Public-hit counters (hit_record, track_attempt, public_hits_purge) are a throttle's cache, not domain
  data: no audit row.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.audit import SYSTEM, audit_record
from core.crypto import encrypt
from core.exceptions import DomainError
from core.models import Rule
from core.rules import rule_int
from members.validators import validate_mobile
from orgs.models import BRANCH_KINDS, FormationMode, Organization, OrgKind, OrgStatus, Region, Workplace
from services import credentials, throttle
from services.actions.common import sla_due, timeline_add
from services.models import (
    EntryKind,
    ExtraField,
    MemberAnswer,
    PublicHit,
    PublicHitKind,
    RequestStatus,
    Routing,
    ServiceCategory,
    ServiceRequest,
)

__all__ = [
    "CODE_ALPHABET", "CODE_LENGTH", "RateLimited", "hit_record", "new_tracking_code", "public_hits_purge",
    "request_submit", "route_request", "track_attempt",
]

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
HOTLINE = "12345"

DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 2000
NAME_MAX = 50
PLACE_MAX = 200
TEXT_EXTRA_MAX = 100
AMOUNT_MAX = Decimal("10000000")
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


class RateLimited(DomainError):
    """Too many submissions or look-ups from one address or phone; the message says when to try again."""

    status_code = 429


# ---------------------------------------------------------------- routing
def _active(org: Organization | None) -> Organization | None:
    return org if org is not None and org.status == OrgStatus.ACTIVE else None


def _branch_rank(org: Organization) -> tuple[int, str]:
    if org.kind == OrgKind.BRANCH and org.formation_mode == FormationMode.SINGLE:
        return (0, org.path)
    return (1 if org.kind in BRANCH_KINDS else 2, org.path)


def _covering_branch(workplace: Workplace) -> Organization | None:
    """The active branch covering the workplace: 单独组建 first, then joint/area branches, then a 党总支."""
    kinds = (*BRANCH_KINDS, OrgKind.GENERAL_BRANCH)
    ranked = sorted(Organization.objects.active().filter(workplaces=workplace, kind__in=kinds), key=_branch_rank)
    return ranked[0] if ranked else None


def _regional_committee(region: Region | None) -> Organization | None:
    """The active regional committee of `region` or its closest ancestor region."""
    if region is None:
        return None
    prefixes = [region.path[: Region.steplen * depth] for depth in range(1, len(region.path) // Region.steplen + 1)]
    candidates = Organization.objects.active().filter(kind=OrgKind.REGIONAL_COMMITTEE, region__path__in=prefixes).select_related("region")
    ranked = sorted(candidates, key=lambda o: (-len(o.region.path), o.path))
    return ranked[0] if ranked else None


def _fallbacks(*, workplace: Workplace | None, region: Region | None) -> Organization | None:
    region = region or (workplace.region if workplace is not None else None)
    found = _regional_committee(region)
    if found is None and workplace is not None:
        found = _active(workplace.responsible_org)
    if found is None:
        found = Organization.objects.active().filter(depth=1).order_by("path").first()
    return found


def route_request(*, category: ServiceCategory, workplace: Workplace | None = None, region: Region | None = None) -> Organization:
    """The org that handles a new request (see the module docstring for the order)."""
    org = None
    if category.routing == Routing.WORKPLACE_FIRST and workplace is not None:
        org = _covering_branch(workplace)
    if org is None:
        org = _active(category.default_org)
    if org is None:
        org = _fallbacks(workplace=workplace, region=region)
    if org is None:
        raise DomainError(_("系统暂时无法受理诉求，请拨打 %(hotline)s 政务服务便民热线。") % {"hotline": HOTLINE})
    return org


# ---------------------------------------------------------------- tracking codes
def new_tracking_code() -> str:
    """A fresh unused code (a collision at 2**59 is astronomically rare, but the column is unique: retry)."""
    for _attempt in range(10):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not ServiceRequest.objects.filter(tracking_code=code).exists():
            return code
    raise RuntimeError("could not draw an unused tracking code")  # pragma: no cover


# ---------------------------------------------------------------- validation
def _clean_text(value: Any) -> str:
    return str(value or "").strip()


def _amount(value: str) -> str:
    try:
        amount = Decimal(value.replace(",", "").replace("，", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount > AMOUNT_MAX or amount.as_tuple().exponent < -2:
        raise DomainError(_("拖欠金额应为大于0、不超过1000万的数字，最多两位小数。"), field=ExtraField.AMOUNT_OWED)
    return f"{amount:.2f}"


def _month(value: str, today: dt.date) -> str:
    match = MONTH_RE.match(value)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise DomainError(_("拖欠起始月份格式应为“年-月”，如 2025-03。"), field=ExtraField.OWED_SINCE)
    year, month = int(match.group(1)), int(match.group(2))
    if (year, month) > (today.year, today.month):
        raise DomainError(_("拖欠起始月份不能晚于本月。"), field=ExtraField.OWED_SINCE)
    return f"{year:04d}-{month:02d}"


def _clean_extra(category: ServiceCategory, extra: dict, today: dt.date) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for code in category.required_fields or []:
        if code not in ExtraField.values:
            continue
        value = _clean_text((extra or {}).get(code))
        label = ExtraField(code).label
        if not value:
            raise DomainError(_("请填写“%(label)s”。") % {"label": label}, field=code)
        if code == ExtraField.AMOUNT_OWED:
            value = _amount(value)
        elif code == ExtraField.OWED_SINCE:
            value = _month(value, today)
        elif len(value) > TEXT_EXTRA_MAX:
            raise DomainError(_("“%(label)s”不能超过%(n)d个字。") % {"label": label, "n": TEXT_EXTRA_MAX}, field=code)
        cleaned[code] = value
    return cleaned


def _coordinate(value, *, low: int, high: int, field: str, message: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not low <= number <= high:
        raise DomainError(message, field=field)
    return number.quantize(Decimal("0.000001"))


def _clean_coordinates(latitude, longitude) -> tuple[Decimal | None, Decimal | None]:
    has_lat, has_lon = latitude not in (None, ""), longitude not in (None, "")
    if not has_lat and not has_lon:
        return None, None
    if has_lat != has_lon:
        raise DomainError(_("定位信息不完整，请重新获取位置或不使用定位。"), field="latitude")
    lat = _coordinate(latitude, low=-90, high=90, field="latitude", message=_("纬度应在 -90 到 90 之间。"))
    lon = _coordinate(longitude, low=-180, high=180, field="longitude", message=_("经度应在 -180 到 180 之间。"))
    return lat, lon


# ---------------------------------------------------------------- abuse limits
def _check_limit(*, kind: str, key: str, limit: int, window: dt.timedelta, now: dt.datetime, message: str | None = None) -> None:
    count, oldest = throttle.hits_in_window(kind=kind, key=key, since=now - window)
    if count >= limit:
        retry_at = timezone.localtime(oldest + window) if oldest is not None else timezone.localtime(now + window)
        when = retry_at.strftime("%m-%d %H:%M" if window > throttle.HOUR else "%H:%M")
        message = message or _("提交次数过多，请于 %(when)s 以后再试。如情况紧急，请拨打 %(hotline)s 政务服务便民热线。")
        raise RateLimited(message % {"when": when, "hotline": HOTLINE})


def hit_record(*, kind: str, key: str, now: dt.datetime | None = None) -> PublicHit:
    """Count one use of a public page (the key is a keyed hash, never the raw value). A throttle counter:
    no audit row."""
    hit = PublicHit(kind=kind, key=key, created_at=now or timezone.now())
    hit.full_clean()
    hit.save()
    return hit


@transaction.atomic
def track_attempt(*, client_address: str, now: dt.datetime | None = None) -> None:
    """Count one look-up on the tracking page, or raise RateLimited when the address used up its hour
    (refused look-ups are not counted, so waiting always helps). Guessing codes is the abuse this stops."""
    now = now or timezone.now()
    key = throttle.address_key(client_address)
    _check_limit(kind=PublicHitKind.TRACK_ADDRESS, key=key, limit=rule_int("track_per_address_per_hour"), window=throttle.HOUR,
                 now=now, message=_("查询次数过多，请于 %(when)s 以后再试。如需帮助，请拨打 %(hotline)s 政务服务便民热线。"))
    hit_record(kind=PublicHitKind.TRACK_ADDRESS, key=key, now=now)


@transaction.atomic
def public_hits_purge(*, older_than_hours: int = 48) -> int:
    """Delete hit rows older than any limit's window; returns how many went. Pure cache upkeep: no audit row."""
    deleted, _detail = PublicHit.objects.filter(created_at__lt=timezone.now() - dt.timedelta(hours=older_than_hours)).delete()
    return deleted


# ---------------------------------------------------------------- submit
@transaction.atomic
def request_submit(
    *,
    category: ServiceCategory,
    description: str,
    requester_name: str,
    phone: str,
    member_answer: str,
    workplace: Workplace | None = None,
    place: str = "",
    latitude=None,
    longitude=None,
    region: Region | None = None,
    extra: dict,
    client_address: str,
    now: dt.datetime | None = None,
) -> ServiceRequest:
    """Accept a request from the public form. Refusals are DomainError (field = the form field); a
    RateLimited refusal says when to try again. Nothing is written unless the request is accepted.
    The returned request carries the plaintext 查询密码 as `access_secret` (only its hash is saved)."""
    now = now or timezone.now()
    category = ServiceCategory.objects.filter(pk=category.pk).select_related("default_org").first()
    if category is None or not category.enabled:
        raise DomainError(_("该类别暂停受理，请选择其他类别或拨打 %(hotline)s。") % {"hotline": HOTLINE})

    description = _clean_text(description)
    if len(description) < DESCRIPTION_MIN:
        raise DomainError(_("请把诉求写清楚一些，至少%(n)d个字。") % {"n": DESCRIPTION_MIN}, field="description")
    if len(description) > DESCRIPTION_MAX:
        raise DomainError(_("诉求内容不能超过%(n)d个字。") % {"n": DESCRIPTION_MAX}, field="description")
    requester_name = _clean_text(requester_name)
    if not requester_name:
        raise DomainError(_("请填写称呼（可只写姓氏，如“张师傅”）。"), field="requester_name")
    if len(requester_name) > NAME_MAX:
        raise DomainError(_("称呼不能超过%(n)d个字。") % {"n": NAME_MAX}, field="requester_name")
    try:
        phone = validate_mobile(str(phone or ""))
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="phone") from None
    if member_answer not in MemberAnswer.values:
        raise DomainError(_("请选择是否为党员。"), field="member_answer")
    if workplace is not None and not workplace.is_active:
        raise DomainError(_("所选单位已停业，请改填所在地点。"), field="workplace")
    place = _clean_text(place)
    if len(place) > PLACE_MAX:
        raise DomainError(_("地点不能超过%(n)d个字。") % {"n": PLACE_MAX}, field="place")
    latitude, longitude = _clean_coordinates(latitude, longitude)
    extra = _clean_extra(category, extra, timezone.localtime(now).date())

    # The rule rows are locked: concurrent submissions take turns between counting and recording.
    rules = {r.key: int(r.value) for r in Rule.objects.select_for_update().filter(
        key__in=["intake_per_address_per_hour", "intake_per_phone_per_day"])}
    address_key = throttle.address_key(client_address)
    phone_key = throttle.phone_key(phone)
    _check_limit(kind=PublicHitKind.INTAKE_ADDRESS, key=address_key, limit=rules.get("intake_per_address_per_hour", 5),
                 window=throttle.HOUR, now=now)
    _check_limit(kind=PublicHitKind.INTAKE_PHONE, key=phone_key, limit=rules.get("intake_per_phone_per_day", 3),
                 window=throttle.DAY, now=now)

    if region is None and workplace is not None:
        region = workplace.region
    org = route_request(category=category, workplace=workplace, region=region)
    tracking_code = new_tracking_code()
    secret = credentials.new_secret()
    request = ServiceRequest(
        tracking_code=tracking_code, access_secret_hash=credentials.secret_hash(code=tracking_code, secret=secret),
        category=category, description=description, extra=extra,
        requester_name=requester_name, requester_phone_encrypted=encrypt(phone), requester_phone_index=phone_key,
        member_answer=member_answer, workplace=workplace, place=place, latitude=latitude, longitude=longitude,
        region=region, responsible_org=org, status=RequestStatus.SUBMITTED, submitted_at=now,
        due_at=sla_due(category=category, start=now),
    )
    request.full_clean()
    request.save()
    with translation.override(settings.LANGUAGE_CODE):  # stored text: in the site language
        body = _("诉求已提交，由%(org)s承办") % {"org": org.name}
    timeline_add(request=request, kind=EntryKind.SUBMITTED, public=True, body=body, to_status=RequestStatus.SUBMITTED,
                 to_org=org, by_requester=True, at=now)
    hit_record(kind=PublicHitKind.INTAKE_ADDRESS, key=address_key, now=now)
    hit_record(kind=PublicHitKind.INTAKE_PHONE, key=phone_key, now=now)
    audit_record(actor=SYSTEM, action="service_request.submit", obj=request, org=org, changes={
        "note": "public", "category": [None, category.pk], "responsible_org": [None, org.pk],
        "status": [None, request.status], "workplace": [None, workplace.pk if workplace else None],
    })
    request.access_secret = secret  # not a field: shown once to the requester, never stored
    return request
