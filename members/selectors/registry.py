"""Member registry reads: scoped lists with computed flags, masked personal data, derived pipeline dates,
the reveal log.

Flags are computed at read time, never stored:
- `flag_lost_contact`: relation kind 失联 for at least `lost_contact_flag_months` (rule row);
- `flag_card_expired`: a mobile member whose 流动党员活动证 has expired;
- `flag_no_life`: a Party member (probationary or full) registered before the window start who has no
  attendance marked present at any activity starting in the window, the last `no_life_flag_months`
  months (rule row) up to today; the window starts at local midnight of the same day N months ago.
  One correlated EXISTS per row: no extra query per row. Attendance belongs to activities, above members:
  activities registers this flag's expression (`register_flag_annotation`, activities/apps.py), so members
  never imports it.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import BooleanField, Case, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from core import crypto
from core.dates import add_days, add_months
from core.rules import rule_values
from members.models import Member, MemberRoleAssignment, RelationKind, RevealLog, Stage, StageEvent

__all__ = [
    "member_list_queryset", "member_list", "member_filterset", "member_detail_queryset", "member_stage_events",
    "masked_id_number", "masked_phone", "pipeline_dates", "reveal_log_list", "add_months", "months_before",
    "member_by_index", "FLAG_LABELS",
]

PIPELINE_RULE_KEYS = (
    "activist_min_months", "activist_review_months", "probation_months", "full_application_lead_days",
)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier (clamped to the month's end); the earliest date if that is before year 1."""
    return add_months(day, -months) or dt.date.min


# Flags whose facts live in apps above members: name -> fn(today) -> expression (registered by those apps).
_FLAG_ANNOTATIONS: dict = {}


def register_flag_annotation(name: str, expression_for_day) -> None:
    """An app above members adds a boolean flag to the member list (`expression_for_day(today)` returns the
    annotation). Idempotent per name."""
    _FLAG_ANNOTATIONS[name] = expression_for_day


def no_life_window_start(today: dt.date) -> dt.datetime:
    """Local midnight of the same day `no_life_flag_months` (rule row) months before `today`."""
    months = int(rule_values("no_life_flag_months")["no_life_flag_months"])
    return dt.datetime.combine(months_before(today, months), dt.time.min, tzinfo=timezone.get_current_timezone())


def annotate_flags(qs: QuerySet[Member], *, today: dt.date | None = None) -> QuerySet[Member]:
    today = today or timezone.localdate()
    rules = rule_values("lost_contact_flag_months")
    lost_before = months_before(today, int(rules["lost_contact_flag_months"]))
    registered = {name: expression(today) for name, expression in _FLAG_ANNOTATIONS.items()}
    return qs.annotate(
        flag_lost_contact=Case(
            When(relation_kind=RelationKind.LOST_CONTACT, lost_contact_since__lte=lost_before, then=Value(True)),
            default=Value(False), output_field=BooleanField(),
        ),
        flag_card_expired=Case(
            When(relation_kind=RelationKind.MOBILE, mobile_card_valid_until__lt=today, then=Value(True)),
            default=Value(False), output_field=BooleanField(),
        ),
        flag_no_life=registered.get("flag_no_life", Value(False, output_field=BooleanField())),
    )


FLAG_LABELS = {
    "lost_contact": "flag_lost_contact",
    "card_expired": "flag_card_expired",
    "no_life": "flag_no_life",
}


def member_list_queryset(*, user, action: str = "view") -> QuerySet[Member]:
    return Member.objects.restrict(user, action).select_related("org", "workplace")


def member_list(*, user, filters=None, today: dt.date | None = None) -> QuerySet[Member]:
    """Members the user may see, with flags and roles, filtered by MemberFilterSet (a constant number of queries)."""
    from members.filtersets import MemberFilterSet

    qs = annotate_flags(member_list_queryset(user=user), today=today).prefetch_related(
        Prefetch("roles", queryset=MemberRoleAssignment.objects.order_by("role"))
    )
    if filters is not None:
        fs = MemberFilterSet(filters, queryset=qs, request_user=user)
        qs = fs.qs if fs.is_valid() else qs.none()
    return qs.order_by("name", "id")


def member_filterset(*, user, data=None):
    """An unevaluated FilterSet for rendering the filter form (its choices are scoped to the user)."""
    from members.filtersets import MemberFilterSet

    return MemberFilterSet(data, queryset=Member.objects.none(), request_user=user)


def member_detail_queryset() -> QuerySet[Member]:
    """For get_scoped_or_404: the member with its org, workplace, roles and flags."""
    return annotate_flags(Member.objects.select_related("org", "workplace")).prefetch_related(
        Prefetch("roles", queryset=MemberRoleAssignment.objects.order_by("role"))
    )


def member_stage_events(*, member: Member) -> QuerySet[StageEvent]:
    return member.stage_events.select_related("actor").order_by("-happened_on", "-id")


def member_by_index(*, user, id_number_index: str | None = None) -> Member | None:
    """A visible member with this blind index (exact look-up; never a LIKE on ciphertext)."""
    if not id_number_index:
        return None
    return Member.objects.restrict(user, "view").filter(id_number_index=id_number_index).first()


def masked_id_number(member: Member) -> str:
    return crypto.mask_id_number(crypto.decrypt(member.id_number_encrypted))


def masked_phone(member: Member) -> str:
    return crypto.mask_phone(crypto.decrypt(member.phone_encrypted))


def pipeline_dates(member: Member, *, today: dt.date | None = None) -> dict:
    """Dates derived from the stage dates and the rule rows (one query for the rules).

    Keys (None when not applicable to the member's stage or when the date they depend on is missing):
    - candidate_eligible_on: an activist may be listed as a candidate from this day;
    - next_activist_review_on: the next half-yearly (rule) review of an activist, on or after today;
    - probation_ends_on: the end of probation (including an extension);
    - full_application_due_on: when the application for full membership is due (lead days before the end).
    """
    today = today or timezone.localdate()
    rules = rule_values(*PIPELINE_RULE_KEYS)
    result: dict = {
        "candidate_eligible_on": None, "next_activist_review_on": None,
        "probation_ends_on": None, "full_application_due_on": None,
    }
    if member.stage == Stage.ACTIVIST and member.activist_on:
        result["candidate_eligible_on"] = add_months(member.activist_on, int(rules["activist_min_months"]))
        result["next_activist_review_on"] = _next_review(member.activist_on, max(1, int(rules["activist_review_months"])), today)
    if member.stage in (Stage.PROBATIONARY, Stage.FULL) and member.admitted_on:
        ends = add_months(member.admitted_on, int(rules["probation_months"]) + member.probation_extended_months)
        result["probation_ends_on"] = ends
        if member.stage == Stage.PROBATIONARY and ends is not None:
            result["full_application_due_on"] = add_days(ends, -int(rules["full_application_lead_days"]))
    return result


def _next_review(start: dt.date, step: int, today: dt.date) -> dt.date | None:
    """The first review `start + k*step` months (k >= 1) on or after today; None past the calendar's end.
    Jumps close to today first, so a date far in the past costs a few steps, not thousands."""
    elapsed = (today.year - start.year) * 12 + (today.month - start.month)
    n = max(1, elapsed // step)
    review = add_months(start, step * n)
    while review is not None and review < today:
        n += 1
        review = add_months(start, step * n)
    return review


def reveal_log_list(*, user) -> QuerySet[RevealLog]:
    """Reveals of members in the user's reveal_log.view scope (district staff), newest first."""
    return RevealLog.objects.restrict(user, "view").select_related("actor", "member", "member__org").order_by("-created_at", "-id")


def stage_filter_q(stages) -> Q:
    return Q(stage__in=list(stages))


def has_role_q(role: str) -> Q:
    return Q(Exists(MemberRoleAssignment.objects.filter(member=OuterRef("pk"), role=role)))
