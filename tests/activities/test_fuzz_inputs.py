"""Property: every query parameter and form field of the activities and compliance pages that takes a
number, a date or a period answers below 500 whatever is typed, and invalid input writes nothing.

Fast on purpose (modest max_examples, no example database in the shared tree); the world fixture is
built once per test function and shared by its examples (hence the suppressed health check)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from activities.models import Activity, ActivityEvent, ActivityFile, Attendance, Exemption
from core.dates import date_bounds
from tests.activities import log

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# ---------------------------------------------------------------- what people (and scripts) type
_years = st.integers(min_value=-5, max_value=100_000)
NUMBERISH = st.one_of(
    st.integers(min_value=-10**22, max_value=10**22).map(str),
    st.text(alphabet="0123456789²³١٢٣-Qq:T. +", max_size=14),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.builds(lambda y, m: f"{y}-{m:02d}", _years, st.integers(min_value=-1, max_value=13)),
    st.builds(lambda y, m: f"{y}-{m}", _years, st.integers(min_value=0, max_value=12)),
    st.builds(lambda y, q: f"{y}-Q{q}", _years, st.integers(min_value=-1, max_value=5)),
    st.sampled_from(["", " ", "9999", "1-1", "1-Q1", "9999-12", "0001-01-01", "99999999999999999999", "²", "NaN"]),
)
DATETIMEISH = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59))
    .map(lambda d: d.isoformat(timespec="minutes")),
    st.sampled_from(["0001-01-01T00:00", "9999-12-31T23:59", "1900-01-01T00:00", "2026-01-05T09:00"]),
    NUMBERISH,
)
DATEISH = st.one_of(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat), NUMBERISH)
ORGISH = st.one_of(st.sampled_from(["@jb", "@root", "@group"]), NUMBERISH)
USERS = st.sampled_from(["district_user", "secretary"])

GET_PAGES = st.one_of(
    st.tuples(st.just("activities:activity_calendar"), st.fixed_dictionaries({}, optional={"org": ORGISH, "month": NUMBERISH})),
    st.tuples(st.just("activities:activity_list"), st.fixed_dictionaries({}, optional={
        "org": ORGISH, "date_from": DATEISH, "date_to": DATEISH, "page": NUMBERISH, "format": st.just("xlsx"),
    })),
    st.tuples(st.sampled_from(["activities:compliance_board", "activities:compliance_export"]), st.fixed_dictionaries({}, optional={
        "org": ORGISH, "period": NUMBERISH, "period_type": st.sampled_from(["month", "quarter", "year", "", "week", "²"]),
    })),
    st.tuples(st.sampled_from(["activities:activity_create", "activities:exemption_create", "activities:exemption_list"]),
              st.fixed_dictionaries({}, optional={"org": ORGISH, "page": NUMBERISH})),
)


def _real(world, value):
    return {"@jb": world.jb.pk, "@root": world.root.pk, "@group": world.group.pk}.get(value, value)


def _written():
    return (Activity.objects.count(), Attendance.objects.count(), ActivityEvent.objects.count(),
            ActivityFile.objects.count(), Exemption.objects.count())


def _in_bounds(day: dt.date) -> bool:
    earliest, latest = date_bounds()
    return earliest <= day <= latest


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"


# ---------------------------------------------------------------- properties
@FUZZ
@given(page=GET_PAGES, who=USERS)
# the inputs that answered 500 before, always tried
@example(page=("activities:activity_calendar", {"month": "9999-12"}), who="district_user")
@example(page=("activities:activity_calendar", {"month": "1-1"}), who="secretary")
@example(page=("activities:compliance_board", {"period_type": "year", "period": "9999"}), who="district_user")
@example(page=("activities:compliance_board", {"period_type": "year", "period": "99999999999999999999"}), who="district_user")
@example(page=("activities:compliance_export", {"period_type": "quarter", "period": "1-Q1"}), who="secretary")
@example(page=("activities:activity_list", {"date_from": "0001-01-01", "format": "xlsx"}), who="district_user")
@example(page=("activities:activity_create", {"org": "²"}), who="district_user")
def test_reading_pages_never_fail_and_never_write(client, world, page, who):
    name, params = page
    client.force_login(getattr(world, who))
    before = _written()
    response = client.get(reverse(name), {k: _real(world, v) for k, v in params.items()})
    assert response.status_code < 500
    assert _written() == before


@FUZZ
@given(starts_at=DATETIMEISH, ends_at=st.one_of(st.just(""), DATETIMEISH), org=st.one_of(st.just("@jb"), ORGISH),
       kind=st.sampled_from(["theme_day", "group_meeting", "", "x"]), party_group=st.one_of(st.just("@group"), ORGISH),
       attendance=st.one_of(st.just(""), NUMBERISH))
@example(starts_at="0001-01-01T00:00", ends_at="", org="@jb", kind="theme_day", party_group="", attendance="")
@example(starts_at="2026-01-05T09:00", ends_at="", org="²", kind="theme_day", party_group="", attendance="")
def test_log_a_meeting_never_fails_and_writes_only_valid_records(client, world, starts_at, ends_at, org, kind, party_group,
                                                                 attendance):
    client.force_login(world.secretary)
    member = world.jb.members.order_by("id").first()
    before = _written()
    data = {"org": _real(world, org), "kind": kind, "topic": "学习", "starts_at": starts_at, "ends_at": ends_at,
            "party_group": _real(world, party_group), f"att-{member.pk}": attendance}
    response = client.post(reverse("activities:activity_create"), data)
    assert response.status_code < 500
    if response.status_code != 302:
        assert _written() == before
    else:
        saved = Activity.objects.order_by("-id").first()
        assert _in_bounds(timezone.localdate(saved.starts_at)) and (saved.ends_at is None or _in_bounds(timezone.localdate(saved.ends_at)))


@FUZZ
@given(starts_at=DATETIMEISH, ends_at=st.one_of(st.just(""), DATETIMEISH))
def test_editing_a_record_never_fails_and_keeps_it_on_invalid_input(client, world, starts_at, ends_at):
    activity = Activity.objects.filter(topic="被修改的").first() or log(world, topic="被修改的")
    before_row = Activity.objects.filter(pk=activity.pk).values("starts_at", "ends_at", "updated_at").get()
    client.force_login(world.secretary)
    response = client.post(reverse("activities:activity_edit", args=[activity.pk]), {
        "kind": "theme_day", "topic": "被修改的", "starts_at": starts_at, "ends_at": ends_at,
    })
    assert response.status_code < 500
    after_row = Activity.objects.filter(pk=activity.pk).values("starts_at", "ends_at", "updated_at").get()
    if response.status_code != 302:
        assert after_row == before_row
    else:
        assert _in_bounds(timezone.localdate(after_row["starts_at"]))  # stored in UTC: compare the local date


@FUZZ
@given(starts_on=DATEISH, ends_on=DATEISH, org=st.one_of(st.just("@jb"), ORGISH), rule=st.one_of(st.just(""), NUMBERISH))
def test_exemptions_never_fail_and_write_only_valid_rows(client, world, starts_on, ends_on, org, rule):
    client.force_login(world.district_user)
    before = Exemption.objects.count()
    response = client.post(reverse("activities:exemption_create"), {
        "org": _real(world, org), "rule": rule, "starts_on": starts_on, "ends_on": ends_on, "reason": "测试",
    })
    assert response.status_code < 500
    if response.status_code != 302:
        assert Exemption.objects.count() == before
    else:
        saved = Exemption.objects.order_by("-id").first()
        assert _in_bounds(saved.starts_on) and _in_bounds(saved.ends_on)


def test_a_start_on_the_first_allowed_day_before_8_am_is_in_bounds(client, world):
    """Found by the property above: 1900-01-01 06:00 in Asia/Shanghai is 1899-12-31 in UTC; the bound is local."""
    activity = log(world, topic="边界")
    client.force_login(world.secretary)
    response = client.post(reverse("activities:activity_edit", args=[activity.pk]), {
        "kind": "theme_day", "topic": "边界", "starts_at": "1900-01-01T06:00", "ends_at": "",
    })
    assert response.status_code < 500
    activity.refresh_from_db()
    assert _in_bounds(timezone.localdate(activity.starts_at))
