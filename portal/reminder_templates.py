"""Rendering reminder rules' subject and body templates.

Templates are Django template language, written by district staff on the rules page. They are rendered
with a separate Engine (no autoescape: the output is plain text, escaped where it is displayed; no
loaders, no custom tags) over a *plain* context of strings, numbers and dates built by
portal.actions.reminders for each kind, never over model instances: a template can only show what the
context offers (no personal data beyond a member's name, never a phone or ID number).

Context keys (every kind): org (org name), object (what the reminder is about: member name, org name,
tracking code), date (the reference date, a date), days (whole days between today and the reference date,
>= 0), repetition (1 for the first send, 2 for the first repeat...), url (path of the page to act on),
rule (the rule's name). Kind-specific keys are listed in KIND_KEYS.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.template import Context, Engine, TemplateSyntaxError
from django.utils.translation import gettext as _

ENGINE = Engine(autoescape=False, debug=False, libraries={}, builtins=["django.template.defaultfilters", "django.template.defaulttags"])

COMMON_KEYS = ("org", "object", "date", "days", "repetition", "url", "rule")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "meeting_due": ("details", "missing_count"),
    "transfer_waiting": ("from_org", "to_org", "status"),
    "letter_lapsing": ("from_org", "to_org", "letter_number"),
    "probation_ending": (),
    "activist_review_due": ("activist_on",),
    "term_ending": ("elected_on",),
    "request_due_soon": ("category", "due_at", "status"),
    "request_overdue": ("category", "due_at", "status"),
    "mobile_card_expiring": (),
}


@functools.lru_cache(maxsize=64)
def _compiled(source: str):
    """Compile once per template text: a sweep renders the same rule for thousands of objects."""
    return ENGINE.from_string(source)


def sample_context(kind: str) -> dict:
    """A context with every key of `kind` filled with sample values (for validating and previewing a rule)."""
    today = dt.date(2026, 6, 30)
    context = {"org": "示例党支部", "object": "张三", "date": today, "days": 7, "repetition": 1, "url": "/", "rule": "示例规则"}
    extra = {
        "details": "支委会 2026年6月 已开 0 次，应开 1 次", "missing_count": 1, "from_org": "甲党支部", "to_org": "乙党支部",
        "status": "待审批", "letter_number": "2026-001", "activist_on": dt.date(2025, 12, 30), "elected_on": dt.date(2023, 6, 30),
        "category": "欠薪维权", "due_at": "2026-06-30 18:00",
    }
    context.update({key: extra[key] for key in KIND_KEYS.get(kind, ())})
    return context


class ReminderTemplateError(ValueError):
    """A rule's template does not compile or fails to render (the message is for district staff)."""


def render(subject_template: str, body_template: str, context: dict) -> tuple[str, str]:
    """(subject, body) for one send. Raises ReminderTemplateError for a broken template."""
    try:
        subject = _compiled(subject_template).render(Context(context))
        body = _compiled(body_template).render(Context(context))
    except TemplateSyntaxError as exc:
        raise ReminderTemplateError(_("模板有语法错误：%(error)s") % {"error": exc}) from exc
    except Exception as exc:  # a filter fed the wrong type, for instance: reported as the rule's error
        raise ReminderTemplateError(_("模板渲染失败：%(error)s") % {"error": exc}) from exc
    subject = " ".join(subject.split())[:200]
    if not subject:
        raise ReminderTemplateError(_("标题模板渲染后为空"))
    return subject, body.strip()


def validate(subject_template: str, body_template: str, kind: str) -> None:
    """Compile and render both templates with the kind's sample context (the rules form calls this)."""
    render(subject_template, body_template, sample_context(kind))
