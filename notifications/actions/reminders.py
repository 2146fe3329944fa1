"""The reminder sweep: claim what is due in the send log, write in-app notifications, send email.

Who finds what and when is notifications.selectors.reminders (read its docstring for the timing rules: first due
date, repetitions, catch-up, effective_from, and the reference date of every kind). This module writes.

One sweep of one rule on one day (`reminder_rule_sweep`):

1. A ReminderRun row (status running) is written and committed first, so a failure is recorded on it.
2. The rule's finder returns the candidates; the send-log keys already written for them are read (one query)
   and only the missing rows are built. Their subjects and bodies are rendered (notifications.reminder_templates,
   context = COMMON_KEYS + the kind's KIND_KEYS; `Messages` renders each once) BEFORE anything is claimed: a
   broken template fails the rule as a whole, and so does a tag or filter outside the allow-list (a template
   stored through the admin) or a subject/body longer than the length rule rows (read once per sweep, on the
   first render). A repeated sweep of the same day builds and renders nothing.
3. Claim, in ONE transaction: ReminderSend rows, one per candidate x recipient x channel, are inserted
   with INSERT ... ON CONFLICT DO NOTHING (bulk_create(ignore_conflicts=True)) carrying this run. The
   unique constraint "remindersend_once" (rule, object, reference date, repetition, recipient, channel)
   makes the database the referee: a row another sweep inserted first keeps the other run, so re-reading
   the rows *of this run* gives exactly what this sweep claimed. On PostgreSQL a concurrent insert of the
   same key waits for the other transaction and is then skipped; SQLite runs the transactions one after
   the other (IMMEDIATE). For the in-app rows of this run, Notification rows are bulk-created and the sends
   set sent (one bulk_update). Any error (template, database...) rolls the whole claim back: the run is
   marked failed with the error text, logged without personal data, and no send of that rule is kept.
   Other rules of the same sweep still run.
4. After that commit, `reminder_emails_deliver` sends the rule's pending email rows (this run's and any
   left over from an earlier attempt) with Django's email backend: the rows are locked with
   SELECT ... FOR UPDATE SKIP LOCKED where the database has it (PostgreSQL; SQLite has no row locks and
   serialises writers), so two deliveries never send the same row. A recipient without an email address
   is marked skipped. A transient error (OSError, including smtplib.SMTPException) stops the batch: the
   rows sent so far are kept as sent, the failing row gets attempts + 1 and the error text and stays
   pending (failed after MAX_EMAIL_ATTEMPTS), the transaction commits, then the error is re-raised so the
   Celery task retries with backoff; a retry's claim inserts nothing new and its delivery sends what is
   still pending, once.

Email text: nothing rendered is stored in the send log (the model has no text column). Subject and body
are rendered from the candidates of the current sweep; a pending row is matched to today's candidate of
the same object and reference date (rendered with the row's own repetition). A pending row whose object is
no longer due today (transfer done, request closed, window passed) is not sent: it is marked failed with
the reason. `reminder_emails_deliver` called on its own re-runs the finder for today to get the text.

Audit (core.audit, actor SYSTEM): one summary row per claim that inserted sends ("reminder.sweep", the count,
inside the claim's transaction) and one per email delivery that recorded outcomes ("reminder.email"), never
one per send: the send log is the detail. The ReminderRun row itself is the run's own record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import SYSTEM, audit_record
from notifications.models import (
    KIND_DIRECTION,
    RECIPIENT_ROLES,
    Channel,
    Notification,
    NotificationKind,
    ReminderRule,
    ReminderRun,
    ReminderSend,
    RunStatus,
    SendStatus,
)
from notifications.reminder_templates import KIND_KEYS, Limits, message_limits, render
from notifications.selectors.reminders import Candidate, reminder_candidates, resolve_recipients

logger = logging.getLogger(__name__)

MAX_EMAIL_ATTEMPTS = 5
EMAIL_ERRORS = (OSError,)  # smtplib.SMTPException, ConnectionError and TimeoutError are OSErrors


@dataclass
class Rendered:
    candidate: Candidate
    subject: str
    body: str


class RuleRefused(ValueError):
    """A rule that cannot run as configured (the message is for district staff)."""


def _default_now(today: dt.date | None, now: dt.datetime | None) -> tuple[dt.date, dt.datetime]:
    """`now` defaults to the current moment, or to noon of `today` when `today` is another day."""
    if now is None:
        now = timezone.now()
        if today is not None and timezone.localdate(now) != today:
            now = timezone.make_aware(dt.datetime.combine(today, dt.time(12, 0)))
    return today or timezone.localdate(now), now


def reminder_context(rule: ReminderRule, candidate: Candidate, *, repetition: int | None = None) -> dict:
    """The plain template context of one candidate: COMMON_KEYS plus the kind's KIND_KEYS."""
    context = {
        "org": candidate.org_name, "object": candidate.object_label, "date": candidate.reference_date, "days": candidate.days,
        "repetition": (candidate.repetition if repetition is None else repetition) + 1, "url": candidate.url, "rule": rule.name,
    }
    for key in KIND_KEYS.get(rule.kind, ()):
        context[key] = candidate.extra.get(key, "")
    return context


def _render(rule: ReminderRule, candidate: Candidate, *, repetition: int | None = None, limits: Limits | None = None) -> Rendered:
    subject, body = render(rule.subject_template, rule.body_template, reminder_context(rule, candidate, repetition=repetition),
                           limits=limits)
    return Rendered(candidate=candidate, subject=subject, body=body)


def _channels(rule: ReminderRule) -> list[str]:
    return [c for c in dict.fromkeys(rule.channels or []) if c in Channel.values]


def _roles(rule: ReminderRule) -> list[str]:
    return [r for r in dict.fromkeys(rule.recipients or []) if r in RECIPIENT_ROLES]


def _check(rule: ReminderRule) -> None:
    if not rule.enabled:
        raise RuleRefused(_("该提醒规则已停用"))
    if rule.direction != KIND_DIRECTION.get(rule.kind):
        raise RuleRefused(_("提醒方向与提醒类型不符（应为“%(direction)s”）") % {
            "direction": KIND_DIRECTION[rule.kind].label if rule.kind in KIND_DIRECTION else "?",
        })


class Messages:
    """Subject and body of a rule's candidates, rendered on demand and once per (object, reference date,
    repetition): a sweep renders only what it is about to send, not what was sent on earlier days."""

    def __init__(self, rule: ReminderRule, candidates: list[Candidate]):
        self.rule = rule
        self.by_key = {(c.object_id, c.reference_date): c for c in candidates}
        self.cache: dict[tuple, Rendered] = {}
        self.limits: Limits | None = None  # the length rule rows, read once, on the first render

    def get(self, object_id: int, reference_date: dt.date, repetition: int | None = None) -> Rendered | None:
        """None when the object is not among today's candidates (no longer due)."""
        candidate = self.by_key.get((object_id, reference_date))
        if candidate is None:
            return None
        k = candidate.repetition if repetition is None else repetition
        key = (object_id, reference_date, k)
        if key not in self.cache:
            if self.limits is None:
                self.limits = message_limits()
            self.cache[key] = _render(self.rule, candidate, repetition=k, limits=self.limits)
        return self.cache[key]


@transaction.atomic
def _claim(rule: ReminderRule, run: ReminderRun, candidates: list[Candidate], messages: Messages, now: dt.datetime) -> int:
    """Insert the send-log rows not yet in the log (ON CONFLICT DO NOTHING for a concurrent sweep) and deliver
    the in-app ones this run inserted. Everything to be sent is rendered before the first INSERT."""
    channels, roles = _channels(rule), _roles(rule)
    if not candidates or not channels:
        return 0
    recipients = resolve_recipients(candidates, roles)
    # What earlier runs already logged (one query): a repeated sweep inserts nothing and renders nothing.
    logged = set(
        ReminderSend.objects.filter(rule=rule, reference_date__in={c.reference_date for c in candidates})
        .values_list("object_id", "reference_date", "repetition", "recipient_id", "channel")
    )
    rows = [
        ReminderSend(
            rule=rule, object_id=c.object_id, object_label=c.object_label[:200], reference_date=c.reference_date,
            repetition=c.repetition, recipient_id=recipient.user_id, channel=channel, run=run, created_at=now,
        )
        for c, users in zip(candidates, recipients, strict=True) for recipient in users for channel in channels
        if (c.object_id, c.reference_date, c.repetition, recipient.user_id, channel) not in logged
    ]
    if not rows:
        return 0
    for row in rows:  # a broken template fails here, before anything is written
        messages.get(row.object_id, row.reference_date, row.repetition)
    ReminderSend.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    mine = list(ReminderSend.objects.filter(run=run).order_by("pk"))
    in_app = [send for send in mine if send.channel == Channel.IN_APP]
    if in_app:
        notifications = []
        for send in in_app:
            r = messages.get(send.object_id, send.reference_date, send.repetition)
            notifications.append(Notification(
                user_id=send.recipient_id, kind=NotificationKind.REMINDER, title=r.subject[:200], body=r.body,
                url=r.candidate.url[:300], created_at=now, reminder_send_id=send.pk,
            ))
        Notification.objects.bulk_create(notifications, batch_size=500)
        # One UPDATE for all of them (bulk_update would build a CASE per row: seconds at city scale).
        ReminderSend.objects.filter(run=run, channel=Channel.IN_APP).update(status=SendStatus.SENT, sent_at=now)
    if mine:
        audit_record(actor=SYSTEM, action="reminder.sweep", obj=rule, changes={
            "note": f"run {run.pk} on {run.day}", "count": len(mine), "in_app": len(in_app)})
    return len(mine)


def reminder_rule_sweep(*, rule_id: int, today: dt.date | None = None, now: dt.datetime | None = None) -> ReminderRun:
    """Sweep one rule for one day (idempotent: a second sweep of the same day claims nothing new).

    Template and claim errors fail the run (nothing of the rule is kept) and are not raised. A transient
    email error is raised after the run is recorded (the in-app sends stay; the task retries the email)."""
    today, now = _default_now(today, now)
    rule = ReminderRule.objects.get(pk=rule_id)
    run = ReminderRun.objects.create(rule=rule, day=today, started_at=timezone.now(), status=RunStatus.RUNNING)
    try:
        _check(rule)
        candidates = reminder_candidates(rule, today=today, now=now)
        messages = Messages(rule, candidates)
        sent = _claim(rule, run, candidates, messages, now)
        run.candidates, run.sent = len(candidates), sent
        run.emailed = reminder_emails_deliver(rule_id=rule.pk, today=today, now=now, messages=messages)
    except EMAIL_ERRORS as exc:
        _finish(run, status=RunStatus.FAILED, error=_("邮件发送暂时失败，将自动重试：%(error)s") % {"error": exc})
        raise
    except Exception as exc:
        logger.exception("reminder rule %s (%s) failed on %s", rule.pk, rule.kind, today)
        _finish(run, status=RunStatus.FAILED, error=str(exc) or exc.__class__.__name__)
        return run
    _finish(run, status=RunStatus.OK)
    logger.info("reminder rule %s (%s) on %s: %s due, %s sends claimed, %s emailed",
                rule.pk, rule.kind, today, run.candidates, run.sent, run.emailed)
    return run


def _finish(run: ReminderRun, *, status: str, error: str = "") -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    ReminderRun.objects.filter(pk=run.pk).update(
        status=run.status, error=run.error, finished_at=run.finished_at, candidates=run.candidates, sent=run.sent,
        emailed=run.emailed,
    )


def reminders_sweep(*, today: dt.date | None = None, kind: str | None = None, now: dt.datetime | None = None) -> list[ReminderRun]:
    """Sweep every enabled rule (or every enabled rule of one kind). A rule that fails is recorded as failed
    and the others still run; the first transient email error is re-raised at the end (the task retries)."""
    today, now = _default_now(today, now)
    rules = ReminderRule.objects.filter(enabled=True).order_by("kind", "pk")
    if kind is not None:
        rules = rules.filter(kind=kind)
    runs, transient = [], None
    for rule_id in rules.values_list("pk", flat=True):
        try:
            runs.append(reminder_rule_sweep(rule_id=rule_id, today=today, now=now))
        except EMAIL_ERRORS as exc:
            transient = transient or exc
    if transient is not None:
        raise transient
    return runs


def reminder_emails_deliver(
    *, rule_id: int, today: dt.date | None = None, now: dt.datetime | None = None, messages: Messages | None = None
) -> int:
    """Send the rule's pending email rows; returns how many were sent. Rows are locked (SKIP LOCKED) while
    they are sent, so concurrent deliveries never send a row twice. Raises the first transient error after
    recording it (see the module docstring)."""
    today, now = _default_now(today, now)
    rule = ReminderRule.objects.get(pk=rule_id)
    pending = ReminderSend.objects.filter(
        rule_id=rule.pk, channel=Channel.EMAIL, status=SendStatus.PENDING, attempts__lt=MAX_EMAIL_ATTEMPTS
    )
    if not pending.exists():
        return 0
    if messages is None:
        _check(rule)
        messages = Messages(rule, reminder_candidates(rule, today=today, now=now))
    error = None
    sent = 0
    with transaction.atomic():
        qs = pending.select_related("recipient").order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(qs)
        changed = []
        mail = get_connection(fail_silently=False)
        opened = False
        try:
            for send in rows:
                if not send.recipient.email:
                    send.status, send.error = SendStatus.SKIPPED, _("接收人未设置电子邮箱")
                    changed.append(send)
                    continue
                r = messages.get(send.object_id, send.reference_date, send.repetition)
                if r is None:
                    send.status, send.error = SendStatus.FAILED, _("提醒条件已不再满足，未发送")
                    changed.append(send)
                    continue
                message = EmailMessage(
                    subject=r.subject, body=_email_body(r), from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[send.recipient.email], connection=mail,
                )
                try:
                    if not opened:  # one connection for the whole batch
                        mail.open()
                        opened = True
                    message.send()
                except EMAIL_ERRORS as exc:
                    send.attempts += 1
                    send.error = f"{exc.__class__.__name__}: {exc}"[:300]
                    if send.attempts >= MAX_EMAIL_ATTEMPTS:
                        send.status = SendStatus.FAILED
                        logger.warning("reminder email send %s failed for good after %s attempts", send.pk, send.attempts)
                    else:
                        error = exc
                    changed.append(send)
                    if error is not None:
                        break
                    continue
                send.status, send.sent_at, send.error = SendStatus.SENT, now, ""
                send.attempts += 1
                changed.append(send)
                sent += 1
        finally:
            if opened:
                with contextlib.suppress(*EMAIL_ERRORS):
                    mail.close()
        _save_outcomes(changed)
        if changed:
            audit_record(actor=SYSTEM, action="reminder.email", obj=rule,
                         changes={"note": f"email on {today}", "count": sent, "outcomes": len(changed)})
    if sent:
        logger.info("reminder rule %s: %s emails sent", rule.pk, sent)
    if error is not None:
        logger.warning("reminder rule %s: email delivery failed transiently (%s), will retry", rule.pk, error.__class__.__name__)
        raise error
    return sent


def _save_outcomes(changed: list[ReminderSend]) -> None:
    """Write the delivery outcomes with one UPDATE per distinct outcome (sent, skipped, gave up...), not a
    CASE per row: nearly every row of a batch shares its outcome."""
    groups: dict[tuple, list[int]] = {}
    for send in changed:
        groups.setdefault((send.status, send.sent_at, send.error, send.attempts), []).append(send.pk)
    for (status, sent_at, error, attempts), pks in groups.items():
        for start in range(0, len(pks), 500):
            ReminderSend.objects.filter(pk__in=pks[start:start + 500]).update(
                status=status, sent_at=sent_at, error=error, attempts=attempts,
            )


def _email_body(r: Rendered) -> str:
    base = settings.PORTAL_BASE_URL.rstrip("/")
    return f"{r.body}\n\n{_('办理链接')}：{base}{r.candidate.url}"
