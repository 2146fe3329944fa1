"""City-scale benchmark: the list pages, rendered through the whole stack, against the raw-SQL floor.

Builds (once) bench/coverage_bench.py's synthetic city in its own database, never the dev one, and adds what
the list pages need: activities for the compliance board (a few per branch in the current year), audit
entries, and service requests. Then it requests each page with django.test.Client, logged in as the
district staff user (a RoleGrant at the root, so every page covers the whole city), and records the median
time of --repeat runs, the response size and the number of SQL statements. Deep pages are reached by
following the page's own "next" link (`rel="next"`, or a 下一页/更早 link) --deep times, so the benchmark
works on keyset pages (`?cursor=`) and on the old `?page=N` pages alike.

Each page is compared with its floor: one hand-written SQL query returning the same page rows (the same
filter and scope, the same ORDER BY, LIMIT 51), deep pages continuing after the row where the page before
ended (a keyset condition). The floor returns rows; the page also renders them, runs the session and
permission queries and draws the filter form. Ratios, not absolute times, are what we record (shared, noisy
machines).

    .venv/bin/python bench/lists_bench.py --scale 1 --repeat 3                         # SQLite file in /tmp
    DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal_bench .venv/bin/python bench/lists_bench.py --scale 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

SCALES = {1: (2000, 20000, 100000), 3: (6000, 60000, 300000)}
PAGE_SIZE = 50  # the generic list views' page size (the floor's LIMIT is PAGE_SIZE + 1)
ACTIVITIES_PER_BRANCH = 6
REQUESTS_PER_BRANCH = 10
AUDIT_PER_SCALE = 200_000


def _database_url(scale: int) -> str:
    """DATABASE_URL if set (a PostgreSQL database is created when missing), else a SQLite file per scale."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{Path(tempfile.gettempdir()) / f'portal-lists-bench-s{scale}.sqlite3'}"
        os.environ["DATABASE_URL"] = url
    elif url.startswith(("postgres://", "postgresql://")):
        _create_pg_database(url)
    return url


def _create_pg_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", file=sys.stderr)


# ---------------------------------------------------------------- data the list pages need
def enrich(*, audit_rows: int, seed: int = 17) -> None:
    """Activities, service requests and audit entries, each once (a part already there is left alone)."""
    from django.utils import timezone

    from activities.models import Activity, ComplianceRule
    from core.models import AuditEntry, User
    from orgs.models import BRANCH_KINDS, Organization, Role, RoleGrant
    from services.models import OPEN_STATUSES, RequestStatus, ServiceCategory, ServiceRequest

    rng = random.Random(seed)
    user, _created = User.objects.get_or_create(username="bench-district")
    root = Organization.objects.get(depth=1)
    RoleGrant.objects.get_or_create(user=user, org=root, role=Role.DISTRICT)
    branches = list(Organization.objects.filter(kind__in=BRANCH_KINDS).order_by("pk").only("pk", "path", "name"))
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    t0 = time.perf_counter()

    if not Activity.objects.filter(topic="基准活动").exists():
        kinds = sorted(set(ComplianceRule.objects.filter(enabled=True).values_list("kind", flat=True)))
        rows = []
        for b in branches:
            for k in range(ACTIVITIES_PER_BRANCH):
                month = rng.randint(1, today.month)
                day = rng.randint(1, today.day if month == today.month else 28)
                starts = dt.datetime(today.year, month, day, 9 + k, 0, tzinfo=tz)  # distinct per org and kind
                rows.append(Activity(kind=kinds[(b.pk + k) % len(kinds)], org_id=b.pk, starts_at=starts,
                                     ends_at=starts + dt.timedelta(hours=1), topic="基准活动", place="基准会议室",
                                     created_by=user))
        Activity.objects.bulk_create(rows, batch_size=5000)
        print(f"added {len(rows)} activities", file=sys.stderr)

    if not ServiceRequest.objects.filter(tracking_code__startswith="L").exists():
        category = ServiceCategory.objects.order_by("pk").first()
        if category is None:
            category = ServiceCategory.objects.create(code="bench", name="基准类别", guidance="基准", sla_hours=72)
        statuses = list(OPEN_STATUSES) * 3 + [RequestStatus.RESOLVED, RequestStatus.CLOSED, RequestStatus.REJECTED]
        now = timezone.now()
        rows = []
        for i in range(len(branches) * REQUESTS_PER_BRANCH):
            submitted = now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 60))
            status = rng.choice(statuses)
            done = submitted + dt.timedelta(hours=12)
            rows.append(ServiceRequest(
                tracking_code=f"L{i:011d}", category=category, description="基准诉求", requester_name="基准",
                requester_phone_encrypted="x", requester_phone_index=f"lists{i}", responsible_org_id=branches[i % len(branches)].pk,
                status=status, submitted_at=submitted, due_at=submitted + dt.timedelta(hours=rng.randint(24, 240)),
                resolved_at=done if status in (RequestStatus.RESOLVED, RequestStatus.CLOSED) else None,
                closed_at=done if status == RequestStatus.CLOSED else None,
                reject_reason="基准：不属于受理范围" if status == RequestStatus.REJECTED else "",
            ))
        ServiceRequest.objects.bulk_create(rows, batch_size=5000)
        print(f"added {len(rows)} service requests", file=sys.stderr)

    if not AuditEntry.objects.filter(action__startswith="bench.").exists() and audit_rows:
        actions = ["member.update", "member.create", "activity.create", "org.update", "workplace.update",
                   "service_request.accept", "transfer.approve"]
        now = timezone.now()
        batch = []
        for i in range(audit_rows):
            b = branches[rng.randrange(len(branches))]
            action = actions[i % len(actions)]
            batch.append(AuditEntry(
                created_at=now - dt.timedelta(seconds=rng.randint(60, 365 * 86400)), actor=user,
                actor_label=user.username, address="10.0.0.1", action=action, object_type=action.split(".")[0],
                object_id=str(i), object_repr=f"对象{i}", org_path=b.path if i % 50 else "",
                changes={"name": [f"旧{i}", f"新{i}"]},
            ))
            if len(batch) == 5000:
                AuditEntry.objects.bulk_create(batch)
                batch = []
        AuditEntry.objects.bulk_create(batch)
        # a marker row, so a second run knows the entries are there (older than every bench row)
        AuditEntry.objects.create(created_at=now - dt.timedelta(days=400), action="bench.built", object_type="bench",
                                  org_path=root.path)
        print(f"added {audit_rows} audit entries", file=sys.stderr)
    print(f"enriched in {time.perf_counter() - t0:.1f}s", file=sys.stderr)


# ---------------------------------------------------------------- pages
class _Links(HTMLParser):
    """Every <a href> with its attributes and text."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[dict, str]] = []
        self._open: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append((self._open, "".join(self._text).strip()))
            self._open = None


NEXT_TEXTS = {"下一页", "更早", "Next", "Next page", "Older"}


def links(page: str) -> list[tuple[dict, str]]:
    parser = _Links()
    parser.feed(page)
    return [(attrs, text) for attrs, text in parser.links if attrs.get("href")]


def next_url(page: str, url: str) -> str | None:
    """The page's "next" link (rel="next"; else data-older or a 下一页/更早 link), as a path with query."""
    found = links(page)
    candidates = [a for a, _t in found if "next" in (a.get("rel") or "").split()]
    candidates += [a for a, t in found if "data-older" in a or t in NEXT_TEXTS]
    if not candidates:
        return None
    target = urlsplit(urljoin("http://testserver" + url, html.unescape(candidates[0]["href"])))
    return f"{target.path}?{target.query}" if target.query else target.path


@dataclass
class Floor:
    """One hand-written query for a page: SELECT columns FROM source WHERE where ORDER BY keys LIMIT 51.
    `keys` are (column, descending) and end with the primary key; `label` is the column index whose value of
    the first row must appear on the page (a check that page and floor show the same rows)."""

    columns: str
    source: str
    where: str
    params: list
    keys: list[tuple[str, bool]]
    label: int = 1
    extra: list = field(default_factory=list)  # further (sql, params) the page needs, timed with the floor

    def order(self) -> str:
        return ", ".join(f"{column} {'DESC' if desc else 'ASC'}" for column, desc in self.keys)

    def boundary(self, offset: int) -> list | None:
        """The ordering values of row number `offset` (1-based): where a page `offset` rows deep starts after."""
        sql = f"SELECT {', '.join(c for c, _d in self.keys)} FROM {self.source} WHERE {self.where} ORDER BY {self.order()} LIMIT 1 OFFSET {offset - 1}"
        rows = raw(sql, self.params)
        return list(rows[0]) if rows else None

    def query(self, after: list | None = None) -> tuple[str, list]:
        where, params = self.where, list(self.params)
        if after is not None:
            directions = {desc for _c, desc in self.keys}
            if len(directions) == 1:  # a row-value comparison when every key runs the same way
                cols = ", ".join(c for c, _d in self.keys)
                where += f" AND ({cols}) {'<' if directions.pop() else '>'} ({', '.join(['%s'] * len(self.keys))})"
                params += after
            else:
                ors = []
                for i, (column, desc) in enumerate(self.keys):
                    ors.append(" AND ".join([f"{c} = %s" for c, _d in self.keys[:i]] + [f"{column} {'<' if desc else '>'} %s"]))
                    params += after[: i + 1]
                where += " AND (" + " OR ".join(f"({o})" for o in ors) + ")"
        return f"SELECT {self.columns} FROM {self.source} WHERE {where} ORDER BY {self.order()} LIMIT {PAGE_SIZE + 1}", params

    def run(self, after: list | None = None) -> list:
        rows = raw(*self.query(after))
        for sql, params in self.extra:
            raw(sql, params)
        return rows


def raw(sql: str, params=()) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def timeit(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def floors(*, root, committee, today: dt.date) -> dict[str, Floor]:
    """The floor of each page, keyed by page family."""
    from activities.models import Activity, Attendance
    from core.dates import add_months
    from core.models import AuditEntry, User
    from core.rules import rule_values
    from members.models import Member
    from orgs.models import Assignment, Organization, Region, Workplace
    from services.models import OPEN_STATUSES, ServiceCategory, ServiceRequest

    t = {m.__name__: m._meta.db_table for m in (Activity, Attendance, AuditEntry, Member, Organization, Region,
                                                   Workplace, Assignment, ServiceRequest, ServiceCategory, User)}
    t["through"] = Organization.workplaces.through._meta.db_table
    # the member list's flag rules (members.selectors.registry), worked out here: the page modules are moving
    months = rule_values("lost_contact_flag_months", "no_life_flag_months")
    lost_before = add_months(today, -int(months["lost_contact_flag_months"])) or dt.date.min
    window = _local_midnight(add_months(today, -int(months["no_life_flag_months"])) or dt.date.min)
    member_columns = f"""m.id, m.name, m.stage, m.relation_kind, m.gender, m.occupation, m.phone_encrypted, m.id_number_encrypted,
        o.name, w.name,
        CASE WHEN m.relation_kind = 'lost_contact' AND m.lost_contact_since <= %s THEN 1 ELSE 0 END,
        CASE WHEN m.relation_kind = 'mobile' AND m.mobile_card_valid_until < %s THEN 1 ELSE 0 END,
        CASE WHEN m.stage IN ('probationary', 'full') AND m.created_at < %s AND NOT EXISTS (
            SELECT 1 FROM {t['Attendance']} at JOIN {t['Activity']} a ON a.id = at.activity_id
            WHERE at.member_id = m.id AND at.status = 'present' AND a.starts_at >= %s) THEN 1 ELSE 0 END"""
    member_source = f"{t['Member']} m JOIN {t['Organization']} o ON o.id = m.org_id LEFT JOIN {t['Workplace']} w ON w.id = m.workplace_id"

    def members(path: str) -> Floor:
        # the flag parameters come first: they sit in the SELECT list, before the WHERE
        return _Prefixed([lost_before, today, window, window], columns=member_columns, source=member_source,
                         where="o.path LIKE %s", params=[path + "%"], keys=[("m.name", False), ("m.id", False)])

    workplaces = _Prefixed(
        [today, today],
        columns=f"""w.id, w.name, w.kind, w.gig_worker_count, r.name, o.name,
          EXISTS (SELECT 1 FROM {t['through']} x JOIN {t['Organization']} xo ON xo.id = x.organization_id
                  WHERE x.workplace_id = w.id AND xo.status = 'active'),
          EXISTS (SELECT 1 FROM {t['Assignment']} s WHERE s.workplace_id = w.id AND s.started_on <= %s
                  AND (s.ended_on IS NULL OR s.ended_on >= %s)),
          (SELECT COUNT(*) FROM {t['Member']} mm WHERE mm.workplace_id = w.id AND mm.stage = 'full')""",
        source=f"{t['Workplace']} w JOIN {t['Region']} r ON r.id = w.region_id JOIN {t['Organization']} o ON o.id = w.responsible_org_id",
        where="w.is_active AND o.path LIKE %s", params=[root.path + "%"], keys=[("w.name", False), ("w.id", False)],
    )
    audit = Floor(
        columns="e.id, e.object_repr, e.created_at, e.actor_label, e.address, e.action, e.object_type, e.object_id, e.changes",
        source=f"{t['AuditEntry']} e", where="(e.org_path LIKE %s OR e.org_path = '')", params=[root.path + "%"],
        keys=[("e.created_at", True), ("e.id", True)],
    )
    requests = Floor(
        columns="r.id, r.tracking_code, r.status, r.priority, r.submitted_at, r.due_at, r.escalation_level, c.name, o.name, u.username",
        source=(f"{t['ServiceRequest']} r JOIN {t['ServiceCategory']} c ON c.id = r.category_id "
                f"JOIN {t['Organization']} o ON o.id = r.responsible_org_id LEFT JOIN {t['User']} u ON u.id = r.assignee_id"),
        where=f"o.path LIKE %s AND r.status IN ({', '.join(['%s'] * len(OPEN_STATUSES))})",
        params=[root.path + "%", *[str(s) for s in OPEN_STATUSES]], keys=[("r.due_at", False), ("r.id", False)],
    )
    return {"members": members(root.path), "members_org": members(committee.path), "workplaces": workplaces,
            "audit": audit, "requests": requests, "_tables": t}


def _local_midnight(day: dt.date) -> dt.datetime:
    from django.utils import timezone

    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


class _Prefixed(Floor):
    """A Floor whose SELECT list takes parameters (they precede the WHERE parameters)."""

    def __init__(self, select_params: list, **kwargs):
        super().__init__(**kwargs)
        self.select_params = select_params

    def query(self, after=None):
        sql, params = super().query(after)
        return sql, self.select_params + params


def board_floor(*, org, tables: dict, today: dt.date) -> Floor:
    """The board for `org`: a page of its branches (by path) with their activities per kind in the span the
    rules reach, plus the totals per child of `org` (one GROUP BY over the subtree)."""
    from activities.models import ComplianceRule
    from orgs.models import BRANCH_KINDS

    # The board's default period is the current month; a rule's cycle (month, quarter, year) containing it
    # widens the span the activities are counted over (activities' compliance module, worked out here).
    rules = list(ComplianceRule.objects.filter(enabled=True))
    kinds = sorted({r.kind for r in rules})
    first = {"month": today.month, "quarter": (today.month - 1) // 3 * 3 + 1, "year": 1}
    last = {"month": today.month, "quarter": (today.month - 1) // 3 * 3 + 3, "year": 12}
    cycles = {r.cycle for r in rules} | {"month"}
    start = _local_midnight(dt.date(today.year, min(first[c] for c in cycles), 1))
    end_month = max(last[c] for c in cycles)
    end = _local_midnight(dt.date(today.year + end_month // 12, end_month % 12 + 1, 1))
    a, o = tables["Activity"], tables["Organization"]
    kind_list = ", ".join(["%s"] * len(kinds))
    child_len = len(org.path) + 4
    totals = (f"SELECT SUBSTR(o.path, 1, {child_len}), a.kind, COUNT(*) FROM {a} a JOIN {o} o ON o.id = a.org_id "
              f"WHERE o.path LIKE %s AND a.kind IN ({kind_list}) AND a.starts_at >= %s AND a.starts_at < %s "
              f"GROUP BY SUBSTR(o.path, 1, {child_len}), a.kind", [org.path + "%", *kinds, start, end])
    return _Prefixed(
        [*kinds, start, end],
        columns=(f"b.id, b.name, b.path, b.kind, b.has_committee, (SELECT COUNT(*) FROM {a} a WHERE a.org_id = b.id "
                 f"AND a.kind IN ({kind_list}) AND a.starts_at >= %s AND a.starts_at < %s)"),
        source=f"{o} b", where=f"b.path LIKE %s AND b.kind IN ({', '.join(['%s'] * len(BRANCH_KINDS))})",
        params=[org.path + "%", *[str(k) for k in BRANCH_KINDS]], keys=[("b.path", False)], extra=[totals],
    )


class PageError(Exception):
    """A page that did not answer 200."""


@dataclass
class Result:
    name: str
    ms: float
    floor_ms: float | None
    kb: float
    queries: int
    note: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, choices=sorted(SCALES), default=1,
                        help="1: 2,000 branches / 20,000 workplaces / 100,000 members; 3: three times that")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--deep", type=int, default=20, help="how many next links to follow for a deep page")
    parser.add_argument("--audit", type=int, default=None, help=f"audit entries to add (default {AUDIT_PER_SCALE:,} × scale)")
    parser.add_argument("--only", default="", help="measure only pages whose name contains this")
    parser.add_argument("--build-only", action="store_true", help="build and enrich the city, measure nothing")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args()

    _database_url(args.scale)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from activities.models import Activity
    from core.models import AuditEntry, User
    from members.models import Member
    from orgs.models import Organization, Workplace
    from services.models import ServiceRequest

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from coverage_bench import build

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    t0 = time.perf_counter()
    build(*SCALES[args.scale])
    print(f"city ready in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    enrich(audit_rows=AUDIT_PER_SCALE * args.scale if args.audit is None else args.audit)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if args.build_only:
        return

    user = User.objects.get(username="bench-district")
    root = Organization.objects.get(depth=1)
    committee = Organization.objects.filter(depth=2).order_by("path").first()
    today = timezone.localdate()
    spec = floors(root=root, committee=committee, today=today)
    client = Client()
    client.force_login(user)

    def get(url: str):
        try:
            response = client.get(url)
        except Exception as exc:  # noqa: BLE001 - the test client re-raises a view's exception: record it, go on
            raise PageError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise PageError(f"HTTP {response.status_code}")
        return response

    def follow(url: str, steps: int) -> tuple[str, int]:
        """The URL reached by following `steps` next links from `url`, and how many were followed."""
        for n in range(steps):
            nxt = next_url(get(url).content.decode(), url)
            if not nxt:
                return url, n
            url = nxt
        return url, steps

    results: list[Result] = []

    def measure(name: str, url: str, floor: Floor | None, *, depth: int = 0, check=True) -> None:
        if args.only and args.only not in name:
            return
        try:
            get(url)  # warm: templates, rule rows, the session
        except PageError as exc:
            results.append(Result(name, float("nan"), None, 0, 0, f"{url}: {exc}"))
            print(f"  {name}: {url} failed: {exc}", file=sys.stderr)
            return
        with CaptureQueriesContext(connection) as ctx:
            page = get(url).content
        queries = len(ctx.captured_queries)  # now: the next request clears the connection's query log
        ms = timeit(lambda: get(url), args.repeat) * 1000
        floor_ms, note = None, ""
        if floor is not None:
            after = floor.boundary(depth * PAGE_SIZE) if depth else None
            rows = floor.run(after)
            floor_ms = timeit(lambda: floor.run(after), args.repeat) * 1000
            if check and rows:
                label = str(rows[0][floor.label])
                if not re.search(re.escape(html.escape(label)) + r"(?![0-9])", page.decode()):
                    note = f"first floor row {label!r} not on the page"
        results.append(Result(name, ms, floor_ms, len(page) / 1024, queries, note))
        print(f"  {name}: {ms:.0f} ms {note}", file=sys.stderr)

    def deep(name: str, url: str, floor: Floor) -> None:
        if args.only and args.only not in name:
            return
        try:
            target, steps = follow(url, args.deep)
        except PageError as exc:
            results.append(Result(name, float("nan"), None, 0, 0, f"following next links: {exc}"))
            return
        measure(f"{name} (page {steps + 1}, via {_param(target)})", target, floor, depth=steps)

    measure("member list, first page", "/members/", spec["members"])
    deep("member list, deep", "/members/", spec["members"])
    measure(f"member list, org filter ({committee.name})", f"/members/?org={committee.pk}", spec["members_org"])

    try:
        drill = _drill_down(get("/compliance/").content.decode(), root_pk=root.pk) or committee.pk
    except PageError:
        drill = committee.pk
    drill_org = Organization.objects.get(pk=drill)
    measure("compliance board, root", "/compliance/", board_floor(org=root, tables=spec["_tables"], today=today), check=False)
    measure(f"compliance board, drill-down ({drill_org.name})", f"/compliance/?org={drill}",
            board_floor(org=drill_org, tables=spec["_tables"], today=today), check=False)

    measure("workplace list, first page", "/orgs/workplaces/", spec["workplaces"])
    deep("workplace list, deep", "/orgs/workplaces/", spec["workplaces"])
    measure("audit log, first page", "/audit/", spec["audit"])
    deep("audit log, deep", "/audit/", spec["audit"])
    measure("service requests (open), first page", "/services/requests/", spec["requests"])

    sizes = (f"{Organization.objects.filter(kind__in=('branch', 'joint_branch')).count():,} branches, "
             f"{Workplace.objects.count():,} workplaces, {Member.objects.count():,} members, "
             f"{Activity.objects.count():,} activities, {AuditEntry.objects.count():,} audit entries, "
             f"{ServiceRequest.objects.count():,} service requests")
    print(f"\n{connection.vendor}, scale {args.scale}: {sizes}; median of {args.repeat}; {dt.date.today().isoformat()}")
    print(f"{'page':58} {'ms':>8} {'floor ms':>9} {'ratio':>7} {'KB':>7} {'queries':>7}")
    for r in results:
        if r.ms != r.ms:  # NaN: the page failed
            print(f"{r.name:58} {'failed':>8}  ! {r.note}")
            continue
        floor_ms = f"{r.floor_ms:9.1f}" if r.floor_ms is not None else "        —"
        ratio = f"{r.ms / r.floor_ms:6.1f}x" if r.floor_ms else "      —"
        print(f"{r.name:58} {r.ms:8.1f} {floor_ms} {ratio} {r.kb:7.1f} {r.queries:7d}" + (f"  ! {r.note}" if r.note else ""))
    if args.markdown:
        print("\n| page | ms | floor ms | ratio | KB | queries |\n|---|---:|---:|---:|---:|---:|")
        for r in results:
            if r.ms != r.ms:
                print(f"| {r.name} | failed: {r.note} | | | | |")
                continue
            floor_ms = f"{r.floor_ms:.1f}" if r.floor_ms is not None else "—"
            ratio = f"{r.ms / r.floor_ms:.1f}×" if r.floor_ms else "—"
            print(f"| {r.name} | {r.ms:.0f} | {floor_ms} | {ratio} | {r.kb:.0f} | {r.queries} |")


def _param(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    return "?cursor=" if "cursor" in query else ("?page=" if "page" in query else "?")


def _drill_down(page: str, *, root_pk: int) -> int | None:
    """The org id of the board's first drill-down link (/compliance/?...org=<id>, not the root), if any."""
    for attrs, _text in links(page):
        target = urlsplit(html.unescape(attrs["href"]))
        if target.path.rstrip("/").endswith("compliance") or (not target.path and target.query):
            org = parse_qs(target.query).get("org")
            if org and org[0].isdigit() and int(org[0]) != root_pk:
                return int(org[0])
    return None


if __name__ == "__main__":
    main()
