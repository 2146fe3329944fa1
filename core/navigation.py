"""The navigation, declared once: each app registers its menu entries (and any extra context they need).

The foundation cannot know the apps above it, so each app registers, when it loads (`<app>/navigation.py`,
imported by the app's `ready()`):
- menu entries: `register_menu(MenuItem(key, label, url_name, perm, order))`; the menu shows an entry when the
  user may do `perm` somewhere (core.access.has_perm), in `order`, highlighted when the page's
  `nav_section` equals its key;
- context providers (a function of the request returning template variables), e.g. the unread badge.
The context processor `core.navigation.navigation` builds `nav_menu` and merges the providers for logged-in
users. Nothing here queries per entry: grants are cached on the user, counts are lazy callables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from core import access

Provider = Callable[[HttpRequest], dict]
_providers: list[Provider] = []


@dataclass(frozen=True)
class MenuItem:
    key: str  # the pages' nav_section
    label: str  # a lazy translation
    url_name: str
    perm: str | None = None  # None: every logged-in user
    order: int = 100
    #: "manage": listed under the "管理" dropdown (settings-like pages), so the bar fits one row at 1280 px
    group: str = ""


_menu: dict[str, MenuItem] = {}


def register_menu(*items: MenuItem) -> None:
    """Add menu entries (a key registered again replaces the entry, so a reload does not double it)."""
    for item in items:
        _menu[item.key] = item


def menu_items() -> list[MenuItem]:
    return sorted(_menu.values(), key=lambda item: (item.order, item.key))


def register_context(provider: Provider) -> Provider:
    """Decorator: add `provider` to the navigation context (idempotent, so a reload does not double it)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def optional_url(name: str) -> str | None:
    """The URL of a page that may not be wired yet (the menu leaves it out instead of failing)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    entries = [
        {"key": item.key, "label": item.label, "url": url, "group": item.group}
        for item in menu_items()
        if (item.perm is None or access.has_perm(user, item.perm)) and (url := optional_url(item.url_name))
    ]
    context: dict = {
        "nav_menu": [e for e in entries if not e["group"]],
        "nav_manage": [e for e in entries if e["group"] == "manage"],
    }
    for provider in _providers:
        context.update(provider(request))
    return context
