"""Template tags every app's pages share: `{% status_badge obj "status" %}`, `{% masked value %}`,
`{% cell row column %}` (the generic table's cells).

Badge tones: the apps register which values of which field are good/bad news (`register_tones`, in their
navigation module), so a status looks the same on every page; unknown values get the neutral tone.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

TONES = {"success": "text-bg-success", "warning": "text-bg-warning", "danger": "text-bg-danger",
         "info": "text-bg-info", "secondary": "text-bg-secondary", "neutral": "text-bg-light border"}
_tones: dict[tuple[str, str], dict[str, str]] = {}


def register_tones(model_label: str, field: str, tones: dict[str, str]) -> None:
    """`register_tones("services.servicerequest", "status", {"overdue": "danger", "closed": "success"})`."""
    unknown = set(tones.values()) - set(TONES)
    if unknown:
        raise ValueError(f"unknown tones {unknown}; use {sorted(TONES)}")
    _tones.setdefault((model_label.lower(), field), {}).update(tones)


def tone_of(obj, field: str) -> str:
    value = getattr(obj, field, "")
    return _tones.get((obj._meta.label_lower, field), {}).get(str(value), "neutral")


@register.simple_tag
def status_badge(obj, field: str = "status"):
    """A badge with the display label of `obj.<field>`, toned by its registered tone, and data-status."""
    if obj is None:
        return ""
    display = getattr(obj, f"get_{field}_display", None)
    label = display() if callable(display) else getattr(obj, field, "")
    return format_html('<span class="badge {}" data-{}="{}">{}</span>', TONES[tone_of(obj, field)],
                       field.replace("_", "-"), getattr(obj, field, ""), label)


@register.simple_tag
def masked(value, kind: str = ""):
    """A masked personal value (already masked by the selector) marked as such for screen readers and tests;
    an empty value is a dash."""
    if not value:
        return "—"
    return format_html('<span class="font-monospace" data-masked="{}" title="{}">{}</span>', kind, _("已脱敏"), value)


@register.simple_tag
def cell(obj, column):
    """A generic table cell: `column` is an attribute path ("org.name", "get_kind_display") or a callable."""
    from core.views.generic import _cell

    value = _cell(obj, column)
    return "—" if value in ("", None) else value
