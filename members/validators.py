"""Validation of 身份证号 (GB 11643-1999) and mainland mobile numbers, with messages saying which rule failed."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def id_check_char(first17: str) -> str:
    total = sum(int(ch) * weight for ch, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalize_id_number(value: str) -> str:
    return "".join((value or "").split()).upper()


def id_birth_date(value: str) -> dt.date:
    """The birth date encoded in an 18-character ID number (characters 7–14)."""
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise ValidationError(_("身份证号中的出生日期 %(d)s 不是有效日期。") % {"d": value[6:14]}, code="id_bad_date") from exc


def validate_id_number(value: str, *, birth_date: dt.date | None = None, today: dt.date | None = None) -> str:
    """Return the normalized ID number or raise ValidationError naming the rule that failed."""
    value = normalize_id_number(value)
    if len(value) != 18:
        raise ValidationError(_("身份证号应为18位（当前%(n)d位）。") % {"n": len(value)}, code="id_length")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise ValidationError(_("身份证号前17位应为数字，最后一位为数字或X。"), code="id_chars")
    born = id_birth_date(value)
    today = today or dt.date.today()
    if born > today or born.year < 1900:
        raise ValidationError(_("身份证号中的出生日期 %(d)s 不在合理范围内。") % {"d": born.isoformat()}, code="id_bad_date")
    expected = id_check_char(value[:17])
    if value[17] != expected:
        raise ValidationError(_("身份证号校验位错误：最后一位应为 %(c)s。") % {"c": expected}, code="id_checksum")
    if birth_date is not None and birth_date != born:
        raise ValidationError(
            _("身份证号中的出生日期（%(id)s）与填写的出生日期（%(bd)s）不一致。") % {"id": born.isoformat(), "bd": birth_date.isoformat()},
            code="id_birth_mismatch",
        )
    return value


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def normalize_phone(value: str) -> str:
    value = re.sub(r"[\s-]", "", value or "")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value


def validate_mobile(value: str) -> str:
    value = normalize_phone(value)
    if not MOBILE_RE.match(value):
        raise ValidationError(_("手机号应为11位中国大陆手机号码（以1开头，第二位为3–9）。"), code="phone_format")
    return value
