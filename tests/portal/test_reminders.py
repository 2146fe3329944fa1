"""The reminder sweep as a whole (portal/actions/reminders.py): idempotence, a broken template, transient
email failures, and a constant number of queries whatever the number of branches and objects."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from members.models import RelationKind, Stage
from notifications.actions.reminders import MAX_EMAIL_ATTEMPTS, reminder_emails_deliver, reminder_rule_sweep, reminders_sweep
from notifications.models import Notification, NotificationKind, ReminderRule, ReminderRun, ReminderSend, RunStatus, SendStatus
from orgs.models import Organization, Role
from tests.factories import MemberFactory, UserFactory, grant, make_branch
from tests.portal.test_reminder_kinds import LONG_AGO, at, make_rule, open_transfer
from tests.services.factories import make_request

TODAY = dt.date(2026, 12, 1)
NOW = at(2026, 12, 1, 7, 30)


class FlakyBackend(LocmemBackend):
    """The SMTP server drops the connection on the first message of the test, then works (locmem outbox)."""

    failures_left = 0

    def send_messages(self, messages):
        if FlakyBackend.failures_left > 0:
            FlakyBackend.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


FLAKY = "tests.portal.test_reminders.FlakyBackend"


@pytest.fixture
def flaky():
    FlakyBackend.failures_left = 1
    with override_settings(EMAIL_BACKEND=FLAKY):
        yield FlakyBackend
    FlakyBackend.failures_left = 0


@pytest.fixture
def seeded(world):
    """The seeded rules, in force since long ago; secretaries and district staff with email addresses."""
    ReminderRule.objects.update(enabled=True, effective_from=LONG_AGO)
    for user, address in ((world.secretary, "jb@example.cn"), (world.district_user, "district@example.cn")):
        user.email = address
        user.save(update_fields=["email"])
    return world


def scenario(world):
    """Objects due on TODAY under the seeded rules: 3 at jb (secretary with email) and a transfer."""
    Organization.objects.filter(pk=world.jb.pk).update(has_committee=True, committee_elected_on=dt.date(2023, 12, 20))
    MemberFactory(org=world.jb, stage=Stage.PROBATIONARY, admitted_on=dt.date(2025, 12, 20), name="预备王五")
    MemberFactory(org=world.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20), name="流动孙七")
    make_request(org=world.jb, submitted_at=at(2026, 11, 20, 9), due_at=at(2026, 11, 30, 18))
    sender = UserFactory(username="send_sec", email="send@example.cn")
    grant(sender, world.br_a, Role.SECRETARY)
    open_transfer(world, requested_at=at(2026, 10, 1))


def counts():
    return Notification.objects.count(), ReminderSend.objects.count(), len(mail.outbox)


# ================================================================ idempotence
def test_a_second_sweep_sends_nothing(seeded):
    scenario(seeded)
    first = reminders_sweep(today=TODAY, now=NOW)
    assert {run.status for run in first} == {RunStatus.OK}
    after_first = counts()
    # jb secretary: probation, card, overdue request, and the term end (the 1-month rule: 19 days before the
    # end it supersedes the 6-month one); district staff: the term reminder and the transfer; the transfer's
    # sending secretary (br_f has none).
    assert Notification.objects.filter(user=seeded.secretary, kind=NotificationKind.REMINDER).count() == 4
    assert Notification.objects.filter(user=seeded.district_user).count() == 2
    assert after_first == (7, 14, 7)
    assert {m.to[0] for m in mail.outbox} == {"jb@example.cn", "district@example.cn", "send@example.cn"}
    assert {m.from_email for m in mail.outbox} == {settings.DEFAULT_FROM_EMAIL}
    probation_mail = next(m for m in mail.outbox if "预备王五" in m.subject)
    assert probation_mail.subject == "预备王五 的预备期将于 2026年12月20日 届满"
    assert "/members/" in probation_mail.body
    assert sum(run.sent for run in first) == 14 and sum(run.emailed for run in first) == 7

    second = reminders_sweep(today=TODAY, now=NOW)
    assert counts() == after_first
    assert sum(run.sent for run in second) == 0 and sum(run.emailed for run in second) == 0
    assert sum(run.candidates for run in second) == sum(run.candidates for run in first) > 0
    assert ReminderSend.objects.exclude(status=SendStatus.SENT).count() == 0


def test_recipients_without_email_are_skipped_not_retried(world):
    rule = make_rule("mobile_card_expiring", channels=["in_app", "email"])
    MemberFactory(org=world.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20))
    run = reminder_rule_sweep(rule_id=rule.pk, today=TODAY)
    assert run.status == RunStatus.OK and run.emailed == 0
    send = ReminderSend.objects.get(rule=rule, channel="email")
    assert send.status == SendStatus.SKIPPED and send.error == "接收人未设置电子邮箱"
    assert not mail.outbox
    assert Notification.objects.filter(user=world.secretary).count() == 1


# ================================================================ a broken template
def test_a_broken_template_fails_its_rule_and_the_others_still_run(seeded, caplog):
    scenario(seeded)
    broken = ReminderRule.objects.get(kind="probation_ending")
    broken.subject_template = "{{ object }} {% if %}"
    broken.save()
    with caplog.at_level(logging.ERROR, logger="notifications.actions.reminders"):
        runs = reminders_sweep(today=TODAY, now=NOW)
    by_rule = {run.rule_id: run for run in runs}
    failed = ReminderRun.objects.get(pk=by_rule[broken.pk].pk)
    assert failed.status == RunStatus.FAILED
    assert "模板有语法错误" in failed.error
    assert failed.finished_at is not None
    assert not ReminderSend.objects.filter(rule=broken).exists()
    assert not Notification.objects.filter(title__contains="预备王五").exists()
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert f"reminder rule {broken.pk} (probation_ending) failed" in record.getMessage()
    assert "预备王五" not in caplog.text  # no personal data in the log
    others = [run for run in runs if run.rule_id != broken.pk]
    assert {run.status for run in others} == {RunStatus.OK}
    assert ReminderSend.objects.filter(rule__kind="mobile_card_expiring").count() == 2  # in-app + email
    assert len(mail.outbox) == 6  # 7 as in the test above, less the broken rule's one


def test_an_error_while_claiming_keeps_nothing_of_that_rule(seeded, monkeypatch):
    scenario(seeded)
    from notifications.actions import reminders

    real = reminders.Notification.objects.bulk_create
    rule = ReminderRule.objects.get(kind="mobile_card_expiring")

    def boom(objs, *args, **kwargs):
        if any("流动孙七" in n.title for n in objs):
            raise RuntimeError("disk full")
        return real(objs, *args, **kwargs)

    monkeypatch.setattr(reminders.Notification.objects, "bulk_create", boom)
    run = reminder_rule_sweep(rule_id=rule.pk, today=TODAY, now=NOW)
    assert run.status == RunStatus.FAILED and run.error == "disk full"
    assert not ReminderSend.objects.filter(rule=rule).exists()  # the claim was rolled back
    monkeypatch.undo()
    again = reminder_rule_sweep(rule_id=rule.pk, today=TODAY, now=NOW)
    assert again.status == RunStatus.OK and again.sent == 2 and again.emailed == 1


# ================================================================ transient email failures
def test_a_transient_email_failure_is_retried_and_sent_once(seeded, flaky):
    rule = ReminderRule.objects.get(kind="mobile_card_expiring")
    MemberFactory(org=seeded.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20), name="流动孙七")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        reminders_sweep(today=TODAY, now=NOW, kind="mobile_card_expiring")
    send = ReminderSend.objects.get(rule=rule, channel="email")
    assert send.status == SendStatus.PENDING and send.attempts == 1
    assert "SMTPServerDisconnected" in send.error
    assert Notification.objects.filter(user=seeded.secretary).count() == 1  # the in-app reminder is kept
    run = ReminderRun.objects.filter(rule=rule).latest("pk")
    assert run.status == RunStatus.FAILED and "邮件发送暂时失败" in run.error and run.sent == 2
    assert not mail.outbox

    runs = reminders_sweep(today=TODAY, now=NOW, kind="mobile_card_expiring")  # what the task's retry does
    assert [(r.status, r.sent, r.emailed) for r in runs] == [(RunStatus.OK, 0, 1)]
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "流动孙七 的流动党员活动证将于 2026年12月20日 到期"
    send.refresh_from_db()
    assert send.status == SendStatus.SENT and send.attempts == 2 and send.error == ""
    reminders_sweep(today=TODAY, now=NOW, kind="mobile_card_expiring")
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(user=seeded.secretary).count() == 1


def test_emails_fail_for_good_after_the_last_attempt(seeded, flaky):
    flaky.failures_left = 100
    rule = ReminderRule.objects.get(kind="mobile_card_expiring")
    MemberFactory(org=seeded.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20))
    for _ in range(MAX_EMAIL_ATTEMPTS - 1):
        with pytest.raises(smtplib.SMTPServerDisconnected):
            reminder_rule_sweep(rule_id=rule.pk, today=TODAY, now=NOW)
    run = reminder_rule_sweep(rule_id=rule.pk, today=TODAY, now=NOW)  # the last attempt: recorded, not raised
    assert run.status == RunStatus.OK and run.emailed == 0
    send = ReminderSend.objects.get(rule=rule, channel="email")
    assert send.status == SendStatus.FAILED and send.attempts == MAX_EMAIL_ATTEMPTS
    assert reminder_emails_deliver(rule_id=rule.pk, today=TODAY, now=NOW) == 0
    assert not mail.outbox


def test_a_pending_email_whose_object_is_no_longer_due_is_not_sent(seeded, flaky):
    rule = ReminderRule.objects.get(kind="mobile_card_expiring")
    member = MemberFactory(org=seeded.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20))
    with pytest.raises(smtplib.SMTPServerDisconnected):
        reminder_rule_sweep(rule_id=rule.pk, today=TODAY, now=NOW)
    member.relation_kind = RelationKind.HELD
    member.save(update_fields=["relation_kind"])
    assert reminder_emails_deliver(rule_id=rule.pk, today=TODAY, now=NOW) == 0
    send = ReminderSend.objects.get(rule=rule, channel="email")
    assert send.status == SendStatus.FAILED and send.error == "提醒条件已不再满足，未发送"
    assert not mail.outbox


# ================================================================ query counts
def grow(world, n: int, start: int):
    """n more branches under express, each with a secretary (email) and one object of several kinds due."""
    for i in range(start, start + n):
        branch = make_branch(f"扩展支部{i}", parent=world.express, code=f"GROW-{i}")
        secretary = UserFactory(username=f"grow_sec{i}", email=f"sec{i}@example.cn")
        grant(secretary, branch, Role.SECRETARY)
        Organization.objects.filter(pk=branch.pk).update(has_committee=True, committee_elected_on=dt.date(2023, 12, 20))
        MemberFactory(org=branch, stage=Stage.PROBATIONARY, admitted_on=dt.date(2025, 12, 20))
        MemberFactory(org=branch, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20))
        MemberFactory(org=branch, stage=Stage.ACTIVIST, activist_on=dt.date(2026, 6, 5))
        make_request(org=branch, submitted_at=at(2026, 11, 20, 9), due_at=at(2026, 11, 30, 18))
        make_request(org=branch, submitted_at=at(2026, 11, 30, 9), due_at=at(2026, 12, 2, 9))
        open_transfer(world, member=MemberFactory(org=world.br_a), requested_at=at(2026, 10, 1))
        open_transfer(world, member=MemberFactory(org=world.br_a), requested_at=at(2026, 11, 20),
                      letter_valid_until=dt.date(2026, 12, 5))


def sweep_queries() -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        runs = reminders_sweep(today=TODAY, now=NOW)
    assert {run.status for run in runs} == {RunStatus.OK}
    return len(ctx.captured_queries), sum(run.sent for run in runs)


def test_sweep_query_count_does_not_grow_with_branches(seeded):
    ReminderRule.objects.update(recipients=["secretary"])  # keep every batch below SQLite's 999 parameters
    grow(seeded, 2, 0)
    small, small_sent = sweep_queries()
    ReminderSend.objects.all().delete()
    Notification.objects.all().delete()
    mail.outbox.clear()
    grow(seeded, 18, 2)
    large, large_sent = sweep_queries()
    assert large_sent > small_sent > 0
    assert large == small, (small, large)
