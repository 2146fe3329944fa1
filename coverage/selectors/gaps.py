"""Gap lists (空白点, workplaces needing their own branch, oversized branches, missing committees, outside the circle)."""

from __future__ import annotations

from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from core.rules import rule_values
from coverage.selectors.figures import _scoped_active_workplaces
from members.models import PARTY_MEMBER_STAGES, RELATION_HERE, Stage
from orgs.models import (
    BRANCH_KINDS,
    Organization,
    OrgStatus,
    Workplace,
)
from orgs.selectors import figure_rules


def gap_uncovered_workplaces(*, user, org: Organization | None = None) -> QuerySet[Workplace]:
    qs = _scoped_active_workplaces(user).filter(org_covered=False, assigned=False)
    if org is not None:
        qs = qs.filter(Workplace.in_subtrees_q([org.path]))
    return qs.select_related("region", "responsible_org").order_by("-gig_worker_count", "name")


def gap_needs_own_branch(*, user, org: Organization | None = None) -> QuerySet[Workplace]:
    """Workplaces with ≥ N full members (rule row) but no own (单独组建) branch."""
    min_full = int(rule_values("own_branch_min_full_members")["own_branch_min_full_members"])
    qs = _scoped_active_workplaces(user).filter(full_members__gte=min_full, own_branch=False)
    if org is not None:
        qs = qs.filter(Workplace.in_subtrees_q([org.path]))
    return qs.select_related("region", "responsible_org").order_by("-full_members", "name")


def gap_outside_circle(*, user, org: Organization | None = None) -> QuerySet[Workplace]:
    """Active workplaces outside the 15-minute service circle: no nearest open point recorded (no
    coordinates, or no open point at all) or the nearest one beyond the reach rule. Each row carries
    `reach` (nearest point and distance) when there is one; the most gig workers first."""
    _min_full, reach_m = figure_rules()
    qs = Workplace.objects.restrict(user, "view").filter(is_active=True).filter(
        Q(reach__isnull=True) | Q(reach__distance_m__gt=reach_m)
    )
    if org is not None:
        qs = qs.filter(Workplace.in_subtrees_q([org.path]))
    return qs.select_related("region", "responsible_org", "reach__nearest_point").order_by("-gig_worker_count", "name", "id")


def _branches_with_counts(user, org: Organization | None):
    qs = Organization.objects.restrict(user, "view").filter(status=OrgStatus.ACTIVE, kind__in=BRANCH_KINDS)
    if org is not None:
        qs = qs.filter(path__startswith=org.path)
    return qs.annotate(
        member_count=Count("members", filter=Q(members__stage__in=PARTY_MEMBER_STAGES, members__relation_kind__in=RELATION_HERE)),
        full_member_count=Count("members", filter=Q(members__stage=Stage.FULL, members__relation_kind__in=RELATION_HERE)),
    ).select_related("region")


def gap_oversized_branches(*, user, org: Organization | None = None) -> QuerySet[Organization]:
    limit = int(rule_values("branch_max_members")["branch_max_members"])
    return _branches_with_counts(user, org).filter(member_count__gt=limit).order_by("-member_count")


def gap_missing_committees(*, user, org: Organization | None = None) -> QuerySet[Organization]:
    threshold = int(rule_values("committee_min_full_members")["committee_min_full_members"])
    return _branches_with_counts(user, org).filter(full_member_count__gte=threshold, has_committee=False).order_by("-full_member_count")
