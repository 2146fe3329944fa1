"""The requester's credential for the public tracking page, and what staff see of the phone instead.

- Every request submitted since migration 0003 gets a 查询密码 besides its tracking code: 8 characters from
  the tracking code's 31 unambiguous symbols (31**8 ≈ 2**39), drawn with `secrets`, shown once on the
  confirmation page as XXXX-XXXX. Only `secret_hash` is stored: an HMAC under BLIND_INDEX_KEY with its own
  purpose label, bound to the tracking code (equal secrets on two requests give different hashes). A
  keyed hash rather than a slow password hash: the secret is random, not chosen by a person, so without
  the key a stolen table cannot be searched, and a look-up stays cheap under the per-address limit.
  Nobody on the staff side ever sees the secret; staff cannot reissue it (they would then know it).
- Requests from before that migration have no secret (`access_secret_hash` empty). They are looked up
  with the complete phone number given at submission, compared through the phone's blind index; staff
  pages and exports show only its first three digits (`requester_phone_mask`), and the full number only
  through the logged reveal. The former "last four digits" credential no longer opens anything.
"""

from __future__ import annotations

import re
import secrets

from core.crypto import blind_index
from members.validators import MOBILE_RE, normalize_phone

SECRET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # noqa: S105 - an alphabet (the tracking code's: no 0/O/1/I/L)
SECRET_LENGTH = 8
SECRET_PURPOSE = "request-access-secret"  # noqa: S105 - a label, not a key
PHONE_PURPOSE = "requester_phone"  # the same index as ServiceRequest.requester_phone_index
MASK_KEEP = 3
_NOT_SECRET = re.compile(r"[^0-9A-Z]")
SECRET_RE = re.compile(rf"^[{SECRET_ALPHABET}]{{{SECRET_LENGTH}}}$")


def new_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def normalize_secret(value: str) -> str:
    """'k7m9-p2qx ' → 'K7M9P2QX' (dashes, spaces and case do not matter)."""
    return _NOT_SECRET.sub("", (value or "").upper())


def format_secret(secret: str) -> str:
    return "-".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def secret_hash(*, code: str, secret: str) -> str:
    """The stored form of a request's secret (empty input gives an empty string, which matches nothing)."""
    return blind_index(f"{code}:{normalize_secret(secret)}", purpose=SECRET_PURPOSE) if secret else ""


def phone_digest(value: str) -> str:
    """The phone's blind index when `value` is a mainland mobile number, else an empty string."""
    phone = normalize_phone(value)
    return (blind_index(phone, purpose=PHONE_PURPOSE) or "") if MOBILE_RE.match(phone) else ""


def credential_shape_ok(value: str) -> bool:
    """An 8-character secret or (requests without one) a complete mobile number."""
    return bool(SECRET_RE.match(normalize_secret(value)) or MOBILE_RE.match(normalize_phone(value or "")))


def requester_phone_mask(phone: str) -> str:
    """What staff pages and exports show: the first three digits only (138********). The last digits were
    the old public look-up credential and still help guess the number, so they are never shown."""
    if not phone:
        return ""
    if len(phone) <= MASK_KEEP + 4:
        return "*" * len(phone)
    return phone[:MASK_KEEP] + "*" * (len(phone) - MASK_KEEP)
