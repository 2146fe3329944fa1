"""Tests for the members app. `make_id` builds valid 18-character ID numbers for tests."""

from __future__ import annotations

import datetime as dt

from members.validators import id_check_char


def make_id(born: dt.date = dt.date(1990, 1, 1), seq: int = 1, area: str = "110101") -> str:
    """A valid 身份证号 (GB 11643 checksum) for `born`; `seq` (1–999) makes it unique, odd = male."""
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)
