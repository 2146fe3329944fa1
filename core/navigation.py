"""The navigation's context, declared once: each app registers what its menu entries need.

The foundation cannot know the apps above it, so they register a provider (a function of the request
returning template variables) when they load (`<app>/navigation.py`, imported by the app's `ready()`).
The context processor `core.navigation.navigation` merges them for logged-in users. Providers must not
query per row: grants are cached on the user, counts are lazy callables.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

Provider = Callable[[HttpRequest], dict]
_providers: list[Provider] = []


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
    context: dict = {}
    for provider in _providers:
        context.update(provider(request))
    return context
