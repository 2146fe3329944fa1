"""Reminder templates that cannot be abused (portal/reminder_templates.py): only the allow-listed tags and
filters exist for the engine (refused by name at validation, and a stored template using others fails only
its rule at sweep time), output is bounded (length rule rows, loop and value caps), the preview shows short
translated messages and never server internals, and the context holds plain values only."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from django.urls import reverse

from core.exceptions import DomainError
from members.models import Member, RelationKind
from notifications.actions.reminder_rules import reminder_rule_update
from notifications.actions.reminders import reminders_sweep
from notifications.models import Notification, ReminderRule, ReminderRun, ReminderSend, RunStatus
from notifications.reminder_templates import (
    ALLOWED_FILTERS,
    ALLOWED_TAGS,
    MAX_LOOP_ITERATIONS,
    ReminderTemplateError,
    render,
    sample_context,
    validate,
)
from tests.factories import MemberFactory, set_rule
from tests.portal.test_reminder_kinds import make_rule

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 1)

FORBIDDEN_TAGS = [
    ("{% debug %}", "debug"), ("{% load i18n %}", "load"), ("{% include 'base.html' %}", "include"),
    ("{% extends 'base.html' %}", "extends"), ("{% ssi '/etc/passwd' %}", "ssi"), ("{% url 'notifications:reminder_rule_list' %}", "url"),
    ("{% csrf_token %}", "csrf_token"), ("{% templatetag openblock %}", "templatetag"), ("{% lorem 100000 w %}", "lorem"),
    ("{% widthratio 1 1 100000000 %}", "widthratio"), ("{% cycle 'a' 'b' %}", "cycle"),
    ("{% filter upper %}x{% endfilter %}", "filter"), ("{% block a %}x{% endblock %}", "block"),
    ("{% spaceless %}x{% endspaceless %}", "spaceless"), ("{% verbatim %}x{% endverbatim %}", "verbatim"),
    ("{% autoescape on %}x{% endautoescape %}", "autoescape"), ("{% regroup x by y as z %}", "regroup"),
    ("{% if days %}{% debug %}{% endif %}", "debug"), ("{% for c in org %}{% load static %}{% endfor %}", "load"),
]
FORBIDDEN_FILTERS = [
    "ljust:100000", "rjust:100000", "center:100000", "stringformat:'0100000d'", "pprint", "safe", "escape",
    "linebreaksbr", "urlize", "wordwrap:1", "make_list", "random", "dictsort:'x'", "json_script:'x'", "filesizeformat",
    "slugify", "get_digit:1", "phone2numeric", "unordered_list", "iriencode",
]


@pytest.fixture
def world_rules(world):
    """Seeded rules out of the way; the district staff user can edit rules."""
    ReminderRule.objects.update(enabled=False)
    return world


# ================================================================ the allow-list at validation
@pytest.mark.parametrize(("template", "tag"), FORBIDDEN_TAGS)
def test_each_forbidden_tag_is_refused_by_name(world, template, tag):
    with pytest.raises(ReminderTemplateError) as exc:
        validate("{{ object }}", template, "probation_ending")
    assert f"不允许使用标签 {tag}" in str(exc.value)


@pytest.mark.parametrize("expression", FORBIDDEN_FILTERS)
def test_each_forbidden_filter_is_refused_by_name(world, expression):
    name = expression.split(":")[0]
    with pytest.raises(ReminderTemplateError) as exc:
        validate("{{ object }}", "{{ org|" + expression + " }}", "probation_ending")
    assert f"不允许使用过滤器 {name}" in str(exc.value)
    # inside a tag's expression too
    with pytest.raises(ReminderTemplateError, match=f"不允许使用过滤器 {name}"):
        validate("{{ object }}", "{% with a=org|" + expression + " %}{{ a }}{% endwith %}", "probation_ending")


def test_a_forbidden_tag_in_the_form_is_a_field_error_and_nothing_is_saved(client, world):
    rule = ReminderRule.objects.get(name="预备期满前30天提醒")
    before = (rule.subject_template, rule.body_template, rule.updated_at)
    client.force_login(world.district_user)
    response = client.post(reverse("notifications:reminder_rule_edit", args=[rule.pk]), {
        "name": rule.name, "offset": rule.offset, "offset_unit": rule.offset_unit, "repeat_every_days": 0,
        "repeat_limit": 0, "recipients": list(rule.recipients), "channels": list(rule.channels),
        "subject_template": rule.subject_template, "body_template": "{{ org }}{% debug %}",
        "effective_from": rule.effective_from.isoformat(), "enabled": "on",
    })
    assert response.status_code == 400
    assert "不允许使用标签 debug" in response.context["form"].errors["body_template"][0]
    rule.refresh_from_db()
    assert (rule.subject_template, rule.body_template, rule.updated_at) == before


def test_the_action_refuses_a_forbidden_filter_for_every_caller(world):
    rule = ReminderRule.objects.get(name="预备期满前30天提醒")
    with pytest.raises(DomainError) as exc:
        reminder_rule_update(actor=world.district_user, rule_id=rule.pk, data={"subject_template": "{{ org|ljust:999999 }}"})
    assert exc.value.field == "subject_template" and "不允许使用过滤器 ljust" in str(exc.value)
    rule.refresh_from_db()
    assert "ljust" not in rule.subject_template


def test_floatformat_precision_is_capped(world):
    assert render("{{ days|floatformat:2 }}", "x", sample_context("probation_ending"))[0] == "7.00"
    with pytest.raises(ReminderTemplateError, match="floatformat 最多保留 10 位小数"):
        validate("{{ object }}", "{{ days|floatformat:100000 }}", "probation_ending")


def test_every_allowed_tag_and_filter_works(world):
    body = (
        "{% comment %}注释{% endcomment %}{% now 'Y' as year %}{% with name=object|upper %}{{ name|lower|title|capfirst }}{% endwith %}"
        "{% if days > 3 %}多{% elif days %}少{% else %}无{% endif %}"
        "{% for ch in org %}{{ ch }}{% empty %}空{% endfor %}{% firstof missing org %}"
        "{{ date|date:'Y-m-d' }}{{ date|time:'H' }}{{ date|timeuntil }}{{ date|timesince }}{{ missing|default:'-' }}"
        "{{ missing|default_if_none:'-' }}{{ org|length }}{{ days|pluralize }}{{ days|yesno:'是,否' }}{{ org|cut:'党' }}"
        "{{ org|truncatechars:3 }}{{ org|truncatewords:1 }}{{ org|wordcount }}{{ org|first }}{{ org|last }}"
        "{{ org|join:'-' }}{{ days|add:1 }}{{ org|add:'!' }}{{ days|floatformat:1 }}"
    )
    used_tags = {"if", "for", "with", "firstof", "now", "comment"}
    assert used_tags == set(ALLOWED_TAGS)
    assert all(f"|{name}" in body for name in ALLOWED_FILTERS)
    subject, rendered = render("{{ object }}", body, sample_context("probation_ending"))
    assert subject == "张三" and rendered.startswith("张三多示例党支部示例党支部2026-06-30")


# ================================================================ output is bounded
def test_an_over_long_subject_or_body_is_refused_at_validation(world):
    with pytest.raises(ReminderTemplateError, match="标题渲染后超过 200 字"):
        validate("{% for c in details %}{{ details }}{% endfor %}", "x", "meeting_due")
    with pytest.raises(ReminderTemplateError, match="正文渲染后超过 4000 字"):
        validate("x", "{% for c in details %}{% for d in details %}{{ details }}{% endfor %}{% endfor %}", "meeting_due")
    set_rule("reminder_body_max_chars", 10)
    with pytest.raises(ReminderTemplateError, match="正文渲染后超过 10 字"):
        validate("x", "{{ details }}", "meeting_due")


@pytest.mark.parametrize("body", [
    # doubling a value with nested {% with %} and add / join
    "{% with a=details|add:details %}" + "".join(f"{{% with {n}={p}|add:{p} %}}" for p, n in zip("abcdefghijklmnopqrstuvwxy", "bcdefghijklmnopqrstuvwxyz", strict=True))
    + "{{ z }}" + "{% endwith %}" * 26,
    "{% with a=details|join:details %}{% with b=a|join:a %}{% with c=b|join:b %}{{ c }}{% endwith %}{% endwith %}{% endwith %}",
    # loops multiplying output or CPU
    "{% for a in details %}{% for b in details %}{% for c in details %}{% for d in details %}{{ details }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
    "{% for a in details %}{% for b in details %}{% for c in details %}{% for d in details %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
    "{{ date|date:'" + "r" * 15000 + "' }}",
])
def test_output_bombs_are_refused_quickly(world, body):
    started = time.monotonic()
    with pytest.raises(ReminderTemplateError) as exc:
        validate("x", body, "meeting_due")
    assert time.monotonic() - started < 2
    assert any(text in str(exc.value) for text in ("过长", "超过", f"最多 {MAX_LOOP_ITERATIONS} 次")), exc.value


# ================================================================ at sweep time
def _mobile_member(world):
    return MemberFactory(org=world.jb, relation_kind=RelationKind.MOBILE, mobile_card_valid_until=dt.date(2026, 12, 20))


@pytest.mark.parametrize(("subject", "body", "error"), [
    ("{{ object }}", "{% debug %}", "不允许使用标签 debug"),
    ("{{ object|ljust:99999 }}", "x", "不允许使用过滤器 ljust"),
    ("{% include 'base.html' %}", "x", "不允许使用标签 include"),
])
def test_a_stored_forbidden_template_fails_only_its_rule(world_rules, caplog, subject, body, error):
    good = make_rule("mobile_card_expiring", name="正常规则")
    broken = make_rule("mobile_card_expiring", name="坏规则")
    ReminderRule.objects.filter(pk=broken.pk).update(subject_template=subject, body_template=body)  # e.g. through admin
    member = _mobile_member(world_rules)
    with caplog.at_level(logging.ERROR, logger="notifications.actions.reminders"):
        runs = {run.rule_id: run for run in reminders_sweep(today=TODAY)}
    failed = ReminderRun.objects.get(pk=runs[broken.pk].pk)
    assert failed.status == RunStatus.FAILED and error in failed.error
    assert not ReminderSend.objects.filter(rule=broken).exists()
    assert runs[good.pk].status == RunStatus.OK
    assert ReminderSend.objects.filter(rule=good).count() == 1
    assert Notification.objects.filter(user=world_rules.secretary).count() == 1
    assert f"reminder rule {broken.pk} (mobile_card_expiring) failed" in caplog.text
    assert member.name not in caplog.text


def test_an_over_long_message_fails_its_rule_at_sweep_and_sends_nothing(world_rules):
    rule = make_rule("mobile_card_expiring", body_template="{{ org }}：{{ object }} 的活动证将于 {{ date|date:'Y年n月j日' }} 到期")
    _mobile_member(world_rules)
    set_rule("reminder_body_max_chars", 5)
    [run] = reminders_sweep(today=TODAY)
    run.refresh_from_db()
    assert run.rule_id == rule.pk and run.status == RunStatus.FAILED
    assert "正文渲染后超过 5 字" in run.error
    assert not ReminderSend.objects.filter(rule=rule).exists()
    assert not Notification.objects.exists()


# ================================================================ the preview shows no internals
INTERNALS = ("Traceback", 'File "', "SECRET_KEY", "DATABASES", "INSTALLED_APPS", "site-packages", "/work/", "object at 0x",
             "TypeError", "not subscriptable", "django.template")


@pytest.mark.parametrize("body", [
    "{% debug %}", "{{ days|first }}", "{{ org|date: }}", "{% if %}", "{{ date.today.year|floatformat:999 }}",
    "{% for a in org %}{% for b in org %}{% for c in org %}{% for d in org %}{% for e in org %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
    "{{ settings.SECRET_KEY }}{{ request }}{{ user.password }}{{ object.__class__ }}",
])
def test_the_preview_of_a_broken_template_shows_a_short_message_and_no_internals(client, world, body):
    rule = ReminderRule.objects.get(name="预备期满前30天提醒")
    ReminderRule.objects.filter(pk=rule.pk).update(body_template=body)
    client.force_login(world.district_user)
    response = client.get(reverse("notifications:reminder_rule_edit", args=[rule.pk]))
    assert response.status_code == 200
    preview = response.context["preview"]
    html = response.content.decode()
    text = preview.get("error") or preview["body"]
    assert len(text) < 300
    for word in INTERNALS:
        assert word not in text, word
        if word not in body:  # the template's own text is in the form's textarea
            assert word not in html, word


def test_the_rules_page_lists_the_allowed_tags_and_filters(client, world):
    rule = ReminderRule.objects.get(name="预备期满前30天提醒")
    client.force_login(world.district_user)
    html = client.get(reverse("notifications:reminder_rule_edit", args=[rule.pk])).content.decode()
    assert "truncatechars" in html and "firstof" in html and "ljust" not in html


# ================================================================ plain contexts only
def test_sample_contexts_hold_plain_values_only():
    plain = (str, int, dt.date)
    for kind in ReminderRule._meta.get_field("kind").choices:
        context = sample_context(kind[0])
        assert all(type(value) in plain for value in context.values()), kind


def test_a_model_instance_in_a_context_is_only_its_text(world):
    member = MemberFactory(org=world.jb)
    subject, body = render("{{ object }}", "{{ object.delete }}{{ object.org.name }}{{ object.pk }}", {"object": member})
    assert subject == str(member) and body == ""
    assert Member.objects.filter(pk=member.pk).exists()


# ================================================================ seeded templates
def test_every_seeded_template_still_validates_and_renders(world):
    rules = list(ReminderRule.objects.all())
    assert len(rules) >= 10
    for rule in rules:
        validate(rule.subject_template, rule.body_template, rule.kind)
        subject, body = render(rule.subject_template, rule.body_template, sample_context(rule.kind))
        assert subject and body and "{{" not in subject + body, rule.name
