"""The enforced Content-Security-Policy in a real Chromium: the main pages render without a single violation
(Chromium reports each refused inline script/style on the console), and the styles moved out of the
templates still apply.

Skipped as a whole when no Chromium is found (CHROMIUM_PATH or /usr/bin/chromium).
"""

from __future__ import annotations

import pytest

from tests.browser import chromium_executable

if chromium_executable() is None:
    pytest.skip("the CSP check needs Chromium: none at $CHROMIUM_PATH or /usr/bin/chromium", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from django.urls import reverse  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

STAFF_PAGES = [
    "home", "orgs:tree", "coverage:workplace_list", "coverage:gaps", "members:member_list", "members:transfer_inbox",
    "members:roster_start", "activities:activity_list", "activities:activity_create", "activities:activity_calendar",
    "activities:compliance_board", "services:request_list", "services:point_list", "services:point_circle",
    "coverage:snapshot_list", "notifications:reminder_rule_list", "notifications:inbox", "orgs:security_event_list",
]
ANONYMOUS_PAGES = ["login", "services:public_intake", "services:public_track", "services:public_nearest_points"]


def _watch(page, violations):
    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)


def _visit(page, url):
    response = page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return response


def test_staff_pages_render_without_csp_violations(open_page, journey):
    page = open_page("desktop", user=journey.district_user)
    violations: list[str] = []
    _watch(page, violations)
    for name in STAFF_PAGES:
        response = _visit(page, reverse(name))
        assert response.status == 200, name
        assert "script-src 'self'" in response.headers["content-security-policy"], name

    # the overview's chart draws, and its tooltip (ECharts builds it from markup) shows without violations
    _visit(page, reverse("home"))
    chart = page.locator("#chart-children")
    assert chart.locator("canvas").count() == 1
    assert chart.bounding_box()["height"] == pytest.approx(280, abs=1)  # .chart-box, formerly style=""
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(400)

    # styles moved from <style> blocks into portal.css still apply
    _visit(page, reverse("activities:activity_create") + f"?org={journey.branch_a.pk}")
    assert page.locator(".kind-grid").first.evaluate("el => getComputedStyle(el).display") == "grid"
    assert violations == [], "\n".join(violations)


def test_anonymous_and_error_pages_render_without_csp_violations(open_page, journey):
    page = open_page("mobile")
    violations: list[str] = []
    _watch(page, violations)
    for name in ANONYMOUS_PAGES:
        response = _visit(page, reverse(name))
        assert response.status == 200, name
    assert page.locator("main.public-narrow").evaluate("el => getComputedStyle(el).maxWidth") == "640px"
    response = _visit(page, "/no-such-page/")
    assert response.status == 404
    assert violations == [], "\n".join(violations)
