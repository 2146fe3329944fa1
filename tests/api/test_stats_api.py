"""The statistics endpoints (/api/v1/stats/, coverage/api/stats.py).

Every figure is checked twice: against counts computed here from raw rows with plain loops (Workplace, Organization,
Assignment, Member, ServiceRequest, Activity rows; never the selectors) and against what the pages show (the home
page, the org page, the compliance board, the reports page: their context values). Also: CSV with its stable header
and the same numbers, 304 with If-None-Match, scope (a secretary never sees another branch; snapshots need
snapshot.view), the one error shape for bad parameters (in the request's language), answers from SnapshotRow for a
snapshot period, no personal data in any answer, and a query count that does not grow with the data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityKind, ComplianceRule
from activities.selectors.compliance import period_containing
from core.crypto import blind_index, encrypt
from core.dates import add_months
from coverage.actions.snapshots import snapshot_request, snapshot_take, snapshots_monthly
from coverage.models import CoverageSnapshot, SnapshotRow
from members.models import PARTY_MEMBER_STAGES, Member, Occupation, RelationKind, Stage
from orgs.models import Assignment, Industry, Organization, OrgStatus, Region, Role, Workplace
from services.models import OPEN_STATUSES, RequestStatus, ServiceCategory, ServiceRequest
from tests.factories import (
    MemberFactory,
    UserFactory,
    WorkplaceFactory,
    grant,
    make_branch,
    make_committee,
    make_root,
    reload,
)
from tests.services.factories import make_request

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")

ENDPOINTS = ("api-stats-coverage", "api-stats-coverage-trend", "api-stats-compliance", "api-stats-services", "api-stats-members")
FIGURES = (
    "key",
    "label",
    "workplaces",
    "org_covered",
    "work_covered",
    "uncovered",
    "org_rate",
    "work_rate",
    "gig_workers",
    "gig_workers_org_covered",
    "gig_workers_work_covered",
    "needs_own_branch",
    "within_reach",
    "gig_workers_within_reach",
    "reach_rate",
    "gig_reach_rate",
)
RAW = (
    "workplaces",
    "org_covered",
    "work_covered",
    "uncovered",
    "gig_workers",
    "gig_workers_org_covered",
    "gig_workers_work_covered",
)
#: the CSV columns BI tools rely on: renaming or reordering one is a breaking change
COVERAGE_COLUMNS = ["org_id", "group_by", "period", "as_of", "snapshot_id", *FIGURES]
TREND_COLUMNS = [
    *COVERAGE_COLUMNS,
    "members_full",
    "members_probationary",
    "members_mobile",
    "branches",
    "branches_behind",
    "compliance_expected",
    "compliance_met",
    "compliance_rate",
    "requests_received",
    "requests_open",
    "requests_overdue",
    "requests_closed",
    "satisfaction_avg",
]
COMPLIANCE_COLUMNS = [
    "org_id",
    "period",
    "period_kind",
    "level",
    "key",
    "label",
    "org_kind",
    "branches",
    "branches_behind",
    "expected",
    "met",
    "held",
    "rate",
    *[f"{k}_{p}" for k in ActivityKind.values for p in ("expected", "held", "met")],
]
MEMBER_COLUMNS = [
    "org_id",
    "level",
    "key",
    "label",
    "total",
    "party_members",
    *[f"stage_{s}" for s in Stage.values],
    *[f"relation_{r}" for r in RelationKind.values],
    *[f"occupation_{o}" for o in Occupation.values],
]
SERVICE_COLUMNS = [
    "org_id",
    "submitted_from",
    "submitted_to",
    "category",
    "category_name",
    "total",
    "open",
    "overdue",
    *[f"status_{s}" for s in RequestStatus.values],
]


# ---------------------------------------------------------------- helpers
def url(name: str) -> str:
    return reverse(name)


def api(client, name: str, **params):
    response = client.get(url(name), params)
    assert response.status_code == 200, response.content[:400]
    return response.json()


def csv_rows(response) -> tuple[list[str], list[dict]]:
    assert response.status_code == 200, response.content[:400]
    assert response["Content-Type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8")))
    return reader.fieldnames, list(reader)


def cell(value) -> str:
    """How a JSON value reads in the CSV."""
    return "" if value is None else str(value)


def figures_of(obj) -> dict:
    return {name: getattr(obj, name) for name in FIGURES}


def figures_in(row: dict) -> dict:
    return {name: row[name] for name in FIGURES}


def active(org) -> bool:
    return org.status == OrgStatus.ACTIVE


def in_subtree(wp: Workplace, org: Organization) -> bool:
    """Workplace.in_subtrees_q by hand: responsible org in the subtree, or an active covering org in it."""
    return wp.responsible_org.path.startswith(org.path) or any(
        active(o) and o.path.startswith(org.path) for o in wp.covering_orgs.all()
    )


def raw_coverage(workplaces) -> dict:
    """Coverage figures of `workplaces` from raw rows, with plain loops."""
    today = timezone.localdate()
    out = dict.fromkeys(RAW, 0)
    for wp in workplaces:
        org_covered = any(active(o) for o in wp.covering_orgs.all())
        assigned = any(
            a.started_on <= today and (a.ended_on is None or a.ended_on >= today) for a in Assignment.objects.filter(workplace=wp)
        )
        work_covered = org_covered or assigned
        out["workplaces"] += 1
        out["org_covered"] += org_covered
        out["work_covered"] += work_covered
        out["gig_workers"] += wp.gig_worker_count
        out["gig_workers_org_covered"] += wp.gig_worker_count if org_covered else 0
        out["gig_workers_work_covered"] += wp.gig_worker_count if work_covered else 0
    out["uncovered"] = out["workplaces"] - out["work_covered"]
    return out


def active_workplaces(org) -> list[Workplace]:
    return [wp for wp in Workplace.objects.all() if wp.is_active and in_subtree(wp, org)]


def queries(client, name: str, params: dict) -> tuple[int, list]:
    client.get(url(name), params)  # warm
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url(name), params)
    assert response.status_code == 200, response.content[:400]
    return len(ctx.captured_queries), response.json()


def held(org, kind, *moments):
    user = UserFactory()
    Activity.objects.bulk_create([Activity(org=org, kind=kind, starts_at=m, topic="t", created_by=user) for m in moments])


def at(year, month, day, hour=10):
    return dt.datetime(year, month, day, hour, tzinfo=TZ)


# ---------------------------------------------------------------- coverage, live
def test_coverage_by_child_equals_raw_rows_the_home_page_and_the_org_page(world, client):
    w = world
    client.force_login(w.district_user)
    rows = api(client, "api-stats-coverage")

    assert [r["key"] for r in rows] == [str(w.express.pk), str(w.food.pk)]
    for row in rows:
        assert (row["org_id"], row["group_by"], row["period"], row["as_of"], row["snapshot_id"]) == (
            w.root.pk,
            "child",
            None,
            "live",
            None,
        )
        child = Organization.objects.get(pk=row["key"])
        assert {name: row[name] for name in RAW} == raw_coverage(active_workplaces(child)), child.name
    # by hand (tests/conftest.py): express = a b c d e, food = c f g (h is closed)
    express, food = rows
    assert (express["workplaces"], express["org_covered"], express["work_covered"], express["gig_workers"]) == (5, 3, 4, 90)
    assert (food["workplaces"], food["org_covered"], food["work_covered"], food["gig_workers"]) == (3, 2, 3, 65)
    assert express["org_rate"] == 60.0 and food["work_rate"] == 100.0

    home = client.get(reverse("home")).context
    assert [figures_in(r) for r in rows] == [figures_of(f) for f in home["by_child"]]
    page = client.get(reverse("coverage:org_detail", args=[w.root.pk])).context
    assert [figures_in(r) for r in rows] == [figures_of(f) for f in page["by_child"]]

    # another org of the caller's scope: its own children, as on its page
    rows = api(client, "api-stats-coverage", org=w.express.pk)
    assert {r["org_id"] for r in rows} == {w.express.pk}
    page = client.get(reverse("coverage:org_detail", args=[w.express.pk])).context
    assert [figures_in(r) for r in rows] == [figures_of(f) for f in page["by_child"]]
    for row in rows:
        assert {name: row[name] for name in RAW} == raw_coverage(active_workplaces(Organization.objects.get(pk=row["key"])))


@pytest.mark.parametrize("group_by", ["street", "industry"])
def test_coverage_by_street_and_industry_equal_raw_rows_and_the_home_page(world, client, group_by):
    w = world
    client.force_login(w.district_user)
    rows = api(client, "api-stats-coverage", group_by=group_by)

    street_len = 2 * Region.steplen
    groups = defaultdict(list)
    for wp in active_workplaces(w.root):
        groups[wp.region.path[:street_len] if group_by == "street" else wp.industry].append(wp)
    assert sorted(r["key"] for r in rows) == sorted(groups)
    for row in rows:
        assert row["group_by"] == group_by and row["org_id"] == w.root.pk
        assert {name: row[name] for name in RAW} == raw_coverage(groups[row["key"]]), row["label"]
    if group_by == "street":
        labels = {r["key"]: r["label"] for r in rows}
        assert labels[w.east.path] == "东街道" and labels[w.district.path] == "区直属"  # wp_e is filed at district level
    home = client.get(reverse("home")).context
    assert [figures_in(r) for r in rows] == [figures_of(f) for f in home[f"by_{group_by}"]]


def test_coverage_csv_has_the_stable_header_and_the_same_numbers(world, client):
    w = world
    client.force_login(w.district_user)
    rows = api(client, "api-stats-coverage", group_by="street")
    for response in (
        client.get(url("api-stats-coverage"), {"group_by": "street", "format": "csv"}),
        client.get(url("api-stats-coverage"), {"group_by": "street"}, HTTP_ACCEPT="text/csv"),
    ):
        header, lines = csv_rows(response)
        assert header == COVERAGE_COLUMNS
        assert len(lines) == len(rows) > 1
        for line, row in zip(lines, rows, strict=True):
            assert line == {name: cell(row[name]) for name in COVERAGE_COLUMNS}
            assert int(line["workplaces"]) == row["workplaces"] and line["as_of"] == "live" and line["period"] == ""


def test_etag_and_last_modified_give_304_until_the_figures_change(world, client):
    w = world
    client.force_login(w.district_user)
    first = client.get(url("api-stats-coverage"), {"group_by": "industry"})
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]

    again = client.get(url("api-stats-coverage"), {"group_by": "industry"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    # another format is another body
    as_csv = client.get(url("api-stats-coverage"), {"group_by": "industry", "format": "csv"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert as_csv.status_code == 200

    WorkplaceFactory(responsible_org=w.express, region=w.west, industry=Industry.EXPRESS, gig_worker_count=3)
    changed = client.get(url("api-stats-coverage"), {"group_by": "industry"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    for name in ENDPOINTS:
        response = client.get(url(name))
        assert response.status_code == 200 and response["ETag"], name
        assert client.get(url(name), HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304, name


def test_a_rest_client_with_a_statistics_token_pulls_coverage_and_the_trend(world, client):
    """The issue's journey: a city dashboard's statistics-only token (the viewer's), JSON and CSV; the numbers are
    the pages'. The token reaches nothing but the statistics."""
    from orgs.actions.tokens import api_token_issue

    w = world
    _monthly_snapshots(w, 2)
    _token, plaintext = api_token_issue(
        actor=w.district_user,
        user=w.viewer,
        name="城市驾驶舱",
        scope="stats",
        expires_on=timezone.localdate() + dt.timedelta(days=30),
    )
    auth = {"HTTP_AUTHORIZATION": f"Token {plaintext}"}
    home_client = client.__class__()
    home_client.force_login(w.district_user)
    home = home_client.get(reverse("home")).context
    chart = home_client.get(reverse("coverage:snapshot_list"), {"org": w.root.pk}).context["chart"]

    for group_by in ("street", "industry"):
        response = client.get(url("api-stats-coverage"), {"group_by": group_by}, **auth)
        assert response.status_code == 200, response.content[:300]
        rows = response.json()
        assert [figures_in(r) for r in rows] == [figures_of(f) for f in home[f"by_{group_by}"]]
        header, lines = csv_rows(client.get(url("api-stats-coverage"), {"group_by": group_by, "format": "csv"}, **auth))
        assert header == COVERAGE_COLUMNS and [line["workplaces"] for line in lines] == [str(r["workplaces"]) for r in rows]
    trend = client.get(url("api-stats-coverage-trend"), **auth).json()
    assert [(r["period"], r["org_rate"], r["work_rate"]) for r in trend] == [
        (t["period"], t["values"][0], t["values"][1]) for t in chart["table"]
    ]
    header, lines = csv_rows(client.get(url("api-stats-coverage-trend"), HTTP_ACCEPT="text/csv", **auth))
    assert header == TREND_COLUMNS and [line["period"] for line in lines] == [r["period"] for r in trend]

    other = client.get(reverse("api-org-list"), **auth)
    assert other.status_code == 403 and other.json()["code"] == "token_scope"


# ---------------------------------------------------------------- coverage, as of a snapshot
def test_a_snapshot_period_answers_from_its_stored_rows(world, client):
    w = world
    snapshot = snapshot_take(snapshot_id=snapshot_request(actor=w.district_user, org=w.root).pk)
    month = snapshot.period_start.strftime("%Y-%m")
    # the live figures move on; the snapshot's do not
    WorkplaceFactory(responsible_org=w.express, region=w.west, industry=Industry.EXPRESS, gig_worker_count=7)
    client.force_login(w.district_user)

    for group_by, dimension in (("street", "region"), ("industry", "industry")):
        rows = api(client, "api-stats-coverage", group_by=group_by, period=month)
        stored = list(SnapshotRow.objects.filter(snapshot=snapshot, dimension=dimension).order_by("position"))
        assert [figures_in(r) for r in rows] == [figures_of(s) for s in stored]
        assert {(r["snapshot_id"], r["period"], r["as_of"], r["org_id"]) for r in rows} == {
            (snapshot.pk, month, timezone.localdate(snapshot.taken_at).isoformat(), w.root.pk)
        }
        live = api(client, "api-stats-coverage", group_by=group_by)
        assert sum(r["workplaces"] for r in live) == sum(r["workplaces"] for r in rows) + 1

    # the snapshot also keeps the committees' children; "child" answers the direct children only
    assert SnapshotRow.objects.filter(snapshot=snapshot, dimension="org").count() > 2
    rows = api(client, "api-stats-coverage", period=month)
    assert [r["key"] for r in rows] == [str(w.express.pk), str(w.food.pk)]
    stored = {s.key: s for s in SnapshotRow.objects.filter(snapshot=snapshot, dimension="org")}
    assert [figures_in(r) for r in rows] == [figures_of(stored[r["key"]]) for r in rows]

    # no snapshot of that month: 404 saying so
    previous = add_months(snapshot.period_start, -1).strftime("%Y-%m")
    response = client.get(url("api-stats-coverage"), {"period": previous})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found" and previous in body["message"] and w.root.name in body["message"]
    assert set(body) == {"code", "message", "fields"}


def test_snapshots_are_read_with_snapshot_view(world, client):
    """The reports page's rule: an instructor (stats.view, no snapshot.view) finds no snapshot; a viewer does."""
    w = world
    snapshot = snapshot_take(snapshot_id=snapshot_request(actor=w.district_user, org=w.express).pk)
    month = snapshot.period_start.strftime("%Y-%m")
    client.force_login(w.instructor)
    assert client.get(url("api-stats-coverage"), {"period": month}).status_code == 404
    client.force_login(w.viewer)
    rows = api(client, "api-stats-coverage", period=month, org=w.express.pk)
    assert rows and {r["snapshot_id"] for r in rows} == {snapshot.pk}


# ---------------------------------------------------------------- the trend
def _monthly_snapshots(w, months: int) -> list[CoverageSnapshot]:
    """The monthly run for each of the last `months` months (oldest first), one more workplace before each."""
    this_month = timezone.localdate().replace(day=1)
    taken = []
    for back in range(months - 1, -1, -1):
        WorkplaceFactory(responsible_org=w.food, region=w.east, industry=Industry.FOOD_DELIVERY, gig_worker_count=11)
        for pk in snapshots_monthly(today=add_months(this_month, -back)):
            taken.append(snapshot_take(snapshot_id=pk))
    return taken


def test_trend_over_monthly_snapshots_equals_the_rows_and_the_reports_page(world, client):
    w = world
    first, second = _monthly_snapshots(w, 2)
    assert first.period_start < second.period_start and first.org_id == second.org_id == w.root.pk
    snapshot_take(snapshot_id=snapshot_request(actor=w.district_user, org=w.root).pk)  # on demand: not in the trend
    client.force_login(w.district_user)

    rows = api(client, "api-stats-coverage-trend")
    periods = [first.period_start.strftime("%Y-%m"), second.period_start.strftime("%Y-%m")]
    assert [r["period"] for r in rows] == periods
    totals = [SnapshotRow.objects.get(snapshot=s, dimension="total") for s in (first, second)]
    for row, stored, snapshot in zip(rows, totals, (first, second), strict=True):
        assert figures_in(row) == figures_of(stored)
        assert (row["group_by"], row["snapshot_id"], row["org_id"]) == ("total", snapshot.pk, w.root.pk)
        assert (row["members_full"], row["compliance_rate"], row["requests_open"]) == (
            stored.members_full,
            stored.compliance_rate,
            stored.requests_open,
        )
    assert rows[1]["workplaces"] == rows[0]["workplaces"] + 1
    assert rows[0]["workplaces"] == raw_coverage(active_workplaces(w.root))["workplaces"] - 1

    # the reports page draws the same lines
    chart = client.get(reverse("coverage:snapshot_list"), {"org": w.root.pk}).context["chart"]
    assert [(t["period"], t["values"]) for t in chart["table"]] == [
        (r["period"], [r["org_rate"], r["work_rate"], r["reach_rate"], r["compliance_rate"]]) for r in rows
    ]

    assert [r["period"] for r in api(client, "api-stats-coverage-trend", **{"from": periods[1]})] == periods[1:]
    assert [r["period"] for r in api(client, "api-stats-coverage-trend", to=periods[0])] == periods[:1]

    by_industry = api(client, "api-stats-coverage-trend", group_by="industry")
    expected = [
        (s.snapshot.period_start.strftime("%Y-%m"), s.key, figures_of(s))
        for s in SnapshotRow.objects.filter(snapshot__in=[first, second], dimension="industry")
        .select_related("snapshot")
        .order_by("snapshot__period_start", "position")
    ]
    assert [(r["period"], r["key"], figures_in(r)) for r in by_industry] == expected
    assert {r["group_by"] for r in by_industry} == {"industry"}
    by_child = api(client, "api-stats-coverage-trend", group_by="child")
    assert [r["key"] for r in by_child] == [str(w.express.pk), str(w.food.pk)] * 2

    header, lines = csv_rows(client.get(url("api-stats-coverage-trend"), {"format": "csv"}))
    assert header == TREND_COLUMNS
    assert [line["period"] for line in lines] == periods
    assert [int(line["workplaces"]) for line in lines] == [r["workplaces"] for r in rows]


# ---------------------------------------------------------------- compliance
@pytest.fixture
def life(db):
    """A district with two committees and three branches founded long ago; two rules enabled (theme day monthly,
    Party lecture quarterly), both at least once per cycle."""
    old = dt.date(2020, 1, 1)
    root = make_root("生活区委", code="L-ROOT", established_on=old)
    c1 = make_committee("一行业党委", parent=root, code="L-C1", established_on=old)
    c2 = make_committee("二行业党委", parent=root, code="L-C2", established_on=old)
    a = make_branch("甲支部", parent=c1, code="L-A", established_on=old)
    b = make_branch("乙支部", parent=c1, code="L-B", established_on=old)
    c = make_branch("丙支部", parent=c2, code="L-C", established_on=old)
    ComplianceRule.objects.exclude(kind__in=[ActivityKind.THEME_DAY, ActivityKind.PARTY_LECTURE]).update(enabled=False)
    staff = UserFactory()
    grant(staff, root, Role.DISTRICT)
    quarter = period_containing("quarter", timezone.localdate()).previous()
    (y1, m1), (y2, m2), (y3, m3) = quarter.months
    held(a, ActivityKind.THEME_DAY, at(y1, m1, 5), at(y1, m1, 20), at(y2, m2, 5))  # two in one month make up nothing
    held(a, ActivityKind.PARTY_LECTURE, at(y3, m3, 28))
    held(b, ActivityKind.THEME_DAY, at(y1, m1, 9))
    before = add_months(quarter.start, -1)
    held(c, ActivityKind.THEME_DAY, at(before.year, before.month, 9))  # outside the quarter
    return {"root": reload(root), "c1": reload(c1), "c2": reload(c2), "branches": [a, b, c], "staff": staff, "quarter": quarter}


def raw_compliance(branches, quarter) -> dict:
    """Expected/held/met per kind for `branches` from raw Activity and ComplianceRule rows, with plain loops."""
    months = quarter.months
    out = defaultdict(lambda: {"expected": 0, "held": 0, "met": 0})
    for rule in ComplianceRule.objects.filter(enabled=True):
        cycles = [[m] for m in months] if rule.cycle == "month" else [months]
        for branch in branches:
            for cycle in cycles:
                n = 0
                for activity in Activity.objects.filter(org=branch, kind=rule.kind):
                    local = timezone.localtime(activity.starts_at, TZ)
                    n += (local.year, local.month) in cycle
                out[rule.kind]["expected"] += rule.min_count
                out[rule.kind]["held"] += n
                out[rule.kind]["met"] += min(n, rule.min_count)
    return out


def test_compliance_per_child_equals_raw_rows_and_the_board(life, client):
    root, c1, c2, quarter = life["root"], life["c1"], life["c2"], life["quarter"]
    a, b, c = life["branches"]
    client.force_login(life["staff"])
    rows = api(client, "api-stats-compliance", period=quarter.key)

    assert [(r["level"], r["key"]) for r in rows] == [("org", str(root.pk)), ("child", str(c1.pk)), ("child", str(c2.pk))]
    for row, branches in zip(rows, ([a, b, c], [a, b], [c]), strict=True):
        raw = raw_compliance(branches, quarter)
        assert (row["period"], row["period_kind"], row["org_id"]) == (quarter.key, "quarter", root.pk)
        for kind in (ActivityKind.THEME_DAY, ActivityKind.PARTY_LECTURE):
            assert {p: row[f"{kind}_{p}"] for p in ("expected", "held", "met")} == raw[kind], (row["label"], kind)
        assert row["expected"] == sum(v["expected"] for v in raw.values())
        assert row["met"] == sum(v["met"] for v in raw.values()) and row["held"] == sum(v["held"] for v in raw.values())
        assert row["branches"] == len(branches)
        assert row["general_meeting_expected"] == 0  # disabled rule
    # by hand: a 2 theme days of 3 + its lecture; b 1 of 3; c nothing inside the quarter
    assert (rows[1]["theme_day_expected"], rows[1]["theme_day_held"], rows[1]["theme_day_met"]) == (6, 4, 3)
    assert (rows[2]["expected"], rows[2]["held"], rows[2]["rate"]) == (4, 0, 0.0)

    board = client.get(
        reverse("activities:compliance_board"), {"org": root.pk, "period_type": "quarter", "period": quarter.key}
    ).context
    shown = [(str(org.pk), t.expected, t.met, t.held, t.branches, t.behind, t.rate) for org, t in board["page"].object_list]
    t = board["report"].root_totals
    assert [(r["key"], r["expected"], r["met"], r["held"], r["branches"], r["branches_behind"], r["rate"]) for r in rows] == [
        (str(root.pk), t.expected, t.met, t.held, t.branches, t.behind, t.rate),
        *shown,
    ]

    header, lines = csv_rows(client.get(url("api-stats-compliance"), {"period": quarter.key, "format": "csv"}))
    assert header == COMPLIANCE_COLUMNS
    assert [line["theme_day_held"] for line in lines] == [str(r["theme_day_held"]) for r in rows]

    # a month and a year are periods too; the default is this month
    month = "{}-{:02d}".format(*quarter.months[0])
    assert {r["period_kind"] for r in api(client, "api-stats-compliance", period=month)} == {"month"}
    assert {r["period_kind"] for r in api(client, "api-stats-compliance", period=str(quarter.start.year))} == {"year"}
    current = period_containing("month", timezone.localdate()).key
    assert {r["period"] for r in api(client, "api-stats-compliance")} == {current}


# ---------------------------------------------------------------- services
PHONE = "13912345678"


def _requests(w):
    now = timezone.now()
    make_request(org=w.jb, category_code="housing", phone=PHONE, submitted_at=now - dt.timedelta(days=2))
    make_request(org=w.jb, category_code="housing", submitted_at=now - dt.timedelta(days=3), due_at=now - dt.timedelta(hours=1))
    make_request(org=w.br_a, category_code="medical", status=RequestStatus.CLOSED, satisfaction=5)
    make_request(org=w.br_f, category_code="legal_aid", status=RequestStatus.REJECTED)
    make_request(
        org=w.br_f,
        category_code="housing",
        status=RequestStatus.IN_PROGRESS,
        submitted_at=now - dt.timedelta(days=40),
        due_at=now - dt.timedelta(days=30),
    )


def raw_requests(requests, category) -> dict:
    now = timezone.now()
    mine = [r for r in requests if r.category_id == category.pk]
    return {
        "total": len(mine),
        "open": sum(r.status in OPEN_STATUSES for r in mine),
        "overdue": sum(r.status in OPEN_STATUSES and r.due_at < now for r in mine),
        **{f"status_{s}": sum(r.status == s for r in mine) for s in RequestStatus.values},
    }


def test_services_by_category_and_status_equal_raw_rows(world, client):
    w = world
    _requests(w)
    client.force_login(w.district_user)
    rows = api(client, "api-stats-services")
    categories = list(ServiceCategory.objects.order_by("position", "id"))
    assert [r["category"] for r in rows] == [c.code for c in categories]  # every category, zero rows too
    everything = list(ServiceRequest.objects.all())
    for row, category in zip(rows, categories, strict=True):
        assert {k: row[k] for k in raw_requests(everything, category)} == raw_requests(everything, category), category.code
        assert row["org_id"] is None and row["category_name"] == category.name
    housing = next(r for r in rows if r["category"] == "housing")
    assert (housing["total"], housing["open"], housing["overdue"], housing["status_in_progress"]) == (3, 3, 2, 1)

    # one org's subtree and a date range
    express = api(client, "api-stats-services", org=w.express.pk)
    in_express = [r for r in everything if r.responsible_org.path.startswith(w.express.path)]
    for row, category in zip(express, categories, strict=True):
        assert {k: row[k] for k in raw_requests(in_express, category)} == raw_requests(in_express, category)
        assert row["org_id"] == w.express.pk
    since = timezone.localdate() - dt.timedelta(days=10)
    recent = api(client, "api-stats-services", submitted_from=since.isoformat())
    in_range = [r for r in everything if timezone.localdate(r.submitted_at) >= since]
    assert sum(r["total"] for r in recent) == len(in_range) == len(everything) - 1
    assert {r["submitted_from"] for r in recent} == {since.isoformat()}

    header, lines = csv_rows(client.get(url("api-stats-services"), {"format": "csv"}))
    assert header == SERVICE_COLUMNS
    assert [int(line["total"]) for line in lines] == [r["total"] for r in rows]


def test_services_count_for_the_statistics_role_and_never_show_a_phone(world, client):
    """stats.view is enough (aggregates only): a viewer without service_request.view gets the same counts."""
    w = world
    _requests(w)
    client.force_login(w.district_user)
    district = api(client, "api-stats-services")
    client.force_login(w.viewer)
    response = client.get(url("api-stats-services"))
    assert response.json() == district and sum(r["total"] for r in district) == 5
    as_csv = client.get(url("api-stats-services"), {"format": "csv"})
    for text in (response.content.decode(), as_csv.content.decode()):
        assert PHONE not in text and "13800138000" not in text and "张师傅" not in text


# ---------------------------------------------------------------- members
def raw_members(org) -> dict:
    members = [m for m in Member.objects.all() if m.org.path.startswith(org.path)]
    return {
        "total": len(members),
        "party_members": sum(m.stage in PARTY_MEMBER_STAGES for m in members),
        **{f"stage_{s}": sum(m.stage == s for m in members) for s in Stage.values},
        **{f"relation_{r}": sum(m.relation_kind == r for m in members) for r in RelationKind.values},
        **{f"occupation_{o}": sum(m.occupation == o for m in members) for o in Occupation.values},
    }


ID_NUMBER = "11010519491231002X"


def test_member_counts_equal_raw_rows_and_the_pages_and_show_no_personal_data(world, client):
    w = world
    MemberFactory(org=w.br_f, relation_kind=RelationKind.MOBILE)
    MemberFactory(org=w.br_a, relation_kind=RelationKind.POCKET, stage=Stage.PROBATIONARY)
    MemberFactory(org=w.express, stage=Stage.ACTIVIST, occupation=Occupation.RIDER)  # at the committee itself
    MemberFactory(
        org=w.jb,
        name="保密的名字",
        id_number_encrypted=encrypt(ID_NUMBER),
        id_number_index=blind_index(ID_NUMBER, purpose="id_number"),
        phone_encrypted=encrypt(PHONE),
    )
    client.force_login(w.district_user)
    response = client.get(url("api-stats-members"))
    rows = response.json()

    assert [(r["level"], r["key"]) for r in rows] == [
        ("org", str(w.root.pk)),
        ("child", str(w.express.pk)),
        ("child", str(w.food.pk)),
    ]
    for row in rows:
        org = Organization.objects.get(pk=row["key"])
        assert {k: row[k] for k in raw_members(org)} == raw_members(org), org.name
        assert row["org_id"] == w.root.pk
    assert (rows[0]["total"], rows[1]["total"], rows[2]["total"]) == (17, 14, 3)
    assert (rows[1]["relation_pocket"], rows[1]["stage_activist"], rows[2]["relation_mobile"]) == (1, 1, 1)

    home = client.get(reverse("home")).context["members"]
    assert (rows[0]["party_members"], rows[0]["stage_full"]) == (home["subtree_party"], home["subtree_full"])
    page = client.get(reverse("coverage:org_detail", args=[w.express.pk])).context["members"]
    assert (rows[1]["party_members"], rows[1]["stage_full"]) == (page["subtree_party"], page["subtree_full"])

    header, lines = csv_rows(client.get(url("api-stats-members"), {"format": "csv"}))
    assert header == MEMBER_COLUMNS
    assert [int(line["total"]) for line in lines] == [r["total"] for r in rows]
    texts = [response.content.decode(), "\n".join(",".join(line.values()) for line in lines)]
    for text in texts:
        assert ID_NUMBER not in text and PHONE not in text
        assert not any(m.name in text for m in Member.objects.all())


# ---------------------------------------------------------------- scope
def test_a_secretary_sees_only_their_branch(world, client):
    w = world
    _requests(w)
    MemberFactory(org=w.br_f)
    client.force_login(w.secretary)

    rows = api(client, "api-stats-coverage")
    assert {r["org_id"] for r in rows} == {w.jb.pk} and [r["key"] for r in rows] == [str(w.group.pk)]
    streets = api(client, "api-stats-coverage", group_by="street")
    assert sum(r["workplaces"] for r in streets) == 2  # wp_b and wp_c, the joint branch's
    assert sorted(r["key"] for r in streets) == sorted([w.east.path, w.west.path])

    members = api(client, "api-stats-members")
    assert [(r["level"], r["key"]) for r in members] == [("org", str(w.jb.pk)), ("child", str(w.group.pk))]
    assert members[0]["total"] == raw_members(w.jb)["total"] == 7

    services = api(client, "api-stats-services")
    assert sum(r["total"] for r in services) == 2  # the joint branch's two; none of br_a's or br_f's

    assert {r["org_id"] for r in api(client, "api-stats-compliance")} == {w.jb.pk}
    assert api(client, "api-stats-coverage-trend") == []

    shown = json.dumps([rows, streets, members, services], ensure_ascii=False)
    for other in (w.root, w.express, w.food, w.br_a, w.br_f):
        assert f'"{other.pk}"' not in shown and other.name not in shown

    for name in ENDPOINTS:
        for other in (w.root, w.food, w.br_f):
            response = client.get(url(name), {"org": other.pk})
            assert response.status_code == 400, (name, other.name)
            body = response.json()
            assert set(body) == {"code", "message", "fields"} and body["code"] == "invalid" and "org" in body["fields"]


def test_without_a_grant_the_statistics_are_403(world, client):
    client.force_login(world.nobody)
    for name in ENDPOINTS:
        response = client.get(url(name))
        assert response.status_code == 403, name
        assert response.json()["code"] == "permission_denied"


# ---------------------------------------------------------------- bad parameters
@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("api-stats-coverage", {"group_by": "region"}, "group_by"),
        ("api-stats-coverage", {"period": "2026-13"}, "period"),
        ("api-stats-coverage", {"period": "0001-01"}, "period"),
        ("api-stats-coverage", {"org": "999999"}, "org"),
        ("api-stats-coverage", {"org": "abc"}, "org"),
        ("api-stats-coverage-trend", {"group_by": "total"}, "group_by"),
        ("api-stats-coverage-trend", {"from": "2026-05", "to": "2026-04"}, "to"),
        ("api-stats-coverage-trend", {"from": "May"}, "from"),
        ("api-stats-compliance", {"period": "2026-Q5"}, "period"),
        ("api-stats-services", {"submitted_from": "0001-01-01"}, "submitted_from"),
        ("api-stats-services", {"submitted_from": "2026-05-02", "submitted_to": "2026-05-01"}, "submitted_to"),
        ("api-stats-members", {"org": "999999"}, "org"),
    ],
)
def test_a_bad_parameter_is_400_in_the_error_shape(world, client, name, params, field):
    client.force_login(world.district_user)
    response = client.get(url(name), params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == "invalid"
    assert list(body["fields"]) == [field] and body["fields"][field][0]


HOSTILE = ["1e999", "-1", "９", "99999999999999999999", "\x00", "2026-02-30", "9999-99", "2026-Q0", "[]", "2026-03-01T00:00"]
PARAMS = {
    "api-stats-coverage": ("org", "group_by", "period"),
    "api-stats-coverage-trend": ("org", "group_by", "from", "to"),
    "api-stats-compliance": ("org", "period"),
    "api-stats-services": ("org", "submitted_from", "submitted_to"),
    "api-stats-members": ("org",),
}


def test_hostile_parameters_are_400_never_500_and_blank_ones_are_ignored(world, client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "100000/min", "api_anon": "60/min"}}
    client.force_login(world.district_user)
    for name, keys in PARAMS.items():
        default = api(client, name)
        for key in keys:
            assert api(client, name, **{key: " "}) == default, (name, key)
            for value in HOSTILE:
                response = client.get(url(name), {key: value})
                assert response.status_code == 400, (name, key, value, response.status_code)
                assert list(response.json()["fields"]) == [key]


def test_messages_follow_accept_language(world, client):
    client.force_login(world.district_user)
    english = client.get(url("api-stats-coverage"), {"group_by": "region"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["fields"]["group_by"] == ["Not a valid choice; allowed: street, industry, child."]
    chinese = client.get(url("api-stats-coverage"), {"group_by": "region"}).json()
    assert chinese["fields"]["group_by"] == ["无效的选项，可填写：street, industry, child。"]
    rows = client.get(url("api-stats-coverage"), {"group_by": "street"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert {r["key"]: r["label"] for r in rows}[world.district.path] == "Directly under the district"


# ---------------------------------------------------------------- query counts
def _grow(w, n: int) -> None:
    """n more children of the root, each with a branch, a workplace, members, requests and activities."""
    user = UserFactory()
    for i in range(n):
        committee = make_committee(f"新增行业党委{i}", parent=reload(w.root), industry=Industry.RIDE_HAILING)
        workplace = WorkplaceFactory(responsible_org=committee, region=w.west, industry=Industry.RIDE_HAILING)
        branch = make_branch(f"新增支部{i}", parent=committee, workplaces=[workplace])
        for _ in range(3):
            MemberFactory(org=branch, workplace=workplace)
        make_request(org=branch, category_code="medical")
        Activity.objects.create(org=branch, kind=ActivityKind.THEME_DAY, starts_at=timezone.now(), topic="t", created_by=user)


@pytest.mark.parametrize(
    ("name", "params", "grows"),
    [
        ("api-stats-coverage", {}, True),
        ("api-stats-coverage", {"group_by": "street"}, False),
        ("api-stats-coverage", {"group_by": "industry"}, True),
        ("api-stats-coverage", {"period": "snapshot"}, True),
        ("api-stats-coverage-trend", {"group_by": "child"}, True),
        ("api-stats-compliance", {}, True),
        ("api-stats-services", {}, False),
        ("api-stats-members", {}, True),
    ],
)
def test_query_count_does_not_grow_with_the_data(world, client, name, params, grows):
    w = world
    client.force_login(w.district_user)
    this_month = timezone.localdate().replace(day=1)
    trend = name == "api-stats-coverage-trend"
    on_demand = params.get("period") == "snapshot"

    def take(size: str) -> None:
        if trend:  # one more month of the trend: two months ago, then last month
            for pk in snapshots_monthly(today=add_months(this_month, -1 if size == "small" else 0)):
                snapshot_take(snapshot_id=pk)
        elif on_demand:  # the latest snapshot of the month answers
            snapshot_take(snapshot_id=snapshot_request(actor=w.district_user, org=w.root).pk)

    if on_demand:
        params = {**params, "period": this_month.strftime("%Y-%m")}
    take("small")
    small, rows_small = queries(client, name, params)
    _grow(w, 4)
    take("large")
    large, rows_large = queries(client, name, params)
    assert small == large, f"{name} {params}: {small} queries, then {large}"
    if grows:
        assert len(rows_large) > len(rows_small), (len(rows_small), len(rows_large))
    else:
        assert json.dumps(rows_large) != json.dumps(rows_small)
