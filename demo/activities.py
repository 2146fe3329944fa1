"""A year of organizational life for the demo district (called by demo.orgs's loader).

Deterministic: fixed seed and fixed dates (January 2026 up to DEMO_ACTIVITIES_UNTIL, never "today"), branches
in path order. Idempotent: nothing happens when the demo district already has activities. Bulk inserts,
so a year of meetings with attendance takes a few seconds.

Profiles (by branch position, so the board always has something to show):
- most branches hold every meeting the rules ask for (DOMAIN defaults), Party groups included;
- every 5th branch skipped its 支部委员会 this quarter (only where a committee exists) and every 7th its
  主题党日 in the current month and last quarter's 党课 — they show as behind;
- one branch has an explicit Exemption for this quarter (站点整体搬迁) and held nothing in it;
- meetings of branches founded during the year start after their founding (the compliance board exempts
  the quarter they were founded in).
Attendance: the branch's Party members (a committee meeting: its first five; a group meeting: the group's
share), mostly present, some on leave with a reason, a few absent.
Audit: one summary row (SYSTEM, "activity.demo_load") with the counts, not one per record.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from django.db import transaction

from activities.models import Activity, ActivityKind, Attendance, AttendanceStatus, ComplianceRule, Exemption

TZ = ZoneInfo("Asia/Shanghai")
SEED = 20260301
DEMO_YEAR_START = dt.date(2026, 1, 1)
DEMO_ACTIVITIES_UNTIL = dt.date(2026, 11, 20)  # the demo's "today" for organizational life
LEAVE_REASONS = ("跑单高峰无法离开", "外地送货", "家中有事", "身体不适", "夜班补休")
TOPICS = {
    ActivityKind.THEME_DAY: ("学习贯彻党的二十届四中全会精神", "走进社区志愿服务", "重温入党誓词", "骑手安全出行宣讲"),
    ActivityKind.COMMITTEE_MEETING: ("研究本月支部工作安排", "讨论发展党员工作", "研究党员教育管理"),
    ActivityKind.GROUP_MEETING: ("晨会学习", "线上学习交流", "交流跑单中的困难"),
    ActivityKind.GENERAL_MEETING: ("支部党员大会", "审议支部工作报告"),
    ActivityKind.PARTY_LECTURE: ("书记讲党课：新就业群体的新担当", "党的创新理论专题党课"),
    ActivityKind.LIFE_MEETING: ("年度组织生活会",),
    ActivityKind.APPRAISAL: ("年度民主评议党员",),
    ActivityKind.HEART_TALK: ("书记与党员谈心谈话",),
}
PLACES = ("党群服务中心", "小哥驿站", "站点会议室", "线上（腾讯会议）")


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, min(day.day, 28), hour, 0, tzinfo=TZ)


def _months():
    year, month = DEMO_YEAR_START.year, DEMO_YEAR_START.month
    while dt.date(year, month, 1) <= DEMO_ACTIVITIES_UNTIL:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def load_demo_activities(stdout=None) -> int:
    """Create the demo's activities, attendance and one exemption; return how many activities were created."""
    from core.audit import SYSTEM, audit_record
    from core.models import User
    from demo.orgs import DEMO_ROOT_CODE
    from members.models import PARTY_MEMBER_STAGES, Member
    from orgs.models import BRANCH_KINDS, Organization, OrgKind, OrgStatus

    root = Organization.objects.filter(code=DEMO_ROOT_CODE).first()
    if root is None or Activity.objects.filter(org__path__startswith=root.path).exists():
        return 0
    author = User.objects.filter(username="district").first()
    if author is None:
        return 0
    rng = random.Random(SEED)
    orgs = list(Organization.objects.filter(path__startswith=root.path, status=OrgStatus.ACTIVE).order_by("path"))
    branches = [o for o in orgs if o.kind in BRANCH_KINDS]
    groups: dict[str, list[Organization]] = {}
    for o in orgs:
        if o.kind == OrgKind.PARTY_GROUP:
            groups.setdefault(o.path[: -Organization.steplen], []).append(o)
    members: dict[int, list[int]] = {}
    for member_id, org_id in Member.objects.filter(org__in=branches, stage__in=PARTY_MEMBER_STAGES).order_by("pk").values_list("pk", "org_id"):
        members.setdefault(org_id, []).append(member_id)
    enabled = set(ComplianceRule.objects.filter(enabled=True).values_list("kind", flat=True))

    until = DEMO_ACTIVITIES_UNTIL
    this_quarter_start = dt.date(until.year, (until.month - 1) // 3 * 3 + 1, 1)
    last_quarter_start = dt.date(until.year, this_quarter_start.month - 3, 1) if this_quarter_start.month > 3 else None
    exempt_branch = branches[len(branches) // 2] if branches else None

    planned: list[tuple[Activity, list[int]]] = []
    for index, branch in enumerate(branches):
        skip_committee = index % 5 == 1 and branch.has_committee
        skip_theme = index % 7 == 3
        member_ids = members.get(branch.pk, [])
        branch_groups = groups.get(branch.path, [])

        def add(kind, day, hour, attendees, group=None, *, branch=branch):
            if kind not in enabled or day > until or (branch.established_on and day < branch.established_on):
                return
            if branch is exempt_branch and day >= this_quarter_start:
                return
            online = rng.random() < 0.2
            activity = Activity(
                org=branch, party_group=group, kind=kind, starts_at=_at(day, hour),
                ends_at=_at(day, hour) + dt.timedelta(hours=1, minutes=30), online=online,
                place=PLACES[3] if online else rng.choice(PLACES[:3]), topic=rng.choice(TOPICS[kind]),
                host=branch.secretary_name, recorder=branch.secretary_name, created_by=author,
                lecturer=branch.secretary_name if kind == ActivityKind.PARTY_LECTURE else "",
            )
            planned.append((activity, attendees))

        for year, month in _months():
            first = dt.date(year, month, 1)
            in_this_quarter = first >= this_quarter_start
            if not (skip_theme and (year, month) == (until.year, until.month)):
                add(ActivityKind.THEME_DAY, dt.date(year, month, 10), 15, member_ids)
            if branch.has_committee and not (skip_committee and in_this_quarter):
                add(ActivityKind.COMMITTEE_MEETING, dt.date(year, month, 5), 19, member_ids[:5])
            for g_index, group in enumerate(branch_groups):
                share = member_ids[g_index :: len(branch_groups)]
                add(ActivityKind.GROUP_MEETING, dt.date(year, month, 15), 8, share, group)  # at the morning briefing
            if month % 3 == 2:
                add(ActivityKind.GENERAL_MEETING, dt.date(year, month, 20), 19, member_ids)
            if month % 3 == 1 and not (skip_theme and last_quarter_start and first == last_quarter_start):
                add(ActivityKind.PARTY_LECTURE, dt.date(year, month, 25), 19, member_ids)
            if month == 3:
                add(ActivityKind.HEART_TALK, dt.date(year, month, 18), 10, member_ids[:3])
            if month == 11 and index % 5 != 1:
                add(ActivityKind.APPRAISAL, dt.date(year, month, 12), 19, member_ids)
                add(ActivityKind.LIFE_MEETING, dt.date(year, month, 12), 20, member_ids)

    with transaction.atomic():
        activities = Activity.objects.bulk_create([a for a, _ in planned], batch_size=500)
        if any(a.pk is None for a in activities):  # a backend without RETURNING: read the ids back in order
            ids = list(Activity.objects.filter(org__path__startswith=root.path).order_by("pk").values_list("pk", flat=True))
            for activity, pk in zip(activities, ids, strict=True):
                activity.pk = pk
        rows = []
        for activity, attendees in zip(activities, (att for _, att in planned), strict=True):
            for member_id in attendees:
                roll = rng.random()
                if roll < 0.08:
                    rows.append(Attendance(activity_id=activity.pk, member_id=member_id, status=AttendanceStatus.LEAVE,
                                           leave_reason=rng.choice(LEAVE_REASONS)))
                elif roll < 0.13:
                    rows.append(Attendance(activity_id=activity.pk, member_id=member_id, status=AttendanceStatus.ABSENT))
                else:
                    rows.append(Attendance(activity_id=activity.pk, member_id=member_id))
        Attendance.objects.bulk_create(rows, batch_size=2000)
        if exempt_branch is not None:
            Exemption.objects.create(
                org=exempt_branch, rule=None, starts_on=this_quarter_start, ends_on=DEMO_ACTIVITIES_UNTIL,
                reason="站点整体搬迁，经区委两新工委批准本季度暂缓开展组织生活", approved_by=author,
            )
        audit_record(actor=SYSTEM, action="activity.demo_load", org=root, object_type=Activity._meta.label_lower,
                     changes={"note": "demo", "count": len(activities), "attendance": len(rows),
                              "exemptions": int(exempt_branch is not None)})
    if stdout is not None:
        stdout.write(f"组织生活记录：{len(activities)} 条，出席记录 {len(rows)} 条\n")
    return len(activities)
