"""Compliance of organizational life (三会一课 etc.): expected vs. held, per branch, rolled up by subtree.

A selector module: reads only, a constant number of queries whatever the size of the subtree
(orgs, rules, exemptions, and one GROUP BY of activity counts per (org, party group, kind, month)).
Everything else is computed in Python. The board (`compliance_board`) shows a bounded page of it: the chosen
org's figures, a keyset page of its direct children with their subtree totals, and at most BEHIND_LIMIT of the
branches behind; the export (`compliance_export_too_large`) refuses subtrees above BOARD_EXPORT_LIMIT branches.

Semantics (DOMAIN.md "Organizational life"):
- Periods are calendar months, quarters and years in Asia/Shanghai: an activity at 2026-03-31 23:30 +08:00
  belongs to March / Q1 even though it is 15:30 UTC. Activity counts are bucketed by local month
  (TruncMonth with tzinfo), and every cycle is a union of months.
- A report for a period evaluates each rule over the rule's own cycles that intersect the period: a
  monthly rule over a quarter is its 3 months (expected = 3 × min_count), a quarterly rule inside a month
  view is the enclosing quarter, a yearly rule the enclosing year.
- A cycle is met when at least min_count activities of the kind were held in it; surplus in one cycle does
  not make up for another. `met` counts held activities capped at min_count per cycle; rate = met / expected.
  Every record counts whatever its review status (a returned record is being corrected, the meeting was held).
- Applicability: applies_to=branch → branches and joint branches; branch_with_committee → those with
  has_committee (as it is now); party_group → each party group under a branch, reported under its branch,
  with activities whose party_group (or org) is that group.
- Org lifetime: an org (branch or group) is expected in a cycle only when it existed on the cycle's first
  day and still existed on its last day: established_on ≤ first day (an org founded on the last day of a
  quarter, or any day after the first, is exempt for that quarter) and dissolved_on ≥ last day (or not
  dissolved). Orgs without established_on are expected.
- Cycles that have not started yet on `as_of` (today by default) are not expected; a cycle in progress is
  (the board shows what is still missing this month).
- Explicit exemptions: an Exemption row on the branch (or, for group rules, on the group) whose date range
  overlaps the cycle exempts that cycle, for its rule or for all rules when rule is empty.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, AppliesTo, ComplianceRule, Cycle, Exemption
from core.dates import date_bounds
from core.pagination import KeysetPage, decode_cursor, encode_cursor
from orgs.models import BRANCH_KINDS, Organization, OrgKind
from orgs.scoping import grant_paths, path_q

TZ = ZoneInfo("Asia/Shanghai")
PERIOD_KINDS = (Cycle.MONTH, Cycle.QUARTER, Cycle.YEAR)


# ---------------------------------------------------------------- periods
@dataclass(frozen=True)
class Period:
    """A calendar month, quarter or year: first and last day (inclusive)."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        if self.kind == Cycle.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == Cycle.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        values = {"year": self.start.year, "month": self.start.month, "quarter": (self.start.month - 1) // 3 + 1}
        if self.kind == Cycle.MONTH:
            return gettext("%(year)s年%(month)s月") % values
        if self.kind == Cycle.QUARTER:
            return gettext("%(year)s年第%(quarter)s季度") % values
        return gettext("%(year)s年") % values

    @property
    def months(self) -> list[tuple[int, int]]:
        result, (y, m) = [], (self.start.year, self.start.month)
        while (y, m) <= (self.end.year, self.end.month):
            result.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return result

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - dt.timedelta(days=1))

    def cycles(self, kind: str) -> list[Period]:
        """The cycles of `kind` that intersect this period."""
        result, day = [], self.start
        while day <= self.end:
            cycle = period_containing(kind, day)
            result.append(cycle)
            day = cycle.end + dt.timedelta(days=1)
        return result

    def __str__(self) -> str:
        return self.label


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def period_containing(kind: str, day: dt.date) -> Period:
    if kind == Cycle.MONTH:
        return Period(kind, day.replace(day=1), _month_end(day.year, day.month))
    if kind == Cycle.QUARTER:
        first = (day.month - 1) // 3 * 3 + 1
        return Period(kind, dt.date(day.year, first, 1), _month_end(day.year, first + 2))
    if kind == Cycle.YEAR:
        return Period(kind, dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
    raise ValueError(kind)


PERIOD_EXAMPLES = {Cycle.MONTH: "2026-03", Cycle.QUARTER: "2026-Q1", Cycle.YEAR: "2026"}


def _named_period(kind: str, key: str) -> Period | None:
    """The period a key names ("2026-03", "2026-Q1", "2026"), or None; years are 1-4 digits."""
    key = key.strip().upper()
    try:
        if kind == Cycle.MONTH:
            year, month = key.split("-")
            start = dt.date(int(year), int(month), 1) if len(year) <= 4 and len(month) <= 2 else None
        elif kind == Cycle.QUARTER:
            year, quarter = key.split("-Q")
            start = dt.date(int(year), int(quarter) * 3 - 2, 1) if len(year) <= 4 and len(quarter) == 1 else None
        else:
            start = dt.date(int(key), 1, 1) if len(key) <= 4 else None
    except (ValueError, TypeError, OverflowError):
        return None
    # Year 1 and 9999 have no neighbouring periods (previous/next, rule cycles): never accepted.
    return period_containing(kind, start) if start and 2 <= start.year <= 9998 else None


def period_or_error(kind: str | None, key: str | None, *, today: dt.date | None = None) -> tuple[Period, str | None]:
    """The period named by `kind` and `key`, and None; or, when the key is malformed or the period starts
    outside the sane date range (core.dates, rule rows), the current period and a message saying so.
    A missing key is the current period without a message."""
    today = today or timezone.localdate()
    wanted = kind if kind in PERIOD_KINDS else Cycle.MONTH
    current = period_containing(wanted, today)
    if kind and kind not in PERIOD_KINDS:
        return current, gettext("周期类型无效，已显示本月。")
    if not key:
        return current, None
    earliest, latest = date_bounds(today)
    period = _named_period(wanted, key)
    if period is None or not (earliest <= period.start <= latest):
        return current, gettext("“%(key)s”不是有效的期间（格式如 %(example)s，须在 %(earliest)s 至 %(latest)s 之间），已显示%(current)s。") % {
            "key": key[:20], "example": PERIOD_EXAMPLES[wanted], "earliest": earliest.isoformat(), "latest": latest.isoformat(),
            "current": current.label,
        }
    return period, None


def parse_period(kind: str | None, key: str | None, *, today: dt.date | None = None) -> Period:
    """A period from its kind and key ("2026-03", "2026-Q1", "2026"); the current one when missing or invalid.
    Syntax only (no rule rows): pages use `period_or_error`, which also applies the sane date range."""
    kind = kind if kind in PERIOD_KINDS else Cycle.MONTH
    return (_named_period(kind, key) if key else None) or period_containing(kind, today or timezone.localdate())


def local_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=TZ)


# ---------------------------------------------------------------- results
@dataclass
class Gap:
    """One cycle where a rule was not met."""

    rule: ComplianceRule
    cycle: Period
    expected: int
    held: int
    group: Organization | None = None

    @property
    def kind_label(self) -> str:
        return str(self.rule.get_kind_display())

    def __str__(self) -> str:
        who = f"{self.group.name} " if self.group else ""
        return f"{who}{self.kind_label} {self.cycle.label} {self.held}/{self.expected}"


@dataclass
class RuleResult:
    rule: ComplianceRule
    expected: int = 0
    held: int = 0  # all activities of the kind in the evaluated cycles
    met: int = 0  # held, capped at min_count per cycle (and group)
    exempt_cycles: int = 0

    @property
    def rate(self) -> float | None:
        return round(100 * self.met / self.expected, 1) if self.expected else None


@dataclass
class Totals:
    expected: int = 0
    met: int = 0
    held: int = 0
    branches: int = 0
    behind: int = 0

    @property
    def rate(self) -> float | None:
        return round(100 * self.met / self.expected, 1) if self.expected else None

    def add(self, other: Totals) -> None:
        self.expected += other.expected
        self.met += other.met
        self.held += other.held
        self.branches += other.branches
        self.behind += other.behind


@dataclass
class OrgCompliance:
    """One branch's compliance for a period."""

    org: Organization
    rules: list[RuleResult] = field(default_factory=list)
    missing: list[Gap] = field(default_factory=list)
    exemptions: list[Exemption] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(r.expected for r in self.rules)

    @property
    def met(self) -> int:
        return sum(r.met for r in self.rules)

    @property
    def held(self) -> int:
        return sum(r.held for r in self.rules)

    @property
    def rate(self) -> float | None:
        return round(100 * self.met / self.expected, 1) if self.expected else None

    @property
    def behind(self) -> bool:
        return bool(self.missing)

    def totals(self) -> Totals:
        return Totals(expected=self.expected, met=self.met, held=self.held, branches=1, behind=int(self.behind))


@dataclass
class ComplianceReport:
    period: Period
    root: Organization
    branches: list[OrgCompliance]
    orgs: list[Organization]  # every org of the subtree that was loaded, by path
    totals_by_path: dict[str, Totals]

    def totals(self, org: Organization) -> Totals:
        return self.totals_by_path.get(org.path, Totals())

    @property
    def root_totals(self) -> Totals:
        return self.totals(self.root)

    def children(self) -> list[tuple[Organization, Totals]]:
        """The root's direct children (not party groups) with their rolled-up totals."""
        return [
            (org, self.totals(org)) for org in self.orgs
            if org.depth == self.root.depth + 1 and org.path.startswith(self.root.path) and org.kind != OrgKind.PARTY_GROUP
        ]

    def behind(self) -> list[OrgCompliance]:
        return [b for b in self.branches if b.behind]


# ---------------------------------------------------------------- computation
def _existed(org: Organization, cycle: Period) -> bool:
    if org.established_on and org.established_on > cycle.start:
        return False
    if org.dissolved_on and org.dissolved_on < cycle.end:
        return False
    return True


def _exempt(exemptions: list[Exemption], rule: ComplianceRule, cycle: Period) -> bool:
    return any(
        (e.rule_id is None or e.rule_id == rule.pk) and e.starts_on <= cycle.end and e.ends_on >= cycle.start
        for e in exemptions
    )


def _applies(rule: ComplianceRule, branch: Organization) -> bool:
    if rule.applies_to == AppliesTo.BRANCH_WITH_COMMITTEE:
        return branch.has_committee
    return True


@dataclass
class _Facts:
    """What the evaluation of one or more periods needs, loaded in four queries."""

    orgs: list[Organization]
    rules: list[ComplianceRule]
    exemptions_by_org: dict[int, list[Exemption]]
    by_org_kind_month: dict[tuple, int]  # everything held by the branch
    by_group_kind_month: dict[tuple, int]  # held by (or for) a party group


def _load_facts(*, root: Organization, periods: list[Period], paths: list[str] | None) -> _Facts:
    org_qs = Organization.objects.filter(path__startswith=root.path)
    if paths is not None:
        org_qs = org_qs.filter(path_q("path", paths))
    # Orgs dissolved before the (earliest) period started can never be expected in it.
    first_start = min(p.start for p in periods)
    org_qs = org_qs.filter(Q(dissolved_on__isnull=True) | Q(dissolved_on__gte=first_start))
    orgs = list(org_qs.order_by("path"))
    rules = list(ComplianceRule.objects.filter(enabled=True).order_by("kind", "pk"))

    # The span covers every rule cycle that intersects a period (a yearly rule reaches the whole year).
    starts, ends = [], []
    for period in periods:
        for kind in {r.cycle for r in rules} | {period.kind}:
            cycles = period.cycles(kind)
            starts.append(cycles[0].start)
            ends.append(cycles[-1].end)
    span_start, span_end = min(starts), max(ends)

    exemptions_by_org: dict[int, list[Exemption]] = defaultdict(list)
    for exemption in Exemption.objects.filter(
        org__path__startswith=root.path, starts_on__lte=span_end, ends_on__gte=span_start
    ).order_by("starts_on", "pk"):
        exemptions_by_org[exemption.org_id].append(exemption)

    # one GROUP BY: (org_id, party_group_id, kind, local month) -> count
    rows = (
        Activity.objects.filter(
            org__path__startswith=root.path, kind__in={r.kind for r in rules},
            starts_at__gte=local_start(span_start), starts_at__lt=local_start(span_end + dt.timedelta(days=1)),
        )
        .annotate(month=TruncMonth("starts_at", tzinfo=TZ))
        .order_by()
        .values_list("org_id", "party_group_id", "kind", "month")
        .annotate(n=Count("pk"))
    )
    org_ids = {o.pk for o in orgs}
    by_org_kind_month: dict[tuple, int] = defaultdict(int)
    by_group_kind_month: dict[tuple, int] = defaultdict(int)
    for org_id, group_id, kind, month, n in rows:
        if isinstance(month, dt.datetime):
            month = timezone.localtime(month, TZ) if timezone.is_aware(month) else month
        key = (month.year, month.month)
        by_org_kind_month[(org_id, kind, key)] += n
        if group_id:
            by_group_kind_month[(group_id, kind, key)] += n
        elif org_id in org_ids:
            by_group_kind_month[(org_id, kind, key)] += n  # recorded on the group itself
    return _Facts(orgs=orgs, rules=rules, exemptions_by_org=exemptions_by_org,
                  by_org_kind_month=by_org_kind_month, by_group_kind_month=by_group_kind_month)


def _evaluate(facts: _Facts, *, root: Organization, period: Period, as_of: dt.date) -> ComplianceReport:
    """Compliance of every branch in `facts` for `period` (no query)."""
    orgs = [o for o in facts.orgs if o.dissolved_on is None or o.dissolved_on >= period.start]
    rules = facts.rules
    all_cycles = {kind: period.cycles(kind) for kind in {r.cycle for r in rules}}
    # cycles not started on `as_of` are not expected; each cycle's months computed once
    cycles_by_kind = {kind: [(c, c.months) for c in cycles if c.start <= as_of] for kind, cycles in all_cycles.items()}
    # the exemptions that reach this period's rule cycles (the facts may span several periods)
    span_start = min([period.start] + [c[0].start for c in all_cycles.values()])
    span_end = max([period.end] + [c[-1].end for c in all_cycles.values()])
    exemptions_by_org = {
        org_id: kept for org_id, rows in facts.exemptions_by_org.items()
        if (kept := [e for e in rows if e.starts_on <= span_end and e.ends_on >= span_start])
    }

    groups_by_branch: dict[str, list[Organization]] = defaultdict(list)
    for org in orgs:
        if org.kind == OrgKind.PARTY_GROUP:
            groups_by_branch[org.path[: -Organization.steplen]].append(org)

    branches: list[OrgCompliance] = []
    for branch in orgs:
        if branch.kind not in BRANCH_KINDS:
            continue
        result = OrgCompliance(org=branch, exemptions=exemptions_by_org.get(branch.pk, []))
        for rule in rules:
            if not _applies(rule, branch):
                continue
            rr = RuleResult(rule=rule)
            if rule.applies_to == AppliesTo.PARTY_GROUP:
                targets = [(g, facts.by_group_kind_month, result.exemptions + exemptions_by_org.get(g.pk, []))
                           for g in groups_by_branch.get(branch.path, [])]
            else:
                targets = [(None, facts.by_org_kind_month, result.exemptions)]
            for group, table, exemptions in targets:
                target_id = (group or branch).pk
                for cycle, months in cycles_by_kind[rule.cycle]:
                    if not (_existed(branch, cycle) and (group is None or _existed(group, cycle))):
                        rr.exempt_cycles += 1
                        continue
                    if exemptions and _exempt(exemptions, rule, cycle):
                        rr.exempt_cycles += 1
                        continue
                    n = 0
                    for month in months:
                        n += table.get((target_id, rule.kind, month), 0)
                    rr.expected += rule.min_count
                    rr.held += n
                    rr.met += min(n, rule.min_count)
                    if n < rule.min_count:
                        result.missing.append(Gap(rule=rule, cycle=cycle, expected=rule.min_count, held=n, group=group))
            if rr.expected or rr.exempt_cycles:
                result.rules.append(rr)
        branches.append(result)

    totals_by_path: dict[str, Totals] = defaultdict(Totals)
    steplen = Organization.steplen
    for result in branches:
        t = result.totals()
        path = result.org.path
        for depth in range(1, len(path) // steplen + 1):
            totals_by_path[path[: depth * steplen]].add(t)
    return ComplianceReport(period=period, root=root, branches=branches, orgs=orgs, totals_by_path=dict(totals_by_path))


def compliance_for_periods(
    *, root: Organization, periods: list[Period], paths: list[str] | None = None, as_of: dt.date | None = None,
) -> list[ComplianceReport]:
    """Compliance of every branch under `root` for each of `periods` (the board: this one and the previous),
    restricted to `paths` when given. Four queries for all the periods together."""
    facts = _load_facts(root=root, periods=periods, paths=paths)
    as_of = as_of or timezone.localdate()
    return [_evaluate(facts, root=root, period=period, as_of=as_of) for period in periods]


def compliance_for_subtree(
    *, root: Organization, period: Period, paths: list[str] | None = None, as_of: dt.date | None = None,
) -> ComplianceReport:
    """Compliance of every branch under `root` (and `root` itself), restricted to `paths` when given
    (the user's activity.view scope). Four queries."""
    return compliance_for_periods(root=root, periods=[period], paths=paths, as_of=as_of)[0]


# ---------------------------------------------------------------- for a user
def compliance_paths(user) -> list[str] | None:
    """Org paths whose compliance the user may see (activity.view); None means everything (superuser)."""
    if user.is_superuser:
        return None
    return grant_paths(user, "activity.view")


def compliance_roots(*, user):
    """The top orgs of the user's activity.view scope (the board's default subtree)."""
    paths = compliance_paths(user)
    qs = Organization.objects.all()
    if paths is None:
        return qs.filter(depth=1).order_by("path")
    return qs.filter(path__in=paths).order_by("path")


def compliance_org_or_none(*, user, pk) -> Organization | None:
    """An org inside the user's activity.view scope, or None (the view answers 404)."""
    paths = compliance_paths(user)
    qs = Organization.objects.all()
    if paths is not None:
        if not paths:
            return None
        qs = qs.filter(path_q("path", paths))
    try:
        return qs.get(pk=pk)
    except (Organization.DoesNotExist, ValueError, TypeError):
        return None


def compliance_report(*, user, root: Organization, period: Period, as_of: dt.date | None = None) -> ComplianceReport:
    """The board's report for the subtree at `root`, cut down to the user's activity.view scope."""
    return compliance_for_subtree(root=root, period=period, paths=compliance_paths(user), as_of=as_of)


PERIOD_KIND_LABELS = {Cycle.MONTH: _("月"), Cycle.QUARTER: _("季度"), Cycle.YEAR: _("年")}


def exemption_list(*, user, org: Organization | None = None):
    """Exemptions the user may see (exemption.view), optionally under one org's subtree."""
    qs = Exemption.objects.restrict(user, "view").select_related("org", "rule", "approved_by")
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    return qs.order_by("-starts_on", "-id")


# ---------------------------------------------------------------- the board: a bounded page of a report
#: at most this many direct children per board page (a keyset page: `?cursor=`)
BOARD_PAGE_SIZE = 50
#: at most this many of the branches behind are listed per period (the figures count all of them)
BEHIND_LIMIT = 50
#: the board's export lists every branch of the subtree: refused above this many branches
BOARD_EXPORT_LIMIT = 20_000
CHILD_ORDERING = ("path", "pk")


@dataclass
class ComplianceBoard:
    """What the board page shows for one org and period: never more rows than the page bounds, whatever the
    size of the subtree. `report`/`previous` hold the whole subtree's figures (computed in four queries each)."""

    root: Organization
    report: ComplianceReport
    previous: ComplianceReport
    children: KeysetPage  # object_list: [(child org, its subtree Totals)]
    children_total: int  # how many direct children there are (all pages)
    behind: list[OrgCompliance]
    behind_more: int  # branches behind in this period that are not listed
    previous_behind: list[OrgCompliance]
    previous_behind_more: int
    breadcrumb: list[Organization]  # the ancestors of root inside the user's scope, top first


def _children_page(children: list[tuple[Organization, Totals]], *, cursor: str, size: int) -> KeysetPage:
    """A keyset page of the root's direct children (in memory: the report has loaded them), by path."""
    values = decode_cursor(cursor, Organization, CHILD_ORDERING) if cursor else None
    if values is not None:
        after = (values[0], values[1])
        children = [(org, totals) for org, totals in children if (org.path, org.pk) > after]
    shown = children[:size]
    next_cursor = encode_cursor(shown[-1][0], CHILD_ORDERING) if len(children) > size else ""
    return KeysetPage(object_list=shown, next_cursor=next_cursor, first=values is None, size=size)


def compliance_breadcrumb(*, user, root: Organization) -> list[Organization]:
    """The ancestors of `root` the user may see (activity.view), top first; no query when `root` is the top of
    the user's scope."""
    ancestors = [root.path[: depth * Organization.steplen] for depth in range(1, root.depth)]
    paths = compliance_paths(user)
    if paths is not None:
        ancestors = [a for a in ancestors if any(a.startswith(p) for p in paths)]
    if not ancestors:
        return []
    return list(Organization.objects.filter(path__in=ancestors).order_by("path"))


def compliance_board(
    *, user, root: Organization, period: Period, cursor: str = "", size: int = BOARD_PAGE_SIZE,
    as_of: dt.date | None = None,
) -> ComplianceBoard:
    """The board's page for `root` (inside the user's scope) and `period`: its figures and the previous
    period's, a page of its direct children with totals exact for each child's subtree (rolled up from one
    grouped count for both periods, never a query per child), and the first BEHIND_LIMIT branches behind."""
    report, previous = compliance_for_periods(root=root, periods=[period, period.previous()],
                                              paths=compliance_paths(user), as_of=as_of)
    behind, previous_behind = report.behind(), previous.behind()
    children = report.children()
    return ComplianceBoard(
        root=root, report=report, previous=previous, children_total=len(children),
        children=_children_page(children, cursor=cursor, size=max(1, min(size, BOARD_PAGE_SIZE))),
        behind=behind[:BEHIND_LIMIT], behind_more=max(0, len(behind) - BEHIND_LIMIT),
        previous_behind=previous_behind[:BEHIND_LIMIT], previous_behind_more=max(0, len(previous_behind) - BEHIND_LIMIT),
        breadcrumb=compliance_breadcrumb(user=user, root=root),
    )


def compliance_export_too_large(*, user, root: Organization, limit: int = BOARD_EXPORT_LIMIT) -> bool:
    """Would the export of `root`'s subtree list more than `limit` branches? (One bounded COUNT.)"""
    qs = Organization.objects.filter(path__startswith=root.path, kind__in=BRANCH_KINDS)
    paths = compliance_paths(user)
    if paths is not None:
        qs = qs.filter(path_q("path", paths))
    return qs[: limit + 1].count() > limit
