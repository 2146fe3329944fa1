"""The snapshots API (/api/v1/snapshots/): scope (another subtree's snapshot is 404, its org "does not exist" in a
request), requesting one through the outbox (202, pending; a second request while it is generated is 409), one
snapshot with its rows per dimension, the .xlsx report (404 until ready), filters and ordering, ETag /
Last-Modified with 304, and a list whose query count holds as snapshots grow."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.models import AuditEntry, OutboxMessage
from coverage.actions.snapshots import TAKE_TASK, snapshot_request, snapshot_take
from coverage.models import CoverageSnapshot, SnapshotDimension, SnapshotRow, SnapshotStatus
from orgs.models import Role
from tests.factories import CoverageSnapshotFactory, UserFactory, grant

pytestmark = pytest.mark.django_db
LIST = reverse("api-snapshot-list")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _detail(snapshot) -> str:
    return reverse("api-snapshot-detail", args=[snapshot.pk])


def _report(snapshot) -> str:
    return reverse("api-snapshot-report", args=[snapshot.pk])


def _ready(world, org=None) -> CoverageSnapshot:
    snapshot = snapshot_request(actor=world.district_user, org=org or world.root)
    return snapshot_take(snapshot_id=snapshot.pk)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _post(client, org, **extra):
    return client.post(LIST, {"org": org.pk}, content_type="application/json", **extra)


# ---------------------------------------------------------------- requesting a snapshot
def test_request_is_enqueued_through_the_outbox_and_answers_202_pending(client, world):
    client.force_login(world.district_user)
    response = _post(client, world.express)
    assert response.status_code == 202, response.content
    body = response.json()
    snapshot = CoverageSnapshot.objects.get(pk=body["id"])
    assert body["status"] == "pending" and body["status_display"] == "排队中" and body["report_url"] is None
    assert body["org"] == world.express.pk and body["org_name"] == world.express.name and body["kind"] == "on_demand"
    assert body["requested_by"] == world.district_user.pk
    assert response["Location"] == _detail(snapshot)
    assert snapshot.status == SnapshotStatus.PENDING and snapshot.requested_by == world.district_user
    (message,) = OutboxMessage.objects.filter(task=TAKE_TASK)
    assert message.kwargs == {"snapshot_id": snapshot.pk} and message.sent_at is None
    assert AuditEntry.objects.filter(action="snapshot.request", object_id=str(snapshot.pk)).exists()


def test_a_second_request_while_one_is_generated_is_409(client, world):
    client.force_login(world.district_user)
    assert _post(client, world.express).status_code == 202
    again = _post(client, world.express)
    assert again.status_code == 409
    assert again.json() == {"code": "conflict", "message": "该党组织已有一份快照正在生成，请等待完成后再申请。",
                            "fields": {"org": ["该党组织已有一份快照正在生成，请等待完成后再申请。"]}}
    assert CoverageSnapshot.objects.filter(org=world.express).count() == 1
    assert OutboxMessage.objects.filter(task=TAKE_TASK).count() == 1
    assert _post(client, world.food).status_code == 202  # another org is not blocked


def test_an_org_outside_the_callers_scope_does_not_exist_in_the_requests_language(client, world):
    food_staff = UserFactory()
    grant(food_staff, world.food, Role.DISTRICT)
    client.force_login(food_staff)
    for org in (world.express, world.group):  # another subtree; a Party group (never snapshot)
        refused = _post(client, org)
        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid" and list(refused.json()["fields"]) == ["org"]
        assert "不存在" in refused.json()["fields"]["org"][0]
    en = _post(client, world.express, HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["fields"]["org"] == [f'Invalid pk "{world.express.pk}" - object does not exist.']
    assert client.post(LIST, {}, content_type="application/json").json()["fields"]["org"]
    assert not CoverageSnapshot.objects.exists() and not OutboxMessage.objects.exists()


def test_requesting_needs_snapshot_add(client, world):
    client.force_login(world.viewer)  # may see snapshots, may not take one
    refused = _post(client, world.root)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert refused.json()["message"] == "您的角色没有此操作的权限。"
    assert client.get(LIST).status_code == 200
    assert not CoverageSnapshot.objects.exists()


# ---------------------------------------------------------------- scope
def test_list_and_detail_are_scoped(client, world):
    express = _ready(world, world.express)
    food = _ready(world, world.food)
    food_staff = UserFactory()
    grant(food_staff, world.food, Role.DISTRICT)
    client.force_login(food_staff)
    assert _ids(client.get(LIST)) == [food.pk]
    for url in (_detail(express), _report(express)):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get(_detail(food)).status_code == 200
    client.force_login(world.secretary)  # no snapshot.view
    assert client.get(LIST).status_code == 403


# ---------------------------------------------------------------- one snapshot, its rows and its report
def test_a_pending_snapshot_has_no_rows_and_its_report_is_404(client, world):
    snapshot = snapshot_request(actor=world.district_user, org=world.root)
    client.force_login(world.district_user)
    body = client.get(_detail(snapshot)).json()
    assert body["status"] == "pending"
    assert body["rows"] == {"total": [], "org": [], "region": [], "industry": []}
    response = client.get(_report(snapshot))
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "未找到。", "fields": {}}
    assert client.get(_report(snapshot), HTTP_ACCEPT=XLSX).status_code == 404  # whatever Accept says: JSON errors


def test_retrieve_a_ready_snapshot_with_its_rows_per_dimension(client, world):
    snapshot = _ready(world)
    client.force_login(world.viewer)
    body = client.get(_detail(snapshot)).json()
    assert body["status"] == "ready" and body["period_label"] == f"{snapshot.period_start:%Y-%m-%d}至{snapshot.period_end:%Y-%m-%d}"
    assert body["report_url"] == _report(snapshot)
    rows = body["rows"]
    assert set(rows) == {"total", "org", "region", "industry"}
    (total,) = rows["total"]
    # the world's figures (tests/conftest.py): workplaces a..g are active, a b c f are covered by an org
    assert total["label"] == world.root.name and total["workplaces"] == 7 and total["org_covered"] == 4
    assert total["org_rate"] == round(100 * 4 / 7, 1)
    for dimension in SnapshotDimension.values:
        stored = list(SnapshotRow.objects.filter(snapshot=snapshot, dimension=dimension).order_by("position", "id"))
        assert [row["key"] for row in rows[dimension]] == [row.key for row in stored]
        assert [row["members_full"] for row in rows[dimension]] == [row.members_full for row in stored]
    assert world.express.name in [row["label"] for row in rows["org"]]
    assert rows["region"] and rows["industry"]
    assert "rows" not in client.get(LIST).json()["results"][0]  # the list stays light


def test_report_answers_the_xlsx_once_ready(client, world):
    snapshot = _ready(world)
    client.force_login(world.viewer)
    for accept in ("*/*", XLSX, "application/json"):
        response = client.get(_report(snapshot), HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == XLSX
        assert response["Content-Disposition"].startswith(f'attachment; filename="snapshot-{snapshot.pk}.xlsx"')
        workbook = load_workbook(io.BytesIO(response.content))
        assert workbook.sheetnames
    snapshot.refresh_from_db()
    assert response.content == bytes(snapshot.report)


# ---------------------------------------------------------------- filters and ordering
def test_each_filter_narrows_and_ordering(client, world):
    today = timezone.localdate()
    old = CoverageSnapshotFactory(org=world.root, kind="monthly", status="ready", period_start=dt.date(2024, 1, 1),
                                  period_end=dt.date(2024, 1, 31), taken_at=timezone.now())
    express = CoverageSnapshotFactory(org=world.express, status="ready", taken_at=timezone.now())
    failed = CoverageSnapshotFactory(org=world.express, status="failed")
    client.force_login(world.district_user)
    assert set(_ids(client.get(LIST))) == {old.pk, express.pk, failed.pk}
    assert set(_ids(client.get(LIST, {"org": world.express.pk}))) == {express.pk, failed.pk}
    assert _ids(client.get(LIST, {"kind": "monthly"})) == [old.pk]
    assert _ids(client.get(LIST, {"status": "failed"})) == [failed.pk]
    assert _ids(client.get(LIST, {"period_to": "2024-12-31"})) == [old.pk]
    assert set(_ids(client.get(LIST, {"period_from": today.replace(day=1).isoformat()}))) == {express.pk, failed.pk}
    assert client.get(LIST, {"status": "lost"}).status_code == 400
    assert _ids(client.get(LIST)) == [failed.pk, express.pk, old.pk]  # default: newest id first
    assert _ids(client.get(LIST, {"ordering": "period_start"}))[0] == old.pk
    assert _ids(client.get(LIST, {"ordering": "-period_start"}))[-1] == old.pk


# ---------------------------------------------------------------- ETag / Last-Modified / 304
def test_detail_etag_and_last_modified_answer_304(client, world):
    snapshot = _ready(world)
    client.force_login(world.viewer)
    first = client.get(_detail(snapshot))
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag and modified
    cached = client.get(_detail(snapshot), HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304 and cached.content == b"" and cached["ETag"] == etag
    since = client.get(_detail(snapshot), HTTP_IF_MODIFIED_SINCE=modified)
    assert since.status_code == 304 and since.content == b""
    assert client.get(_detail(snapshot), HTTP_IF_NONE_MATCH='"stale"').status_code == 200
    assert client.get(_detail(snapshot), HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2024 00:00:00 GMT").status_code == 200


def test_a_snapshot_being_generated_has_no_last_modified(client, world):
    snapshot = snapshot_request(actor=world.district_user, org=world.root)
    client.force_login(world.district_user)
    pending = client.get(_detail(snapshot))
    assert pending["ETag"] and not pending.has_header("Last-Modified")
    snapshot_take(snapshot_id=snapshot.pk)  # ready now: the old ETag no longer matches
    assert client.get(_detail(snapshot), HTTP_IF_NONE_MATCH=pending["ETag"]).status_code == 200


def test_list_etag_changes_after_a_new_snapshot(client, world):
    _ready(world, world.express)
    client.force_login(world.district_user)
    first = client.get(LIST)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 304
    same_time = client.get(LIST, HTTP_IF_MODIFIED_SINCE=modified)
    assert same_time.status_code == 304 and same_time.content == b""
    assert _post(client, world.food).status_code == 202
    after = client.get(LIST, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag
    assert not after.has_header("Last-Modified")  # one is being generated
    assert client.get(LIST, HTTP_IF_MODIFIED_SINCE=modified).status_code == 200
    assert client.get(LIST, HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 304


# ---------------------------------------------------------------- query counts
def test_list_query_count_is_constant(client, world):
    client.force_login(world.district_user)

    def count(n):
        for _ in range(n):
            CoverageSnapshotFactory(org=world.express, status="ready", taken_at=timezone.now(),
                                    report_built_at=timezone.now(), requested_by=world.district_user)
        client.get(LIST)  # warm (session, grants)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST, {"per_page": 100})
        return len(ctx.captured_queries), len(_ids(response))

    small, rows_small = count(2)
    large, rows_large = count(6)
    assert (rows_small, rows_large) == (2, 8)
    assert large == small
