"""Protected personal data: authenticated encryption at rest, blind indexes, masking.

- `encrypt`/`decrypt`: Fernet (AES-128-CBC + HMAC-SHA256) through MultiFernet, so keys rotate:
  FIELD_ENCRYPTION_KEYS lists the newest key first; older keys still decrypt; `rotate_member_keys`
  (members/management/commands) re-encrypts with the newest.
- `blind_index`: HMAC-SHA256 of the normalized value under BLIND_INDEX_KEY, with a purpose label, so
  equality look-ups and uniqueness work without decrypting, and the index of an ID number cannot be
  compared with the index of a phone number.
- `mask_id_number` / `mask_phone`: what screens and exports show.
Keys come from the environment only; never from the database, never in task arguments or logs.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str | None) -> str:
    if value in (None, ""):
        return ""
    return _current().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str | None) -> str:
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:  # a key was removed before re-encryption
        raise ValueError("encrypted value cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key (MultiFernet.rotate)."""
    return _current().rotate(token.encode("ascii")).decode("ascii") if token else token


def normalize(value: str) -> str:
    return "".join((value or "").split()).upper()


def blind_index(value: str | None, *, purpose: str) -> str | None:
    """Keyed hash of the normalized value, or None for an empty value (NULLs do not collide in unique indexes)."""
    value = normalize(value or "")
    if not value:
        return None
    key = settings.BLIND_INDEX_KEY.encode("utf-8")
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def mask_id_number(value: str) -> str:
    """110***********1234: first 3 and last 4 characters."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """138****5678."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
