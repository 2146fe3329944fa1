"""Input that answered 500 (OverflowError, int() of a Unicode digit) now gets a clear message and writes
nothing: periods and months are bounded to the sane date range (rule rows), pages fall back to the
current period with a message, exports answer a 400 page, dates in every activities form are checked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, Exemption
from activities.selectors.compliance import period_containing, period_or_error
from core.exceptions import DomainError
from tests.activities import log
from tests.factories import set_rule

pytestmark = pytest.mark.django_db

CALENDAR = reverse("activities:activity_calendar")
BOARD = reverse("activities:compliance_board")
EXPORT = reverse("activities:compliance_export")
LIST = reverse("activities:activity_list")
CREATE = reverse("activities:activity_create")
BIG = "99999999999999999999"

BAD_PERIODS = [
    {"period": "9999"},
    {"period": BIG},
    {"period_type": "year", "period": "9999"},
    {"period_type": "year", "period": BIG},
    {"period_type": "year", "period": "1"},
    {"period_type": "quarter", "period": "1-Q1"},
    {"period_type": "quarter", "period": "9999-Q4"},
    {"period_type": "month", "period": "1-1"},
    {"period_type": "month", "period": "9999-12"},
    {"period_type": "decade", "period": "2026"},
]


@pytest.mark.parametrize("month", ["9999-12", "1-1", "0001-01", "1899-12", "2999-01", BIG, "bad", "2026-13"])
def test_calendar_month_out_of_range_shows_this_month_with_a_message(client, world, month):
    client.force_login(world.district_user)
    response = client.get(CALENDAR, {"month": month})
    assert response.status_code == 200
    assert response.context["first"] == timezone.localdate().replace(day=1)
    assert "不是有效的期间" in response.content.decode()


def test_calendar_accepts_the_edges_of_the_range(client, world):
    client.force_login(world.district_user)
    response = client.get(CALENDAR, {"month": "1900-01"})
    assert response.status_code == 200 and response.context["first"] == dt.date(1900, 1, 1)
    assert response.context["previous"] == "1899-12" and "不是有效的期间" not in response.content.decode()


@pytest.mark.parametrize("params", BAD_PERIODS)
def test_board_bad_period_shows_the_current_one_with_a_message(client, world, params):
    client.force_login(world.district_user)
    response = client.get(BOARD, params)
    assert response.status_code == 200
    kind = params.get("period_type") if params.get("period_type") in ("month", "quarter", "year") else "month"
    assert response.context["period"] == period_containing(kind, timezone.localdate())
    html = response.content.decode()
    assert "不是有效的期间" in html or "周期类型无效" in html


@pytest.mark.parametrize("params", BAD_PERIODS)
def test_board_export_bad_period_is_a_400_page(client, world, params):
    client.force_login(world.district_user)
    response = client.get(EXPORT, params)
    assert response.status_code == 400 and "text/html" in response["Content-Type"]
    html = response.content.decode()
    assert "查询条件有误" in html and ("不是有效的期间" in html or "周期类型无效" in html)


def test_period_range_follows_the_rule_rows(world):
    today = dt.date(2026, 5, 5)
    assert period_or_error("year", "1950", today=today) == (period_containing("year", dt.date(1950, 1, 1)), None)
    set_rule("date_min_year", 2000)
    period, error = period_or_error("year", "1950", today=today)
    assert period.key == "2026" and "2000-01-01" in error
    assert period_or_error("quarter", "2028-Q1", today=today)[1] is None  # within the 2-year margin
    assert "不是有效的期间" in period_or_error("quarter", "2029-Q1", today=today)[1]
    assert period_or_error("month", "", today=today) == (period_containing("month", today), None)


@pytest.mark.parametrize("params", [
    {"date_from": "0001-01-01"}, {"date_to": "9999-12-31"}, {"date_from": "1800-01-01", "kind": "theme_day"},
])
def test_records_export_with_bad_dates_is_a_400_page(client, world, params):
    log(world)
    client.force_login(world.district_user)
    response = client.get(LIST, {**params, "format": "xlsx"})
    assert response.status_code == 400 and "筛选条件有误，未导出" in response.content.decode()
    response = client.get(LIST, params)  # the list page shows the error beside the field
    assert response.status_code == 200 and "之间" in response.content.decode()


@pytest.mark.parametrize("field,value", [
    ("starts_at", "0001-01-01T00:00"), ("starts_at", "9999-12-31T23:59"), ("starts_at", "1899-12-31T23:00"),
    ("ends_at", "0001-01-01T00:00"), ("ends_at", "9999-12-31T23:59"), ("starts_at", "99999-01-01T00:00"),
])
def test_log_a_meeting_with_far_dates_writes_nothing(client, world, field, value):
    client.force_login(world.secretary)
    data = {"org": world.jb.pk, "kind": "theme_day", "topic": "学习", "starts_at": "2026-01-05T09:00", field: value}
    response = client.post(CREATE, data)
    assert response.status_code == 200 and response.context["form"].errors.get(field)
    assert Activity.objects.count() == 0


def test_edit_with_far_dates_changes_nothing(client, world):
    activity = log(world)
    client.force_login(world.secretary)
    response = client.post(reverse("activities:activity_edit", args=[activity.pk]), {
        "kind": "theme_day", "topic": "改", "starts_at": "0001-01-01T00:00",
    })
    assert response.status_code == 200 and response.context["form"].errors.get("starts_at")
    activity.refresh_from_db()
    assert activity.topic == "学习党章"


def test_the_action_refuses_far_dates_too(world):
    tz = timezone.get_current_timezone()
    for starts_at in (dt.datetime(1, 1, 1, tzinfo=tz), dt.datetime(9999, 12, 31, 23, tzinfo=tz)):
        with pytest.raises(DomainError) as exc:
            log(world, starts_at=starts_at)
        assert exc.value.field == "starts_at" and "之间" in str(exc.value.message)
    assert Activity.objects.count() == 0


@pytest.mark.parametrize("org", ["²", "١", BIG, "-1", "1.0"])
def test_log_a_meeting_with_a_strange_org_id_is_404(client, world, org):
    client.force_login(world.district_user)
    assert client.get(CREATE, {"org": org}).status_code == 404
    response = client.post(CREATE, {"org": org, "kind": "theme_day", "topic": "t", "starts_at": "2026-01-05T09:00"})
    assert response.status_code == 404 and Activity.objects.count() == 0


def test_exemption_with_far_dates_writes_nothing(client, world):
    client.force_login(world.district_user)
    response = client.post(reverse("activities:exemption_create"), {
        "org": world.jb.pk, "starts_on": "0001-01-01", "ends_on": "0001-01-31", "reason": "测试",
    })
    assert response.status_code == 200 and response.context["form"].errors.get("starts_on")
    assert Exemption.objects.count() == 0
