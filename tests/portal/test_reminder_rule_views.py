"""Reminder rules pages: who may see them (district staff; 404 for others), the list with schedule, last run
and send counts in constant queries, editing (updated_by, direction from the kind, template and repeat
checks in Chinese with nothing saved), adding a rule of a chosen kind, the preview and the send log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.exceptions import DomainError
from notifications.actions.reminder_rules import reminder_rule_create, reminder_rule_update
from notifications.models import Channel, Direction, ReminderKind, ReminderRule, ReminderRun, ReminderSend, RunStatus, SendStatus
from notifications.selectors.reminder_rules import describe_schedule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LIST = reverse("notifications:reminder_rule_list")
ADD = reverse("notifications:reminder_rule_add")


def _edit_url(rule) -> str:
    return reverse("notifications:reminder_rule_edit", args=[rule.pk])


def _rule(name="三会一课周期末提醒") -> ReminderRule:
    return ReminderRule.objects.get(name=name)


def _post_data(rule, **changes) -> dict:
    data = {
        "name": rule.name, "offset": rule.offset, "offset_unit": rule.offset_unit,
        "repeat_every_days": rule.repeat_every_days, "repeat_limit": rule.repeat_limit,
        "recipients": list(rule.recipients), "channels": list(rule.channels),
        "subject_template": rule.subject_template, "body_template": rule.body_template,
        "effective_from": rule.effective_from.isoformat(),
    }
    if rule.enabled:
        data["enabled"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _run(rule, *, minutes_ago=0, status=RunStatus.OK, candidates=0, sent=0, emailed=0, error="") -> ReminderRun:
    started = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return ReminderRun.objects.create(rule=rule, day=timezone.localdate(started), started_at=started, finished_at=started,
                                      status=status, candidates=candidates, sent=sent, emailed=emailed, error=error)


def _sends(rule, run, recipient, n, *, start=0, status=SendStatus.SENT):
    now = timezone.now()
    ReminderSend.objects.bulk_create([
        ReminderSend(rule=rule, object_id=start + i, object_label=f"对象{start + i}", reference_date=dt.date(2026, 6, 30),
                     repetition=0, recipient=recipient, channel=Channel.IN_APP, run=run, status=status,
                     sent_at=now if status == SendStatus.SENT else None)
        for i in range(n)
    ])


# ---------------------------------------------------------------- who may see
def test_district_staff_see_the_list(client, world):
    client.force_login(world.district_user)
    response = client.get(LIST)
    assert response.status_code == 200 and response.context["nav_section"] == "reminders"
    html = response.content.decode()
    assert ReminderRule.objects.count() == len(response.context["rows"]) >= 10
    assert "三会一课周期末提醒" in html and "新增规则" in html


@pytest.mark.parametrize("who", ["secretary", "viewer", "instructor", "nobody"])
def test_others_get_404(client, world, who):
    rule = _rule()
    client.force_login(getattr(world, who))
    assert client.get(LIST).status_code == 404
    assert client.get(_edit_url(rule)).status_code == 404
    assert client.get(ADD).status_code == 404
    assert client.post(_edit_url(rule), _post_data(rule, name="改名")).status_code == 404
    assert _rule().name == "三会一课周期末提醒"


def test_anonymous_is_sent_to_login(client, world):
    for url in (LIST, ADD, _edit_url(_rule())):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_unknown_rule_is_404(client, world):
    client.force_login(world.district_user)
    assert client.get(reverse("notifications:reminder_rule_edit", args=[999999])).status_code == 404


# ---------------------------------------------------------------- the list: schedule, last run, counts
def test_schedule_descriptions():
    meeting = ReminderRule(kind=ReminderKind.MEETING_DUE, offset=7, offset_unit="day", repeat_every_days=4, repeat_limit=1)
    assert describe_schedule(meeting) == "参考日期前 7 天；每 4 天重复，最多 1 次"
    waiting = ReminderRule(kind=ReminderKind.TRANSFER_WAITING, offset=30, offset_unit="day")
    assert describe_schedule(waiting) == "参考日期后 30 天"
    term = ReminderRule(kind=ReminderKind.TERM_ENDING, offset=6, offset_unit="month")
    assert describe_schedule(term) == "参考日期前 6 个月"
    overdue = ReminderRule(kind=ReminderKind.REQUEST_OVERDUE, offset=0, offset_unit="day", repeat_every_days=1, repeat_limit=2)
    assert describe_schedule(overdue) == "参考日期当天；每 1 天重复，最多 2 次"


def _row(response, rule) -> dict:
    return next(row for row in response.context["rows"] if row["rule"].pk == rule.pk)


def _row_html(html: str, rule) -> str:
    return html.split(f'data-rule="{rule.pk}"', 1)[1].split("</tr>", 1)[0]


def test_list_shows_latest_run_and_send_counts(client, world):
    rule = _rule()
    old = _run(rule, minutes_ago=60 * 24, candidates=9, sent=9, emailed=3)
    latest = _run(rule, minutes_ago=5, candidates=4, sent=2, emailed=1)
    _sends(rule, old, world.secretary, 9)
    _sends(rule, latest, world.secretary, 2, start=100)
    _sends(rule, latest, world.district_user, 1, start=200, status=SendStatus.FAILED)
    broken = _rule("介绍信7天内到期")
    _run(broken, status=RunStatus.FAILED, error="模板渲染失败：示例错误")
    client.force_login(world.district_user)
    response = client.get(LIST)
    row = _row(response, rule)
    assert row["run"].pk == latest.pk and row["rule"].sends_total == 12 and row["rule"].sends_sent == 11
    assert row["schedule"] == "参考日期前 7 天；每 4 天重复，最多 1 次" and row["recipients"] == ["支部书记"]
    html = response.content.decode()
    cells = _row_html(html, rule)
    assert "符合条件 4，新发送 2，邮件 1" in cells and 'data-sends="12"' in cells
    assert timezone.localtime(latest.started_at).strftime("%Y-%m-%d %H:%M") in cells
    assert "站内通知、电子邮件" in cells and "启用" in cells
    failed = _row_html(html, broken)
    assert "失败" in failed and "模板渲染失败：示例错误" in failed
    never = _row_html(html, _rule("诉求即将到期提醒"))
    assert "尚未运行" in never and 'data-sends="0"' in never


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_constant_as_rules_runs_and_sends_grow(client, world):
    client.force_login(world.district_user)
    recipient = UserFactory()
    _sends(_rule(), _run(_rule()), recipient, 1, start=1000)
    small = _count(client, LIST)
    for i, rule in enumerate(list(ReminderRule.objects.all())):
        for day in range(3):
            run = _run(rule, minutes_ago=day * 60, sent=i, status=RunStatus.FAILED if day == 0 and i % 2 else RunStatus.OK)
            _sends(rule, run, recipient, 3, start=day * 10)
    for i in range(5):
        reminder_rule_create(actor=world.district_user, data=_create_data(name=f"新规则{i}"))
    assert _count(client, LIST) == small


# ---------------------------------------------------------------- edit
def test_edit_page_shows_direction_keys_preview_and_send_log(client, world):
    rule = _rule()
    run = _run(rule)
    _sends(rule, run, world.secretary, 2)
    client.force_login(world.district_user)
    response = client.get(_edit_url(rule))
    assert response.status_code == 200
    html = response.content.decode()
    assert "提醒方向：参考日期之前" in html
    keys = [key for key, _help in response.context["keys"]]
    assert keys[:7] == ["org", "object", "date", "days", "repetition", "url", "rule"]
    assert {"details", "missing_count"} <= set(keys)
    assert "示例党支部：组织生活还差 1 项，2026年6月30日前完成" in html  # the saved rule rendered with sample data
    sends = html.split("data-sends", 1)[1]
    assert "对象0" in sends and "对象1" in sends and "2026-06-30" in sends and str(world.secretary) in sends


def test_edit_saves_and_records_updated_by(client, world):
    rule = _rule()
    client.force_login(world.district_user)
    response = client.post(_edit_url(rule), _post_data(
        rule, name="三会一课提醒（改）", offset=10, repeat_every_days=3, repeat_limit=2, recipients=["secretary", "instructor"],
        channels=["in_app"], subject_template="{{ org }} 请于 {{ date|date:'n月j日' }} 前完成", enabled=None,
    ))
    assert response.status_code == 302 and response["Location"] == _edit_url(rule)
    rule.refresh_from_db()
    assert rule.name == "三会一课提醒（改）" and rule.offset == 10 and (rule.repeat_every_days, rule.repeat_limit) == (3, 2)
    assert rule.recipients == ["secretary", "instructor"] and rule.channels == ["in_app"] and rule.enabled is False
    assert rule.updated_by == world.district_user and rule.direction == Direction.BEFORE
    page = client.get(_edit_url(rule)).content.decode()
    assert "已保存提醒规则" in page and "示例党支部 请于 6月30日 前完成" in page


def test_kind_cannot_be_changed_on_edit(client, world):
    rule = _rule()
    client.force_login(world.district_user)
    client.post(_edit_url(rule), _post_data(rule, kind=ReminderKind.TRANSFER_WAITING, offset=8))
    rule.refresh_from_db()
    assert rule.kind == ReminderKind.MEETING_DUE and rule.offset == 8  # the disabled field keeps the kind


@pytest.mark.parametrize(("field", "template"), [
    ("subject_template", "{{ org|date: }}"),
    ("body_template", "{% if %}已到期{% endif %}"),
    ("body_template", "{% for x in %}"),
    ("subject_template", "   "),
])
def test_broken_template_is_a_form_error_and_nothing_is_saved(client, world, field, template):
    rule = _rule()
    before = (rule.name, rule.subject_template, rule.body_template, rule.updated_at)
    client.force_login(world.district_user)
    response = client.post(_edit_url(rule), _post_data(rule, name="不该保存", **{field: template}))
    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert errors and all(any("\u4e00" <= ch <= "\u9fff" for ch in e) for e in errors), errors
    rule.refresh_from_db()
    assert (rule.name, rule.subject_template, rule.body_template, rule.updated_at) == before


def test_template_error_message_names_the_problem(client, world):
    rule = _rule()
    client.force_login(world.district_user)
    response = client.post(_edit_url(rule), _post_data(rule, body_template="{% if %}x{% endif %}"))
    html = response.content.decode()
    assert "模板有语法错误" in html and 'aria-invalid="true"' in html


def test_repeat_limit_without_interval_is_refused(client, world):
    rule = _rule("介绍信7天内到期")
    client.force_login(world.district_user)
    response = client.post(_edit_url(rule), _post_data(rule, repeat_every_days=0, repeat_limit=3))
    assert response.status_code == 400
    assert "重复间隔" in response.context["form"].errors["repeat_every_days"][0]
    rule.refresh_from_db()
    assert rule.repeat_limit == 0


@pytest.mark.parametrize("field", ["recipients", "channels"])
def test_at_least_one_recipient_and_channel(client, world, field):
    rule = _rule()
    client.force_login(world.district_user)
    data = _post_data(rule)
    data.pop(field)
    response = client.post(_edit_url(rule), data)
    assert response.status_code == 400 and "请至少选择一个" in response.context["form"].errors[field][0]


# ---------------------------------------------------------------- add
def test_add_starts_by_choosing_a_kind(client, world):
    client.force_login(world.district_user)
    response = client.get(ADD)
    assert response.status_code == 200 and "提醒类型" in response.content.decode()
    assert client.get(ADD, {"kind": "no_such_kind"}).status_code == 400
    form_page = client.get(ADD, {"kind": ReminderKind.TERM_ENDING})
    assert form_page.status_code == 200
    assert "elected_on" in [key for key, _help in form_page.context["keys"]]


def test_add_a_rule(client, world):
    client.force_login(world.district_user)
    response = client.post(f"{ADD}?kind={ReminderKind.TRANSFER_WAITING}", {
        "name": "转接超过60天督办", "offset": 60, "offset_unit": "day", "repeat_every_days": 14, "repeat_limit": 2,
        "recipients": ["district"], "channels": ["in_app", "email"], "enabled": "on",
        "subject_template": "{{ object }} 的转接已等待 {{ days }} 天", "body_template": "{{ from_org }} → {{ to_org }}：{{ status }}",
        "effective_from": "2026-12-01",
    })
    rule = ReminderRule.objects.get(name="转接超过60天督办")
    assert response.status_code == 302 and response["Location"] == _edit_url(rule)
    assert rule.kind == ReminderKind.TRANSFER_WAITING and rule.direction == Direction.AFTER
    assert rule.recipients == ["district"] and rule.channels == ["in_app", "email"] and rule.updated_by == world.district_user
    assert rule.effective_from == dt.date(2026, 12, 1)
    assert "转接超过60天督办" in client.get(LIST).content.decode()


def test_add_with_a_broken_template_saves_nothing(client, world):
    client.force_login(world.district_user)
    count = ReminderRule.objects.count()
    response = client.post(f"{ADD}?kind={ReminderKind.PROBATION_ENDING}", {
        "name": "坏模板", "offset": 10, "offset_unit": "day", "repeat_every_days": 0, "repeat_limit": 0,
        "recipients": ["secretary"], "channels": ["in_app"], "subject_template": "{{ org|date: }}",
        "body_template": "x", "effective_from": "2026-12-01",
    })
    assert response.status_code == 400 and response.context["form"].errors["subject_template"]
    assert ReminderRule.objects.count() == count


# ---------------------------------------------------------------- the actions themselves
def _create_data(**changes) -> dict:
    data = {"name": "新规则", "kind": ReminderKind.LETTER_LAPSING, "offset": 3, "offset_unit": "day", "repeat_every_days": 0,
            "repeat_limit": 0, "recipients": ["secretary"], "channels": ["in_app"], "subject_template": "{{ object }}",
            "body_template": "{{ letter_number }}", "enabled": True, "effective_from": dt.date(2026, 12, 1)}
    data.update(changes)
    return data


def test_actions_check_permission_and_rules(world):
    with pytest.raises(DomainError):
        reminder_rule_create(actor=world.secretary, data=_create_data())
    rule = _rule()
    with pytest.raises(DomainError):
        reminder_rule_update(actor=world.viewer, rule_id=rule.pk, data={"name": "x"})
    with pytest.raises(DomainError) as exc:
        reminder_rule_create(actor=world.district_user, data=_create_data(recipients=["nobody"]))
    assert exc.value.field == "recipients"
    with pytest.raises(DomainError) as exc:
        reminder_rule_update(actor=world.district_user, rule_id=rule.pk, data={"kind": ReminderKind.TERM_ENDING})
    assert exc.value.field == "kind"
    with pytest.raises(DomainError) as exc:
        reminder_rule_update(actor=world.district_user, rule_id=rule.pk, data={"body_template": "{% if %}"})
    assert exc.value.field == "body_template"
    created = reminder_rule_create(actor=world.district_user, data=_create_data())
    assert created.direction == Direction.BEFORE and created.updated_by == world.district_user



def test_edit_page_query_count_constant_as_sends_grow(client, world):
    rule = _rule()
    run = _run(rule)
    _sends(rule, run, world.secretary, 2)
    client.force_login(world.district_user)
    small = _count(client, _edit_url(rule))
    _sends(rule, run, world.district_user, 80, start=100)
    _sends(rule, _run(rule), UserFactory(), 10, start=500, status=SendStatus.FAILED)
    response = client.get(_edit_url(rule))
    assert len(response.context["sends"]) == 50
    assert _count(client, _edit_url(rule)) == small
