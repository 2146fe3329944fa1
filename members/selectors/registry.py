"""Member registry reads: scoped lists with computed flags, masked personal data."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from members.models import Member
from portal import crypto

__all__ = ["member_list_queryset", "masked_id_number", "masked_phone"]


def member_list_queryset(*, user, action: str = "view") -> QuerySet[Member]:
    return Member.objects.restrict(user, action).select_related("org", "workplace")


def masked_id_number(member: Member) -> str:
    return crypto.mask_id_number(crypto.decrypt(member.id_number_encrypted))


def masked_phone(member: Member) -> str:
    return crypto.mask_phone(crypto.decrypt(member.phone_encrypted))


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier (clamped to the month's end)."""
    import calendar

    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))
