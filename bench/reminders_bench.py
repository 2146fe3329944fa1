"""City-scale benchmark: the daily reminder sweep (every seeded rule) on the coverage benchmark's city.

Adds to bench/coverage_bench.py's synthetic city (own database, never the dev one): a secretary per branch,
probation dates, mobile members' cards, committee terms and open service requests spread around the sweep
day. Then it runs the whole sweep twice (the second finds everything already sent) and reports, for each
run, the time, the number of SQL statements and the sends, and compares the first run with a raw-SQL floor:
the candidate SELECTs written by hand plus one multi-row INSERT of the same send-log and notification
rows (rolled back). Run it at two sizes to see that the statement count does not grow with the city.

    .venv/bin/python bench/reminders_bench.py --branches 2000 --workplaces 20000 --members 100000
    .venv/bin/python bench/reminders_bench.py --branches 200 --workplaces 2000 --members 10000 --db /tmp/portal-bench-small.sqlite3
    DATABASE_URL=postgres://... .venv/bin/python bench/reminders_bench.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

SWEEP_DAY = dt.date(2026, 11, 24)


def enrich(seed: int = 13) -> None:
    """Reminder-relevant data, once (a database that already has secretaries is left alone)."""
    from django.utils import timezone

    from core.models import User
    from members.models import Member, RelationKind, Stage
    from notifications.models import ReminderRule
    from orgs.models import BRANCH_KINDS, Organization, Role, RoleGrant
    from services.models import RequestStatus, ServiceCategory, ServiceRequest

    if User.objects.filter(username__startswith="bench-sec-").exists():
        return
    rng = random.Random(seed)
    branches = list(Organization.objects.filter(kind__in=BRANCH_KINDS).order_by("pk"))
    users = User.objects.bulk_create([User(username=f"bench-sec-{b.pk}", email=f"sec{b.pk}@bench.invalid") for b in branches])
    RoleGrant.objects.bulk_create([RoleGrant(user=u, org=b, role=Role.SECRETARY) for u, b in zip(users, branches, strict=True)])
    User.objects.filter(username="bench-district").update(email="district@bench.invalid")

    members = list(Member.objects.only("pk", "stage", "relation_kind").order_by("pk"))
    for m in members:
        if m.stage == Stage.PROBATIONARY:
            m.admitted_on = SWEEP_DAY - dt.timedelta(days=365 - rng.randint(-60, 60))
        if rng.random() < 0.05:
            m.relation_kind = RelationKind.MOBILE
            m.mobile_card_valid_until = SWEEP_DAY + dt.timedelta(days=rng.randint(-60, 120))
    Member.objects.bulk_update(members, ["admitted_on", "relation_kind", "mobile_card_valid_until"], batch_size=2000)

    for b in branches:
        if rng.random() < 0.3:
            b.has_committee = True
            b.committee_elected_on = SWEEP_DAY - dt.timedelta(days=3 * 365 - rng.randint(-200, 200))
    Organization.objects.bulk_update(branches, ["has_committee", "committee_elected_on"], batch_size=2000)

    category = ServiceCategory.objects.order_by("pk").first()
    noon = timezone.make_aware(dt.datetime.combine(SWEEP_DAY, dt.time(12)))
    ServiceRequest.objects.bulk_create([
        ServiceRequest(
            tracking_code=f"B{i:011d}", category=category, description="基准诉求", requester_name="基准",
            requester_phone_encrypted="x", requester_phone_index=f"bench{i}", responsible_org=branches[i % len(branches)],
            status=RequestStatus.ACCEPTED, submitted_at=noon - dt.timedelta(days=5), due_at=noon + dt.timedelta(hours=rng.randint(-96, 72)),
        )
        for i in range(len(branches))
    ], batch_size=2000)
    ReminderRule.objects.update(effective_from=dt.date(2026, 1, 1))


RAW_CANDIDATES = [
    # probation ending within 30 days
    ("SELECT m.id, m.org_id FROM members_member m WHERE m.stage = 'probationary' AND m.admitted_on IS NOT NULL "
     "AND m.admitted_on BETWEEN %s AND %s", lambda d: [d - dt.timedelta(days=366), d - dt.timedelta(days=335)]),
    ("SELECT m.id, m.org_id FROM members_member m WHERE m.relation_kind = 'mobile' "
     "AND m.mobile_card_valid_until BETWEEN %s AND %s", lambda d: [d, d + dt.timedelta(days=30)]),
    ("SELECT o.id FROM orgs_organization o WHERE o.status = 'active' AND o.has_committee "
     "AND o.committee_elected_on BETWEEN %s AND %s", lambda d: [d - dt.timedelta(days=3 * 365 + 1), d - dt.timedelta(days=3 * 365 - 190)]),
    ("SELECT r.id, r.responsible_org_id FROM services_servicerequest r WHERE r.status IN ('submitted','accepted','in_progress') "
     "AND r.due_at < %s", lambda d: [dt.datetime.combine(d, dt.time(12), tzinfo=dt.UTC)]),
    ("SELECT g.user_id, o.path FROM portal_rolegrant g JOIN orgs_organization o ON o.id = g.org_id "
     "WHERE g.role IN ('secretary', 'district') AND o.status = 'active'", lambda d: []),
]


def raw_floor(sends: int, notifications: int) -> float:
    """Hand-written candidate SELECTs plus multi-row INSERTs of as many send-log and notification rows as the
    sweep wrote (in a transaction that is rolled back)."""
    from django.db import connection, transaction

    from core.models import User
    from notifications.models import ReminderRule

    rule_id = ReminderRule.objects.order_by("pk").values_list("pk", flat=True).first()
    user_id = User.objects.order_by("pk").values_list("pk", flat=True).first()
    now = dt.datetime.now(dt.UTC)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        for sql, params in RAW_CANDIDATES:
            cursor.execute(sql, params(SWEEP_DAY))
            cursor.fetchall()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            batch = 300
            for start in range(0, sends, batch):
                rows = [(rule_id, 10_000_000 + i, SWEEP_DAY, 0, user_id, "in_app", "sent", 0, "", "", now, now)
                        for i in range(start, min(sends, start + batch))]
                cursor.execute(
                    "INSERT INTO portal_remindersend (rule_id, object_id, reference_date, repetition, recipient_id, channel, "
                    "status, attempts, error, object_label, created_at, sent_at) VALUES "
                    + ",".join(["(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"] * len(rows)),
                    [v for row in rows for v in row],
                )
            for start in range(0, notifications, batch):
                rows = [(user_id, "reminder", "标题", "正文", "/", now) for _ in range(start, min(notifications, start + batch))]
                cursor.execute(
                    "INSERT INTO portal_notification (user_id, kind, title, body, url, created_at) VALUES "
                    + ",".join(["(%s,%s,%s,%s,%s,%s)"] * len(rows)),
                    [v for row in rows for v in row],
                )
            raise _Rollback
    except _Rollback:
        pass
    return time.perf_counter() - t


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--branches", type=int, default=2000)
    parser.add_argument("--workplaces", type=int, default=20000)
    parser.add_argument("--members", type=int, default=100000)
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "portal-bench-reminders.sqlite3"))
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{args.db}")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from bench.coverage_bench import build
    from notifications.actions.reminders import reminders_sweep
    from notifications.models import Notification, ReminderRun, ReminderSend

    build(args.branches, args.workplaces, args.members)
    enrich()
    ReminderSend.objects.all().delete()
    Notification.objects.filter(kind="reminder").delete()
    ReminderRun.objects.all().delete()
    now = timezone.make_aware(dt.datetime.combine(SWEEP_DAY, dt.time(7, 30)))

    reverse("home")  # load the URLconf now: its import is start-up cost, not the sweep's
    results = []
    for label in ("first sweep", "second sweep"):
        before = (ReminderSend.objects.count(), Notification.objects.count())
        reset_queries()  # DEBUG's query log is a bounded deque, full after building the city
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            reminders_sweep(today=SWEEP_DAY, now=now)
            elapsed = time.perf_counter() - t
        after = (ReminderSend.objects.count(), Notification.objects.count())
        results.append((label, elapsed, len(ctx), after[0] - before[0], after[1] - before[1]))
    floor = min(raw_floor(results[0][3], results[0][4]) for _ in range(3))
    failed = ReminderRun.objects.exclude(status="ok").count()

    print(f"\n{connection.vendor}: {args.branches} branches, {args.workplaces} workplaces, {args.members} members; "
          f"sweep day {SWEEP_DAY}; runs not ok: {failed}")
    print(f"{'run':14} {'ms':>9} {'statements':>11} {'sends':>8} {'notices':>8}")
    for label, elapsed, queries, sends, notices in results:
        print(f"{label:14} {elapsed * 1000:9.0f} {queries:11d} {sends:8d} {notices:8d}")
    print(f"raw-SQL floor for the first sweep's rows: {floor * 1000:.0f} ms; ratio {results[0][1] / floor:.1f}x")


if __name__ == "__main__":
    main()
