"""Sane date bounds for every date a user can type (forms, import, API) and overflow-safe arithmetic.

A date outside [1 January of `date_min_year`, today + `date_future_margin_years`] (rule rows) is refused
with a message in the user's language; derived dates use `add_months`/`add_days`, which answer None
instead of raising OverflowError near year 1 or 9999.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _


def date_bounds(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(earliest, latest) date accepted anywhere, from the rule rows."""
    from core.rules import rule_values

    values = rule_values("date_min_year", "date_future_margin_years")
    today = today or timezone.localdate()
    earliest = dt.date(max(1, min(int(values["date_min_year"]), 9999)), 1, 1)
    latest = add_months(today, 12 * int(values["date_future_margin_years"])) or dt.date.max
    return earliest, latest


def check_date(value, *, label: str | None = None) -> None:
    """Raise ValidationError when `value` (a date or datetime) is outside `date_bounds()`."""
    if value is None:
        return
    day = timezone.localdate(value) if isinstance(value, dt.datetime) and timezone.is_aware(value) else (
        value.date() if isinstance(value, dt.datetime) else value
    )
    earliest, latest = date_bounds()
    if day < earliest or day > latest:
        raise ValidationError(
            _("%(label)s须在 %(earliest)s 至 %(latest)s 之间。")
            % {"label": label or _("日期"), "earliest": earliest.isoformat(), "latest": latest.isoformat()},
            code="date_out_of_range",
        )


def sane_date_validator(value) -> None:
    """A field validator (forms, serializers): the message names no field, the form shows it beside one."""
    check_date(value)


def add_months(day: dt.date, months: int) -> dt.date | None:
    """`day` plus `months` calendar months (clamped to the month's last day), or None past year 1..9999."""
    index = day.year * 12 + (day.month - 1) + int(months)
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_days(day: dt.date, days: int) -> dt.date | None:
    """`day` plus `days`, or None past the calendar's ends."""
    try:
        return day + dt.timedelta(days=int(days))
    except OverflowError:
        return None
