"""Reads for orgs: tree, workplaces with coverage state, coverage figures and gaps.

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

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import PARTY_MEMBER_STAGES, RELATION_HERE, Member, Stage
from orgs.models import (
    BRANCH_KINDS,
    Assignment,
    FormationMode,
    Organization,
    OrgStatus,
    Region,
    Workplace,
)
from portal.rules import rule_values
from portal.scoping import grant_paths, path_q


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
    qs = Organization.objects.active()
    if user.is_superuser:
        return qs
    paths = grant_paths(user, perm)
    return qs.filter(path_q("path", paths)) if paths else qs.none()


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


def can_change_org_structure(*, user, org: Organization) -> bool:
    """May `user` change the facts that decide what is expected of `org` (established/committee dates,
    formation mode, approval number, covered workplaces)? Only the level above: a grant covering the org's
    parent (district staff, or the parent committee), never a grant at the org itself. The root has no
    level above: district staff granted at the root (and superusers) decide its facts."""
    if user is None:  # system writes (demo, migrations)
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if org.depth == 1:
        from portal.models import Role
        from portal.scoping import _load_grants

        return any(role == Role.DISTRICT and path == org.path for role, path in _load_grants(user))
    parent_path = org.path[: -Organization.steplen]
    return any(parent_path.startswith(path) for path in grant_paths(user, "org.change"))


def org_events(*, org: Organization):
    return org.events.select_related("actor").order_by("-happened_on", "-id")


def org_member_counts(*, org: Organization) -> dict[str, int]:
    """Members of the org itself and of its subtree (one query)."""
    agg = Member.objects.filter(org__path__startswith=org.path).aggregate(
        subtree_party=Count("pk", filter=Q(stage__in=PARTY_MEMBER_STAGES)),
        subtree_full=Count("pk", filter=Q(stage=Stage.FULL)),
        own_party=Count("pk", filter=Q(org_id=org.pk, stage__in=PARTY_MEMBER_STAGES, relation_kind__in=RELATION_HERE)),
        own_full=Count("pk", filter=Q(org_id=org.pk, stage=Stage.FULL)),
        own_pipeline=Count("pk", filter=Q(org_id=org.pk) & ~Q(stage__in=PARTY_MEMBER_STAGES)),
    )
    return agg


# ---------------------------------------------------------------- workplaces
def _active_assignment_q(today: dt.date) -> Q:
    return Q(started_on__lte=today) & (Q(ended_on__isnull=True) | Q(ended_on__gte=today))


def _flag(ids: QuerySet) -> Case:
    """True when the row's pk is in `ids`: an uncorrelated IN (subquery) the database evaluates once
    (a hashed set), instead of a correlated EXISTS per row — 3–5× faster on whole-district figures."""
    return Case(When(pk__in=ids, then=Value(True)), default=Value(False), output_field=BooleanField())


def _coverage_sets(today: dt.date) -> dict[str, QuerySet]:
    covering = Organization.workplaces.through.objects.filter(organization__status=OrgStatus.ACTIVE)
    return {
        "org_covered": covering.values("workplace_id"),
        "own_branch": covering.filter(
            organization__kind__in=BRANCH_KINDS, organization__formation_mode=FormationMode.SINGLE
        ).values("workplace_id"),
        "assigned": Assignment.objects.filter(workplace__isnull=False).filter(_active_assignment_q(today)).values("workplace_id"),
    }


def annotate_figure_flags(
    qs: QuerySet[Workplace], *, min_full: int, reach_m: int | None = None, today: dt.date | None = None,
) -> QuerySet[Workplace]:
    """The lean flags the figures aggregate over: org_covered, assigned, own_branch, many_full
    (≥ min_full full members) and, when `reach_m` is given, within_reach (the nearest open service
    point is at most `reach_m` metres away: the 15-minute circle). Only uncorrelated IN-subqueries
    and one one-to-one LEFT JOIN (WorkplaceReach; measured 25 % faster than an IN-set there): the
    aggregate wraps this queryset in a subquery that computes every annotation for every row, so
    nothing per-row-correlated here."""
    sets = _coverage_sets(today or timezone.localdate())
    many_full = (
        Member.objects.filter(stage=Stage.FULL, workplace__isnull=False).order_by()
        .values("workplace_id").annotate(n=Count("pk")).filter(n__gte=min_full).values("workplace_id")
    )
    flags = {name: _flag(ids) for name, ids in sets.items()}
    if reach_m is not None:
        # WorkplaceReach is keyed by the workplace (one-to-one): a LEFT JOIN, no row multiplication.
        flags["within_reach"] = Case(When(reach__distance_m__lte=reach_m, then=Value(True)), default=Value(False),
                                     output_field=BooleanField())
    return qs.annotate(**flags, many_full=_flag(many_full))


def figure_rules() -> tuple[int, int]:
    """(full members for an own branch, service reach in metres) from the rule rows, in one query."""
    values = rule_values("own_branch_min_full_members", "service_reach_km")
    return int(values["own_branch_min_full_members"]), round(float(values["service_reach_km"]) * 1000)


def annotate_coverage(qs: QuerySet[Workplace], *, today: dt.date | None = None) -> QuerySet[Workplace]:
    """Add org_covered, own_branch, assigned, coverage_state and full_members to each workplace.

    Correlated EXISTS per row: right for lists and pages, which touch few rows (an IN-set would
    build the whole set first: 5.7× the raw floor on a 50-row page). Figures use annotate_figure_flags.
    """
    today = today or timezone.localdate()
    through = Organization.workplaces.through.objects
    covering = through.filter(workplace_id=OuterRef("pk"), organization__status=OrgStatus.ACTIVE)
    own_branch = covering.filter(organization__kind__in=BRANCH_KINDS, organization__formation_mode=FormationMode.SINGLE)
    assigned = Assignment.objects.filter(workplace_id=OuterRef("pk")).filter(_active_assignment_q(today))
    full_members = (
        Member.objects.filter(workplace_id=OuterRef("pk"), stage=Stage.FULL)
        .order_by()
        .values("workplace_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(
        org_covered=Exists(covering),
        own_branch=Exists(own_branch),
        assigned=Exists(assigned),
        full_members=Coalesce(Subquery(full_members, output_field=IntegerField()), Value(0)),
    ).annotate(
        coverage_state=Case(
            When(org_covered=True, then=Value(CoverageState.ORG)),
            When(assigned=True, then=Value(CoverageState.WORK_ONLY)),
            default=Value(CoverageState.NONE),
        )
    )


def workplace_list(*, user, filters: dict | None = None) -> QuerySet[Workplace]:
    """Workplaces the user may see, with coverage annotations, filtered by WorkplaceFilterSet."""
    from orgs.filtersets import WorkplaceFilterSet

    qs = annotate_coverage(Workplace.objects.restrict(user, "view")).select_related("region", "responsible_org")
    if filters is not None:
        fs = WorkplaceFilterSet(filters, queryset=qs, request_user=user)
        qs = fs.qs if fs.is_valid() else qs.none()
    return qs.order_by("name", "id")


def workplace_filterset(*, user, data=None):
    """An unevaluated FilterSet for rendering the filter form (its choices are scoped to the user)."""
    from orgs.filtersets import WorkplaceFilterSet

    return WorkplaceFilterSet(data, queryset=Workplace.objects.none(), request_user=user)


def workplace_detail_queryset() -> QuerySet[Workplace]:
    """Workplaces with coverage annotations and related rows, for get_scoped_or_404."""
    return annotate_coverage(Workplace.objects.select_related("region", "responsible_org"))


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


def _figure_aggregates(prefix: str = "n_", extra_q: Q | None = None, min_full: int = 3) -> dict:
    base = extra_q if extra_q is not None else Q()
    org_q = Q(org_covered=True)
    work_q = Q(org_covered=True) | Q(assigned=True)
    return {
        f"{prefix}workplaces": Count("pk", filter=base),
        f"{prefix}org_covered": Count("pk", filter=base & org_q),
        f"{prefix}work_covered": Count("pk", filter=base & work_q),
        f"{prefix}gig_workers": Coalesce(Sum("gig_worker_count", filter=base), 0),
        f"{prefix}gig_workers_org_covered": Coalesce(Sum("gig_worker_count", filter=base & org_q), 0),
        f"{prefix}gig_workers_work_covered": Coalesce(Sum("gig_worker_count", filter=base & work_q), 0),
        f"{prefix}needs_own_branch": Count("pk", filter=base & Q(many_full=True, own_branch=False)),
        f"{prefix}within_reach": Count("pk", filter=base & Q(within_reach=True)),
        f"{prefix}gig_workers_within_reach": Coalesce(Sum("gig_worker_count", filter=base & Q(within_reach=True)), 0),
    }


FIGURE_NAMES = ["workplaces", "org_covered", "work_covered", "gig_workers", "gig_workers_org_covered",
                "gig_workers_work_covered", "needs_own_branch", "within_reach", "gig_workers_within_reach"]


def _figures_from(row: dict, prefix: str = "n_", **kw) -> CoverageFigures:
    # Aggregate aliases carry a prefix: an alias equal to an annotation name would shadow it.
    values = {name: int(row.get(prefix + name) or 0) for name in FIGURE_NAMES}
    return CoverageFigures(uncovered=values["workplaces"] - values["work_covered"], **values, **kw)


def _scoped_active_workplaces(user, *, min_full: int | None = None, reach_m: int | None = None) -> QuerySet[Workplace]:
    """Active workplaces in the user's scope with coverage annotations: the lean figure flags when
    `min_full` is given (aggregates), the full annotate_coverage otherwise (lists)."""
    qs = Workplace.objects.restrict(user, "view").filter(is_active=True)
    if min_full is not None:
        return annotate_figure_flags(qs, min_full=min_full, reach_m=reach_m)
    return annotate_coverage(qs)


def coverage_for_org(*, user, org: Organization) -> CoverageFigures:
    """Figures for the workplaces of `org`'s subtree (within the user's scope): one query."""
    min_full, reach_m = figure_rules()
    qs = _scoped_active_workplaces(user, min_full=min_full, reach_m=reach_m).filter(Workplace.in_subtrees_q([org.path]))
    row = qs.aggregate(**_figure_aggregates(min_full=min_full))
    return _figures_from(row, label=org.name, key=str(org.pk))


_BY_CHILD_SQL = """
SELECT keys.k,
       COUNT(*),
       SUM(CASE WHEN f.org_covered THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.org_covered OR f.assigned THEN 1 ELSE 0 END),
       SUM(f.gig),
       SUM(CASE WHEN f.org_covered THEN f.gig ELSE 0 END),
       SUM(CASE WHEN f.org_covered OR f.assigned THEN f.gig ELSE 0 END),
       SUM(CASE WHEN f.many_full AND NOT f.own_branch THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.within_reach THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.within_reach THEN f.gig ELSE 0 END)
FROM (
    SELECT w.id AS wid, SUBSTR(o.path, 1, %s) AS k
    FROM orgs_workplace w JOIN orgs_organization o ON o.id = w.responsible_org_id
    WHERE o.path LIKE %s AND o.depth > %s
    UNION
    SELECT m.workplace_id AS wid, SUBSTR(o.path, 1, %s) AS k
    FROM orgs_organization_workplaces m JOIN orgs_organization o ON o.id = m.organization_id
    WHERE o.status = 'active' AND o.path LIKE %s AND o.depth > %s
) keys
JOIN ({flags}) f ON f.wid = keys.wid
GROUP BY keys.k
"""


def coverage_by_child(*, user, org: Organization) -> list[CoverageFigures]:
    """Figures per visible child of `org`, in two queries whatever the number of children or rows.

    A workplace belongs to a child's subtree through its responsible org or a covering org
    (Workplace.in_subtrees_q), so it may count under several children. The (workplace, child)
    pairs are a UNION of those two joins, grouped once; the per-workplace coverage flags come from
    the same scoped, annotated queryset as every other figure (compiled into the statement).
    """
    children = list(org_children(user=user, parent=org))
    if not children:
        return []
    min_full, reach_m = figure_rules()
    flags_qs = _scoped_active_workplaces(user, min_full=min_full, reach_m=reach_m).filter(
        Workplace.in_subtrees_q([org.path])
    ).values(
        wid=F("pk"), gig=F("gig_worker_count"), org_covered_f=F("org_covered"), assigned_f=F("assigned"),
        own_branch_f=F("own_branch"), many_full_f=F("many_full"), within_reach_f=F("within_reach"),
    )
    flags_sql, flags_params = flags_qs.query.sql_with_params()
    # Compiled ORM SQL with its values as parameters: nothing from the user is spliced in.
    flags = (
        "SELECT wid, gig, org_covered_f AS org_covered, assigned_f AS assigned, own_branch_f AS own_branch, "  # noqa: S608
        "many_full_f AS many_full, within_reach_f AS within_reach FROM (" + flags_sql + ") flags_inner"
    )
    key_len = (org.depth + 1) * org.steplen
    params = [key_len, org.path + "%", org.depth, key_len, org.path + "%", org.depth, *flags_params]
    with connection.cursor() as cursor:
        cursor.execute(_BY_CHILD_SQL.format(flags=flags), params)
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    names = FIGURE_NAMES
    result = []
    for child in children:
        values = dict(zip(names, (int(v or 0) for v in rows.get(child.path, (0,) * len(names))), strict=True))
        result.append(CoverageFigures(uncovered=values["workplaces"] - values["work_covered"], label=child.name,
                                      key=str(child.pk), **values))
    return result


def coverage_by_industry(*, user, org: Organization | None = None) -> list[CoverageFigures]:
    from orgs.models import Industry

    min_full, reach_m = figure_rules()
    qs = _scoped_active_workplaces(user, min_full=min_full, reach_m=reach_m)
    if org is not None:
        qs = qs.filter(Workplace.in_subtrees_q([org.path]))
    rows = qs.order_by().values("industry").annotate(**_figure_aggregates(min_full=min_full)).order_by("industry")
    labels = dict(Industry.choices)
    return [_figures_from(row, label=str(labels.get(row["industry"], row["industry"])), key=row["industry"]) for row in rows]


def coverage_by_street(*, user, org: Organization | None = None) -> list[CoverageFigures]:
    """Figures per street (depth-2 region); workplaces filed at district level form their own row."""
    min_full, reach_m = figure_rules()
    qs = _scoped_active_workplaces(user, min_full=min_full, reach_m=reach_m)
    if org is not None:
        qs = qs.filter(Workplace.in_subtrees_q([org.path]))
    street_len = 2 * Region.steplen
    rows = list(
        qs.order_by()
        .annotate(street_path=Substr("region__path", 1, street_len))
        .values("street_path")
        .annotate(**_figure_aggregates(min_full=min_full))
        .order_by("street_path")
    )
    names = dict(Region.objects.filter(path__in=[r["street_path"] for r in rows]).values_list("path", "name"))
    result = []
    for row in rows:
        label = names.get(row["street_path"]) if len(row["street_path"]) == street_len else None
        result.append(_figures_from(row, label=label or str(_("区直属")), key=row["street_path"]))
    return result


# ---------------------------------------------------------------- gaps (空白点)
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


def org_summary_counts(*, user, org: Organization) -> dict[str, int]:
    """Sub-org counts by kind in the subtree (one query)."""
    qs = Organization.objects.restrict(user, "view").filter(path__startswith=org.path, status=OrgStatus.ACTIVE)
    return qs.aggregate(
        branches=Count("pk", filter=Q(kind__in=BRANCH_KINDS)),
        committees=Count("pk", filter=Q(kind__in=["industry_committee", "regional_committee"])),
        general_branches=Count("pk", filter=Q(kind="general_branch")),
        party_groups=Count("pk", filter=Q(kind="party_group")),
    )

