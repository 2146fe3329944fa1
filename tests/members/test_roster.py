"""Roster comparison (数据比对): figures against an independent count, a 10,000-row roster end to end with
progress, a real Celery worker on the filesystem transport, and nothing of the raw roster left behind."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
import threading
import time
from collections import Counter

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from openpyxl import Workbook

from core import crypto
from core.audit import SYSTEM
from core.exceptions import DomainError
from members.actions import imports as import_actions
from members.actions.imports import roster_comparison_run, roster_comparison_start
from members.actions.registry import ID_PURPOSE, member_create
from members.models import FindingKind, Member, RelationKind, RosterComparison, RosterFinding, Stage, UploadStatus
from members.tasks import compare_roster
from members.validators import id_check_char
from orgs.models import Role, Workplace
from portal.celery import app
from tests.factories import UserFactory, WorkplaceFactory, fresh, grant
from tests.test_celery_worker import TASK_TIMEOUT, broker

HEADERS = ["姓名", "身份证号", "站点/单位"]


def make_id(n: int) -> str:
    born = dt.date(1970, 1, 1) + dt.timedelta(days=n // 1000)
    first17 = f"320102{born:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_char(first17)


def bad_id(n: int) -> str:
    good = make_id(n)
    return good[:17] + ("0" if good[17] != "0" else "1")


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(headers)
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows) -> bytes:
    lines = [",".join(HEADERS)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ---------------------------------------------------------------- a generated scenario on the hand-built world
NOWHERE = {RelationKind.POCKET, RelationKind.LOST_CONTACT, RelationKind.MOBILE}


class Scenario:
    """Registry members and a roster generated together, with the expected figures counted independently."""

    def __init__(self, world, *, seed: int = 7, members: int = 240, strangers: int = 100):
        w = world
        rnd = random.Random(seed)
        self.world = w
        orgs = [w.root, w.express, w.br_a, w.jb, w.group, w.food, w.br_f]
        # Org chains (self included) and which active org covers which workplace, written out from the
        # fixture's drawing rather than computed from paths.
        chain = {
            w.root.pk: {"root"}, w.express.pk: {"root", "express"}, w.br_a.pk: {"root", "express", "br_a"},
            w.jb.pk: {"root", "express", "jb"}, w.group.pk: {"root", "express", "jb", "group"},
            w.food.pk: {"root", "food"}, w.br_f.pk: {"root", "food", "br_f"},
        }
        covers = {w.wp_a.pk: {"br_a"}, w.wp_b.pk: {"jb"}, w.wp_c.pk: {"jb"}, w.wp_f.pk: {"br_f"}, w.wp_h.pk: {"br_f"}}
        workplaces = [w.wp_a, w.wp_b, w.wp_c, w.wp_d, w.wp_e, w.wp_f, w.wp_g, w.wp_h]
        stations = [w.wp_a, w.wp_b, w.wp_c, w.wp_d, w.wp_f, w.wp_g, w.wp_h]  # wp_e is never on the roster
        unknown = ["未登记站点甲", "未登记站点乙", "未登记站点丙"]
        by_name = {wp.name: wp for wp in workplaces}
        relations = [RelationKind.HELD] * 6 + [RelationKind.POCKET, RelationKind.LOST_CONTACT, RelationKind.MOBILE]

        self.rows: list[tuple[str, str, str]] = []
        self.roster_names: list[str] = []
        self.roster_ids: list[str] = []
        self.findings: set[tuple[int, int | None, str]] = set()
        on_roster_pks: set[int] = set()
        registered_at: dict[int, int | None] = {}
        for i in range(members):
            org = rnd.choice(orgs)
            relation = rnd.choice(relations)
            registered = rnd.choice([None, *workplaces])
            extra = {}
            if relation == RelationKind.MOBILE:
                extra["home_org_name"] = "外省某党支部"
            if relation == RelationKind.LOST_CONTACT:
                extra["lost_contact_since"] = w.today - dt.timedelta(days=200)
            member = member_create(actor=SYSTEM, org=org, id_number=make_id(i), workplace=registered, name=f"登记党员{i:04d}",
                                   stage=Stage.FULL, relation_kind=relation, **extra)
            registered_at[member.pk] = registered.pk if registered else None
            if rnd.random() < 0.7:
                station = rnd.choice(stations + unknown)
                name = f"名单人员{i:04d}"  # the roster spells people differently from the registry
                self.rows.append((name, make_id(i), station if isinstance(station, str) else station.name))
                self.roster_names.append(name)
                self.roster_ids.append(make_id(i))
                on_roster_pks.add(member.pk)
                wp = by_name.get(self.rows[-1][2])
                if relation in NOWHERE:
                    self.findings.add((member.pk, wp.pk if wp else None, FindingKind.RELATION_NOWHERE))
                elif wp is not None and not (chain[org.pk] & covers.get(wp.pk, set())):
                    self.findings.add((member.pk, wp.pk, FindingKind.RELATION_ELSEWHERE))
        for j in range(strangers):
            station = rnd.choice(stations + unknown)
            name = f"名单路人{j:04d}"
            self.rows.append((name, make_id(50_000 + j), station if isinstance(station, str) else station.name))
            self.roster_names.append(name)
            self.roster_ids.append(make_id(50_000 + j))
        bad = [("名单坏号甲", bad_id(1), w.wp_a.name), ("名单坏号乙", bad_id(2), w.wp_b.name), ("名单坏号丙", "12345", "未登记站点甲"),
               ("名单无站点甲", make_id(60_001), ""), ("名单无站点乙", make_id(60_002), "  ")]
        self.rows.extend(bad)
        self.roster_names.extend(r[0] for r in bad)
        self.roster_ids.extend(r[1] for r in bad)
        rnd.shuffle(self.rows)

        station_names = {r[2].strip() for r in self.rows if r[2].strip()}
        roster_wps = {by_name[n].pk for n in station_names if n in by_name}
        # Members registered at a roster workplace who are not on the roster: generated ones, plus the
        # fixture's 13 members (no ID number, so never on a roster): br_a 4 @a, jb 3 @b + 4 @c, br_f 2 @f.
        for pk, wp in registered_at.items():
            if wp in roster_wps and pk not in on_roster_pks:
                self.findings.add((pk, wp, FindingKind.NOT_ON_ROSTER))
        for wp in roster_wps:
            for member in Member.objects.filter(workplace_id=wp, id_number_index__isnull=True):
                self.findings.add((member.pk, wp, FindingKind.NOT_ON_ROSTER))
        fixture_members = {w.wp_a.pk: 4, w.wp_b.pk: 3, w.wp_c.pk: 4, w.wp_f.pk: 2}
        assert sum(1 for f in self.findings if f[2] == FindingKind.NOT_ON_ROSTER and registered_at.get(f[0], "fixture") == "fixture") \
            == sum(n for wp, n in fixture_members.items() if wp in roster_wps)

        def distinct(kind):
            return len({pk for pk, _wp, k in self.findings if k == kind})

        self.expected = {
            "total_rows": len(self.rows),
            "bad_rows": len(bad),
            "matched": len(on_roster_pks),
            "relation_elsewhere": distinct(FindingKind.RELATION_ELSEWHERE),
            "relation_nowhere": distinct(FindingKind.RELATION_NOWHERE),
            "not_on_roster": distinct(FindingKind.NOT_ON_ROSTER),
        }
        self.unknown = sorted(station_names - set(by_name))
        self.headcount = {by_name[n].pk: c for n, c in Counter(r[2].strip() for r in self.rows).items() if n in by_name}


def figures(comparison: RosterComparison) -> dict:
    return {key: getattr(comparison, key) for key in
            ("total_rows", "bad_rows", "matched", "relation_elsewhere", "relation_nowhere", "not_on_roster")}


def start(world, content: bytes, filename: str = "roster.xlsx", actor=None, org=None) -> RosterComparison:
    return roster_comparison_start(actor=fresh(actor or world.district_user), org=org or world.root, platform="某快递平台",
                                   filename=filename, data=content)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_comparison_figures_equal_an_independent_count(world, fmt, django_capture_on_commit_callbacks):
    scenario = Scenario(world)
    content = xlsx_bytes(scenario.rows) if fmt == "xlsx" else csv_bytes(scenario.rows)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        comparison = start(world, content, filename=f"roster.{fmt}")
    assert len(callbacks) == 1  # enqueued on commit, with the id only
    assert comparison.status == UploadStatus.PENDING and comparison.upload_encrypted

    roster_comparison_run(comparison_id=comparison.pk)  # the task body, synchronously

    comparison.refresh_from_db()
    assert comparison.status == UploadStatus.DONE and comparison.progress == 100
    assert figures(comparison) == scenario.expected
    assert sorted(comparison.unknown_workplaces) == scenario.unknown
    found = set(RosterFinding.objects.filter(comparison=comparison).values_list("member_id", "workplace_id", "kind"))
    assert found == scenario.findings
    # Headcounts are proposed, not written: the workplaces keep theirs until someone confirms.
    before = dict(Workplace.objects.filter(pk__in=scenario.headcount).values_list("pk", "gig_worker_count"))
    assert dict(comparison.headcounts.values_list("workplace_id", "proposed")) == scenario.headcount
    assert dict(comparison.headcounts.values_list("workplace_id", "current")) == before
    import_actions.roster_headcounts_apply(actor=fresh(world.district_user), comparison=comparison)
    headcounts = dict(Workplace.objects.filter(pk__in=scenario.headcount).values_list("pk", "gig_worker_count"))
    assert headcounts == scenario.headcount
    assert comparison.error == ""


def test_rerunning_a_finished_comparison_does_nothing_and_a_redelivered_one_restarts(world):
    scenario = Scenario(world, members=60, strangers=20)
    comparison = start(world, xlsx_bytes(scenario.rows))
    # A delivery that died half-way: status running, stale findings left behind.
    RosterComparison.objects.filter(pk=comparison.pk).update(status=UploadStatus.RUNNING, progress=40)
    stale = Member.objects.filter(id_number_index__isnull=True).first()
    RosterFinding.objects.create(comparison=comparison, member=stale, kind=FindingKind.RELATION_ELSEWHERE)
    compare_roster(comparison.pk)  # the task, called in-process
    comparison.refresh_from_db()
    assert figures(comparison) == scenario.expected
    found = set(RosterFinding.objects.filter(comparison=comparison).values_list("member_id", "workplace_id", "kind"))
    assert found == scenario.findings  # the stale row is gone
    ids_before = set(RosterFinding.objects.filter(comparison=comparison).values_list("pk", flat=True))
    finished_at = comparison.finished_at
    compare_roster(comparison.pk)
    comparison.refresh_from_db()
    assert comparison.finished_at == finished_at
    assert set(RosterFinding.objects.filter(comparison=comparison).values_list("pk", flat=True)) == ids_before


def test_upload_is_emptied_and_no_roster_name_or_id_remains_anywhere(world):
    scenario = Scenario(world)
    comparison = start(world, xlsx_bytes(scenario.rows))
    roster_comparison_run(comparison_id=comparison.pk)
    comparison.refresh_from_db()
    assert comparison.upload_encrypted == ""
    stranger_indexes = [crypto.blind_index(make_id(50_000 + j), purpose=ID_PURPOSE) for j in range(100)]
    needles = scenario.roster_names + scenario.roster_ids + stranger_indexes
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names come from introspection
            blob = "\n".join(str(value) for row in cursor.fetchall() for value in row)
            leaked = [n for n in needles if n in blob]
            assert leaked == [], f"{table} holds roster data: {leaked[:3]}"


def test_unreadable_upload_is_refused_at_the_door(world):
    with pytest.raises(DomainError, match="缺少必需的列"):
        start(world, xlsx_bytes([("某人", make_id(1))], headers=["姓名", "身份证号"]))
    with pytest.raises(DomainError, match="仅支持"):
        start(world, b"a,b\n", filename="roster.txt")
    assert not RosterComparison.objects.exists()


def test_headcounts_the_uploader_may_not_change_are_proposed_but_cannot_be_confirmed_by_them(client, world):
    # The uploader may compare (roster.add) but not edit workplaces: the proposal is shown without a
    # confirm button, and confirming anyway changes nothing. (Before: the task skipped and counted them.)
    user = UserFactory(username="roster-only")
    grant(user, world.jb, Role.SECRETARY)
    from orgs import permissions

    original = permissions.ROLE_ACTIONS[Role.SECRETARY]
    permissions.ROLE_ACTIONS[Role.SECRETARY] = original - {"workplace.change"}
    try:
        comparison = start(world, xlsx_bytes([("名单某甲", make_id(70_001), world.wp_b.name)]), actor=user, org=world.jb)
        roster_comparison_run(comparison_id=comparison.pk)
        client.force_login(user)
        page = client.get(reverse("members:roster_detail", args=[comparison.pk])).content.decode()
        assert "data-confirm-headcounts" not in page and "只有有权修改这些单位信息的用户" in page
        with pytest.raises(DomainError, match="不在您可修改的范围内"):
            import_actions.roster_headcounts_apply(actor=fresh(user), comparison=comparison)
    finally:
        permissions.ROLE_ACTIONS[Role.SECRETARY] = original
    comparison.refresh_from_db()
    assert comparison.status == UploadStatus.DONE and comparison.headcounts_applied_at is None
    assert comparison.error == ""
    assert Workplace.objects.get(pk=world.wp_b.pk).gig_worker_count == 20  # unchanged


def test_findings_list_only_members_the_user_may_see_and_other_orgs_comparisons_are_404(client, world):
    pocket = member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(80_001), name="美团口袋党员", stage=Stage.FULL,
                           relation_kind=RelationKind.POCKET)
    own = member_create(actor=SYSTEM, org=world.jb, id_number=make_id(80_002), name="联合支部口袋党员", stage=Stage.FULL,
                        relation_kind=RelationKind.POCKET)
    rows = [("名单某乙", make_id(80_001), world.wp_b.name), ("名单某丙", make_id(80_002), world.wp_b.name)]
    comparison = start(world, xlsx_bytes(rows), actor=world.secretary, org=world.jb)
    roster_comparison_run(comparison_id=comparison.pk)
    client.force_login(world.secretary)
    page = client.get(reverse("members:roster_detail", args=[comparison.pk])).content.decode()
    assert own.name in page and pocket.name not in page
    # Out-of-scope members are neither listed nor counted, not even as "hidden" (that was an oracle).
    assert "另有" not in page and "查看范围以外的党员" not in page

    other = start(world, xlsx_bytes(rows), org=world.food)
    for name in ("members:roster_detail", "members:roster_progress"):
        assert client.get(reverse(name, args=[other.pk])).status_code == 404
    listed = client.get(reverse("members:roster_list")).context["page"].object_list
    assert [c.pk for c in listed] == [comparison.pk]


def test_pages_show_progress_polled_every_two_seconds_until_done(client, world):
    comparison = start(world, xlsx_bytes([("名单某丁", make_id(90_001), world.wp_a.name)]))
    client.force_login(world.district_user)
    page = client.get(reverse("members:roster_detail", args=[comparison.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page and reverse("members:roster_progress", args=[comparison.pk]) in page
    partial = client.get(reverse("members:roster_progress", args=[comparison.pk]), headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in partial.content.decode() and "HX-Refresh" not in partial
    roster_comparison_run(comparison_id=comparison.pk)
    partial = client.get(reverse("members:roster_progress", args=[comparison.pk]), headers={"HX-Request": "true"})
    assert "every 2s" not in partial.content.decode() and partial["HX-Refresh"] == "true"
    assert client.get(reverse("members:roster_list")).status_code == 200
    assert client.get(reverse("members:roster_start")).status_code == 200


def test_a_failed_task_marks_the_comparison_failed(world):
    comparison = start(world, xlsx_bytes([("名单某戊", make_id(90_002), world.wp_a.name)]))
    compare_roster.on_failure(RuntimeError("boom"), "task-id", (comparison.pk,), {}, None)
    comparison.refresh_from_db()
    assert comparison.status == UploadStatus.FAILED and comparison.upload_encrypted == "" and comparison.error


# ---------------------------------------------------------------- 10,000 rows end to end
@pytest.mark.timeout(240)
def test_ten_thousand_row_roster_end_to_end_with_progress(client, world, monkeypatch, django_capture_on_commit_callbacks):
    rnd = random.Random(10_000)
    stations = [WorkplaceFactory(name=f"大站点{i:02d}", responsible_org=world.express, gig_worker_count=0) for i in range(40)]
    registered = 1000
    members = []
    for i in range(registered):
        relation = rnd.choice([RelationKind.HELD] * 8 + [RelationKind.POCKET])
        members.append(member_create(actor=SYSTEM, org=world.br_a, id_number=make_id(i), name=f"登记党员{i:05d}", stage=Stage.FULL,
                                     workplace=stations[i % 40], relation_kind=relation))
    rows = []
    for i in range(10_000):
        person = i if i < 900 else 100_000 + i  # 900 of the registered members are on the roster
        rows.append((f"名单人员{i:05d}", make_id(person), rnd.choice(stations).name if i % 97 else "新开站点"))
    content = xlsx_bytes(rows)

    seen: list[int] = []
    real_set_progress = import_actions._set_progress

    def record(comparison_id, progress):
        seen.append(progress)
        real_set_progress(comparison_id, progress)

    monkeypatch.setattr(import_actions, "_set_progress", record)
    client.force_login(world.district_user)
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("members:roster_start"), {
            "org": world.root.pk, "platform": "某平台", "file": SimpleUploadedFile("roster.xlsx", content),
        })
    assert response.status_code == 302, response.content.decode()[:1500]
    assert len(callbacks) == 1
    comparison = RosterComparison.objects.get()
    compare_roster(comparison.pk)
    progress = client.get(reverse("members:roster_progress", args=[comparison.pk]), headers={"HX-Request": "true"})
    elapsed = time.perf_counter() - started
    print(f"\n10,000-row roster: upload + comparison + progress poll in {elapsed:.1f} s")

    assert progress["HX-Refresh"] == "true" and 'data-progress="100"' in progress.content.decode()
    assert seen == sorted(seen) and len(seen) >= 5 and seen[-1] >= 80
    comparison.refresh_from_db()
    # Independent count.
    on_roster = members[:900]
    expected_nowhere = sum(1 for m in on_roster if m.relation_kind == RelationKind.POCKET)
    expected_elsewhere = len(on_roster) - expected_nowhere - sum(
        1 for i, m in enumerate(on_roster) if m.relation_kind != RelationKind.POCKET and rows[i][2] == "新开站点"
    )  # br_a covers none of the big stations; members at the unknown station cannot be placed
    assert figures(comparison) == {
        "total_rows": 10_000, "bad_rows": 0, "matched": 900,
        "relation_elsewhere": expected_elsewhere, "relation_nowhere": expected_nowhere, "not_on_roster": 100,
    }
    assert comparison.unknown_workplaces == ["新开站点"]
    counts = Counter(r[2] for r in rows)
    page = client.get(reverse("members:roster_detail", args=[comparison.pk])).content.decode()
    assert f'data-matched>{900}<' in page
    assert "data-confirm-headcounts" in page
    assert all(w.gig_worker_count == 0 for w in Workplace.objects.filter(pk__in=[s.pk for s in stations]))  # proposed only
    client.post(reverse("members:roster_headcounts_confirm", args=[comparison.pk]))
    assert {w.name: w.gig_worker_count for w in Workplace.objects.filter(pk__in=[s.pk for s in stations])} == {
        s.name: counts[s.name] for s in stations
    }
    assert elapsed < 60


# ---------------------------------------------------------------- a real worker on the filesystem transport
class NamedTaskWatcher:
    """Collects `task_postrun` from the worker thread, by task name (delay_on_commit returns no id)."""

    def __init__(self) -> None:
        self._done: dict[str, str] = {}
        self._cond = threading.Condition()

    def __call__(self, sender=None, task_id=None, state=None, **kwargs) -> None:
        with self._cond:
            self._done[getattr(sender, "name", "")] = state
            self._cond.notify_all()

    def wait(self, name: str, timeout: float) -> str:
        with self._cond:
            if not self._cond.wait_for(lambda: name in self._done, timeout=timeout):
                pytest.fail(f"the worker did not finish {name} within {timeout}s")
            return self._done[name]


@contextlib.contextmanager
def filesystem_worker(tmp_path):
    queue = tmp_path / "queue"
    for folder in ("queue", "processed", "control"):
        (tmp_path / folder).mkdir()
    options = {
        "data_folder_in": str(queue), "data_folder_out": str(queue), "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"), "store_processed": False, "polling_interval": 0.1,
    }
    with broker("filesystem://", options), start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield


@pytest.fixture
def seeded_rules(transactional_db):
    """Transactional tests flush tables after themselves, rule rows seeded by data migrations included:
    seed them again (the seeds are idempotent get_or_create)."""
    from tests.conftest import reseed_data_migrations

    reseed_data_migrations()


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_comparison_on_the_filesystem_transport(tmp_path, seeded_rules, world):
    scenario = Scenario(world, members=40, strangers=20)
    watcher = NamedTaskWatcher()
    signals.task_postrun.connect(watcher, weak=False)
    try:
        with filesystem_worker(tmp_path):
            comparison = start(world, xlsx_bytes(scenario.rows))  # enqueued on commit
            # SQLite's in-memory test database: do not query while the worker's connection is busy.
            assert watcher.wait("members.compare_roster", TASK_TIMEOUT) == "SUCCESS"
    finally:
        signals.task_postrun.disconnect(watcher)
    comparison.refresh_from_db()
    assert comparison.status == UploadStatus.DONE and comparison.progress == 100
    assert comparison.upload_encrypted == ""
    assert figures(comparison) == scenario.expected
    found = set(RosterFinding.objects.filter(comparison=comparison).values_list("member_id", "workplace_id", "kind"))
    assert found == scenario.findings
