"""Snapshot pages (/reports/): scope (404 outside), the "生成快照" form, trend lines, the .xlsx download,
and query counts that hold as snapshots grow."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from coverage.actions.snapshots import snapshot_request, snapshot_take, snapshots_monthly
from coverage.models import CoverageSnapshot, SnapshotStatus
from orgs.models import Role
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db
LIST = reverse("coverage:snapshot_list")


def ready_snapshot(world, org=None) -> CoverageSnapshot:
    snapshot = snapshot_request(actor=world.district_user, org=org or world.root)
    return snapshot_take(snapshot_id=snapshot.pk)


def monthly_series(months: list[dt.date]) -> list[int]:
    ids = []
    for first in months:
        [snapshot_id] = snapshots_monthly(today=first)
        snapshot_take(snapshot_id=snapshot_id)
        ids.append(snapshot_id)
    return ids


def test_list_shows_snapshots_with_status_and_download(client, world):
    snapshot = ready_snapshot(world)
    pending = snapshot_request(actor=world.district_user, org=world.express)
    client.force_login(world.district_user)
    page = client.get(LIST).content.decode()
    assert f'data-snapshot="{snapshot.pk}"' in page and f'data-snapshot="{pending.pk}"' in page
    assert reverse("coverage:snapshot_download", args=[snapshot.pk]) in page
    assert reverse("coverage:snapshot_download", args=[pending.pk]) not in page
    assert 'data-status="ready"' in page and 'data-status="pending"' in page
    assert "生成快照" in page


def test_list_is_scoped_and_detail_and_download_are_404_outside(client, world):
    snapshot = ready_snapshot(world)
    food_snapshot = ready_snapshot(world, world.food)
    food_staff = UserFactory()
    grant(food_staff, world.food, Role.DISTRICT)
    client.force_login(food_staff)
    page = client.get(LIST).content.decode()
    assert f'data-snapshot="{food_snapshot.pk}"' in page
    assert f'data-snapshot="{snapshot.pk}"' not in page
    assert client.get(reverse("coverage:snapshot_detail", args=[snapshot.pk])).status_code == 404
    assert client.get(reverse("coverage:snapshot_download", args=[snapshot.pk])).status_code == 404
    assert client.get(reverse("coverage:snapshot_detail", args=[food_snapshot.pk])).status_code == 200
    assert client.get(LIST, {"org": world.root.pk}).status_code == 404  # another subtree's trend


def test_users_without_snapshot_view_get_404(client, world):
    snapshot = ready_snapshot(world)
    for user in (world.secretary, world.instructor, world.nobody):
        client.force_login(user)
        assert client.get(LIST).status_code == 404
        assert client.get(reverse("coverage:snapshot_detail", args=[snapshot.pk])).status_code == 404


def test_viewer_sees_and_downloads_but_cannot_request(client, world):
    snapshot = ready_snapshot(world)
    client.force_login(world.viewer)
    page = client.get(LIST).content.decode()
    assert f'data-snapshot="{snapshot.pk}"' in page and 'name="org"' not in page.split("月度趋势")[0]
    assert client.get(reverse("coverage:snapshot_download", args=[snapshot.pk])).status_code == 200
    assert client.post(LIST, {"org": world.root.pk}).status_code == 404
    assert CoverageSnapshot.objects.count() == 1


def test_form_requests_a_snapshot_and_shows_a_conflict(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.district_user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(LIST, {"org": world.express.pk}, follow=True)
    assert "快照已开始生成，完成后将在站内通知中提醒您" in response.content.decode()
    snapshot = CoverageSnapshot.objects.get()
    assert (snapshot.org, snapshot.status, snapshot.requested_by) == (world.express, SnapshotStatus.PENDING, world.district_user)
    assert len(callbacks) == 1
    response = client.post(LIST, {"org": world.express.pk})
    assert response.status_code == 200 and "正在生成" in response.content.decode()
    assert CoverageSnapshot.objects.count() == 1


def test_form_offers_only_orgs_where_the_user_may_add(client, world):
    food_staff = UserFactory()
    grant(food_staff, world.food, Role.DISTRICT)
    client.force_login(food_staff)
    page = client.get(LIST).content.decode()
    assert f'<option value="{world.food.pk}"' in page and f'<option value="{world.express.pk}"' not in page
    response = client.post(LIST, {"org": world.express.pk})
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    assert not CoverageSnapshot.objects.exists()


def test_detail_shows_rows_by_dimension(client, world):
    snapshot = ready_snapshot(world)
    client.force_login(world.district_user)
    page = client.get(reverse("coverage:snapshot_detail", args=[snapshot.pk])).content.decode()
    for dimension in ("total", "org", "region", "industry"):
        assert f'data-dimension="{dimension}"' in page
    assert "快递联合党支部" in page and "东街道" in page and "外卖配送" in page
    assert "57.1%" in page  # the district's organization coverage: 4 of 7


def test_download_is_a_real_workbook(client, world):
    snapshot = ready_snapshot(world)
    client.force_login(world.district_user)
    response = client.get(reverse("coverage:snapshot_download", args=[snapshot.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.content))["总览"]
    headers = [c.value for c in ws[2]]
    total = [c.value for c in ws[3]]
    assert total[headers.index("应覆盖单位")] == 7 and total[headers.index("工作覆盖")] == 6


def test_download_before_ready_redirects_with_a_message(client, world):
    snapshot = snapshot_request(actor=world.district_user, org=world.root)
    client.force_login(world.district_user)
    response = client.get(reverse("coverage:snapshot_download", args=[snapshot.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("coverage:snapshot_detail", args=[snapshot.pk])
    assert "尚未生成完成" in response.content.decode()


def test_trend_lines_over_monthly_snapshots(client, world):
    monthly_series([dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)])
    ready_snapshot(world)  # on-demand ones are not part of the monthly trend
    client.force_login(world.viewer)
    page = client.get(LIST).content.decode()
    assert "<svg" in page and page.count("<polyline") >= 3
    assert "2026-09" in page and "2026-10" in page and "2026-11" in page
    assert "组织覆盖率" in page and "三会一课达标率" in page and "15分钟服务圈覆盖率" in page
    assert "<th scope=\"row\">2026-11</th>" in page and "57.1" in page
    assert page.count("<th scope=\"row\">2026-") == 3


def test_trend_for_another_org_in_scope(client, world):
    client.force_login(world.district_user)
    assert client.get(LIST, {"org": world.express.pk}).status_code == 200
    assert client.get(LIST, {"org": "junk"}).status_code == 404


def _grow(world, n: int, offset: int = 0) -> None:
    monthly_series([dt.date(2020 + (i + offset) // 12, (i + offset) % 12 + 1, 1) for i in range(n)])
    for org in (world.express, world.food):
        snapshot = snapshot_request(actor=world.district_user, org=org)
        snapshot_take(snapshot_id=snapshot.pk)


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_constant_as_snapshots_grow(client, world):
    user = UserFactory()
    grant(user, world.root, Role.DISTRICT)
    client.force_login(user)
    _grow(world, 2)
    small = _count(client, LIST)
    _grow(world, 3, offset=2)
    for org in (world.br_a, world.jb):  # more rows and more orgs in the trend choices too
        snapshot_take(snapshot_id=snapshot_request(actor=world.district_user, org=org).pk)
    large = _count(client, LIST)
    assert small == large, f"{small} queries with few snapshots, {large} with many"


def test_detail_query_count_constant_as_rows_grow(client, world):
    from tests.factories import make_branch

    client.force_login(world.district_user)
    first = ready_snapshot(world)
    small = _count(client, reverse("coverage:snapshot_detail", args=[first.pk]))
    for i in range(5):
        make_branch(f"新支部{i}", parent=world.express)
    second = ready_snapshot(world)
    large = _count(client, reverse("coverage:snapshot_detail", args=[second.pk]))
    assert small == large
