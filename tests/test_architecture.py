"""Architecture rules from STYLE.md, enforced so that they stay true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROOT = Path(__file__).resolve().parent.parent
APPS = ["portal", "orgs", "members", "activities", "services"]
THIN_MODULES = ("*views.py", "views/*.py", "*forms.py", "*tasks.py", "admin.py", "filtersets.py", "api/views.py", "api/serializers.py")


def _app_files(name: str) -> list[Path]:
    found = {p for app in APPS for p in (ROOT / app).glob(f"**/{name}") if "migrations" not in p.parts}
    return sorted(found)


def test_no_module_is_named_services_py():
    offenders = [p for p in ROOT.rglob("services.py") if ".venv" not in p.parts and "node_modules" not in p.parts]
    assert offenders == []


@pytest.mark.parametrize("path", [p for name in THIN_MODULES for p in _app_files(name)], ids=str)
def test_thin_layers_do_not_write_models(path):
    """Views, forms, tasks, admin and filtersets call actions; they never save domain models themselves."""
    tree = ast.parse(path.read_text())
    writes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"save", "delete", "bulk_create", "bulk_update", "update_or_create", "get_or_create"}:
                writes.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
            if node.func.attr in {"create", "update"} and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "objects":
                writes.append(f"{path.name}:{node.lineno} objects.{node.func.attr}()")
    assert writes == []


@pytest.mark.parametrize("path", _app_files("*views.py") + _app_files("views/*.py"), ids=str)
def test_views_reach_models_only_through_the_scoping_choke_point(path):
    """In a view, `Model.objects` appears only inside restrict()/get_scoped_or_404(); reads go through selectors."""
    offenders = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.search(r"\b[A-Z]\w*\.objects\b", line) and "get_scoped_or_404(" not in line and ".restrict(" not in line:
            offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def _all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _all_patterns(entry, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + entry.name, entry


PUBLIC = {"login", "logout", "healthz", "set_language"}
#: Pages for gig workers without an account (services/public_urls.py): the only other pages open to anonymous users.
PUBLIC_NAMESPACE = "public:"


@pytest.mark.django_db
def test_every_portal_page_requires_login(client):
    checked = 0
    for name, pattern in _all_patterns():
        if name.startswith("admin:") or name in PUBLIC or name.startswith(PUBLIC_NAMESPACE):
            continue
        kwargs = {key: ("json" if key == "format" else "1") for key in pattern.pattern.regex.groupindex}
        url = reverse(name, kwargs=kwargs)
        response = client.get(url)
        if name.startswith("api-"):
            assert response.status_code in (401, 403), f"{name} {url} -> {response.status_code}"
        else:
            assert response.status_code == 302 and "/login/" in response["Location"], f"{name} {url} -> {response.status_code}"
        checked += 1
    assert checked >= 10


@pytest.mark.django_db
def test_anonymous_pages_are_only_the_public_service_pages(client):
    """Every page an anonymous visitor can open is a public service page (no login redirect, no error)."""
    opened = []
    for name, pattern in _all_patterns():
        if name.startswith("admin:") or name in PUBLIC:
            continue
        if pattern.pattern.regex.groupindex:
            continue  # pages that need a code or an id are covered by the public page tests
        response = client.get(reverse(name))
        if response.status_code == 200:
            opened.append(name)
    assert opened and all(name.startswith(PUBLIC_NAMESPACE) for name in opened), opened
