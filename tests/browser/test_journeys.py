"""User journeys in a real Chromium: phone (375x812) and desktop (1280x800) layouts, htmx, forms, export, i18n.

Skipped as a whole when no Chromium is found (CHROMIUM_PATH or /usr/bin/chromium); the real-services leg
of .ci/run installs Debian's Chromium and sets CHROMIUM_PATH, so they run there. Screenshots for people
to look at are written to /tmp/shots (BROWSER_SHOTS_DIR).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.browser import PASSWORD, chromium_executable

if chromium_executable() is None:
    pytest.skip(
        "browser journeys need Chromium: none at $CHROMIUM_PATH or /usr/bin/chromium "
        "(apt-get install chromium; `playwright install` is not used)",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from django.urls import reverse  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

# serialized_rollback: the flush after each transactional test also wipes the rows seeded by data migrations
# (portal.Rule); Django puts them back before the next test.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

EN_PO = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Through the login form, like a person."""
    if "/login/" not in page.url:
        page.goto(reverse("login"))
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/login/" not in url)


def assert_assets_loaded(page: Page) -> None:
    """Bootstrap's and htmx's scripts came from node_modules through the static files handler."""
    assert page.evaluate("() => typeof window.htmx !== 'undefined' && typeof window.htmx.ajax === 'function'"), "htmx not loaded"
    assert page.evaluate("() => typeof window.bootstrap !== 'undefined' && !!window.bootstrap.Collapse"), "Bootstrap JS not loaded"


# ---------------------------------------------------------------- 1. login and the phone navbar
def test_district_user_logs_in_on_a_phone_and_uses_the_collapsed_navbar(open_page, journey, shots_dir):
    page = open_page("mobile")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    log_in(page, "district")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("区委两新工委")
    # the figures: 5 active workplaces, 甲/乙 org-covered, 戊 work-only, 丙/丁 uncovered
    for figure, value in {"workplaces": "5", "org_covered": "2", "work_covered": "3", "uncovered": "2",
                          "gig_workers": "113", "members": "3"}.items():
        cell = page.locator(f'[data-figure="{figure}"]')
        expect(cell).to_be_visible()
        expect(cell).to_have_text(value)
    expect(page.locator("#chart-children canvas")).to_have_count(1)  # ECharts loaded and drew
    assert_assets_loaded(page)
    page.screenshot(path=str(shots_dir / "overview-375.png"), full_page=True)

    # at 375 px the menu is collapsed behind the toggler
    toggler = page.locator("button.navbar-toggler")
    tree_link = page.locator("#mainnav").get_by_role("link", name="组织体系", exact=True)
    expect(toggler).to_be_visible()
    expect(tree_link).to_be_hidden()
    toggler.click()
    expect(tree_link).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#mainnav")).to_have_class(re.compile(r"\bshow\b"))  # the collapse transition is over
    page.screenshot(path=str(shots_dir / "navbar-open-375.png"))
    tree_link.click()
    expect(page).to_have_url(re.compile(r"/orgs/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("组织体系")


# ---------------------------------------------------------------- 2. lazy tree
def test_org_tree_expands_lazily_with_htmx_and_folds_without_refetching(open_page, journey, shots_dir):
    page = open_page("mobile", user=journey.district_user)
    page.goto(reverse("orgs:tree"))
    assert_assets_loaded(page)

    children_url = reverse("orgs:tree_children", args=[journey.root.pk])
    child_requests = []
    page.on("request", lambda r: child_requests.append(r) if r.url.endswith(children_url) else None)
    express = page.get_by_role("link", name="快递行业党委", exact=True)
    food = page.get_by_role("link", name="外卖配送行业党委", exact=True)
    toggle = page.locator(f"#node-{journey.root.pk} > button.toggle")
    expect(toggle).to_have_text("＋")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(express).to_have_count(0)  # not in the page until asked for

    with page.expect_response(lambda r: r.url.endswith(children_url)) as response_info:
        toggle.click()
    response = response_info.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true"
    expect(express).to_be_visible()
    expect(food).to_be_visible()
    expect(toggle).to_have_text("−")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    # the children's own toggles work too (htmx processed the swapped-in nodes)
    express_toggle = page.locator(f"#node-{journey.express.pk} > button.toggle")
    with page.expect_response(lambda r: r.url.endswith(reverse("orgs:tree_children", args=[journey.express.pk]))):
        express_toggle.click()
    expect(page.get_by_role("link", name="甲网点党支部", exact=True)).to_be_visible()
    page.screenshot(path=str(shots_dir / "tree-375.png"), full_page=True)

    toggle.click()  # fold
    expect(express).to_be_hidden()
    expect(food).to_be_hidden()
    expect(toggle).to_have_text("＋")
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()  # unfold from what is already loaded
    expect(express).to_be_visible()
    expect(food).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.wait_for_timeout(300)  # give a stray second request the chance to show up
    assert len(child_requests) == 1, [r.url for r in child_requests]
    expect(express).to_have_count(1)  # not appended twice


# ---------------------------------------------------------------- 3. secretary's scope
def test_secretary_sees_only_own_branch_and_gets_404_elsewhere(open_page, journey, shots_dir):
    page = open_page("mobile")
    page.goto(reverse("login"))
    log_in(page, "secretary")
    page.goto(reverse("orgs:tree"))
    tree = page.locator(".tree")
    expect(tree.get_by_role("link", name="甲网点党支部", exact=True)).to_be_visible()
    expect(tree.get_by_role("link")).to_have_count(1)
    for other in ("区委两新工委", "快递行业党委", "乙网点党支部", "外卖配送行业党委"):
        expect(page.get_by_text(other)).to_have_count(0)

    response = page.goto(reverse("coverage:org_detail", args=[journey.branch_b.pk]))
    assert response.status == 404
    expect(page.get_by_text("乙网点党支部")).to_have_count(0)
    page.screenshot(path=str(shots_dir / "404-375.png"))
    assert page.request.get(reverse("orgs:tree_children", args=[journey.root.pk])).status == 404
    assert page.goto(reverse("coverage:org_detail", args=[journey.branch_a.pk])).status == 200


# ---------------------------------------------------------------- 4. create a branch through the form
def test_district_user_creates_a_branch_and_sees_duplicate_code_error(open_page, journey, shots_dir):
    from orgs.models import Organization

    page = open_page("desktop", user=journey.district_user)
    page.goto(reverse("coverage:org_detail", args=[journey.food.pk]))
    page.get_by_role("link", name="设立下级组织", exact=True).click()
    expect(page).to_have_url(re.compile(reverse("orgs:org_create", args=[journey.food.pk]) + "$"))
    expect(page.get_by_text("上级党组织：外卖配送行业党委")).to_be_visible()

    page.locator("#id_kind").select_option("branch")
    page.locator("#id_name").fill("丙站点党支部")
    page.locator("#id_code").fill("ZB-FOOD-001")
    page.locator("#id_formation_mode").select_option("single")
    page.locator("#id_workplaces").select_option([str(journey.wc.pk)])
    page.locator("#id_reason").fill("新建")
    page.get_by_role("button", name="保存", exact=True).click()

    new = Organization.objects.get(code="ZB-FOOD-001")
    expect(page).to_have_url(re.compile(reverse("coverage:org_detail", args=[new.pk]) + "$"))
    expect(page.locator(".alert-success")).to_contain_text("已设立“丙站点党支部”。")
    expect(page.get_by_role("heading", level=1)).to_contain_text("丙站点党支部")
    expect(page.get_by_role("link", name="丙站点", exact=True)).to_be_visible()  # 直接覆盖的单位
    assert new.depth == journey.food.depth + 1 and new.path.startswith(journey.food.path)
    assert list(new.workplaces.values_list("name", flat=True)) == ["丙站点"]

    # the same form with a code already in use: the message sits next to the field, nothing is written
    page.goto(reverse("orgs:org_create", args=[journey.food.pk]))
    page.locator("#id_kind").select_option("branch")
    page.locator("#id_name").fill("重复代码党支部")
    page.locator("#id_code").fill("EXP-A")
    page.locator("#id_formation_mode").select_option("single")
    page.get_by_role("button", name="保存", exact=True).click()
    code = page.locator("#id_code")
    # Not asserted yet: Bootstrap's is-invalid class. BootstrapFormMixin adds it in full_clean(), but this
    # error comes from the action (DomainError -> apply_to_form -> add_error after is_valid()), so the field
    # keeps a plain border (reported to the lead).
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_value("EXP-A")
    field_error = code.locator("xpath=..").locator(".invalid-feedback")
    expect(field_error).to_be_visible()
    expect(field_error).to_have_text("组织代码“EXP-A”已被使用。")
    expect(page.locator("#id_name")).to_have_value("重复代码党支部")
    page.screenshot(path=str(shots_dir / "org-form-error-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(shots_dir / "org-form-error-375.png"), full_page=True)
    assert not Organization.objects.filter(name="重复代码党支部").exists()


# ---------------------------------------------------------------- 5. workplace list: filter and export
def test_workplace_list_filters_uncovered_and_exports_xlsx(open_page, journey, shots_dir):
    from openpyxl import load_workbook

    page = open_page("desktop", user=journey.district_user)
    page.goto(reverse("coverage:workplace_list"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(5)

    page.get_by_label("覆盖状态", exact=True).select_option(label="未覆盖（空白点）")
    page.get_by_role("button", name="筛选", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]coverage=none(&|$)"))
    expect(rows).to_have_count(2)
    names = sorted(rows.locator("td:first-child a").all_inner_texts())
    assert names == sorted(["丙站点", "丁站点"])
    for row in rows.all():
        expect(row).to_contain_text("未覆盖（空白点）")
    expect(page.locator("[data-total]")).to_have_text("2")
    expect(page.get_by_label("覆盖状态", exact=True)).to_have_value("none")  # the form remembers the filter

    with page.expect_download() as download_info:
        page.get_by_role("link", name="导出 Excel", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    data = Path(download.path()).read_bytes()
    assert data[:2] == b"PK", data[:16]
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    exported = sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert exported == sorted(["丙站点", "丁站点"])  # the export honours the filter

    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(shots_dir / "workplaces-none-375.png"), full_page=True)


# ---------------------------------------------------------------- 6. language switch
@pytest.mark.xfail(not EN_PO.exists(), reason="no English catalogue yet (locale/en/LC_MESSAGES/django.po)", strict=False)
def test_language_switch_to_english(open_page, journey, english_catalogue):
    from django.utils import translation

    assert english_catalogue is not None, "no locale/en/LC_MESSAGES/django.po"
    with translation.override("en"):
        expected = {zh: translation.gettext(zh) for zh in ("覆盖概览", "组织体系", "覆盖单位", "空白点", "退出")}
    untranslated = [zh for zh, en in expected.items() if en == zh]
    assert not untranslated, f"the English catalogue does not translate {untranslated}"

    page = open_page("desktop", user=journey.district_user)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("#lang-select").select_option("en")
    page.locator("footer").get_by_role("button", name="切换", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    nav = page.locator("#mainnav")
    for zh in ("覆盖概览", "组织体系", "覆盖单位", "空白点"):
        expect(nav.get_by_role("link", name=expected[zh], exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name=zh, exact=True)).to_have_count(0)
    expect(nav.get_by_role("button", name=expected["退出"], exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))  # set_language sent us back where we were
    # the choice sticks (cookie) on the next page
    nav.get_by_role("link", name=expected["组织体系"], exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(expected["组织体系"])
