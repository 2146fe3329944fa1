"""Member counts for the statistics API: counts only, never a name or any personal data.

Scope: `stats.view`, not `member.view`. These are aggregates of the kind the home page already shows to every
role in the tree (coverage.selectors.figures.org_member_counts) and the coverage reports show to viewers; no row
of the registry leaves the database, so the statistics-only role (viewer) and a city dashboard's token may read
them. They are still cut down to the caller's subtrees: the members counted are those under the caller's
stats.view grants, selected with the registry's own scope predicate (Member.scope_q: the member's org lies in the
subtree), and only orgs inside the caller's org.view scope appear as rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from members.models import PARTY_MEMBER_STAGES, Member, Occupation, RelationKind, Stage
from orgs.models import Organization
from orgs.scoping import grant_paths
from orgs.selectors import org_children

STAGES = tuple(Stage.values)
RELATIONS = tuple(RelationKind.values)
OCCUPATIONS = tuple(Occupation.values)


@dataclass
class MemberCounts:
    """Counts for one org's subtree (level "org": the asked org; "child": one of its direct children)."""

    org: Organization
    level: str
    total: int = 0
    party_members: int = 0  # probationary + full, whatever the relation (as the home page counts them)
    stages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    relations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RELATIONS, 0))
    occupations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OCCUPATIONS, 0))

    def add(self, row: dict) -> None:
        self.total += row["total"]
        self.party_members += row["party_members"]
        for name in STAGES:
            self.stages[name] += row[f"stage_{name}"]
        for name in RELATIONS:
            self.relations[name] += row[f"relation_{name}"]
        for name in OCCUPATIONS:
            self.occupations[name] += row[f"occupation_{name}"]


def members_in_stats_scope(*, user) -> QuerySet[Member]:
    """Members under the caller's stats.view grants (everything for a superuser), for counting only."""
    if user.is_superuser:
        return Member.objects.all()
    paths = grant_paths(user, "stats.view")
    q = Member.scope_q(user=user, paths=paths, action="view")
    return Member.objects.filter(q) if q is not None else Member.objects.none()


def member_counts_by_child(*, user, org: Organization) -> list[MemberCounts]:
    """The org's subtree, then each visible active direct child's subtree: two queries (the children, one
    grouped count keyed by the child's path prefix) whatever the number of children or members."""
    children = list(org_children(user=user, parent=org))
    key_len = (org.depth + 1) * Organization.steplen
    aggregates = {
        "total": Count("pk"),
        "party_members": Count("pk", filter=Q(stage__in=PARTY_MEMBER_STAGES)),
        **{f"stage_{name}": Count("pk", filter=Q(stage=name)) for name in STAGES},
        **{f"relation_{name}": Count("pk", filter=Q(relation_kind=name)) for name in RELATIONS},
        **{f"occupation_{name}": Count("pk", filter=Q(occupation=name)) for name in OCCUPATIONS},
    }
    grouped = (
        members_in_stats_scope(user=user)
        .filter(org__path__startswith=org.path)
        .annotate(child_path=Substr("org__path", 1, key_len))
        .order_by()
        .values("child_path")
        .annotate(**aggregates)
    )
    total = MemberCounts(org=org, level="org")
    by_path = {child.path: MemberCounts(org=child, level="child") for child in children}
    for row in grouped:
        total.add(row)
        if (child := by_path.get(row["child_path"])) is not None:
            child.add(row)
    return [total, *by_path.values()]
