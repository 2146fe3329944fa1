"""The member list's "no organizational life" flag, whose facts (attendance) live here, above members.
Registered into members' registry selectors by ActivitiesConfig.ready()."""

from __future__ import annotations

import datetime as dt

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Value, When

from activities.models import Attendance, AttendanceStatus
from members.models import PARTY_MEMBER_STAGES
from members.selectors.registry import no_life_window_start


def no_life_flag(today: dt.date):
    """A Party member registered before the window start with no attendance marked present at any activity
    starting in the window (rule no_life_flag_months): one correlated EXISTS per row."""
    window_start = no_life_window_start(today)
    attended = Attendance.objects.filter(member_id=OuterRef("pk"), status=AttendanceStatus.PRESENT, activity__starts_at__gte=window_start)
    return Case(
        When(Q(stage__in=PARTY_MEMBER_STAGES, created_at__lt=window_start) & ~Exists(attended), then=Value(True)),
        default=Value(False), output_field=BooleanField(),
    )
