"""The inbox and reminder rules API (/api/v1/notifications/, /api/v1/reminder-rules/): only one's own inbox (another
user's notification is 404, a statistics-only token 403), `read` and `read-all`, the filters and ordering, rules with
their latest run like the rules page, PATCH through the page's action (a broken template is a field error), answers in
the request's language, no personal data in any answer, and list query counts that hold as rows grow."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from core.dates import add_months
from core.models import AuditEntry
from core.rules import rule_values
from members.actions import member_create
from members.models import Member, Stage
from notifications.actions.inbox import notifications_create
from notifications.actions.reminders import reminder_rule_sweep
from notifications.api.views import NotificationViewSet
from notifications.models import Notification, NotificationKind, ReminderRule, ReminderRun, RunStatus
from tests.members import make_id

pytestmark = pytest.mark.django_db
INBOX = reverse("api-notification-list")
READ_ALL = reverse("api-notification-read-all")
RULES = reverse("api-reminder-rule-list")
PHONE = "13912345678"


def _notify(user, title="提醒", *, kind=NotificationKind.REMINDER, days_ago=0, read=False) -> Notification:
    (row,) = notifications_create(user_ids=[user.pk], title=title, kind=kind)
    changes = {"created_at": timezone.now() - dt.timedelta(days=days_ago)}
    if read:
        changes["read_at"] = timezone.now()
    Notification.objects.filter(pk=row.pk).update(**changes)
    return Notification.objects.get(pk=row.pk)


def _detail(notification) -> str:
    return reverse("api-notification-detail", args=[notification.pk])


def _read(notification) -> str:
    return reverse("api-notification-read", args=[notification.pk])


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def _rule(**kwargs) -> ReminderRule:
    values = {"name": "预备期届满提醒", "kind": "probation_ending", "offset": 30, "recipients": ["secretary"],
              "channels": ["in_app"], "subject_template": "{{ object }}的预备期将于{{ date|date:'Y-m-d' }}届满",
              "body_template": "{{ object }}（{{ org }}）预备期届满，请及时讨论转正。",
              "effective_from": timezone.localdate() - dt.timedelta(days=365)}
    values.update(kwargs)
    return ReminderRule.objects.create(**values)


def _probationary_member(world, seq=1) -> Member:
    """A probationary member of jb whose probation ends in 20 days (a probation_ending rule of 30 days is due)."""
    months = int(rule_values("probation_months")["probation_months"])
    admitted = add_months(timezone.localdate() + dt.timedelta(days=20), -months)
    return member_create(actor=world.district_user, org=world.jb, id_number=make_id(dt.date(1995, 3, 4), seq), phone=PHONE,
                         name=f"预备党员{seq}", stage=Stage.PROBATIONARY, admitted_on=admitted)


# ---------------------------------------------------------------- the inbox: only one's own
def test_inbox_lists_only_my_notifications_and_another_users_is_404(client, world):
    mine = _notify(world.secretary, "我的通知")
    theirs = _notify(world.district_user, "别人的通知")
    client.force_login(world.secretary)
    response = client.get(INBOX)
    assert _titles(response) == ["我的通知"]
    row = response.json()["results"][0]
    assert row["id"] == mine.pk and row["unread"] is True and row["read_at"] is None
    assert row["kind"] == "reminder" and row["kind_display"] == "提醒"
    assert client.get(_detail(mine)).json()["title"] == "我的通知"
    for response in (client.get(_detail(theirs)), client.post(_read(theirs), content_type="application/json")):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "未找到。", "fields": {}}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_inbox_needs_login_and_no_role(client, world):
    _notify(world.nobody, "无角色账号的通知")
    assert client.get(INBOX).status_code == 401
    assert client.post(READ_ALL, content_type="application/json").status_code == 401
    client.force_login(world.nobody)  # an account without any grant still has its inbox
    assert _titles(client.get(INBOX)) == ["无角色账号的通知"]


def test_a_statistics_only_token_does_not_reach_the_inbox(world):
    _notify(world.secretary)
    view = NotificationViewSet.as_view({"get": "list"})
    factory = APIRequestFactory()

    request = factory.get(INBOX)
    force_authenticate(request, user=world.secretary, token=SimpleNamespace(is_stats_only=True))
    refused = view(request)
    assert refused.status_code == 403 and refused.data["code"] == "token_scope"

    request = factory.get(INBOX)
    force_authenticate(request, user=world.secretary, token=SimpleNamespace(is_stats_only=False))
    assert view(request).status_code == 200


# ---------------------------------------------------------------- read / read-all
def test_read_marks_one_read_and_a_second_read_changes_nothing(client, world):
    notification = _notify(world.secretary)
    other = _notify(world.secretary, "另一条")
    client.force_login(world.secretary)
    response = client.post(_read(notification), content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == notification.pk and body["unread"] is False and body["read_at"]
    notification.refresh_from_db()
    first_read = notification.read_at
    assert first_read is not None
    again = client.post(_read(notification), content_type="application/json")
    assert again.status_code == 200 and again.json()["read_at"] == body["read_at"]
    notification.refresh_from_db()
    assert notification.read_at == first_read
    other.refresh_from_db()
    assert other.read_at is None
    assert client.get(_read(notification)).status_code == 405


def test_read_all_marks_only_my_unread_ones(client, world):
    mine = [_notify(world.secretary, f"未读{i}") for i in range(3)]
    already = _notify(world.secretary, "已读", read=True)
    theirs = _notify(world.district_user, "别人的")
    client.force_login(world.secretary)
    response = client.post(READ_ALL, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"marked": 3}
    assert not Notification.objects.filter(pk__in=[n.pk for n in mine], read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert Notification.objects.get(pk=already.pk).read_at == already.read_at
    assert client.post(READ_ALL, content_type="application/json").json() == {"marked": 0}
    assert _titles(client.get(INBOX, {"unread": "true"})) == []


# ---------------------------------------------------------------- filters and ordering
def test_each_inbox_filter_narrows(client, world):
    _notify(world.secretary, "今天未读的提醒")
    _notify(world.secretary, "今天已读的报表", kind=NotificationKind.REPORT, read=True)
    _notify(world.secretary, "十天前的系统通知", kind=NotificationKind.SYSTEM, days_ago=10)
    client.force_login(world.secretary)
    everything = set(_titles(client.get(INBOX)))
    assert everything == {"今天未读的提醒", "今天已读的报表", "十天前的系统通知"}
    assert set(_titles(client.get(INBOX, {"unread": "true"}))) == {"今天未读的提醒", "十天前的系统通知"}
    assert _titles(client.get(INBOX, {"unread": "false"})) == ["今天已读的报表"]
    assert _titles(client.get(INBOX, {"kind": "report"})) == ["今天已读的报表"]
    assert _titles(client.get(INBOX, {"kind": "system"})) == ["十天前的系统通知"]
    today = timezone.localdate()
    assert set(_titles(client.get(INBOX, {"date_from": (today - dt.timedelta(days=1)).isoformat()}))) == {
        "今天未读的提醒", "今天已读的报表"}
    assert _titles(client.get(INBOX, {"date_to": (today - dt.timedelta(days=5)).isoformat()})) == ["十天前的系统通知"]
    refused = client.get(INBOX, {"kind": "nonsense"})
    assert refused.status_code == 400 and "kind" in refused.json()["fields"]


def test_inbox_ordering(client, world):
    _notify(world.secretary, "旧", days_ago=3)
    _notify(world.secretary, "新", days_ago=1)
    _notify(world.secretary, "最早", days_ago=9)  # the newest id, the oldest time
    client.force_login(world.secretary)
    assert _titles(client.get(INBOX)) == ["最早", "新", "旧"]  # default: newest id first
    assert _titles(client.get(INBOX, {"ordering": "created_at"})) == ["最早", "旧", "新"]
    assert _titles(client.get(INBOX, {"ordering": "-created_at"})) == ["新", "旧", "最早"]


# ---------------------------------------------------------------- reminder rules
def test_rules_list_shows_schedule_counts_and_latest_run_like_the_page(client, world):
    _probationary_member(world)
    rule = _rule()
    idle = _rule(name="从未运行的规则", offset=7)
    run = reminder_rule_sweep(rule_id=rule.pk)
    assert run.status == RunStatus.OK and run.sent == 1
    client.force_login(world.district_user)
    rows = {row["id"]: row for row in client.get(RULES).json()["results"]}
    row = rows[rule.pk]
    assert row["schedule"] == "参考日期前 30 天"
    assert row["direction"] == "before" and row["kind_display"] == "预备期即将届满"
    assert row["recipients"] == ["secretary"] and row["recipients_display"] == ["支部书记"]
    assert row["channels_display"] == ["站内通知"]
    assert row["sends_total"] == 1
    assert row["latest_run"]["id"] == run.pk and row["latest_run"]["status"] == "ok"
    assert row["latest_run"]["candidates"] == 1 and row["latest_run"]["sent"] == 1
    assert rows[idle.pk]["latest_run"] is None and rows[idle.pk]["sends_total"] == 0
    detail = client.get(reverse("api-reminder-rule-detail", args=[rule.pk])).json()
    assert detail["latest_run"]["id"] == run.pk and detail["sends_total"] == 1


def test_rules_filters_and_ordering(client, world):
    ReminderRule.objects.all().delete()  # the seeded rules
    probation = _rule()
    term = _rule(name="任期届满提醒", kind="term_ending", subject_template="{{ org }}任期将届满", body_template="请筹备换届。")
    off = _rule(name="停用的规则", enabled=False)
    client.force_login(world.district_user)

    def ids(response) -> list[int]:
        return [row["id"] for row in response.json()["results"]]

    assert ids(client.get(RULES)) == [off.pk, term.pk, probation.pk]
    assert ids(client.get(RULES, {"kind": "term_ending"})) == [term.pk]
    assert ids(client.get(RULES, {"enabled": "false"})) == [off.pk]
    assert set(ids(client.get(RULES, {"kind": "probation_ending", "enabled": "true"}))) == {probation.pk}
    assert ids(client.get(RULES, {"ordering": "id"})) == [probation.pk, term.pk, off.pk]
    assert client.get(RULES, {"kind": "nonsense"}).status_code == 400


def test_rules_need_reminder_rule_view_and_change(client, world):
    rule = _rule()
    url = reverse("api-reminder-rule-detail", args=[rule.pk])
    client.force_login(world.viewer)
    assert client.get(RULES).status_code == 403
    refused = client.patch(url, {"name": "不许改"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    rule.refresh_from_db()
    assert rule.name == "预备期届满提醒"


def test_rule_update_calls_the_pages_action(client, world):
    rule = _rule()
    client.force_login(world.district_user)
    url = reverse("api-reminder-rule-detail", args=[rule.pk])
    response = client.patch(url, {"name": "改过的规则", "offset": 14, "repeat_every_days": 3, "repeat_limit": 2},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "改过的规则" and body["schedule"] == "参考日期前 14 天；每 3 天重复，最多 2 次"
    assert body["updated_by"] == world.district_user.pk
    rule.refresh_from_db()
    assert (rule.name, rule.offset, rule.repeat_every_days, rule.repeat_limit) == ("改过的规则", 14, 3, 2)
    assert rule.updated_by == world.district_user
    entry = AuditEntry.objects.filter(action="reminder_rule.update").latest("created_at")
    assert entry.object_id == str(rule.pk) and "offset" in entry.changes
    assert client.put(url, {"name": "x"}, content_type="application/json").status_code == 405
    assert client.delete(url).status_code == 405


def test_a_broken_template_is_a_field_error_and_nothing_is_saved(client, world):
    rule = _rule()
    client.force_login(world.district_user)
    url = reverse("api-reminder-rule-detail", args=[rule.pk])
    response = client.patch(url, {"subject_template": "{% load os %}提醒", "body_template": "{{ object|pprint }}"},
                            content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["fields"]) == {"subject_template", "body_template"}
    assert "模板有语法错误" in body["fields"]["subject_template"][0]
    one = client.patch(url, {"body_template": "{% if %}"}, content_type="application/json")
    assert one.status_code == 400 and set(one.json()["fields"]) == {"body_template"}
    rule.refresh_from_db()
    assert rule.subject_template.startswith("{{ object }}") and rule.body_template.startswith("{{ object }}（")


def test_rule_refusals_of_the_action_are_field_errors_in_the_requests_language(client, world):
    rule = _rule()
    client.force_login(world.district_user)
    url = reverse("api-reminder-rule-detail", args=[rule.pk])
    zh = client.patch(url, {"kind": "term_ending"}, content_type="application/json")
    assert zh.status_code == 400
    assert zh.json() == {"code": "invalid", "message": "提醒类型不能修改，请新增一条规则。",
                         "fields": {"kind": ["提醒类型不能修改，请新增一条规则。"]}}
    en = client.patch(url, {"kind": "term_ending"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 400
    assert en.json()["message"] == "The reminder type cannot be changed; add a new rule instead."
    assert en.json()["fields"]["kind"] == ["The reminder type cannot be changed; add a new rule instead."]
    en_template = client.patch(url, {"subject_template": "{% load os %}"}, content_type="application/json",
                               HTTP_ACCEPT_LANGUAGE="en")
    assert en_template.json()["fields"]["subject_template"][0].startswith("The template has a syntax error")
    unknown = client.patch(url, {"channels": ["pigeon"]}, content_type="application/json")
    assert unknown.status_code == 400 and any(k.split(".")[0] == "channels" for k in unknown.json()["fields"])
    empty = client.patch(url, {"recipients": []}, content_type="application/json")
    assert empty.json()["fields"]["recipients"] == ["请至少选择一个接收角色。"]
    rule.refresh_from_db()
    assert rule.kind == "probation_ending" and rule.channels == ["in_app"] and rule.recipients == ["secretary"]


# ---------------------------------------------------------------- personal data
def test_no_id_number_or_phone_in_any_answer(client, world):
    member = _probationary_member(world)
    rule = _rule()
    reminder_rule_sweep(rule_id=rule.pk)
    member.refresh_from_db()
    secrets = [make_id(dt.date(1995, 3, 4), 1), PHONE, member.id_number_encrypted, member.phone_encrypted,
               member.id_number_index, member.phone_index]
    client.force_login(world.secretary)
    inbox = client.get(INBOX)
    (notice,) = inbox.json()["results"]
    assert member.name in notice["title"]  # the reminder is about this member...
    texts = [inbox.content.decode(), client.get(_detail(Notification.objects.get(pk=notice["id"]))).content.decode()]
    client.force_login(world.district_user)
    texts += [client.get(RULES).content.decode(), client.get(reverse("api-reminder-rule-detail", args=[rule.pk])).content.decode()]
    for text in texts:
        for secret in secrets:
            assert secret and secret not in text  # ...but never shows their ID number or phone
        assert json.loads(text)


# ---------------------------------------------------------------- query counts
def _list_queries(client, url) -> tuple[int, int]:
    client.get(url)  # warm (session, grants)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"per_page": 100})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_inbox_list_query_count_is_constant(client, world):
    client.force_login(world.secretary)
    for i in range(2):
        _notify(world.secretary, f"第{i}条")
    small, rows_small = _list_queries(client, INBOX)
    for i in range(10):
        _notify(world.secretary, f"又一条{i}", read=i % 2 == 0)
    large, rows_large = _list_queries(client, INBOX)
    assert (rows_small, rows_large) == (2, 12)
    assert large == small


def test_rules_list_query_count_is_constant_with_runs(client, world):
    client.force_login(world.district_user)

    def add_rules(n):
        for i in range(n):
            rule = _rule(name=f"规则{ReminderRule.objects.count()}-{i}")
            ReminderRun.objects.create(rule=rule, day=timezone.localdate(), status=RunStatus.OK, candidates=i)

    seeded = ReminderRule.objects.count()  # the rules a migration seeds (never run)
    add_rules(2)
    small, rows_small = _list_queries(client, RULES)
    add_rules(6)
    large, rows_large = _list_queries(client, RULES)
    assert (rows_small, rows_large) == (seeded + 2, seeded + 8)
    assert large == small

