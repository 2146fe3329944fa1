"""Reads for member imports and roster comparisons, restricted to what the user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from members.models import FindingKind, Member, MemberImport, RosterComparison, RosterFinding
from orgs.models import Organization
from orgs.selectors import orgs_where

__all__ = [
    "import_target_orgs", "roster_target_orgs", "member_import_list", "roster_comparison_list", "roster_findings",
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


def roster_findings(*, user, comparison: RosterComparison, limit: int = FINDINGS_SHOWN) -> list[dict]:
    """Per finding kind: the findings about members the user may see (first `limit`), and how many are hidden."""
    visible = Member.objects.restrict(user, "view").values("pk")
    base = RosterFinding.objects.filter(comparison=comparison)
    groups = []
    for kind, label in FindingKind.choices:
        of_kind = base.filter(kind=kind)
        shown = of_kind.filter(member__in=visible)
        total, visible_count = of_kind.count(), shown.count()
        groups.append({
            "kind": kind, "label": label, "total": total, "visible": visible_count, "hidden": total - visible_count,
            "rows": list(shown.select_related("member", "member__org", "member__workplace", "workplace").order_by("member__name", "id")[:limit]),
        })
    return groups
