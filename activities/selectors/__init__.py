"""Organizational-life reads: `records` (scoped lists, the month calendar, a record's detail) and `compliance`
(periods, expected vs. held per branch rolled up by subtree, the board's bounded page, exemptions).
The records names are re-exported so that `from activities import selectors` keeps working."""

from activities.selectors import compliance
from activities.selectors.records import (
    activity_calendar,
    activity_detail_queryset,
    activity_may,
    activity_rows,
    attendance_summary,
    expected_members,
    with_attendance_counts,
)

__all__ = [
    "activity_calendar", "activity_detail_queryset", "activity_may", "activity_rows", "attendance_summary", "compliance",
    "expected_members", "with_attendance_counts",
]
