"""Rendering reminder rules' subject and body templates.

Templates are Django template language, written by district staff on the rules page. They are rendered
with a separate Engine (no autoescape: the output is plain text, escaped where it is displayed; no
loaders) over a *plain* context of strings, numbers and dates built by notifications.actions.reminders for each
kind, never over model instances: a template can only show what the context offers (no personal data
beyond a member's name, never a phone or ID number).

The engine's only library is SAFE_LIBRARY (Django's builtins are replaced, not extended): the tags in
ALLOWED_TAGS and the filters in ALLOWED_FILTERS. Everything else ({% load %}, {% include %}, {% extends %},
{% debug %}, {% url %}, {% csrf_token %}, {% templatetag %}, {% lorem %}, {% widthratio %}, ljust/rjust/
center/stringformat/pprint...) does not exist for this engine, so a template that reached the database
some other way (admin, an old row) fails to compile at sweep time too, and fails only its rule.

Output is bounded while rendering, not only afterwards: every piece of output (text, variables, firstof,
now) is charged to a per-render character budget, every loop iteration to an iteration budget, and the
filters that can grow a value (add, join) or pad a number (floatformat) are capped. Then the rendered
subject (whitespace collapsed) and body (stripped) are checked against the rule rows
reminder_subject_max_chars and reminder_body_max_chars: longer is a template error.

Error messages are short and translated (which tag, filter or line); no traceback, exception text of a
failed filter, object repr or variable dump reaches the page, the run's error or the log.

Context keys (every kind): org (org name), object (what the reminder is about: member name, org name,
tracking code), date (the reference date, a date), days (whole days between today and the reference date,
>= 0), repetition (1 for the first send, 2 for the first repeat...), url (path of the page to act on),
rule (the rule's name). Kind-specific keys are listed in KIND_KEYS.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from decimal import Decimal

from django.template import Context, Engine, Library, Node, Template, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import Lexer, Parser, TextNode, VariableNode
from django.template.defaulttags import FirstOfNode, ForNode, NowNode
from django.utils.translation import gettext as _

#: Tags a rule template may use (with their intermediate and closing tags).
ALLOWED_TAGS = ("if", "for", "with", "firstof", "now", "comment")
STRUCTURE_TAGS = ("elif", "else", "endif", "empty", "endfor", "endwith", "endcomment")
#: Filters a rule template may use. add, join and floatformat are capped versions (see below).
ALLOWED_FILTERS = (
    "date", "time", "timesince", "timeuntil", "default", "default_if_none", "length", "pluralize", "yesno",
    "upper", "lower", "title", "capfirst", "cut", "truncatechars", "truncatewords", "wordcount", "first",
    "last", "join", "add", "floatformat",
)

#: Technical guards (not local practice): a value built by add/join, the iterations of all loops of one
#: render, the decimals floatformat may print, the length of a template's source.
MAX_VALUE_CHARS = 10_000
MAX_LOOP_ITERATIONS = 5_000
MAX_FLOAT_DECIMALS = 10
MAX_SOURCE_CHARS = 20_000

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


class ReminderTemplateError(ValueError):
    """A rule's template does not compile, fails to render or renders too long (the message is for district
    staff: short, translated, no internals)."""


class _TooLong(Exception):
    """Raised inside a render when the output exceeds its budget."""


class _TooManyLoops(Exception):
    """Raised inside a render when the loops of one render exceed MAX_LOOP_ITERATIONS iterations."""


class _Refused(Exception):
    """Raised inside a render by a capped filter (the message is already translated)."""


# ---------------------------------------------------------------- the restricted library
def _too_big(size: int) -> None:
    if size > MAX_VALUE_CHARS:
        raise _Refused(_("过滤器生成的内容过长（超过 %(n)d 字）") % {"n": MAX_VALUE_CHARS})


def _size(value) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


def safe_add(value, arg):
    """Django's add, refusing a string or list longer than MAX_VALUE_CHARS (repeated {% with %} could double
    a value until it fills the memory)."""
    if not isinstance(value, int | float | Decimal) or not isinstance(arg, int | float | Decimal):
        _too_big(_size(value) + _size(arg))
    result = defaultfilters.add(value, arg)
    _too_big(_size(result))
    return result


def safe_join(value, arg, autoescape=True):
    """Django's join, refusing a result longer than MAX_VALUE_CHARS (computed before joining)."""
    try:
        items = list(value)
    except TypeError:
        return value
    if len(items) > MAX_VALUE_CHARS:
        _too_big(len(items))
    _too_big(sum(len(str(item)) for item in items) + _size(arg) * max(len(items) - 1, 0))
    result = defaultfilters.join(items, arg, autoescape=autoescape)
    return value if result is items else result  # Django answers the value itself when arg is no string


def safe_floatformat(text, arg=-1):
    """Django's floatformat with at most MAX_FLOAT_DECIMALS decimals (floatformat:100000 prints 100000 digits)."""
    digits = str(arg).rstrip("gGuU") or "0"
    try:
        decimals = int(digits)
    except ValueError:
        decimals = 0
    if abs(decimals) > MAX_FLOAT_DECIMALS:
        raise _Refused(_("floatformat 最多保留 %(n)d 位小数") % {"n": MAX_FLOAT_DECIMALS})
    if isinstance(text, float) and not math.isfinite(text):
        return ""
    return defaultfilters.floatformat(text, arg)


def _build_library() -> Library:
    library = Library()
    for name in ALLOWED_TAGS:
        library.tags[name] = defaulttags.register.tags[name]
    capped = {"add": (safe_add, {"is_safe": False}), "join": (safe_join, {"is_safe": True, "needs_autoescape": True}),
              "floatformat": (safe_floatformat, {"is_safe": True})}
    for name in ALLOWED_FILTERS:
        if name in capped:
            func, flags = capped[name]
            library.filter(name, func, **flags)
        else:
            library.filters[name] = defaultfilters.register.filters[name]
    return library


SAFE_LIBRARY = _build_library()


# ---------------------------------------------------------------- budgets while rendering
@dataclass
class _Budget:
    chars: int
    loops: int = MAX_LOOP_ITERATIONS


def _budget(context) -> _Budget:
    budget = getattr(context, "reminder_budget", None)
    if budget is None:  # rendered without render(): still bounded
        budget = context.reminder_budget = _Budget(chars=MAX_VALUE_CHARS * 4)
    return budget


class _Charged(Node):
    """Wraps a node that emits output (text, a variable, firstof, now) and charges its length to the budget."""

    child_nodelists = ()

    def __init__(self, inner: Node):
        self.inner = inner

    def render(self, context):
        output = self.inner.render_annotated(context)
        budget = _budget(context)
        budget.chars -= len(output)
        if budget.chars < 0:
            raise _TooLong
        return output


class _LoopTick(Node):
    """First node of every loop body: one iteration less in the budget (empty nested loops cost CPU too)."""

    child_nodelists = ()

    def render(self, context):
        budget = _budget(context)
        budget.loops -= 1
        if budget.loops < 0:
            raise _TooManyLoops
        return ""


class _SafeParser(Parser):
    """Django's parser with translated errors for what the library does not offer, and budget nodes."""

    def find_filter(self, filter_name):
        if filter_name in self.filters:
            return self.filters[filter_name]
        raise TemplateSyntaxError(_("不允许使用过滤器 %(name)s") % {"name": filter_name})

    def invalid_block_tag(self, token, command, parse_until=None):
        if command in STRUCTURE_TAGS and parse_until:
            message = _("这里应是 %(expected)s，而不是 %(tag)s") % {"expected": " / ".join(parse_until), "tag": command}
        elif command in STRUCTURE_TAGS:
            message = _("%(tag)s 没有对应的开始标签") % {"tag": command}
        else:
            message = _("不允许使用标签 %(name)s") % {"name": command}
        raise self.error(token, TemplateSyntaxError(message))

    def unclosed_block_tag(self, parse_until):
        command, token = self.command_stack.pop()
        message = _("标签 %(tag)s 没有结束（缺少 %(expected)s）") % {"tag": command, "expected": " / ".join(parse_until)}
        raise self.error(token, TemplateSyntaxError(message))

    def extend_nodelist(self, nodelist, node, token):
        if isinstance(node, ForNode):
            tick = _LoopTick()
            tick.token, tick.origin = token, self.origin
            node.nodelist_loop.insert(0, tick)
        if isinstance(node, TextNode | VariableNode | FirstOfNode | NowNode):
            node.token, node.origin = token, self.origin
            node = _Charged(node)
        super().extend_nodelist(nodelist, node, token)


class _SafeTemplate(Template):
    def compile_nodelist(self):
        parser = _SafeParser(Lexer(self.source).tokenize(), self.engine.template_libraries,
                             self.engine.template_builtins, self.origin)
        nodelist = parser.parse()
        self.extra_data = parser.extra_data
        return nodelist


class _SafeEngine(Engine):
    """An Engine whose only library is SAFE_LIBRARY: Django's default builtins (defaulttags, defaultfilters,
    loader_tags) are replaced, and there are no loaders and no loadable libraries."""

    default_builtins: list[str] = []

    def __init__(self):
        super().__init__(autoescape=False, debug=False, loaders=[], libraries={}, builtins=[])
        self.template_builtins = [SAFE_LIBRARY]

    def from_string(self, template_code):
        return _SafeTemplate(template_code, engine=self)


ENGINE = _SafeEngine()


def _line(exc: BaseException) -> int | None:
    """The template line of the innermost node the exception went through (compile: its token)."""
    token = getattr(exc, "token", None)
    line = getattr(token, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        node = tb.tb_frame.f_locals.get("self")
        if isinstance(node, Node) and getattr(getattr(node, "token", None), "lineno", None):
            line = node.token.lineno
        tb = tb.tb_next
    return line


def _syntax_error(exc: BaseException) -> ReminderTemplateError:
    detail, line = str(exc)[:200], _line(exc)
    if line:
        return ReminderTemplateError(_("模板有语法错误（第 %(line)d 行）：%(error)s") % {"line": line, "error": detail})
    return ReminderTemplateError(_("模板有语法错误：%(error)s") % {"error": detail})


def _render_error(detail: str, exc: BaseException) -> ReminderTemplateError:
    line = _line(exc)
    if line:
        return ReminderTemplateError(_("模板渲染失败（第 %(line)d 行）：%(error)s") % {"line": line, "error": detail})
    return ReminderTemplateError(_("模板渲染失败：%(error)s") % {"error": detail})


@functools.lru_cache(maxsize=64)
def _compiled(source: str):
    """Compile once per template text: a sweep renders the same rule for thousands of objects."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ReminderTemplateError(_("模板过长（最多 %(n)d 字）") % {"n": MAX_SOURCE_CHARS})
    try:
        return ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None


# ---------------------------------------------------------------- contexts
PLAIN_TYPES = (str, int, float, Decimal, dt.date, dt.datetime, dt.time, bool, type(None))


def plain_context(context: dict) -> dict:
    """The context with every value a plain string, number or date (anything else becomes its text), so a
    template never reaches an object's methods or related managers (.delete, .member_set...)."""
    return {key: value if isinstance(value, PLAIN_TYPES) else str(value) for key, value in context.items()}


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


# ---------------------------------------------------------------- rendering
@dataclass(frozen=True)
class Limits:
    subject: int
    body: int


def message_limits() -> Limits:
    """The rule rows reminder_subject_max_chars and reminder_body_max_chars (one query)."""
    from core.rules import rule_values

    values = rule_values("reminder_subject_max_chars", "reminder_body_max_chars")
    return Limits(subject=int(values["reminder_subject_max_chars"]), body=int(values["reminder_body_max_chars"]))


def _render_one(source: str, context: dict, *, limit: int, label: str) -> str:
    template = _compiled(source)
    ctx = Context(context)
    # Leading/trailing whitespace and (in the subject) runs of spaces are dropped afterwards: allow slack.
    ctx.reminder_budget = _Budget(chars=limit * 4 + 1000)
    try:
        return template.render(ctx)
    except _TooLong:
        raise ReminderTemplateError(_("%(label)s渲染后超过 %(n)d 字") % {"label": label, "n": limit}) from None
    except _TooManyLoops as exc:
        raise _render_error(_("循环次数过多（最多 %(n)d 次）") % {"n": MAX_LOOP_ITERATIONS}, exc) from None
    except _Refused as exc:
        raise _render_error(str(exc), exc) from None
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except Exception as exc:  # a filter fed the wrong type, for instance: reported as the rule's error, without its text
        raise _render_error(_("请检查过滤器和变量的用法"), exc) from None


def render(subject_template: str, body_template: str, context: dict, *, limits: Limits | None = None) -> tuple[str, str]:
    """(subject, body) for one send. Raises ReminderTemplateError for a broken or over-long template.

    `limits` defaults to the rule rows (a sweep reads them once and passes them in)."""
    limits = limits or message_limits()
    context = plain_context(context)
    subject = " ".join(_render_one(subject_template, context, limit=limits.subject, label=_("标题")).split())
    if not subject:
        raise ReminderTemplateError(_("标题模板渲染后为空"))
    if len(subject) > limits.subject:
        raise ReminderTemplateError(_("%(label)s渲染后超过 %(n)d 字") % {"label": _("标题"), "n": limits.subject})
    body = _render_one(body_template, context, limit=limits.body, label=_("正文")).strip()
    if len(body) > limits.body:
        raise ReminderTemplateError(_("%(label)s渲染后超过 %(n)d 字") % {"label": _("正文"), "n": limits.body})
    return subject, body


def validate(subject_template: str, body_template: str, kind: str) -> None:
    """Compile and render both templates with the kind's sample context (the rules form calls this)."""
    render(subject_template, body_template, sample_context(kind))
