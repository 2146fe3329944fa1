"""Onboarding in a real Chromium: district staff create a secretary account for a new branch, hand over the
one-time set-password link, and the new secretary sets a password, signs in and sees only that branch.

Skipped when no Chromium is found (CHROMIUM_PATH or /usr/bin/chromium); CI's real-services leg has one.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium_executable

if chromium_executable() is None:
    pytest.skip("browser journeys need Chromium: none at $CHROMIUM_PATH or /usr/bin/chromium", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from django.urls import reverse  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NEW_PASSWORD = "lantern-river-2049"


def log_in(page: Page, username: str, password: str) -> None:
    """Through the login form, like a person."""
    if "/login/" not in page.url:
        page.goto(reverse("login"))
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/login/" not in url)


def test_district_staff_onboard_a_secretary_for_a_new_branch(open_page, journey, shots_dir):
    from core.audit import SYSTEM
    from core.models import AuditEntry, User
    from orgs.actions import org_create
    from orgs.models import FormationMode, OrgKind
    from tests.factories import MemberFactory

    new_branch = org_create(actor=SYSTEM, parent=journey.food, kind=OrgKind.BRANCH, name="丙站点党支部", code="FOOD-C",
                            formation_mode=FormationMode.SINGLE, workplaces=[journey.wc])
    MemberFactory(name="丙站党员", org=new_branch, workplace=journey.wc)
    MemberFactory(name="甲站党员", org=journey.branch_a, workplace=journey.wa)

    # district staff: the menu, the list, the new-account form
    staff = open_page("desktop")
    log_in(staff, "district", journey.password)
    staff.locator("#mainnav").get_by_role("button", name="管理", exact=True).click()  # settings-like pages
    staff.locator("#mainnav").get_by_role("link", name="用户与角色", exact=True).click()
    expect(staff).to_have_url(re.compile(reverse("orgs:user_list") + "$"))
    expect(staff.locator('[data-user="secretary"]')).to_be_visible()
    staff.get_by_role("link", name="新建账号", exact=True).click()
    staff.locator("#id_username").fill("bing_secretary")
    staff.locator("#id_display_name").fill("丙书记")
    staff.locator("#id_org").select_option(str(new_branch.pk))
    staff.locator("#id_role").select_option("secretary")
    staff.get_by_role("button", name="创建账号", exact=True).click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("账号已创建")
    link = staff.locator("[data-password-link]").input_value()
    assert "/users/password/set/" in link
    staff.screenshot(path=str(shots_dir / "onboarding-link.png"), full_page=True)
    account = User.objects.get(username="bing_secretary")
    assert not account.has_usable_password()
    assert AuditEntry.objects.filter(action="user.create", object_id=str(account.pk)).count() == 1

    # the new secretary, in a fresh browser (no cookies): opens the link, sets a password
    newcomer = open_page("mobile")
    newcomer.goto(link)
    expect(newcomer).to_have_url(re.compile(r"/users/password/set/[^/]+/set-password/$"))  # the token left the address
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("设置密码")
    newcomer.locator("#id_new_password1").fill(NEW_PASSWORD)
    newcomer.locator("#id_new_password2").fill(NEW_PASSWORD)
    newcomer.get_by_role("button", name="设置密码", exact=True).click()
    expect(newcomer).to_have_url(re.compile(r"/login/$"))
    expect(newcomer.locator(".alert-success")).to_contain_text("密码已设置，请用新密码登录。")

    log_in(newcomer, "bing_secretary", NEW_PASSWORD)
    newcomer.goto(reverse("orgs:tree"))
    tree = newcomer.locator(".tree")
    expect(tree.get_by_role("link", name="丙站点党支部", exact=True)).to_be_visible()
    expect(tree.get_by_role("link")).to_have_count(1)
    for other in ("区委两新工委", "外卖配送行业党委", "甲网点党支部", "乙网点党支部"):
        expect(newcomer.get_by_text(other)).to_have_count(0)
    newcomer.goto(reverse("members:member_list"))
    expect(newcomer.get_by_text("丙站党员")).to_be_visible()
    expect(newcomer.get_by_text("甲站党员")).to_have_count(0)
    assert newcomer.goto(reverse("coverage:org_detail", args=[journey.branch_a.pk])).status == 404
    assert newcomer.goto(reverse("orgs:user_list")).status == 404  # a secretary manages no accounts
    newcomer.screenshot(path=str(shots_dir / "onboarding-secretary-tree.png"), full_page=True)

    # the link is spent: opening it again says so
    spent = open_page("desktop")
    spent.goto(link)
    expect(spent.locator("[data-link-invalid]")).to_contain_text("该链接无效、已过期或已使用过")
