"""Content-Security-Policy: enforced on every HTML page, and templates that keep to it (no inline script,
style or event handlers). The real-browser check is tests/browser/test_csp.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

# Not pages: POST-only actions, downloads and JSON.
NOT_PAGES = re.compile(r"(^logout$|^healthz$|^set_language$|export|download|template|mark_all_read|read-all|^api-)")


def _pages(resolver=None, prefix=""):
    """(name, url) of every named page that needs no arguments."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _pages(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.regex.groupindex:
            name = prefix + entry.name
            if not name.startswith("admin:") and not NOT_PAGES.search(name):
                yield name, reverse(name)


def assert_enforced_policy(response, where):
    policy = response.headers.get("Content-Security-Policy")
    assert policy, f"{where}: no Content-Security-Policy header"
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'", where
    assert directives["style-src"] == "'self'", where
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'", where
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, where


def test_every_page_carries_the_enforced_policy(client, world):
    client.force_login(world.district_user)
    checked = []
    for name, url in _pages():
        response = client.get(url)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        assert_enforced_policy(response, f"{name} {url}")
        checked.append(name)
    for expected in ("home", "orgs:tree", "coverage:workplace_list", "members:member_list", "activities:activity_list",
                     "activities:compliance_board", "services:request_list", "notifications:inbox", "services:public_intake"):
        assert expected in checked, checked
    assert len(checked) >= 15, checked


def test_login_404_public_and_admin_pages_carry_it_too(client, world):
    for url in (reverse("login"), "/no-such-page/", reverse("services:public_intake"), reverse("services:public_track"), reverse("admin:login")):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_enforced_policy(response, url)
    client.force_login(world.superuser)
    assert_enforced_policy(client.get(reverse("admin:index")), "admin:index")


# ---------------------------------------------------------------- templates keep to the policy
def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def _without_comments(text: str) -> str:
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    text = re.sub(r"\{% comment %\}.*?\{% endcomment %\}", "", text, flags=re.S)
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)


def test_templates_have_no_inline_script_style_or_event_handlers():
    offenders = []
    for path in _templates():
        text = _without_comments(path.read_text())
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}"
            for tag in re.findall(r"<script\b[^>]*>", line, flags=re.I):
                if not re.search(r"\bsrc\s*=", tag):
                    offenders.append(f"{where}: inline <script>: {line.strip()}")
            if re.search(r"<style\b", line, flags=re.I):
                offenders.append(f"{where}: <style> element: {line.strip()}")
            if re.search(r"<[^>]*\sstyle\s*=", line, flags=re.I):
                offenders.append(f"{where}: style= attribute: {line.strip()}")
            if re.search(r"<[^>]*\son[a-z]+\s*=", line, flags=re.I):
                offenders.append(f"{where}: on*= event handler: {line.strip()}")
            if re.search(r"\bhx-on\b|\bhx-on:", line):
                offenders.append(f"{where}: hx-on (needs eval): {line.strip()}")
            if re.search(r"href\s*=\s*[\"']javascript:", line, flags=re.I):
                offenders.append(f"{where}: javascript: URL: {line.strip()}")
    assert offenders == [], "\n".join(offenders)


def test_the_scan_sees_what_it_must_refuse(tmp_path):
    """The patterns above catch each kind (a scan that sees nothing would pass for nothing)."""
    samples = ['<div style="width: 5%">', '<script>alert(1)</script>', '<a onclick="x()">', "<style>.a{}</style>"]
    for sample in samples:
        line = _without_comments(sample)
        assert (re.search(r"<[^>]*\sstyle\s*=", line) or re.search(r"<[^>]*\son[a-z]+\s*=", line)
                or re.search(r"<style\b", line) or any(not re.search(r"\bsrc\s*=", t) for t in re.findall(r"<script\b[^>]*>", line)))
    assert not re.search(r"<[^>]*\sstyle\s*=", '<div data-style="x" class="a">')


def test_htmx_does_not_inject_its_indicator_style_and_ours_is_in_the_stylesheet():
    base = (TEMPLATES / "base.html").read_text()
    assert re.search(r"<meta name=\"htmx-config\" content='\{[^']*\"includeIndicatorStyles\":false", base)
    css = (ROOT / "static" / "css" / "portal.css").read_text()
    assert ".htmx-indicator" in css and ".htmx-request .htmx-indicator" in css


def test_progress_bar_width_is_set_by_our_script_not_an_attribute(client, world):
    partial = (TEMPLATES / "members" / "imports" / "_roster_progress.html").read_text()
    assert 'data-width-pct="{{ item.progress }}"' in partial
    assert "data-width-pct" in (ROOT / "static" / "js" / "portal.js").read_text()
    client.force_login(world.district_user)
    page = client.get(reverse("home")).content.decode()
    assert "js/portal.js" in page
