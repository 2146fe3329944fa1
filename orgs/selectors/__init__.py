"""Reads for orgs: the tree, workplaces and their history, and the coverage vocabulary (CoverageState,
CoverageFigures, figure_rules). The figures themselves count members and live in coverage/selectors.

Every function takes the user and starts from `restrict()`. Figures are computed
in the database with a fixed number of queries, whatever the number of rows.

Definitions (DOMAIN.md, 两个覆盖):
- organization coverage: an active org covers the workplace;
- work coverage: organization coverage, or an active instructor/liaison assignment;
- a workplace belongs to an org subtree when its responsible org is in the subtree or
  an active org in the subtree covers it (Workplace.in_subtrees_q) — the same
  predicate for scoping, the workplace list's subtree filter and the figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext_lazy as _

from core.rules import rule_values
from orgs import scoping
from orgs.models import Assignment, Organization, OrgStatus, Region, Workplace
from orgs.scoping import grant_paths, has_perm


class CoverageState:
    ORG = "org"  # 组织覆盖 (implies work coverage)
    WORK_ONLY = "work_only"  # 仅工作覆盖 (instructor/liaison)
    NONE = "none"  # 空白点

    LABELS = {ORG: _("组织覆盖"), WORK_ONLY: _("仅工作覆盖"), NONE: _("未覆盖（空白点）")}


# ---------------------------------------------------------------- the tree
def org_scope_roots(*, user) -> QuerySet[Organization]:
    """The top nodes of the user's visible tree (where their grants sit)."""
    if user.is_superuser:
        return Organization.objects.filter(depth=1)
    paths = grant_paths(user, "org.view")
    return Organization.objects.filter(path__in=paths).select_related("region").order_by("path")


def orgs_where(*, user, perm: str) -> QuerySet[Organization]:
    """Active orgs at or under the nodes where the user holds a role allowing `perm` (e.g. "workplace.add")."""
    return scoping.orgs_where(user, perm)


def org_children(*, user, parent: Organization, include_dissolved: bool = False) -> QuerySet[Organization]:
    qs = (
        Organization.objects.restrict(user, "view")
        .filter(path__startswith=parent.path, depth=parent.depth + 1)
        .select_related("region")
        .order_by("path")
    )
    if not include_dissolved:
        qs = qs.filter(status=OrgStatus.ACTIVE)
    return qs


def org_ancestors(*, user, org: Organization) -> list[Organization]:
    """Breadcrumb: the visible ancestors of `org`, root first (one query)."""
    prefixes = [org.path[: i * org.steplen] for i in range(1, org.depth)]
    return list(Organization.objects.restrict(user, "view").filter(path__in=prefixes).order_by("depth"))


def tree_with_parent(qs: QuerySet, *, visible: QuerySet | None = None) -> QuerySet:
    """Annotate `parent_pk` and `parent_name` on a treebeard queryset (orgs or regions) in the same query: the
    node whose path is this one's minus one step, taken from `visible` (e.g. the orgs the user may see; a parent
    outside it reads as None, like a missing one) or from every node of the model."""
    model = qs.model
    candidates = visible if visible is not None else model._default_manager.all()
    parent = candidates.filter(path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - model.steplen)).order_by()
    return qs.annotate(parent_pk=Subquery(parent.values("pk")[:1]), parent_name=Subquery(parent.values("name")[:1]))


def regions_for(*, user) -> QuerySet[Region]:
    """The region tree (district-wide reference data): every region for anyone who may see orgs, in tree order."""
    if user is None or not user.is_authenticated or not user.is_active or not has_perm(user, "org.view"):
        return Region.objects.none()
    return Region.objects.order_by("path")


def can_change_org_structure(*, user, org: Organization) -> bool:
    """May `user` change the facts that decide what is expected of `org` (established/committee dates,
    formation mode, approval number, covered workplaces)? Only the level above: a grant covering the org's
    parent (district staff, or the parent committee), never a grant at the org itself. The root has no
    level above: district staff granted at the root (and superusers, and SYSTEM) decide its facts. No user
    (None) may not: background work passes core.audit.SYSTEM."""
    if user is None:
        return False
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if org.depth == 1:
        from orgs.models import Role
        from orgs.scoping import _load_grants

        return any(role == Role.DISTRICT and path == org.path for role, path in _load_grants(user))
    parent_path = org.path[: -Organization.steplen]
    return any(parent_path.startswith(path) for path in grant_paths(user, "org.change"))


def org_events(*, org: Organization):
    return org.events.select_related("actor").order_by("-happened_on", "-id")


# ---------------------------------------------------------------- workplaces
def _active_assignment_q(today: dt.date) -> Q:
    return Q(started_on__lte=today) & (Q(ended_on__isnull=True) | Q(ended_on__gte=today))


def figure_rules() -> tuple[int, int]:
    """(full members for an own branch, service reach in metres) from the rule rows, in one query."""
    values = rule_values("own_branch_min_full_members", "service_reach_km")
    return int(values["own_branch_min_full_members"]), round(float(values["service_reach_km"]) * 1000)


def workplace_covering_orgs(*, user, workplace: Workplace) -> QuerySet[Organization]:
    return Organization.objects.restrict(user, "view").filter(workplaces=workplace).order_by("path")


def workplace_events(*, workplace: Workplace, limit: int = 20) -> list:
    """The latest history rows of a workplace (headcount changes from roster comparisons, edits), one query."""
    from orgs.models import WorkplaceEvent

    events = list(WorkplaceEvent.objects.filter(workplace=workplace).select_related("actor").order_by("-created_at", "-id")[:limit])
    for event in events:
        # (field label, old, new) for the page, in the site language; values as shown elsewhere.
        event.changes = [
            (_workplace_field_label(name), _display_value(change[0]), _display_value(change[1]))
            for name, change in (event.details or {}).items()
            if isinstance(change, list | tuple) and len(change) == 2
        ]
    return events


def _workplace_field_label(name: str) -> str:
    from django.core.exceptions import FieldDoesNotExist

    try:
        return str(Workplace._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a field renamed since the event was written
        return name


def _display_value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    return str(value)


def workplace_assignments(*, workplace: Workplace) -> QuerySet[Assignment]:
    return workplace.assignments.select_related("instructor").order_by("-started_on")


# ---------------------------------------------------------------- figures
@dataclass
class CoverageFigures:
    workplaces: int = 0
    org_covered: int = 0
    work_covered: int = 0
    uncovered: int = 0
    gig_workers: int = 0
    gig_workers_org_covered: int = 0
    gig_workers_work_covered: int = 0
    needs_own_branch: int = 0
    within_reach: int = 0
    gig_workers_within_reach: int = 0
    label: str = ""
    key: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def org_rate(self) -> float | None:
        return round(100 * self.org_covered / self.workplaces, 1) if self.workplaces else None

    @property
    def work_rate(self) -> float | None:
        return round(100 * self.work_covered / self.workplaces, 1) if self.workplaces else None

    @property
    def reach_rate(self) -> float | None:
        """Share of workplaces inside the 15-minute service circle (%)."""
        return round(100 * self.within_reach / self.workplaces, 1) if self.workplaces else None

    @property
    def gig_reach_rate(self) -> float | None:
        """Share of gig workers whose workplace is inside the 15-minute service circle (%)."""
        return round(100 * self.gig_workers_within_reach / self.gig_workers, 1) if self.gig_workers else None


FIGURE_NAMES = ["workplaces", "org_covered", "work_covered", "gig_workers", "gig_workers_org_covered",
                "gig_workers_work_covered", "needs_own_branch", "within_reach", "gig_workers_within_reach"]




# ---------------------------------------------------------------- gaps (空白点)


