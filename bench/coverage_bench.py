"""City-scale benchmark: coverage figures and the workplace list page against the raw-SQL floor.

Builds a synthetic city in its own database (never the dev database), then times each ORM-based
selector against a hand-written SQL query that returns the same numbers, and prints the ratio.
Ratios, not absolute times, are what we record (shared, noisy machines).

    .venv/bin/python bench/coverage_bench.py --branches 2000 --workplaces 20000 --members 100000 --points 500
    DATABASE_URL=postgres://... .venv/bin/python bench/coverage_bench.py   # on PostgreSQL
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if "DATABASE_URL" not in os.environ:
    _tmp = Path(tempfile.gettempdir()) / "portal-bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}"


def build(branches: int, workplaces: int, members: int, seed: int = 7) -> None:
    from django.core.management import call_command

    from core.models import User
    from members.models import Member, RelationKind, Stage
    from orgs.models import Assignment, Instructor, Organization, OrgKind, Region, Role, RoleGrant, Workplace

    call_command("migrate", verbosity=0)
    if Organization.objects.exists():
        return
    rng = random.Random(seed)
    district = Region.objects.add_root(instance=Region(name="基准区", code="B0", kind="district"))
    streets = [Region.objects.add_child(Region.objects.get(pk=district.pk), instance=Region(name=f"街道{i}", code=f"S{i}", kind="street"))
               for i in range(20)]
    communities = [
        Region.objects.add_child(Region.objects.get(pk=s.pk), instance=Region(name=f"{s.name}社区{j}", code=f"{s.code}-{j}", kind="community"))
        for s in streets for j in range(5)
    ]
    root = Organization.objects.add_root(instance=Organization(name="基准两新工委", code="ROOT", kind=OrgKind.DISTRICT_COMMITTEE, region=district))
    committees = [
        Organization.objects.add_child(Organization.objects.get(pk=root.pk), instance=Organization(
            name=f"行业党委{i}", code=f"C{i}", kind=OrgKind.INDUSTRY_COMMITTEE, industry="express"))
        for i in range(20)
    ]
    t0 = time.perf_counter()
    branch_objs = []
    for i in range(branches):
        parent = committees[i % len(committees)]
        branch_objs.append(Organization.objects.add_child(Organization.objects.get(pk=parent.pk), instance=Organization(
            name=f"党支部{i}", code=f"B{i}", kind=OrgKind.BRANCH, formation_mode="single" if i % 3 else "joint", industry="express",
        )))
    print(f"built {branches} branches in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    wps = Workplace.objects.bulk_create([
        Workplace(name=f"单位{i}", kind="station", industry="express", region=rng.choice(communities),
                  responsible_org=committees[i % len(committees)], gig_worker_count=rng.randint(5, 300),
                  **_city_coordinates(rng, i))
        for i in range(workplaces)
    ], batch_size=2000)
    through = Organization.workplaces.through
    links = []
    for i, wp in enumerate(wps):
        if i % 10 < 6:  # 60 % covered by a branch
            links.append(through(organization_id=branch_objs[i % len(branch_objs)].pk, workplace_id=wp.pk))
    through.objects.bulk_create(links, batch_size=5000)
    instructors = Instructor.objects.bulk_create([Instructor(name=f"指导员{i}", org=committees[i % 20]) for i in range(200)])
    Assignment.objects.bulk_create([
        Assignment(instructor=instructors[i % 200], workplace=wp, started_on=date.today() - timedelta(days=100))
        for i, wp in enumerate(wps) if i % 10 in (6, 7)
    ], batch_size=5000)
    stages = [Stage.FULL] * 6 + [Stage.PROBATIONARY, Stage.ACTIVIST, Stage.APPLICANT]
    Member.objects.bulk_create([
        Member(name=f"党员{i}", org=branch_objs[i % len(branch_objs)], workplace=wps[(i * 7) % len(wps)],
               stage=rng.choice(stages), relation_kind=RelationKind.HELD)
        for i in range(members)
    ], batch_size=5000)
    user = User.objects.create_user("bench-district", password=None)
    RoleGrant.objects.create(user=user, org=root, role=Role.DISTRICT)


def _city_coordinates(rng: random.Random, i: int) -> dict:
    """A 40 km × 40 km city around (39.9 N, 116.4 E); one workplace in ten has no coordinates."""
    if i % 10 == 9:
        return {}
    return {"latitude": round(39.72 + rng.random() * 0.36, 6), "longitude": round(116.17 + rng.random() * 0.47, 6)}


def ensure_points(points: int, seed: int = 11) -> float | None:
    """Service points for the 15-minute circle (once), then one full reach_refresh; returns its time.
    A database built before step 4 gets workplace coordinates first."""
    from decimal import Decimal

    from orgs.models import Organization, Region, Workplace
    from services.actions.points import reach_refresh
    from services.models import ServicePoint

    if ServicePoint.objects.exists() or not points:
        return None
    rng = random.Random(seed)
    if not Workplace.objects.filter(latitude__isnull=False).exists():
        wps = list(Workplace.objects.order_by("pk"))
        for i, wp in enumerate(wps):
            for name, value in _city_coordinates(rng, i).items():
                setattr(wp, name, Decimal(str(value)))
        Workplace.objects.bulk_update(wps, ["latitude", "longitude"], batch_size=2000)
    committees = list(Organization.objects.filter(depth=2))
    streets = list(Region.objects.filter(depth=2))
    ServicePoint.objects.bulk_create([
        ServicePoint(name=f"驿站{i}", kind="station", address=f"基准路{i}号", opening_hours="每天 08:00–22:00",
                     latitude=Decimal(str(round(39.72 + rng.random() * 0.36, 6))),
                     longitude=Decimal(str(round(116.17 + rng.random() * 0.47, 6))),
                     region=rng.choice(streets), operator_org=committees[i % len(committees)],
                     status="paused" if i % 25 == 0 else "open")
        for i in range(points)
    ])
    t = time.perf_counter()
    reach_refresh()
    return time.perf_counter() - t


def timeit(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


RAW_COVERAGE = """
WITH cov AS (
  SELECT DISTINCT m.workplace_id FROM orgs_organization_workplaces m
  JOIN orgs_organization o ON o.id = m.organization_id WHERE o.status = 'active'),
asg AS (
  SELECT DISTINCT workplace_id FROM orgs_assignment
  WHERE workplace_id IS NOT NULL AND started_on <= %s AND (ended_on IS NULL OR ended_on >= %s))
SELECT COUNT(*),
       COUNT(cov.workplace_id),
       SUM(CASE WHEN cov.workplace_id IS NOT NULL OR asg.workplace_id IS NOT NULL THEN 1 ELSE 0 END),
       SUM(w.gig_worker_count)
FROM orgs_workplace w
LEFT JOIN cov ON cov.workplace_id = w.id
LEFT JOIN asg ON asg.workplace_id = w.id
WHERE w.is_active
"""

RAW_WITHIN_REACH = """
SELECT SUM(CASE WHEN r.distance_m <= %s THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.distance_m <= %s THEN w.gig_worker_count ELSE 0 END)
FROM orgs_workplace w JOIN services_workplacereach r ON r.workplace_id = w.id
WHERE w.is_active
"""

RAW_COVERAGE_CIRCLE = """
WITH cov AS (
  SELECT DISTINCT m.workplace_id FROM orgs_organization_workplaces m
  JOIN orgs_organization o ON o.id = m.organization_id WHERE o.status = 'active'),
asg AS (
  SELECT DISTINCT workplace_id FROM orgs_assignment
  WHERE workplace_id IS NOT NULL AND started_on <= %s AND (ended_on IS NULL OR ended_on >= %s))
SELECT COUNT(*),
       COUNT(cov.workplace_id),
       SUM(CASE WHEN cov.workplace_id IS NOT NULL OR asg.workplace_id IS NOT NULL THEN 1 ELSE 0 END),
       SUM(w.gig_worker_count),
       SUM(CASE WHEN r.distance_m <= %s THEN 1 ELSE 0 END)
FROM orgs_workplace w
LEFT JOIN cov ON cov.workplace_id = w.id
LEFT JOIN asg ON asg.workplace_id = w.id
LEFT JOIN services_workplacereach r ON r.workplace_id = w.id
WHERE w.is_active
"""

RAW_PAGE = """
SELECT w.id, w.name, r.name, o.name,
  EXISTS (SELECT 1 FROM orgs_organization_workplaces m JOIN orgs_organization x ON x.id = m.organization_id
          WHERE m.workplace_id = w.id AND x.status = 'active'),
  (SELECT COUNT(*) FROM members_member mm WHERE mm.workplace_id = w.id AND mm.stage = 'full')
FROM orgs_workplace w JOIN orgs_region r ON r.id = w.region_id JOIN orgs_organization o ON o.id = w.responsible_org_id
WHERE w.is_active ORDER BY w.name, w.id LIMIT 50
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--branches", type=int, default=2000)
    parser.add_argument("--workplaces", type=int, default=20000)
    parser.add_argument("--members", type=int, default=100000)
    parser.add_argument("--points", type=int, default=500, help="service points (15-minute circle); 0 for none")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from core.models import User
    from coverage.selectors import figures as selectors
    from coverage.selectors import gaps as gap_selectors
    from orgs.models import Organization

    build(args.branches, args.workplaces, args.members)
    first_refresh = ensure_points(args.points)
    user = User.objects.get(username="bench-district")
    root = Organization.objects.get(depth=1)
    committee = Organization.objects.filter(depth=2).order_by("path").first()
    today = timezone.localdate()

    def raw(sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    orm_fig = selectors.coverage_for_org(user=user, org=root)
    raw_fig = raw(RAW_COVERAGE, [today, today])[0]
    assert (orm_fig.workplaces, orm_fig.org_covered, orm_fig.work_covered, orm_fig.gig_workers) == tuple(int(v) for v in raw_fig), (orm_fig, raw_fig)

    rows = []

    def record(name, orm_fn, raw_fn):
        orm_t = timeit(orm_fn, args.repeat)
        raw_t = timeit(raw_fn, args.repeat) if raw_fn else None
        rows.append((name, orm_t, raw_t))

    record("coverage_for_org(root)", lambda: selectors.coverage_for_org(user=user, org=root), lambda: raw(RAW_COVERAGE, [today, today]))
    record("coverage_for_org(committee)", lambda: selectors.coverage_for_org(user=user, org=committee), None)
    record("coverage_by_child(root) 20 children", lambda: selectors.coverage_by_child(user=user, org=root), None)
    record("coverage_by_street(root)", lambda: selectors.coverage_by_street(user=user, org=root), None)
    record("workplace list page 1 (50 rows)", lambda: list(selectors.workplace_list(user=user, filters={})[:50]), lambda: raw(RAW_PAGE))

    from services.actions.points import reach_refresh
    from services.models import ServicePoint, WorkplaceReach

    if ServicePoint.objects.exists():
        reach = selectors.figure_rules()[1]
        within = raw(RAW_WITHIN_REACH, [reach, reach])[0]
        assert (orm_fig.within_reach, orm_fig.gig_workers_within_reach) == tuple(int(v or 0) for v in within), (orm_fig, within)
        record("coverage_for_org(root) vs floor with circle", lambda: selectors.coverage_for_org(user=user, org=root),
               lambda: raw(RAW_COVERAGE_CIRCLE, [today, today, selectors.figure_rules()[1]]))
        record("gap_outside_circle, first 100", lambda: list(gap_selectors.gap_outside_circle(user=user)[:100]), None)
        record("reach_refresh() all workplaces", reach_refresh, None)

    vendor = connection.vendor
    print(f"\n{vendor}: {args.branches} branches, {args.workplaces} workplaces, {args.members} members; median of {args.repeat}")
    if ServicePoint.objects.exists():
        print(f"15-minute circle: {ServicePoint.objects.count()} points, {WorkplaceReach.objects.count()} reach rows"
              + (f"; first full refresh {first_refresh * 1000:.0f} ms" if first_refresh else ""))
    print(f"{'operation':40} {'ORM ms':>9} {'raw ms':>9} {'ratio':>7}")
    for name, orm_t, raw_t in rows:
        ratio = f"{orm_t / raw_t:6.2f}x" if raw_t else "     —"
        raw_ms = f"{raw_t * 1000:9.1f}" if raw_t else "        —"
        print(f"{name:40} {orm_t * 1000:9.1f} {raw_ms} {ratio}")


if __name__ == "__main__":
    main()
