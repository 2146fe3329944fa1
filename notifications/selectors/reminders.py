"""What reminders are due: one finder per reminder kind, and the recipients of what they find.

A selector module (reads only). `FINDERS[kind](rule, today, now)` returns the `Candidate`s of one rule on
one day; `resolve_recipients(candidates, roles)` maps each candidate to the users it goes to. Every finder is
set-based: a constant number of queries whatever the number of branches, members, transfers or requests
(the date window is filtered in SQL where the reference date is a column; dates derived from several
columns are computed in Python over the rows of one query).

Timing (decided for issue 6; see KIND_DIRECTION in portal/models.py for the reference date R of each kind):

- First due date D0 = R - offset (direction "before") or R + offset ("after"); the offset is in days or
  months (months with core.dates.add_months, clamped to the month's end). Repetition k
  (0-based) falls due on D_k = D0 + k * repeat_every_days, k <= repeat_limit (only k = 0 when
  repeat_every_days is 0). On `today` an object is due for the LATEST k with D_k <= today: a sweep after
  missed days sends that one, never a backlog.
- Before-kinds are candidates while D0 <= today <= R. After-kinds while today >= D0 and the condition
  still holds (transfer still open, request still open and overdue).
- effective_from: only reference dates R >= rule.effective_from are considered (CiviCRM's effective start
  date): nothing older is ever sent, a new rule never mails the past.
- A closer rule of the same kind supersedes a farther one (`superseding_rules`): once the nearer rule is
  due for an object, the farther one is not sent for it (no belated "6 months ahead" next to "1 month ahead").
- A rule whose `direction` differs from KIND_DIRECTION[kind] finds nothing (notifications.actions.reminders
  refuses to run it and records why).

Kinds:

- meeting_due (before): active branches (BRANCH_KINDS) whose compliance gap (activities.selectors.compliance, ONE
  compliance_for_subtree per top org for the month containing today, as_of today; it includes the
  enclosing quarter and year of quarterly/yearly rules) has a cycle ending on R. One candidate per
  (branch, R) with every gap ending that day in `details` (one line per gap, the party group's name first
  for group rules) and `missing_count` (number of gaps).
- transfer_waiting (after): open transfers (OPEN_TRANSFER_STATUSES); R = local date of requested_at; both
  sides (from_org and to_org, whichever are set) receive it.
- letter_lapsing (before): open transfers with letter_valid_until = R; both sides.
- probation_ending (before): probationary members whose relation is here (RELATION_HERE: a mobile
  member's probation is the home org's business); R = admitted_on + probation_months (rule row) +
  probation_extended_months.
- activist_review_due (before): activists with activist_on whose relation is here; R = the first activist_on + n *
  activist_review_months (n >= 1) on or after today.
- term_ending (before): active orgs with has_committee and committee_elected_on; R = elected +
  committee_term_years years.
- request_due_soon (before): open requests (OPEN_STATUSES) with due_at > now; R = local date of due_at.
- request_overdue (after): open requests with due_at < now; R = local date of due_at.
- mobile_card_expiring (before): mobile members (relation_kind mobile); R = mobile_card_valid_until.

Recipients: for each role of the rule, the NEAREST holders of that role on the candidate org's ancestor
chain (the org itself, then its parent, ...): the active users holding a RoleGrant of that role, on an
active org, at the nearest node that has any. All candidates are resolved with one query.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import add_months as _add_months
from core.rules import rule_values
from members.models import OPEN_TRANSFER_STATUSES, RELATION_HERE, Member, RelationKind, Stage, Transfer
from notifications.models import KIND_DIRECTION, Direction, OffsetUnit, ReminderKind, ReminderRule
from orgs.models import BRANCH_KINDS, Organization, OrgStatus, RoleGrant
from services.models import OPEN_STATUSES, ServiceRequest

TZ = ZoneInfo("Asia/Shanghai")
SLACK = dt.timedelta(days=3)  # widens SQL windows computed through add_months (month-end clamping)
_EDGE = dt.timedelta(days=31)


def add_months(day: dt.date, months: int) -> dt.date:
    """core.dates.add_months clamped a month inside the calendar's ends (a stored year-9999 date must not
    overflow a sweep: windows add SLACK to the result)."""
    moved = _add_months(day, months)
    if moved is None:
        return dt.date.max - _EDGE if months > 0 else dt.date.min + _EDGE
    return moved


@dataclass
class Candidate:
    """One object due for one rule on one day (before recipients are resolved)."""

    object_id: int
    object_label: str
    reference_date: dt.date
    org_ids: list[int]
    org_paths: list[str]
    org_name: str
    url: str
    extra: dict = field(default_factory=dict)
    repetition: int = 0  # k, 0-based (filled in by `timing`)
    days: int = 0  # |today - R|


# ---------------------------------------------------------------- timing
def first_due(rule: ReminderRule, reference: dt.date) -> dt.date:
    """D0: the reference date moved by the rule's offset in its direction."""
    sign = -1 if KIND_DIRECTION[rule.kind] == Direction.BEFORE else 1
    if rule.offset_unit == OffsetUnit.MONTH:
        return add_months(reference, sign * rule.offset)
    return reference + dt.timedelta(days=sign * rule.offset)


def repetition_due(rule: ReminderRule, reference: dt.date, today: dt.date) -> int | None:
    """The latest repetition k due on `today` for an object with reference date R, or None when nothing is
    due (outside the window, or R before the rule's effective_from)."""
    if reference < rule.effective_from:
        return None
    d0 = first_due(rule, reference)
    if today < d0:
        return None
    if KIND_DIRECTION[rule.kind] == Direction.BEFORE and today > reference:
        return None
    if not rule.repeat_every_days:
        return 0
    return min((today - d0).days // rule.repeat_every_days, rule.repeat_limit)


def window(rule: ReminderRule, today: dt.date) -> tuple[dt.date, dt.date]:
    """A (generous) range of reference dates that can be due on `today`, for filtering in SQL; the exact test
    is `repetition_due`. Before-kinds: R in [today, today + offset]; after-kinds: R in [effective_from,
    today - offset]."""
    months = rule.offset_unit == OffsetUnit.MONTH
    if KIND_DIRECTION[rule.kind] == Direction.BEFORE:
        end = add_months(today, rule.offset) + SLACK if months else today + dt.timedelta(days=rule.offset)
        return max(today, rule.effective_from), end
    end = add_months(today, -rule.offset) + SLACK if months else today - dt.timedelta(days=rule.offset)
    return rule.effective_from, end


def _timed(rule: ReminderRule, today: dt.date, candidates: list[Candidate]) -> list[Candidate]:
    due = []
    for candidate in candidates:
        k = repetition_due(rule, candidate.reference_date, today)
        if k is None:
            continue
        candidate.repetition = k
        candidate.days = abs((today - candidate.reference_date).days)
        due.append(candidate)
    return due


def local_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=TZ)


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment, TZ)


# ---------------------------------------------------------------- finders
def find_meeting_due(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    from activities.models import Cycle
    from activities.selectors.compliance import compliance_for_subtree, period_containing

    start, end = window(rule, today)
    period = period_containing(Cycle.MONTH, today)
    url = reverse("activities:compliance_board")
    found: dict[tuple[int, dt.date], Candidate] = {}
    gaps_by_key: dict[tuple[int, dt.date], list] = defaultdict(list)
    for top in Organization.objects.filter(depth=1, status=OrgStatus.ACTIVE).order_by("path"):
        report = compliance_for_subtree(root=top, period=period, as_of=today)
        for branch_result in report.branches:
            branch = branch_result.org
            if branch.status != OrgStatus.ACTIVE or branch.kind not in BRANCH_KINDS:
                continue
            for gap in branch_result.missing:
                if not (start <= gap.cycle.end <= end):
                    continue
                key = (branch.pk, gap.cycle.end)
                gaps_by_key[key].append(gap)
                if key not in found:
                    found[key] = Candidate(
                        object_id=branch.pk, object_label=branch.name, reference_date=gap.cycle.end, org_ids=[branch.pk],
                        org_paths=[branch.path], org_name=branch.name, url=f"{url}?org={branch.pk}",
                    )
    for key, candidate in found.items():
        lines = []
        for gap in gaps_by_key[key]:
            line = _("%(kind)s %(cycle)s：已开 %(held)s 次，应开 %(expected)s 次") % {
                "kind": gap.kind_label, "cycle": gap.cycle.label, "held": gap.held, "expected": gap.expected,
            }
            lines.append(f"{gap.group.name} {line}" if gap.group is not None else line)
        candidate.extra = {"details": "\n".join(lines), "missing_count": len(lines)}
    return _timed(rule, today, sorted(found.values(), key=lambda c: (c.reference_date, c.object_id)))


def _transfer_candidate(transfer: Transfer, reference: dt.date, extra: dict) -> Candidate:
    sides = [org for org in (transfer.from_org, transfer.to_org) if org is not None]
    external = transfer.external_org_name or _("系统外党组织")
    extra = {
        "from_org": transfer.from_org.name if transfer.from_org else external,
        "to_org": transfer.to_org.name if transfer.to_org else external,
        **extra,
    }
    return Candidate(
        object_id=transfer.pk, object_label=transfer.member.name, reference_date=reference,
        org_ids=[org.pk for org in sides], org_paths=[org.path for org in sides], org_name=sides[0].name if sides else "",
        url=reverse("members:transfer_detail", args=[transfer.pk]), extra=extra,
    )


def _open_transfers():
    return Transfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES).select_related("member", "from_org", "to_org").order_by("pk")


def find_transfer_waiting(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    rows = _open_transfers().filter(requested_at__gte=local_start(start), requested_at__lt=local_start(end + dt.timedelta(days=1)))
    candidates = [
        _transfer_candidate(t, _local(t.requested_at).date(), {"status": t.get_status_display()}) for t in rows
    ]
    return _timed(rule, today, candidates)


def find_letter_lapsing(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    rows = _open_transfers().filter(letter_valid_until__gte=start, letter_valid_until__lte=end)
    candidates = [_transfer_candidate(t, t.letter_valid_until, {"letter_number": t.letter_number}) for t in rows]
    return _timed(rule, today, candidates)


def _member_candidate(member: Member, reference: dt.date, extra: dict | None = None) -> Candidate:
    return Candidate(
        object_id=member.pk, object_label=member.name, reference_date=reference, org_ids=[member.org_id],
        org_paths=[member.org.path], org_name=member.org.name, url=reverse("members:member_detail", args=[member.pk]),
        extra=extra or {},
    )


def _members():
    return Member.objects.select_related("org").only("pk", "name", "org__id", "org__path", "org__name").order_by("pk")


def find_probation_ending(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    months = int(rule_values("probation_months")["probation_months"])
    rows = _members().filter(stage=Stage.PROBATIONARY, relation_kind__in=RELATION_HERE, admitted_on__isnull=False, admitted_on__lte=add_months(end, -months) + SLACK)
    rows = rows.only("pk", "name", "admitted_on", "probation_extended_months", "org__id", "org__path", "org__name")
    candidates = []
    for member in rows:
        reference = add_months(member.admitted_on, months + member.probation_extended_months)
        if start <= reference <= end:
            candidates.append(_member_candidate(member, reference))
    return _timed(rule, today, candidates)


def next_review(activist_on: dt.date, months: int, today: dt.date) -> dt.date:
    """The first activist_on + n * months (n >= 1) on or after `today`."""
    elapsed = (today.year - activist_on.year) * 12 + today.month - activist_on.month
    n = max(1, elapsed // months - 1)
    while add_months(activist_on, n * months) < today:
        n += 1
    return add_months(activist_on, n * months)


def find_activist_review_due(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    months = int(rule_values("activist_review_months")["activist_review_months"]) or 6
    rows = _members().filter(stage=Stage.ACTIVIST, relation_kind__in=RELATION_HERE, activist_on__isnull=False, activist_on__lt=end)
    rows = rows.only("pk", "name", "activist_on", "org__id", "org__path", "org__name")
    candidates = []
    for member in rows:
        reference = next_review(member.activist_on, months, today)
        if start <= reference <= end:
            candidates.append(_member_candidate(member, reference, {"activist_on": member.activist_on}))
    return _timed(rule, today, candidates)


def find_term_ending(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    years = int(rule_values("committee_term_years")["committee_term_years"])
    rows = Organization.objects.filter(
        status=OrgStatus.ACTIVE, has_committee=True, committee_elected_on__isnull=False,
        committee_elected_on__gte=add_months(start, -12 * years) - SLACK, committee_elected_on__lte=add_months(end, -12 * years) + SLACK,
    ).order_by("path")
    candidates = []
    for org in rows:
        reference = add_months(org.committee_elected_on, 12 * years)
        if start <= reference <= end:
            candidates.append(Candidate(
                object_id=org.pk, object_label=org.name, reference_date=reference, org_ids=[org.pk], org_paths=[org.path],
                org_name=org.name, url=reverse("coverage:org_detail", args=[org.pk]), extra={"elected_on": org.committee_elected_on},
            ))
    return _timed(rule, today, candidates)


def _request_candidates(rows) -> list[Candidate]:
    candidates = []
    for request in rows:
        due = _local(request.due_at)
        org = request.responsible_org
        candidates.append(Candidate(
            object_id=request.pk, object_label=request.tracking_code, reference_date=due.date(), org_ids=[org.pk],
            org_paths=[org.path], org_name=org.name, url=reverse("services:request_detail", args=[request.tracking_code]),
            extra={"category": request.category.name, "due_at": due.strftime("%Y-%m-%d %H:%M"), "status": request.get_status_display()},
        ))
    return candidates


def _open_requests():
    return ServiceRequest.objects.filter(status__in=OPEN_STATUSES).select_related("category", "responsible_org").order_by("pk")


def find_request_due_soon(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    rows = _open_requests().filter(due_at__gt=now, due_at__gte=local_start(start), due_at__lt=local_start(end + dt.timedelta(days=1)))
    return _timed(rule, today, _request_candidates(rows))


def find_request_overdue(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    until = min(now, local_start(end + dt.timedelta(days=1)))
    rows = _open_requests().filter(due_at__lt=until, due_at__gte=local_start(start))
    return _timed(rule, today, _request_candidates(rows))


def find_mobile_card_expiring(rule: ReminderRule, today: dt.date, now: dt.datetime) -> list[Candidate]:
    start, end = window(rule, today)
    rows = _members().filter(
        relation_kind=RelationKind.MOBILE, mobile_card_valid_until__gte=start, mobile_card_valid_until__lte=end
    ).only("pk", "name", "mobile_card_valid_until", "org__id", "org__path", "org__name")
    return _timed(rule, today, [_member_candidate(m, m.mobile_card_valid_until) for m in rows])


Finder = Callable[[ReminderRule, dt.date, dt.datetime], list[Candidate]]

FINDERS: dict[str, Finder] = {
    ReminderKind.MEETING_DUE: find_meeting_due,
    ReminderKind.TRANSFER_WAITING: find_transfer_waiting,
    ReminderKind.LETTER_LAPSING: find_letter_lapsing,
    ReminderKind.PROBATION_ENDING: find_probation_ending,
    ReminderKind.ACTIVIST_REVIEW_DUE: find_activist_review_due,
    ReminderKind.TERM_ENDING: find_term_ending,
    ReminderKind.REQUEST_DUE_SOON: find_request_due_soon,
    ReminderKind.REQUEST_OVERDUE: find_request_overdue,
    ReminderKind.MOBILE_CARD_EXPIRING: find_mobile_card_expiring,
}


def reminder_candidates(rule: ReminderRule, *, today: dt.date, now: dt.datetime) -> list[Candidate]:
    """What `rule` finds due on `today` (empty for a rule whose direction does not match its kind), less what
    a closer rule of the same kind supersedes."""
    if rule.direction != KIND_DIRECTION.get(rule.kind):
        return []
    candidates = FINDERS[rule.kind](rule, today, now)
    closer = superseding_rules(rule)
    if not closer:
        return candidates
    return [c for c in candidates if not any(repetition_due(other, c.reference_date, today) is not None for other in closer)]


def reminder_kinds_enabled() -> list[str]:
    """The kinds that have at least one enabled rule (what the daily sweep fans out to)."""
    return sorted(set(ReminderRule.objects.filter(enabled=True).values_list("kind", flat=True)))


def superseding_rules(rule: ReminderRule) -> list[ReminderRule]:
    """Enabled rules of the same kind whose first reminder falls closer to the reference date (a smaller lead
    before it, a longer wait after it) and that reach at least the same people by the same channels. Once
    such a rule is due for an object, this rule is not: 13 days before a committee term ends, the "1 month
    ahead" reminder goes out, not a belated "6 months ahead" one as well."""
    def lead_days(r: ReminderRule) -> int:  # months counted as 31 days: only the order matters
        return r.offset * (31 if r.offset_unit == OffsetUnit.MONTH else 1)

    before = KIND_DIRECTION[rule.kind] == Direction.BEFORE
    result = []
    for other in ReminderRule.objects.filter(kind=rule.kind, enabled=True, direction=rule.direction).exclude(pk=rule.pk):
        nearer = lead_days(other) < lead_days(rule) if before else lead_days(other) > lead_days(rule)
        if nearer and set(rule.recipients) <= set(other.recipients) and set(rule.channels) <= set(other.channels):
            result.append(other)
    return result


# ---------------------------------------------------------------- recipients
@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str


def resolve_recipients(candidates: list[Candidate], roles: list[str]) -> list[list[Recipient]]:
    """For each candidate, the users it goes to (each once), in one query: per role and per candidate org,
    the holders of the role at the nearest node of the org's ancestor chain (the org first) that has any."""
    if not candidates or not roles:
        return [[] for _ in candidates]
    holders: dict[tuple[str, str], dict[int, Recipient]] = defaultdict(dict)  # (role, org path) -> users
    grants = RoleGrant.objects.filter(role__in=roles, user__is_active=True, org__status=OrgStatus.ACTIVE).values_list(
        "role", "org__path", "user_id", "user__email"
    )
    for role, path, user_id, email in grants:
        holders[(role, path)][user_id] = Recipient(user_id=user_id, email=email or "")
    steplen = Organization.steplen
    result = []
    for candidate in candidates:
        users: dict[int, Recipient] = {}
        for path in candidate.org_paths:
            for role in roles:
                for depth in range(len(path) // steplen, 0, -1):
                    found = holders.get((role, path[: depth * steplen]))
                    if found:
                        for user_id, recipient in found.items():
                            users.setdefault(user_id, recipient)
                        break
        result.append(list(users.values()))
    return result
