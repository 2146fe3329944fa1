"""The navigation bar in a real Chromium: one row at 1280 px for the role with the most entries, the
"管理" dropdown opens and holds the settings-like pages, and the phone layout collapses it."""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium_executable

if chromium_executable() is None:
    pytest.skip("browser tests need Chromium (CHROMIUM_PATH or /usr/bin/chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_district_staff_menu_fits_one_row_at_1280_and_manage_opens(open_page, journey):
    page = open_page("desktop", user=journey.district_user)
    page.goto("/")
    nav = page.locator("#mainnav")
    items = nav.locator("ul.navbar-nav > li.nav-item")
    count = items.count()
    assert count >= 10, count
    tops = {round(items.nth(i).bounding_box()["y"]) for i in range(count)}
    assert len(tops) == 1, f"the menu wraps at 1280 px: rows at {sorted(tops)}"
    brand = page.locator(".navbar").bounding_box()
    assert brand["height"] < 80, brand  # one bar, not two rows
    manage = nav.get_by_role("button", name="管理", exact=True)
    manage.click()
    for label in ("规则参数", "操作日志", "用户与角色", "提醒规则"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    nav.get_by_role("link", name="操作日志", exact=True).click()
    expect(page.locator("[data-nav-group=manage]")).to_have_class(re.compile(r"\bactive\b"))


def test_a_secretary_sees_no_manage_menu(open_page, journey):
    page = open_page("desktop", user=journey.secretary)
    page.goto("/")
    expect(page.locator("[data-nav-group=manage]")).to_have_count(0)
