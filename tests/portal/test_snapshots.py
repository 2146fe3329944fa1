"""Coverage snapshots (portal/actions/snapshots.py, portal/selectors/snapshots.py, portal/snapshot_report.py):
figures equal the live coverage selectors, hand-computed member/compliance/service figures, idempotent
monthly runs and takes, failures, permissions, the in-app notice, the .xlsx report, bounded queries."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from activities.models import Activity, ActivityKind, ComplianceRule
from core.exceptions import ConflictError, DomainError
from core.models import OutboxMessage
from coverage.actions.snapshots import snapshot_request, snapshot_take, snapshots_monthly
from coverage.models import CoverageSnapshot, SnapshotDimension, SnapshotKind, SnapshotRow, SnapshotStatus
from coverage.selectors.figures import coverage_by_child, coverage_by_industry, coverage_by_street, coverage_for_org
from coverage.selectors.snapshots import COVERAGE_FIELDS, snapshot_rows
from members.models import RelationKind, Stage
from notifications.models import Notification, NotificationKind
from orgs.models import Industry, Organization, Role
from services.models import RequestStatus
from tests.factories import (
    MemberFactory,
    UserFactory,
    WorkplaceFactory,
    fresh,
    grant,
    make_branch,
    make_committee,
    make_region,
    make_root,
    reload,
)
from tests.services.factories import make_request

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


def held(org, kind, *moments):
    user = UserFactory()
    Activity.objects.bulk_create([Activity(org=org, kind=kind, starts_at=m, topic="t", created_by=user) for m in moments])


def rows_of(snapshot, dimension) -> dict[str, SnapshotRow]:
    return {row.key: row for row in snapshot_rows(snapshot)[dimension]}


def assert_coverage_equal(row: SnapshotRow, figures) -> None:
    assert {name: getattr(row, name) for name in COVERAGE_FIELDS} == {name: getattr(figures, name) for name in COVERAGE_FIELDS}, row.label


def take_on_demand(actor, org) -> CoverageSnapshot:
    snapshot = snapshot_request(actor=actor, org=org)
    return snapshot_take(snapshot_id=snapshot.pk)


# ---------------------------------------------------------------- equals the live figures
def test_snapshot_equals_live_coverage_figures(world):
    w = world
    MemberFactory(org=w.br_a, workplace=w.wp_a, relation_kind=RelationKind.MOBILE)
    held(w.br_a, ActivityKind.THEME_DAY, timezone.now() - dt.timedelta(minutes=5))
    make_request(org=w.jb, workplace=w.wp_b, region=w.east)
    make_request(org=w.br_f, status=RequestStatus.CLOSED, satisfaction=5)

    snapshot = take_on_demand(w.district_user, w.root)
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.READY and snapshot.taken_at is not None and snapshot.report
    user = fresh(w.district_user)

    total = rows_of(snapshot, SnapshotDimension.TOTAL)[str(w.root.pk)]
    assert_coverage_equal(total, coverage_for_org(user=user, org=w.root))
    assert (total.workplaces, total.org_covered, total.work_covered) == (7, 4, 6)

    orgs = rows_of(snapshot, SnapshotDimension.ORG)
    # children and grandchildren, active, no Party groups, in tree order
    assert list(orgs) == [str(o.pk) for o in (w.express, w.br_a, w.jb, w.food, w.br_f)]
    live = {f.key: f for parent in (w.root, w.express, w.food) for f in coverage_by_child(user=user, org=parent)}
    for key, row in orgs.items():
        assert_coverage_equal(row, live[key])

    streets = rows_of(snapshot, SnapshotDimension.REGION)
    live_streets = coverage_by_street(user=user, org=w.root)
    assert {f.key for f in live_streets} <= set(streets)
    for figures in live_streets:
        assert_coverage_equal(streets[figures.key], figures)
        assert streets[figures.key].label == figures.label

    industries = rows_of(snapshot, SnapshotDimension.INDUSTRY)
    live_industries = coverage_by_industry(user=user, org=w.root)
    assert set(industries) == {f.key for f in live_industries}
    for figures in live_industries:
        assert_coverage_equal(industries[figures.key], figures)

    # members with their relation here, and the mobile one
    assert (total.members_full, total.members_probationary, total.members_mobile) == (10, 3, 1)
    assert (orgs[str(w.jb.pk)].members_full, orgs[str(w.jb.pk)].members_probationary) == (5, 2)
    assert total.requests_received == 2 and total.requests_open == 1


def test_snapshot_of_a_committee_covers_its_subtree_only(world):
    w = world
    snapshot = take_on_demand(w.district_user, w.express)
    total = rows_of(snapshot, SnapshotDimension.TOTAL)[str(w.express.pk)]
    assert_coverage_equal(total, coverage_for_org(user=fresh(w.district_user), org=w.express))
    assert list(rows_of(snapshot, SnapshotDimension.ORG)) == [str(w.br_a.pk), str(w.jb.pk)]
    assert total.members_full == 8


def test_snapshot_of_a_branch_has_no_org_rows_and_a_valid_report(world):
    snapshot = take_on_demand(world.district_user, world.jb)
    snapshot.refresh_from_db()
    assert snapshot_rows(snapshot)[SnapshotDimension.ORG] == []  # its Party group is not an org row
    total = rows_of(snapshot, SnapshotDimension.TOTAL)[str(world.jb.pk)]
    assert (total.workplaces, total.members_full, total.members_probationary) == (2, 5, 2)
    assert load_workbook(io.BytesIO(bytes(snapshot.report)))["总览"].max_row == 3


# ---------------------------------------------------------------- hand-computed figures
@pytest.fixture
def small(db):
    """root → committee C → branch A (street S1, express), branch B (street S2, food); one workplace each."""
    district = make_region("示范区", code="D1")
    s1 = make_region("一街道", parent=district, code="D1S1")
    s1_c = make_region("一社区", parent=s1, code="D1S1C")
    s2 = make_region("二街道", parent=district, code="D1S2")
    root = make_root("区委", code="R", region=district, established_on=dt.date(2020, 1, 1))
    c = make_committee("行业党委", parent=root, code="C", established_on=dt.date(2020, 1, 1))
    wa = WorkplaceFactory(name="甲站", responsible_org=c, region=s1_c, industry=Industry.EXPRESS)
    wb = WorkplaceFactory(name="乙站", responsible_org=c, region=s2, industry=Industry.FOOD_DELIVERY)
    a = make_branch("甲支部", parent=c, code="A", workplaces=[wa], region=s1, industry=Industry.EXPRESS,
                    established_on=dt.date(2020, 1, 1))
    b = make_branch("乙支部", parent=c, code="B", workplaces=[wb], region=s2, industry=Industry.FOOD_DELIVERY,
                    established_on=dt.date(2020, 1, 1))
    district_user = UserFactory(username="d")
    grant(district_user, root, Role.DISTRICT)
    return {"root": reload(root), "c": reload(c), "a": reload(a), "b": reload(b), "wa": wa, "wb": wb,
            "s1": s1, "s1_c": s1_c, "s2": s2, "district_user": district_user}


def test_member_compliance_and_service_figures_by_hand(small):
    t = small
    a, b, wa, wb = t["a"], t["b"], t["wa"], t["wb"]
    # members: A 2 full + 1 probationary + 1 mobile @wa, 1 full without workplace; B 1 full + 1 pocket @wb, 1 applicant
    MemberFactory.create_batch(2, org=a, workplace=wa)
    MemberFactory(org=a, workplace=wa, stage=Stage.PROBATIONARY)
    MemberFactory(org=a, workplace=wa, relation_kind=RelationKind.MOBILE)
    MemberFactory(org=a, workplace=None)
    MemberFactory(org=b, workplace=wb)
    MemberFactory(org=b, workplace=wb, relation_kind=RelationKind.POCKET)
    MemberFactory(org=b, workplace=wb, stage=Stage.APPLICANT)
    # compliance: only the monthly theme day; A held it in November, B did not (October does not count)
    ComplianceRule.objects.exclude(kind=ActivityKind.THEME_DAY).update(enabled=False)
    held(a, ActivityKind.THEME_DAY, at(2026, 11, 12))
    held(b, ActivityKind.THEME_DAY, at(2026, 10, 31, 23, 30))
    # requests (the snapshot of November is taken on 1 December 02:30 local)
    s1, s1_c, s2 = t["s1"], t["s1_c"], t["s2"]
    make_request(org=a, region=s1_c, workplace=wa, submitted_at=at(2026, 11, 5), status=RequestStatus.CLOSED,
                 closed_at=at(2026, 11, 10), satisfaction=4)  # received, closed, rated
    make_request(org=a, region=s1, workplace=wa, submitted_at=at(2026, 11, 20), due_at=at(2026, 11, 25))  # open, overdue
    make_request(org=b, region=s2, submitted_at=at(2026, 10, 20), status=RequestStatus.CLOSED,
                 closed_at=at(2026, 11, 2), satisfaction=2)  # closed in the period, no workplace
    make_request(org=b, region=s2, workplace=wb, submitted_at=at(2026, 12, 1, 1, 0), due_at=at(2026, 12, 5))  # open
    make_request(org=a, region=s1, workplace=wa, submitted_at=at(2026, 10, 1), status=RequestStatus.CLOSED,
                 closed_at=at(2026, 10, 5), satisfaction=1)  # nothing to do with November
    make_request(org=b, workplace=wb, submitted_at=at(2026, 11, 30, 23, 30), status=RequestStatus.REJECTED)  # received

    [snapshot_id] = snapshots_monthly(today=dt.date(2026, 12, 1))
    snapshot = snapshot_take(snapshot_id=snapshot_id, now=at(2026, 12, 1, 2, 30))
    assert (snapshot.kind, snapshot.period_start, snapshot.period_end) == (SnapshotKind.MONTHLY, dt.date(2026, 11, 1), dt.date(2026, 11, 30))

    members = ("members_full", "members_probationary", "members_mobile")
    compliance = ("branches", "branches_behind", "compliance_expected", "compliance_met")
    service = ("requests_received", "requests_open", "requests_overdue", "requests_closed", "satisfaction_sum", "satisfaction_count")

    def figures(row, names):
        return tuple(getattr(row, n) for n in names)

    total = rows_of(snapshot, SnapshotDimension.TOTAL)[str(t["root"].pk)]
    assert figures(total, members) == (5, 1, 1)
    assert figures(total, compliance) == (2, 1, 2, 1)
    assert figures(total, service) == (3, 2, 1, 2, 6, 2)
    assert total.satisfaction_avg == 3.0 and total.compliance_rate == 50.0

    orgs = rows_of(snapshot, SnapshotDimension.ORG)
    assert list(orgs) == [str(t["c"].pk), str(a.pk), str(b.pk)]
    assert figures(orgs[str(t["c"].pk)], members + compliance + service) == figures(total, members + compliance + service)
    assert figures(orgs[str(a.pk)], members + compliance + service) == (3, 1, 1, 1, 0, 1, 1, 2, 1, 1, 1, 4, 1)
    assert figures(orgs[str(b.pk)], members + compliance + service) == (2, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 2, 1)

    streets = rows_of(snapshot, SnapshotDimension.REGION)
    assert set(streets) == {s1.path, s2.path}
    assert streets[s1.path].label == "一街道"
    assert figures(streets[s1.path], members + compliance + service) == (2, 1, 1, 1, 0, 1, 1, 2, 1, 1, 1, 4, 1)
    assert figures(streets[s2.path], members + compliance + service) == (2, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 2, 1)

    industries = rows_of(snapshot, SnapshotDimension.INDUSTRY)
    assert figures(industries[Industry.EXPRESS], members + compliance + service) == (2, 1, 1, 1, 0, 1, 1, 2, 1, 1, 1, 4, 1)
    assert figures(industries[Industry.FOOD_DELIVERY], members + compliance + service) == (2, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0)


def test_a_street_with_figures_but_no_workplaces_gets_its_own_row(small):
    t = small
    s3 = make_region("三街道", parent=Organization.objects.get(code="R").region, code="D1S3")
    make_request(org=t["a"], region=s3, submitted_at=timezone.now())
    snapshot = take_on_demand(t["district_user"], t["root"])
    row = rows_of(snapshot, SnapshotDimension.REGION)[s3.path]
    assert (row.label, row.workplaces, row.requests_received) == ("三街道", 0, 1)


# ---------------------------------------------------------------- the report
def test_report_is_a_workbook_with_the_snapshot_figures(world):
    w = world
    snapshot = take_on_demand(w.district_user, w.root)
    snapshot.refresh_from_db()
    wb = load_workbook(io.BytesIO(bytes(snapshot.report)))
    assert wb.sheetnames == ["总览", "按街道", "按行业"]
    ws = wb["总览"]
    headers = [c.value for c in ws[2]]
    assert headers[:4] == ["层级", "党组织", "应覆盖单位", "组织覆盖"]
    total_row = [c.value for c in ws[3]]
    assert total_row[1] == "区委两新工委" and total_row[2] == 7 and total_row[3] == 4
    rate_col = headers.index("组织覆盖率（%）")
    assert total_row[rate_col] == pytest.approx(57.1) and ws.cell(row=3, column=rate_col + 1).number_format == "0.0"
    assert [ws.cell(row=r, column=2).value for r in range(4, 9)] == ["快递行业党委", "顺丰站点党支部", "快递联合党支部",
                                                                      "外卖配送行业党委", "美团站点党支部"]
    industries = [row[0].value for row in wb["按行业"].iter_rows(min_row=3)]
    assert industries == ["快递", "外卖配送"]


def test_report_escapes_formulas_in_names(small):
    t = small
    Organization.objects.filter(pk=t["a"].pk).update(name="=HYPERLINK(\"x\")")
    snapshot = take_on_demand(t["district_user"], t["root"])
    snapshot.refresh_from_db()
    ws = load_workbook(io.BytesIO(bytes(snapshot.report)))["总览"]
    names = [ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)]
    assert "'=HYPERLINK(\"x\")" in names


# ---------------------------------------------------------------- idempotency and failures
def test_monthly_run_twice_makes_one_snapshot_per_top_org(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = snapshots_monthly(today=dt.date(2026, 12, 1))
    assert len(first) == 1 and len(callbacks) == 1
    second = snapshots_monthly(today=dt.date(2026, 12, 15))
    assert second == first  # not ready yet: scheduled again, nothing new created
    snapshot = CoverageSnapshot.objects.get(kind=SnapshotKind.MONTHLY)
    assert snapshot.org_id == world.root.pk and snapshot.requested_by is None
    assert (snapshot.period_start, snapshot.period_end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    snapshot_take(snapshot_id=first[0])
    with django_capture_on_commit_callbacks() as callbacks:
        assert snapshots_monthly(today=dt.date(2026, 12, 2)) == []  # a ready one is left alone
    assert callbacks == []
    assert len(snapshots_monthly(today=dt.date(2027, 1, 1))) == 1  # next month: a new one
    assert CoverageSnapshot.objects.filter(kind=SnapshotKind.MONTHLY).count() == 2


def test_take_twice_does_not_duplicate_rows_or_notices(world):
    w = world
    snapshot = snapshot_request(actor=w.district_user, org=w.root)
    snapshot_take(snapshot_id=snapshot.pk)
    rows = SnapshotRow.objects.filter(snapshot=snapshot).count()
    notices = Notification.objects.count()
    again = snapshot_take(snapshot_id=snapshot.pk)
    assert again.status == SnapshotStatus.READY
    assert SnapshotRow.objects.filter(snapshot=snapshot).count() == rows == 11
    assert Notification.objects.count() == notices
    assert snapshot_take(snapshot_id=999999) is None


def test_failed_take_is_marked_failed_and_a_retry_succeeds(world, monkeypatch, caplog):
    w = world
    snapshot = snapshot_request(actor=w.district_user, org=w.root)

    def broken(**kwargs):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr("coverage.actions.snapshots.build_report", broken)
    with pytest.raises(RuntimeError):
        snapshot_take(snapshot_id=snapshot.pk)
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.FAILED and "磁盘已满" in snapshot.error
    assert not SnapshotRow.objects.filter(snapshot=snapshot).exists()  # nothing half-written
    assert not Notification.objects.exists()
    assert any("failed" in r.getMessage() for r in caplog.records)

    monkeypatch.undo()
    snapshot_take(snapshot_id=snapshot.pk)
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.READY and snapshot.error == ""
    assert SnapshotRow.objects.filter(snapshot=snapshot).count() == 11


# ---------------------------------------------------------------- requests
def test_request_needs_snapshot_add_on_the_org(world):
    w = world
    for user in (w.secretary, w.viewer, w.instructor, w.nobody):
        with pytest.raises(DomainError):
            snapshot_request(actor=user, org=w.jb)
    food_staff = UserFactory()
    grant(food_staff, w.food, Role.DISTRICT)
    with pytest.raises(DomainError):
        snapshot_request(actor=food_staff, org=w.express)
    assert snapshot_request(actor=food_staff, org=w.food).org == w.food
    with pytest.raises(DomainError):
        snapshot_request(actor=w.district_user, org=w.br_dead)
    assert CoverageSnapshot.objects.count() == 1


def test_request_period_is_this_month_so_far_and_is_scheduled(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        snapshot = snapshot_request(actor=world.district_user, org=world.root)
    today = timezone.localdate()
    assert (snapshot.kind, snapshot.status) == (SnapshotKind.ON_DEMAND, SnapshotStatus.PENDING)
    assert (snapshot.period_start, snapshot.period_end) == (today.replace(day=1), today)
    assert snapshot.requested_by == world.district_user
    assert len(callbacks) == 1


def test_second_request_while_pending_is_a_conflict(world):
    w = world
    snapshot = snapshot_request(actor=w.district_user, org=w.root)
    with pytest.raises(ConflictError) as exc:
        snapshot_request(actor=w.district_user, org=w.root)
    assert "正在生成" in str(exc.value.message)
    snapshot_request(actor=w.district_user, org=w.express)  # another org is fine
    snapshot_take(snapshot_id=snapshot.pk)
    snapshot_request(actor=w.district_user, org=w.root)  # once ready, a new one may be taken
    assert CoverageSnapshot.objects.filter(org=w.root).count() == 2


def test_a_request_whose_task_was_lost_long_ago_does_not_block_a_new_one(world):
    w = world
    lost = snapshot_request(actor=w.district_user, org=w.root)
    # Delivered to the broker, then lost (a broker wiped): one still waiting in the outbox is not lost and keeps
    # blocking (tests/portal/test_outbox.py).
    OutboxMessage.objects.update(sent_at=timezone.now())
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2, minutes=1), tick=False):
        again = snapshot_request(actor=w.district_user, org=w.root)
    assert again.pk != lost.pk and again.status == SnapshotStatus.PENDING


# ---------------------------------------------------------------- the notice
def test_notice_goes_to_district_staff_and_viewers_not_to_secretaries(world):
    w = world
    express_staff = UserFactory()
    grant(express_staff, w.express, Role.DISTRICT)  # below the org: not told about the whole district
    requester = UserFactory()
    grant(requester, w.root, Role.DISTRICT)
    take_on_demand(requester, w.root)
    notices = Notification.objects.all()
    assert {n.user_id for n in notices} == {requester.pk, w.district_user.pk, w.viewer.pk}
    notice = notices.first()
    assert notice.kind == NotificationKind.REPORT
    assert notice.title.startswith("覆盖情况报表已生成：区委两新工委")
    snapshot = CoverageSnapshot.objects.get()
    assert notice.url == f"/reports/{snapshot.pk}/"

    take_on_demand(w.district_user, w.express)
    told = set(Notification.objects.filter(title__contains="快递行业党委").values_list("user_id", flat=True))
    assert told == {express_staff.pk, w.district_user.pk, w.viewer.pk, requester.pk}
    assert w.secretary.pk not in told and w.inactive.pk not in told


# ---------------------------------------------------------------- bounded queries
def _grow(world, n: int) -> None:
    w = world
    for i in range(n):
        wp = WorkplaceFactory(responsible_org=w.express, region=w.east, industry=Industry.EXPRESS)
        branch = make_branch(f"新支部{n}-{i}", parent=w.express, workplaces=[wp], region=w.east, industry=Industry.EXPRESS)
        MemberFactory.create_batch(2, org=branch, workplace=wp)
        make_request(org=branch, workplace=wp, region=w.east)
        held(branch, ActivityKind.THEME_DAY, timezone.now() - dt.timedelta(minutes=1))


def _count_take(world) -> int:
    snapshot = snapshot_request(actor=world.district_user, org=reload(world.root))
    with CaptureQueriesContext(connection) as ctx:
        snapshot_take(snapshot_id=snapshot.pk)
    assert CoverageSnapshot.objects.get(pk=snapshot.pk).status == SnapshotStatus.READY
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_branches_members_or_requests(world):
    _grow(world, 2)
    small_count = _count_take(world)
    _grow(world, 15)
    large_count = _count_take(world)
    assert small_count == large_count, f"{small_count} queries with few rows, {large_count} with many"
