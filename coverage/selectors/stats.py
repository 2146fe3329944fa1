"""Reads for the statistics API (/api/v1/stats/): which orgs a caller may ask about, coverage live or as of a
snapshot, the trend over monthly snapshots, and compliance per direct child.

The figures are the pages' own selectors, so the API and the pages never disagree: live coverage is
coverage.selectors.figures (the home page and the org page), snapshot figures are the stored SnapshotRows (the
reports page), compliance is activities.selectors.compliance.compliance_for_subtree (the board's selector).

Scope: a statistics endpoint needs `stats.view`, and the orgs it answers about are the orgs at or under the
caller's stats.view grants (restrict(user, "view") on Organization, cut down to those grants). Coverage counts the
caller's workplace.view scope (the figure selectors restrict themselves; every role holding stats.view holds
workplace.view at the same nodes); snapshots are CoverageSnapshot.objects.restrict(user, "view") (snapshot.view, as
the reports page: without it no snapshot is found); compliance is aggregated over the same stats.view subtree
(aggregates only, as in the snapshot reports a viewer already reads).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, QuerySet, Value, When

from activities.selectors.compliance import Period, Totals, compliance_for_subtree
from coverage.models import CoverageSnapshot, SnapshotDimension, SnapshotKind, SnapshotRow, SnapshotStatus
from coverage.selectors import figures
from orgs.models import Organization, OrgStatus
from orgs.scoping import grant_paths, path_q
from orgs.selectors import CoverageFigures

STATS_PERM = "stats.view"

#: the API's group_by values → the snapshot dimension that stores them
GROUP_DIMENSIONS = {
    "street": SnapshotDimension.REGION,
    "industry": SnapshotDimension.INDUSTRY,
    "child": SnapshotDimension.ORG,
}


# ---------------------------------------------------------------- which orgs
def stats_paths(user) -> list[str] | None:
    """The org paths of the caller's stats.view grants; None means everything (superuser)."""
    if user.is_superuser:
        return None
    return grant_paths(user, STATS_PERM)


def stats_orgs(*, user) -> QuerySet[Organization]:
    """Orgs the caller may ask statistics about: in their org.view scope and under a stats.view grant."""
    qs = Organization.objects.restrict(user, "view")
    paths = stats_paths(user)
    if paths is not None:
        qs = qs.filter(path_q("path", paths)) if paths else qs.none()
    return qs.order_by("path")


def stats_roots(*, user) -> list[Organization]:
    """The default orgs: the top-most nodes of the caller's stats.view grants (the home page's root for a user
    with one grant; one per grant otherwise), in tree order. One query (after the cached grants)."""
    paths = stats_paths(user)
    if paths is None:
        return list(Organization.objects.filter(depth=1, status=OrgStatus.ACTIVE).order_by("path"))
    return list(Organization.objects.restrict(user, "view").filter(path__in=paths).order_by("path"))


def _child_keys(org: Organization) -> set[str]:
    """Ids (as snapshot keys) of the org's direct children, whatever their status: one query."""
    children = Organization.objects.filter(path__startswith=org.path, depth=org.depth + 1)
    return {str(pk) for pk in children.values_list("pk", flat=True)}


# ---------------------------------------------------------------- coverage, live
def coverage_live(*, user, org: Organization, group_by: str) -> list[CoverageFigures]:
    """The figures per child, street or industry of `org`'s subtree: the same functions as the home page."""
    if group_by == "street":
        return figures.coverage_by_street(user=user, org=org)
    if group_by == "industry":
        return figures.coverage_by_industry(user=user, org=org)
    return figures.coverage_by_child(user=user, org=org)


# ---------------------------------------------------------------- coverage, as of a snapshot
def _visible_ready(user) -> QuerySet[CoverageSnapshot]:
    return CoverageSnapshot.objects.restrict(user, "view").filter(status=SnapshotStatus.READY)


def snapshot_for_month(*, user, org: Organization, period: Period) -> CoverageSnapshot | None:
    """The caller-visible ready snapshot of `org` for the month `period`: the monthly one, else the latest
    on-demand one taken in that month; None when there is none (one query)."""
    monthly_first = Case(When(kind=SnapshotKind.MONTHLY, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        _visible_ready(user)
        .filter(org=org, period_start=period.start)
        .defer("report")
        .order_by(monthly_first, "-taken_at", "-id")
        .first()
    )


def snapshot_group_rows(*, snapshot: CoverageSnapshot, group_by: str) -> list[SnapshotRow]:
    """The snapshot's rows of one dimension, in their stored order; for "child" only the org's direct children
    (a snapshot also stores its committees' children). One or two queries."""
    rows = snapshot.rows.filter(dimension=GROUP_DIMENSIONS[group_by]).order_by("position", "id")
    if group_by == "child":
        rows = rows.filter(key__in=_child_keys(snapshot.org))
    return list(rows)


# ---------------------------------------------------------------- the trend
def coverage_trend(
    *,
    user,
    org: Organization,
    group_by: str | None = None,
    start: Period | None = None,
    end: Period | None = None,
) -> list[SnapshotRow]:
    """Rows of the org's ready monthly snapshots (the reports page's trend lines), oldest period first: the
    "total" row of each, or with `group_by` its rows of that dimension; `start`/`end` bound the months.
    One query (two with group_by=child)."""
    snapshots = _visible_ready(user).filter(org=org, kind=SnapshotKind.MONTHLY)
    if start is not None:
        snapshots = snapshots.filter(period_start__gte=start.start)
    if end is not None:
        snapshots = snapshots.filter(period_start__lte=end.start)
    dimension = GROUP_DIMENSIONS[group_by] if group_by else SnapshotDimension.TOTAL
    rows = (
        SnapshotRow.objects.filter(snapshot__in=snapshots.values("pk"), dimension=dimension)
        .select_related("snapshot")
        .defer("snapshot__report")
        .order_by("snapshot__period_start", "snapshot_id", "position", "id")
    )
    if group_by == "child":
        rows = rows.filter(key__in=_child_keys(org))
    return list(rows)


# ---------------------------------------------------------------- compliance per direct child
@dataclass
class KindFigures:
    expected: int = 0
    held: int = 0
    met: int = 0


@dataclass
class ComplianceRow:
    """One org's compliance for a period: subtree totals and, per activity kind, expected/held/met."""

    org: Organization
    level: str  # "org" (the asked org's whole subtree) or "child"
    totals: Totals
    kinds: dict[str, KindFigures] = field(default_factory=lambda: defaultdict(KindFigures))


def compliance_by_child(*, user, org: Organization, period: Period) -> list[ComplianceRow]:
    """`org`'s own subtree row, then one row per direct child (party groups aside), from the board's selector
    (four queries whatever the size of the subtree); per-kind figures are summed over each row's branches in
    Python."""
    report = compliance_for_subtree(root=org, period=period, paths=stats_paths(user))
    rows = [ComplianceRow(org=org, level="org", totals=report.root_totals)]
    by_path = {}
    for child, totals in report.children():
        row = ComplianceRow(org=child, level="child", totals=totals)
        rows.append(row)
        by_path[child.path] = row
    child_len = (org.depth + 1) * Organization.steplen
    for branch in report.branches:
        targets = [rows[0]]
        if (child_row := by_path.get(branch.org.path[:child_len])) is not None:
            targets.append(child_row)
        for result in branch.rules:
            for row in targets:
                kind = row.kinds[result.rule.kind]
                kind.expected += result.expected
                kind.held += result.held
                kind.met += result.met
    return rows


__all__ = [
    "GROUP_DIMENSIONS",
    "ComplianceRow",
    "KindFigures",
    "compliance_by_child",
    "coverage_live",
    "coverage_trend",
    "snapshot_for_month",
    "snapshot_group_rows",
    "stats_orgs",
    "stats_paths",
    "stats_roots",
]
