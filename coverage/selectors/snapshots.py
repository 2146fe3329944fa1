"""Reads for coverage snapshots: the figures a snapshot stores, and the scoped lists and trends.

`snapshot_figures` computes every row of a snapshot in a bounded number of queries: the coverage
columns come straight from orgs.selectors (coverage_for_org, coverage_by_child, coverage_by_street,
coverage_by_industry) computed for a system actor that sees everything, so a snapshot equals the live
figures at the moment it is taken. Members, compliance and service requests are each one grouped
query (compliance: activities.selectors.compliance.compliance_for_subtree, four queries) rolled up in Python by
org path prefix, street and industry. The only part that grows with the tree is one coverage_by_child
call (three queries) per committee-level child of the org (a handful per district), never per branch.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from activities.models import Cycle
from activities.selectors.compliance import compliance_for_subtree, local_start, period_containing
from core.models import User
from coverage.models import CoverageSnapshot, SnapshotDimension, SnapshotKind, SnapshotRow, SnapshotStatus
from coverage.selectors.figures import coverage_by_child, coverage_by_industry, coverage_by_street, coverage_for_org
from members.models import PARTY_MEMBER_STAGES, RELATION_HERE, Member, RelationKind, Stage
from orgs.models import BRANCH_KINDS, Industry, Organization, OrgKind, OrgStatus, Region
from orgs.scoping import grant_paths, path_q
from services.models import OPEN_STATUSES, RequestStatus, ServiceRequest

COVERAGE_FIELDS = (
    "workplaces", "org_covered", "work_covered", "uncovered", "gig_workers", "gig_workers_org_covered",
    "gig_workers_work_covered", "needs_own_branch", "within_reach", "gig_workers_within_reach",
)
MEMBER_FIELDS = ("members_full", "members_probationary", "members_mobile")
COMPLIANCE_FIELDS = ("branches", "branches_behind", "compliance_expected", "compliance_met")
REQUEST_FIELDS = (
    "requests_received", "requests_open", "requests_overdue", "requests_closed", "satisfaction_sum", "satisfaction_count",
)
FIGURE_FIELDS = COVERAGE_FIELDS + MEMBER_FIELDS + COMPLIANCE_FIELDS + REQUEST_FIELDS
STREET_LEN = 2 * Region.steplen  # a street is a depth-2 region; shorter keys are the district itself (区直属)


def system_actor() -> User:
    """An unsaved superuser: restrict() lets it see everything (figures for the whole subtree)."""
    return User(username="system", is_superuser=True, is_active=True)


def _blank() -> dict[str, int]:
    return dict.fromkeys(FIGURE_FIELDS, 0)


def _add(target: dict[str, int], **values: int) -> None:
    for name, value in values.items():
        target[name] += int(value or 0)


def snapshot_figures(
    *, org: Organization, period_start: dt.date, period_end: dt.date, now: dt.datetime, today: dt.date,
) -> list[dict]:
    """The rows of a snapshot of `org`'s subtree: dicts with dimension, key, label, position and every
    figure column of SnapshotRow. Coverage and "open now" figures are as of `now`; members as now;
    compliance for the month of `period_start` as of min(period_end, today); requests received and
    closed within the period (local dates)."""
    system = system_actor()
    steplen = Organization.steplen
    child_len, grandchild_len = (org.depth + 1) * steplen, (org.depth + 2) * steplen

    # ---- the org rows: active children and grandchildren (no party groups), in tree order
    below = list(
        Organization.objects.filter(
            path__startswith=org.path, depth__in=[org.depth + 1, org.depth + 2], status=OrgStatus.ACTIVE,
        ).exclude(kind=OrgKind.PARTY_GROUP).order_by("path")
    )
    coverage_by_key: dict[str, object] = {}
    if below:
        for figures in coverage_by_child(user=system, org=org):
            coverage_by_key[figures.key] = figures
        for child in below:
            if child.depth == org.depth + 1 and child.kind not in BRANCH_KINDS:
                for figures in coverage_by_child(user=system, org=child):
                    coverage_by_key[figures.key] = figures
    committees = {c.path for c in below if c.depth == org.depth + 1 and c.kind not in BRANCH_KINDS}
    org_rows = [o for o in below if o.depth == org.depth + 1 or o.path[:child_len] in committees]

    total = {"dimension": SnapshotDimension.TOTAL, "key": str(org.pk), "label": org.name, **_blank()}
    by_path: dict[str, dict] = {o.path: {**_blank()} for o in org_rows}
    by_street: dict[str, dict] = defaultdict(_blank)
    by_industry: dict[str, dict] = defaultdict(_blank)

    def coverage_values(figures) -> dict[str, int]:
        return {name: int(getattr(figures, name)) for name in COVERAGE_FIELDS}

    total.update(coverage_values(coverage_for_org(user=system, org=org)))
    for o in org_rows:
        figures = coverage_by_key.get(str(o.pk))
        if figures is not None:
            by_path[o.path].update(coverage_values(figures))
    street_labels: dict[str, str] = {}
    for figures in coverage_by_street(user=system, org=org):
        by_street[figures.key].update(coverage_values(figures))
        street_labels[figures.key] = figures.label
    for figures in coverage_by_industry(user=system, org=org):
        by_industry[figures.key].update(coverage_values(figures))

    def roll_up(path: str | None, street: str | None, industry: str | None, **values: int) -> None:
        """Add figures to the total, to the org rows above `path`, to a street and an industry row."""
        _add(total, **values)
        if path:
            for prefix in {path[:child_len], path[:grandchild_len]}:
                if prefix in by_path:
                    _add(by_path[prefix], **values)
        if street:
            _add(by_street[street[:STREET_LEN]], **values)
        if industry:
            _add(by_industry[industry], **values)

    # ---- members (one grouped query)
    members = (
        Member.objects.filter(org__path__startswith=org.path, stage__in=PARTY_MEMBER_STAGES)
        .filter(Q(relation_kind__in=RELATION_HERE) | Q(relation_kind=RelationKind.MOBILE))
        .annotate(street=Substr("workplace__region__path", 1, STREET_LEN))
        .order_by()
        .values("org__path", "street", "workplace__industry")
        .annotate(
            full=Count("pk", filter=Q(stage=Stage.FULL, relation_kind__in=RELATION_HERE)),
            probationary=Count("pk", filter=Q(stage=Stage.PROBATIONARY, relation_kind__in=RELATION_HERE)),
            mobile=Count("pk", filter=Q(relation_kind=RelationKind.MOBILE)),
        )
    )
    for row in members:
        roll_up(row["org__path"], row["street"], row["workplace__industry"], members_full=row["full"],
                members_probationary=row["probationary"], members_mobile=row["mobile"])

    # ---- compliance (four queries for the whole subtree, plus the branches' streets)
    period = period_containing(Cycle.MONTH, period_start)
    report = compliance_for_subtree(root=org, period=period, as_of=min(period_end, today))
    region_paths = dict(
        Region.objects.filter(pk__in={b.org.region_id for b in report.branches if b.org.region_id}).values_list("pk", "path")
    )
    root_totals = report.root_totals
    _add(total, branches=root_totals.branches, branches_behind=root_totals.behind,
         compliance_expected=root_totals.expected, compliance_met=root_totals.met)
    for path, row in by_path.items():
        t = report.totals_by_path.get(path)
        if t is not None:
            _add(row, branches=t.branches, branches_behind=t.behind, compliance_expected=t.expected, compliance_met=t.met)
    for branch in report.branches:
        t = branch.totals()
        values = {"branches": t.branches, "branches_behind": t.behind, "compliance_expected": t.expected,
                  "compliance_met": t.met}
        street = region_paths.get(branch.org.region_id)
        if street:
            _add(by_street[street[:STREET_LEN]], **values)
        if branch.org.industry:
            _add(by_industry[branch.org.industry], **values)

    # ---- service requests (one grouped query)
    starts, ends = local_start(period_start), local_start(period_end + dt.timedelta(days=1))
    received_q = Q(submitted_at__gte=starts, submitted_at__lt=ends)
    open_q = Q(status__in=OPEN_STATUSES)
    closed_q = Q(status=RequestStatus.CLOSED, closed_at__gte=starts, closed_at__lt=ends)
    requests = (
        ServiceRequest.objects.filter(responsible_org__path__startswith=org.path)
        .filter(received_q | open_q | closed_q)
        .annotate(street=Substr("region__path", 1, STREET_LEN))
        .order_by()
        .values("responsible_org__path", "street", "workplace__industry")
        .annotate(
            received=Count("pk", filter=received_q),
            open=Count("pk", filter=open_q),
            overdue=Count("pk", filter=open_q & Q(due_at__lt=now)),
            closed=Count("pk", filter=closed_q),
            sat_sum=Sum("satisfaction", filter=closed_q & Q(satisfaction__isnull=False)),
            sat_count=Count("pk", filter=closed_q & Q(satisfaction__isnull=False)),
        )
    )
    for row in requests:
        roll_up(row["responsible_org__path"], row["street"], row["workplace__industry"],
                requests_received=row["received"], requests_open=row["open"], requests_overdue=row["overdue"],
                requests_closed=row["closed"], satisfaction_sum=row["sat_sum"], satisfaction_count=row["sat_count"])

    # ---- labels of streets that have figures but no workplaces
    missing = [key for key in by_street if key not in street_labels]
    if missing:
        street_labels.update(Region.objects.filter(path__in=missing).values_list("path", "name"))
    industry_labels = dict(Industry.choices)

    rows = [{**total, "position": 0}]
    position = 1
    for o in org_rows:
        rows.append({"dimension": SnapshotDimension.ORG, "key": str(o.pk), "label": o.name, "position": position,
                     **by_path[o.path]})
        position += 1
    for key in sorted(by_street):
        label = street_labels.get(key) if len(key) == STREET_LEN else None
        rows.append({"dimension": SnapshotDimension.REGION, "key": key, "label": str(label or _("区直属")),
                     "position": position, **by_street[key]})
        position += 1
    for key in sorted(by_industry):
        rows.append({"dimension": SnapshotDimension.INDUSTRY, "key": key, "label": str(industry_labels.get(key, key)),
                     "position": position, **by_industry[key]})
        position += 1
    return rows


# ---------------------------------------------------------------- lists and trends
def snapshot_list(*, user) -> QuerySet[CoverageSnapshot]:
    """Snapshots the user may see, newest period first, without the report bytes."""
    return (
        CoverageSnapshot.objects.restrict(user, "view").defer("report").select_related("org", "requested_by")
        .order_by("-period_start", "-requested_at", "-id")
    )


def snapshot_trend(*, user, org: Organization, limit: int = 24) -> list[SnapshotRow]:
    """The total rows of the org's ready monthly snapshots, oldest first (one query): the trend lines."""
    visible = CoverageSnapshot.objects.restrict(user, "view").filter(
        org=org, kind=SnapshotKind.MONTHLY, status=SnapshotStatus.READY,
    ).values("pk")
    rows = list(
        SnapshotRow.objects.filter(snapshot__in=visible, dimension=SnapshotDimension.TOTAL)
        .select_related("snapshot").defer("snapshot__report")
        .order_by("-snapshot__period_start")[:limit]
    )
    rows.reverse()
    return rows


def snapshot_rows(snapshot: CoverageSnapshot) -> dict[str, list[SnapshotRow]]:
    """The snapshot's rows grouped by dimension (total, org, region, industry), in order (one query)."""
    grouped: dict[str, list[SnapshotRow]] = {d: [] for d in SnapshotDimension.values}
    for row in snapshot.rows.order_by("position", "id"):
        grouped[row.dimension].append(row)
    return grouped


def snapshot_orgs(*, user, perm: str = "snapshot.view") -> QuerySet[Organization]:
    """Orgs at or under the user's grants allowing `perm` (active, no party groups), in tree order."""
    qs = Organization.objects.active().exclude(kind=OrgKind.PARTY_GROUP).order_by("path")
    if user.is_superuser:
        return qs
    paths = grant_paths(user, perm)
    return qs.filter(path_q("path", paths)) if paths else qs.none()


def snapshot_top_org(*, user) -> Organization | None:
    """The default org of the trend lines: the top of the user's snapshot.view scope."""
    return snapshot_orgs(user=user).order_by("depth", "path").first()


def snapshot_trend_orgs(*, user) -> QuerySet[Organization]:
    """Orgs with at least one visible ready monthly snapshot (the trend's org choices)."""
    visible = CoverageSnapshot.objects.restrict(user, "view").filter(
        kind=SnapshotKind.MONTHLY, status=SnapshotStatus.READY,
    ).values("org_id")
    return Organization.objects.filter(pk__in=visible).order_by("path")


def snapshot_recipients(*, snapshot: CoverageSnapshot) -> list[int]:
    """Users to tell that the report is ready: the requester and every active user holding snapshot.view
    by a grant at the org or one of its ancestors (district staff and viewers)."""
    from orgs.models import RoleGrant
    from orgs.permissions import ROLE_ACTIONS

    org = snapshot.org
    prefixes = [org.path[: i * org.steplen] for i in range(1, org.depth + 1)]
    roles = [role for role, perms in ROLE_ACTIONS.items() if "snapshot.view" in perms]
    ids = list(
        RoleGrant.objects.filter(org__path__in=prefixes, org__status=OrgStatus.ACTIVE, role__in=roles, user__is_active=True)
        .order_by("user_id").values_list("user_id", flat=True).distinct()
    )
    if snapshot.requested_by_id:
        ids.insert(0, snapshot.requested_by_id)
    return list(dict.fromkeys(ids))


def snapshot_period_label(snapshot: CoverageSnapshot) -> str:
    if snapshot.kind == SnapshotKind.MONTHLY:
        return _("%(year)s年%(month)s月") % {"year": snapshot.period_start.year, "month": snapshot.period_start.month}
    return _("%(start)s至%(end)s") % {"start": snapshot.period_start.isoformat(), "end": snapshot.period_end.isoformat()}
