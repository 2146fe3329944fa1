"""Organizational-life reads: scoped lists (FilterSet), a month calendar per org, a record's detail.

Each starts from Activity.objects.restrict(user, "view") and keeps a constant number of queries; the list's
filters are activities.filtersets.ActivityFilterSet (applied by the generic list view).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from activities.models import Activity, ActivityEvent, Attendance, AttendanceStatus
from members.models import PARTY_MEMBER_STAGES, Member

__all__ = ["expected_members", "activity_rows", "with_attendance_counts", "activity_calendar", "activity_detail_queryset",
           "activity_may", "attendance_summary"]


def with_attendance_counts(qs):
    """Rows of `qs` with org, group and attendance counts (n_expected, n_present) in the same query."""
    return qs.select_related("org", "party_group").annotate(
        n_expected=Count("attendance", distinct=True),
        n_present=Count("attendance", filter=Q(attendance__status=AttendanceStatus.PRESENT), distinct=True),
    )


def expected_members(org):
    """The org's Party members expected at its meetings: probationary and full, whatever the relation
    (held/pocket/lost contact, and mobile members attached here). See activities.actions."""
    return Member.objects.filter(org=org, stage__in=PARTY_MEMBER_STAGES).order_by("name", "id")


def activity_rows(*, user):
    """The records `user` may see, unordered: the list view filters them (ActivityFilterSet), counts them, pages
    them by keyset ("-starts_at", "-pk") and adds the attendance counts to the page (`with_attendance_counts`)."""
    return Activity.objects.restrict(user, "view")


def activity_calendar(*, user, org, year: int, month: int) -> list[list[dict]]:
    """Weeks (Monday first) of day cells {day, date, activities} for `org`'s subtree in one query."""
    tz = timezone.get_current_timezone()
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    qs = (Activity.objects.restrict(user, "view").filter(org__path__startswith=org.path, starts_at__gte=start, starts_at__lt=end)
          .select_related("org").order_by("starts_at", "id"))
    by_day: dict[dt.date, list[Activity]] = defaultdict(list)
    for activity in qs:
        by_day[timezone.localtime(activity.starts_at, tz).date()].append(activity)
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append([{"date": day, "in_month": day.month == month, "activities": by_day.get(day, [])} for day in week])
    return weeks


def activity_detail_queryset():
    return Activity.objects.select_related("org", "party_group", "created_by").prefetch_related(
        Prefetch("attendance", queryset=Attendance.objects.select_related("member").order_by("member__name", "member_id")),
        "files",
        Prefetch("events", queryset=ActivityEvent.objects.select_related("actor").order_by("created_at", "id")),
    )


def activity_may(*, user, activity: Activity, action: str) -> bool:
    """May `user` do `action` ("change", "review") on this record (the same scope the actions check)?"""
    return Activity.objects.restrict(user, action).filter(pk=activity.pk).exists()


def attendance_summary(activity: Activity) -> dict[str, int]:
    """Counts from the prefetched attendance rows (no query)."""
    rows = list(activity.attendance.all())
    return {
        "expected": len(rows),
        "present": sum(1 for r in rows if r.status == AttendanceStatus.PRESENT),
        "absent": sum(1 for r in rows if r.status == AttendanceStatus.ABSENT),
        "leave": sum(1 for r in rows if r.status == AttendanceStatus.LEAVE),
        "non_voting": sum(1 for r in rows if not r.voting),
    }
