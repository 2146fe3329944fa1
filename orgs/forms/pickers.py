"""Org pickers that search instead of listing every org (core.forms.SearchSelect + orgs:org_pick)."""

from __future__ import annotations

from django.urls import reverse_lazy

from core.forms import SearchSelect


def org_picker(perm: str, *, limit: int = 20) -> SearchSelect:
    """A widget for an org field whose queryset is `orgs_where(user, perm)` (or a part of it): the search
    lists matches among the orgs where the user may do `perm`."""
    return SearchSelect(search_url=reverse_lazy("orgs:org_pick"), search_params={"perm": perm}, limit=limit)


def use_org_picker(field, perm: str, *, limit: int = 20) -> None:
    """Give a bound form's or filter's model choice field the searching widget (keeps its attrs)."""
    widget = org_picker(perm, limit=limit)
    widget.attrs.update(getattr(field.widget, "attrs", {}))
    widget.choices = getattr(field, "choices", ())
    field.widget = widget


def workplace_picker(*, limit: int = 20) -> SearchSelect:
    """A widget for a workplace field over the user's visible workplaces (search: orgs:workplace_pick)."""
    return SearchSelect(search_url=reverse_lazy("orgs:workplace_pick"), limit=limit)
