"""Reads for member imports and roster comparisons, restricted to what the user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from core.rules import rule_int
from members.models import FindingKind, MemberImport, RosterComparison, RosterFinding, RosterHeadcount, UploadStatus
from orgs.models import Organization, Workplace
from orgs.scoping import grant_paths, path_q
from orgs.selectors import orgs_where

__all__ = [
    "import_target_orgs", "roster_target_orgs", "member_import_list", "roster_comparison_list", "roster_findings",
    "roster_figures_visible", "roster_headcount_proposals", "upload_retention_days",
]

FINDINGS_SHOWN = 200


def import_target_orgs(*, user) -> QuerySet[Organization]:
    """Active orgs the user may import members into (member_import.add and member.add there)."""
    return orgs_where(user=user, perm="member_import.add").filter(
        pk__in=orgs_where(user=user, perm="member.add").values("pk")
    ).order_by("path")


def roster_target_orgs(*, user) -> QuerySet[Organization]:
    return orgs_where(user=user, perm="roster.add").order_by("path")


def member_import_list(*, user) -> QuerySet[MemberImport]:
    return MemberImport.objects.restrict(user, "view").select_related("org", "uploaded_by").defer("file_encrypted")


def roster_comparison_list(*, user) -> QuerySet[RosterComparison]:
    return RosterComparison.objects.restrict(user, "view").select_related("org", "uploaded_by").defer("upload_encrypted")


def upload_retention_days() -> int:
    """Days after which unconfirmed imports and unfinished roster comparisons are deleted (rule row)."""
    return rule_int("upload_retention_days")


def roster_figures_visible(*, user, comparison: RosterComparison) -> bool:
    """May `user` see the comparison's member counts (matched, elsewhere, nowhere, not on roster)?

    The counts cover the members the uploader could see when it ran (`scope_paths`); a viewer sees them only
    if they may see all of those members, else the counts would tell them about members outside their scope.
    No query beyond the user's grants (cached on the user), so lists stay constant."""
    if user.is_superuser:
        return True
    scope = comparison.scope_paths if comparison.scope_paths is not None else [""]  # legacy rows: the whole district
    mine = grant_paths(user, "member.view")
    return all(any(path.startswith(own) for own in mine) for path in scope)


def roster_findings(*, user, comparison: RosterComparison, limit: int = FINDINGS_SHOWN) -> list[dict]:
    """Per finding kind: the findings about members the user may see (first `limit`) and their number.
    Findings about members the user may not see are neither listed nor counted (not even as "hidden")."""
    base = RosterFinding.objects.filter(comparison=comparison)
    if not (user.is_authenticated and user.is_active):
        base = base.none()
    elif not user.is_superuser:
        # A join on the member's org path, not `member__in=<scoped subquery>`: PostgreSQL planned the IN form
        # as a nested loop over every finding x member once statistics were stale (minutes at 10,000 rows).
        paths = grant_paths(user, "member.view")
        base = base.filter(path_q("member__org__path", paths)) if paths else base.none()
    groups = []
    for kind, label in FindingKind.choices:
        shown = base.filter(kind=kind)
        groups.append({
            "kind": kind, "label": label, "visible": shown.count(),
            "rows": list(shown.select_related("member", "member__org", "member__workplace", "workplace").order_by("member__name", "id")[:limit]),
        })
    return groups


def roster_headcount_proposals(*, user, comparison: RosterComparison) -> dict:
    """The headcounts the roster proposes, against the workplaces' current counts (read now), for the
    workplaces the user may see: rows with the difference, the totals, and whether the user may confirm
    (the comparison finished, not yet confirmed, and every workplace to change is one the user may change).
    At most four queries whatever the number of workplaces."""
    visible = Workplace.objects.restrict(user, "view").values("pk")
    rows = list(RosterHeadcount.objects.filter(comparison=comparison, workplace__in=visible).select_related("workplace"))
    changed = []
    for row in rows:
        row.live = row.workplace.gig_worker_count
        row.difference = row.proposed - row.live
        if row.difference:
            changed.append(row)
    ids = [row.workplace_id for row in changed]
    may_change = (
        bool(ids) and Workplace.objects.restrict(user, "change").filter(pk__in=ids).count() == len(ids)
        and RosterHeadcount.objects.filter(comparison=comparison).count() == len(rows)  # none hidden from the user
    )
    return {
        "rows": changed,
        "unchanged": len(rows) - len(changed),
        "total_current": sum(row.live for row in changed),
        "total_proposed": sum(row.proposed for row in changed),
        "total_difference": sum(row.difference for row in changed),
        "applied": comparison.headcounts_applied_at is not None,
        "can_apply": may_change and comparison.headcounts_applied_at is None and comparison.status == UploadStatus.DONE,
    }
