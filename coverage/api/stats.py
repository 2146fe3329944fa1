"""The statistics endpoints (/api/v1/stats/): coverage live or as of a snapshot, the coverage trend, compliance,
service requests and member counts, for the caller's scope, as JSON or CSV (`?format=csv` or `Accept: text/csv`).

Each endpoint is a core.api.StatsView: `stats.view` required (statistics-only tokens welcome), ETag/Last-Modified
with 304. The figures come from the pages' selectors (coverage/selectors/stats.py says which), so the API and the
pages never disagree. Every answer is a plain list of rows (an envelope would break CSV): the org, period and
date the figures belong to are columns of each row, and the CSV columns are the row serializer's fields in order.
Query parameters are validated by a small serializer: a bad value is a 400 in the one error shape.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers

from activities.models import ActivityKind, Cycle
from activities.selectors.compliance import period_containing, period_or_error
from core.api import StatsView
from core.dates import sane_date_validator
from core.exceptions import DomainError
from coverage.api.serializers import CoverageFiguresSerializer
from coverage.selectors import stats as selectors
from members.selectors.stats import OCCUPATIONS, RELATIONS, STAGES, member_counts_by_child
from services.selectors.stats import STATUSES, request_counts_by_category

GROUP_BY = ("street", "industry", "child")
KINDS = tuple(ActivityKind.values)


class StatsNotFound(DomainError):
    """Nothing to answer for what was asked (no snapshot of that org and month): 404 with a message saying so."""

    status_code = 404


# ---------------------------------------------------------------- query parameters
class StatsChoiceField(serializers.ChoiceField):
    """A choice whose refusal lists the allowed values (in the request's language)."""

    def to_internal_value(self, data):
        if str(data) not in self.choices:
            raise serializers.ValidationError(gettext("无效的选项，可填写：%(c)s。") % {"c": ", ".join(self.choices)})
        return str(data)


class StatsOrgField(serializers.PrimaryKeyRelatedField):
    """An org id among the orgs the caller may ask statistics about; any other id reads as "does not exist"."""

    def get_queryset(self):
        return selectors.stats_orgs(user=self.context["request"].user)

    def use_pk_only_optimization(self):
        return False


class MonthField(serializers.CharField):
    """YYYY-MM → the month (activities' Period), within the sane date range (core.dates)."""

    def to_internal_value(self, data):
        key = super().to_internal_value(data)
        period, error = period_or_error(Cycle.MONTH, key)
        if error:
            raise serializers.ValidationError(gettext("“%(value)s”不是有效的月份（格式如 2026-03）。") % {"value": key[:20]})
        return period


class CompliancePeriodField(serializers.CharField):
    """A month (2026-03), quarter (2026-Q1) or year (2026), the kind read from the form of the key."""

    def to_internal_value(self, data):
        key = super().to_internal_value(data).strip().upper()
        kind = Cycle.QUARTER if "Q" in key else Cycle.MONTH if "-" in key else Cycle.YEAR
        period, error = period_or_error(kind, key)
        if error:
            raise serializers.ValidationError(
                gettext("“%(value)s”不是有效的期间（格式如 2026-03、2026-Q1 或 2026）。") % {"value": key[:20]}
            )
        return period


def _check_order(attrs: dict, first: str, last: str, message: str) -> dict:
    start, end = attrs.get(first), attrs.get(last)
    if start is not None and end is not None and getattr(start, "start", start) > getattr(end, "start", end):
        raise serializers.ValidationError({last: [message]})
    return attrs


class CoverageParams(serializers.Serializer):
    group_by = StatsChoiceField(choices=GROUP_BY, required=False, default="child")
    org = StatsOrgField(required=False)
    period = MonthField(required=False)


class TrendParams(serializers.Serializer):
    group_by = StatsChoiceField(choices=GROUP_BY, required=False)
    org = StatsOrgField(required=False)
    from_ = MonthField(required=False)
    to = MonthField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # `from` is a Python keyword
        return fields

    def validate(self, attrs):
        return _check_order(attrs, "from", "to", gettext("结束月份不能早于开始月份。"))


class ComplianceParams(serializers.Serializer):
    org = StatsOrgField(required=False)
    period = CompliancePeriodField(required=False)


class MembersParams(serializers.Serializer):
    org = StatsOrgField(required=False)


class ServicesParams(serializers.Serializer):
    org = StatsOrgField(required=False)
    submitted_from = serializers.DateField(required=False, validators=[sane_date_validator])
    submitted_to = serializers.DateField(required=False, validators=[sane_date_validator])

    def validate(self, attrs):
        return _check_order(attrs, "submitted_from", "submitted_to", gettext("结束日期不能早于开始日期。"))


# ---------------------------------------------------------------- rows
class LeadingFieldsMixin:
    """Context columns (which org, which period) first, then the figures: the CSV reads left to right."""

    leading: tuple[str, ...] = ()

    def get_fields(self):
        fields = super().get_fields()
        return {**{name: fields[name] for name in self.leading}, **fields}


class CoverageStatsRowSerializer(LeadingFieldsMixin, CoverageFiguresSerializer):
    """One group's coverage figures (CoverageFiguresSerializer's columns) and what they belong to."""

    leading = ("org_id", "group_by", "period", "as_of", "snapshot_id")

    org_id = serializers.IntegerField(help_text="the org whose subtree is counted")
    group_by = serializers.CharField(help_text="street, industry or child (total in a trend without group_by)")
    period = serializers.CharField(allow_null=True, help_text="YYYY-MM of the snapshot; null when live")
    as_of = serializers.CharField(help_text='the date the figures were counted (YYYY-MM-DD), or "live"')
    snapshot_id = serializers.IntegerField(allow_null=True, help_text="the snapshot the row comes from; null when live")


class CoverageTrendRowSerializer(CoverageStatsRowSerializer):
    """One snapshot period's row: coverage plus the members, compliance and service figures the snapshot keeps."""

    members_full = serializers.IntegerField()
    members_probationary = serializers.IntegerField()
    members_mobile = serializers.IntegerField()
    branches = serializers.IntegerField()
    branches_behind = serializers.IntegerField()
    compliance_expected = serializers.IntegerField()
    compliance_met = serializers.IntegerField()
    compliance_rate = serializers.FloatField(allow_null=True)
    requests_received = serializers.IntegerField()
    requests_open = serializers.IntegerField()
    requests_overdue = serializers.IntegerField()
    requests_closed = serializers.IntegerField()
    satisfaction_avg = serializers.FloatField(allow_null=True)


def _compliance_serializer():
    attrs = {
        "__doc__": "One org's compliance for the period: subtree totals, then expected/held/met per activity kind.",
        "__module__": __name__,
        "org_id": serializers.IntegerField(help_text="the org asked about"),
        "period": serializers.CharField(help_text="2026-03, 2026-Q1 or 2026"),
        "period_kind": serializers.CharField(help_text="month, quarter or year"),
        "level": serializers.CharField(help_text='"org" (the asked org\'s whole subtree) or "child" (a direct child)'),
        "key": serializers.CharField(help_text="the row's org id"),
        "label": serializers.CharField(),
        "org_kind": serializers.CharField(),
        "branches": serializers.IntegerField(),
        "branches_behind": serializers.IntegerField(),
        "expected": serializers.IntegerField(),
        "met": serializers.IntegerField(help_text="held, capped at the rule's count per cycle"),
        "held": serializers.IntegerField(),
        "rate": serializers.FloatField(allow_null=True, help_text="met / expected, %"),
    }
    for kind in KINDS:
        for part in ("expected", "held", "met"):
            attrs[f"{kind}_{part}"] = serializers.IntegerField()
    return type("ComplianceStatsRowSerializer", (serializers.Serializer,), attrs)


ComplianceStatsRowSerializer = _compliance_serializer()


def _members_serializer():
    attrs = {
        "__doc__": "Member counts of one org's subtree: totals, per stage, per relation kind, per occupation.",
        "__module__": __name__,
        "org_id": serializers.IntegerField(help_text="the org asked about"),
        "level": serializers.CharField(help_text='"org" (the asked org\'s whole subtree) or "child" (a direct child)'),
        "key": serializers.CharField(help_text="the row's org id"),
        "label": serializers.CharField(),
        "total": serializers.IntegerField(),
        "party_members": serializers.IntegerField(help_text="probationary and full members"),
    }
    for prefix, names in (("stage", STAGES), ("relation", RELATIONS), ("occupation", OCCUPATIONS)):
        for name in names:
            attrs[f"{prefix}_{name}"] = serializers.IntegerField()
    return type("MemberStatsRowSerializer", (serializers.Serializer,), attrs)


MemberStatsRowSerializer = _members_serializer()


def _services_serializer():
    attrs = {
        "__doc__": "Service requests of one category: total, open, overdue and per status.",
        "__module__": __name__,
        "org_id": serializers.IntegerField(allow_null=True, help_text="the org asked about; null for the whole scope"),
        "submitted_from": serializers.DateField(allow_null=True),
        "submitted_to": serializers.DateField(allow_null=True),
        "category": serializers.CharField(help_text="the category's code"),
        "category_name": serializers.CharField(),
        "total": serializers.IntegerField(),
        "open": serializers.IntegerField(help_text="submitted, accepted, in progress or reopened"),
        "overdue": serializers.IntegerField(help_text="open and past the due time"),
    }
    for name in STATUSES:
        attrs[f"status_{name}"] = serializers.IntegerField()
    return type("ServiceStatsRowSerializer", (serializers.Serializer,), attrs)


ServiceStatsRowSerializer = _services_serializer()

COVERAGE_FIGURES = tuple(CoverageFiguresSerializer().fields)
TREND_EXTRA = tuple(name for name in CoverageTrendRowSerializer().fields if name not in CoverageStatsRowSerializer().fields)


def _figures(obj, names) -> dict:
    return {name: getattr(obj, name) for name in names}


def _as_of(snapshot) -> str:
    return timezone.localdate(snapshot.taken_at).isoformat() if snapshot.taken_at else snapshot.period_end.isoformat()


# ---------------------------------------------------------------- OpenAPI
def _param(name: str, description: str, type_=OpenApiTypes.STR, enum=None) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, required=False, description=description, enum=enum)


ORG_PARAM = _param(
    "org",
    "An org id in the caller's scope; default: the top of the caller's grants (one set of rows per grant)",
    OpenApiTypes.INT,
)
FORMAT_PARAM = _param("format", "json (default) or csv; `Accept: text/csv` works too", enum=["json", "csv"])
COVERAGE_EXAMPLE = {
    "org_id": 1,
    "group_by": "street",
    "period": None,
    "as_of": "live",
    "snapshot_id": None,
    "key": "00010001",
    "label": "东街道",
    "workplaces": 12,
    "org_covered": 9,
    "work_covered": 11,
    "uncovered": 1,
    "org_rate": 75.0,
    "work_rate": 91.7,
    "gig_workers": 430,
    "gig_workers_org_covered": 350,
    "gig_workers_work_covered": 410,
    "needs_own_branch": 1,
    "within_reach": 10,
    "gig_workers_within_reach": 390,
    "reach_rate": 83.3,
    "gig_reach_rate": 90.7,
}


def _example(value: dict, summary: str) -> OpenApiExample:
    return OpenApiExample(summary, value=value, response_only=True, media_type="application/json")


class _StatsBase(StatsView):
    params_class: type[serializers.Serializer] | None = None

    def params(self, request) -> dict:
        # a blank parameter (`?org=`, as BI tools' URL templates send) means "not given"
        data = {key: value for key, value in request.query_params.items() if value.strip()}
        serializer = self.params_class(data=data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def orgs(self, request, params: dict) -> list:
        org = params.get("org")
        return [org] if org is not None else selectors.stats_roots(user=request.user)


# ---------------------------------------------------------------- the endpoints
class CoverageStatsView(_StatsBase):
    """Coverage (两个覆盖) of the caller's scope grouped by street, industry or direct child org: live (the same
    figures as the home page and the org pages), or as of the snapshot of that org and month (`period`), read from
    its stored rows (404 when there is none). One row per group; the org, period and counting date in each row."""

    serializer_class = CoverageStatsRowSerializer
    params_class = CoverageParams

    @extend_schema(
        summary="Coverage by street, industry or child org",
        parameters=[
            _param("group_by", "street (街道), industry (行业) or child (direct child orgs; default)", enum=list(GROUP_BY)),
            ORG_PARAM,
            _param("period", "YYYY-MM: answer from the snapshot of that org and month instead of live figures"),
            FORMAT_PARAM,
        ],
        responses=CoverageStatsRowSerializer(many=True),
        examples=[_example(COVERAGE_EXAMPLE, "Live coverage by street")],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def rows(self, request) -> list[dict]:
        params = self.params(request)
        group_by, period = params["group_by"], params.get("period")
        orgs = self.orgs(request, params)
        rows = []
        if period is None:
            for org in orgs:
                for figures in selectors.coverage_live(user=request.user, org=org, group_by=group_by):
                    rows.append(
                        {
                            **_figures(figures, COVERAGE_FIGURES),
                            "org_id": org.pk,
                            "group_by": group_by,
                            "period": None,
                            "as_of": "live",
                            "snapshot_id": None,
                        }
                    )
            return rows
        found = False
        for org in orgs:
            snapshot = selectors.snapshot_for_month(user=request.user, org=org, period=period)
            if snapshot is None:
                continue
            found = True
            for row in selectors.snapshot_group_rows(snapshot=snapshot, group_by=group_by):
                rows.append(
                    {
                        **_figures(row, COVERAGE_FIGURES),
                        "org_id": org.pk,
                        "group_by": group_by,
                        "period": period.key,
                        "as_of": _as_of(snapshot),
                        "snapshot_id": snapshot.pk,
                    }
                )
        if not found:
            raise StatsNotFound(
                gettext("%(org)s 没有 %(period)s 的已完成覆盖情况快照。")
                % {"org": "、".join(o.name for o in orgs) or "—", "period": period.key}
            )
        return rows


class CoverageTrendView(_StatsBase):
    """The trend of an org's coverage over its monthly snapshots, oldest first: the "total" row of each snapshot
    (the reports page's trend lines), or with `group_by` one row per group and period; `from`/`to` (YYYY-MM) bound
    the months. Besides coverage, each row carries the members, compliance and service figures the snapshot keeps."""

    serializer_class = CoverageTrendRowSerializer
    params_class = TrendParams

    @extend_schema(
        summary="Coverage trend over monthly snapshots",
        parameters=[
            _param("group_by", "street, industry or child: per-group series (default: the totals)", enum=list(GROUP_BY)),
            ORG_PARAM,
            _param("from", "YYYY-MM: the first month"),
            _param("to", "YYYY-MM: the last month"),
            FORMAT_PARAM,
        ],
        responses=CoverageTrendRowSerializer(many=True),
        examples=[
            _example(
                {
                    **COVERAGE_EXAMPLE,
                    "group_by": "total",
                    "period": "2026-03",
                    "as_of": "2026-04-01",
                    "snapshot_id": 7,
                    "key": "1",
                    "label": "区委两新工委",
                    "members_full": 120,
                    "members_probationary": 8,
                    "members_mobile": 5,
                    "branches": 30,
                    "branches_behind": 4,
                    "compliance_expected": 90,
                    "compliance_met": 81,
                    "compliance_rate": 90.0,
                    "requests_received": 14,
                    "requests_open": 3,
                    "requests_overdue": 1,
                    "requests_closed": 10,
                    "satisfaction_avg": 4.6,
                },
                "The district's totals for March",
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def rows(self, request) -> list[dict]:
        params = self.params(request)
        group_by = params.get("group_by")
        rows = []
        for org in self.orgs(request, params):
            trend = selectors.coverage_trend(
                user=request.user, org=org, group_by=group_by, start=params.get("from"), end=params.get("to")
            )
            for row in trend:
                snapshot = row.snapshot
                rows.append(
                    {
                        **_figures(row, COVERAGE_FIGURES + TREND_EXTRA),
                        "org_id": org.pk,
                        "group_by": group_by or "total",
                        "period": snapshot.period_start.strftime("%Y-%m"),
                        "as_of": _as_of(snapshot),
                        "snapshot_id": snapshot.pk,
                    }
                )
        return rows


class ComplianceStatsView(_StatsBase):
    """Organizational life (三会一课) for a period: the asked org's subtree, then each direct child, with
    expected/held/met per activity kind in flat columns (the board's figures: activities' compliance selector)."""

    serializer_class = ComplianceStatsRowSerializer
    params_class = ComplianceParams

    @extend_schema(
        summary="Compliance per direct child org",
        parameters=[
            ORG_PARAM,
            _param("period", "2026-03 (month), 2026-Q1 (quarter) or 2026 (year); default: this month"),
            FORMAT_PARAM,
        ],
        responses=ComplianceStatsRowSerializer(many=True),
        examples=[
            _example(
                {
                    "org_id": 1,
                    "period": "2026-Q1",
                    "period_kind": "quarter",
                    "level": "child",
                    "key": "2",
                    "label": "快递行业党委",
                    "org_kind": "industry_committee",
                    "branches": 12,
                    "branches_behind": 3,
                    "expected": 96,
                    "met": 88,
                    "held": 95,
                    "rate": 91.7,
                    **{f"{kind}_{part}": 0 for kind in KINDS for part in ("expected", "held", "met")},
                    "general_meeting_expected": 12,
                    "general_meeting_held": 12,
                    "general_meeting_met": 12,
                },
                "A committee's first quarter",
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def rows(self, request) -> list[dict]:
        params = self.params(request)
        period = params.get("period") or period_containing(Cycle.MONTH, timezone.localdate())
        rows = []
        for org in self.orgs(request, params):
            for row in selectors.compliance_by_child(user=request.user, org=org, period=period):
                t = row.totals
                values = {
                    "org_id": org.pk,
                    "period": period.key,
                    "period_kind": period.kind,
                    "level": row.level,
                    "key": str(row.org.pk),
                    "label": row.org.name,
                    "org_kind": row.org.kind,
                    "branches": t.branches,
                    "branches_behind": t.behind,
                    "expected": t.expected,
                    "met": t.met,
                    "held": t.held,
                    "rate": t.rate,
                }
                for kind in KINDS:
                    figures = row.kinds.get(kind)
                    for part in ("expected", "held", "met"):
                        values[f"{kind}_{part}"] = getattr(figures, part) if figures else 0
                rows.append(values)
        return rows


class ServiceStatsView(_StatsBase):
    """Service requests (诉求) counted by category and status, with the open and the overdue ones, for the
    caller's scope (or one org's subtree), optionally submitted within a date range. Counts only: no requester,
    no phone, no text. One row per category, zero rows included."""

    serializer_class = ServiceStatsRowSerializer
    params_class = ServicesParams

    @extend_schema(
        summary="Service requests by category and status",
        parameters=[
            _param("org", "An org id in the caller's scope (its subtree); default: the caller's whole scope", OpenApiTypes.INT),
            _param("submitted_from", "YYYY-MM-DD: submitted on or after (local date)", OpenApiTypes.DATE),
            _param("submitted_to", "YYYY-MM-DD: submitted on or before (local date)", OpenApiTypes.DATE),
            FORMAT_PARAM,
        ],
        responses=ServiceStatsRowSerializer(many=True),
        examples=[
            _example(
                {
                    "org_id": None,
                    "submitted_from": "2026-01-01",
                    "submitted_to": "2026-03-31",
                    "category": "housing",
                    "category_name": "住房",
                    "total": 9,
                    "open": 3,
                    "overdue": 1,
                    **{f"status_{name}": 0 for name in STATUSES},
                    "status_submitted": 2,
                    "status_in_progress": 1,
                    "status_closed": 6,
                },
                "Housing requests in the first quarter",
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def rows(self, request) -> list[dict]:
        params = self.params(request)
        org = params.get("org")
        start, end = params.get("submitted_from"), params.get("submitted_to")
        rows = []
        for counts in request_counts_by_category(user=request.user, org=org, submitted_from=start, submitted_to=end):
            rows.append(
                {
                    "org_id": org.pk if org is not None else None,
                    "submitted_from": start,
                    "submitted_to": end,
                    "category": counts.category.code,
                    "category_name": counts.category.name,
                    "total": counts.total,
                    "open": counts.open,
                    "overdue": counts.overdue,
                    **{f"status_{name}": counts.statuses[name] for name in STATUSES},
                }
            )
        return rows


class MemberStatsView(_StatsBase):
    """Member counts (counts only: never a name or any personal data) of the asked org's subtree and of each
    direct child: by stage, by relation kind (mobile, pocket, lost contact) and by occupation.

    It needs `stats.view`, not `member.view`: the rows are aggregates of the kind the home page shows every role
    and the coverage reports show viewers, and no registry row leaves the database; orgs outside the caller's
    scope never appear and members outside it are never counted (members/selectors/stats.py)."""

    serializer_class = MemberStatsRowSerializer
    params_class = MembersParams

    @extend_schema(
        summary="Member counts per direct child org",
        parameters=[ORG_PARAM, FORMAT_PARAM],
        responses=MemberStatsRowSerializer(many=True),
        examples=[
            _example(
                {
                    "org_id": 1,
                    "level": "child",
                    "key": "2",
                    "label": "快递行业党委",
                    "total": 40,
                    "party_members": 34,
                    **{f"stage_{name}": 0 for name in STAGES},
                    "stage_full": 30,
                    "stage_probationary": 4,
                    "stage_activist": 6,
                    **{f"relation_{name}": 0 for name in RELATIONS},
                    "relation_held": 36,
                    "relation_mobile": 3,
                    "relation_pocket": 1,
                    **{f"occupation_{name}": 0 for name in OCCUPATIONS},
                    "occupation_courier": 40,
                },
                "Members of a committee's subtree",
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def rows(self, request) -> list[dict]:
        params = self.params(request)
        rows = []
        for org in self.orgs(request, params):
            for counts in member_counts_by_child(user=request.user, org=org):
                rows.append(
                    {
                        "org_id": org.pk,
                        "level": counts.level,
                        "key": str(counts.org.pk),
                        "label": counts.org.name,
                        "total": counts.total,
                        "party_members": counts.party_members,
                        **{f"stage_{name}": counts.stages[name] for name in STAGES},
                        **{f"relation_{name}": counts.relations[name] for name in RELATIONS},
                        **{f"occupation_{name}": counts.occupations[name] for name in OCCUPATIONS},
                    }
                )
        return rows
