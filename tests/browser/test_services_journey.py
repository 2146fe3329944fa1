"""A service request (诉求) from end to end in a real Chromium: a gig worker without an account submits it on a
phone and notes the tracking code and 查询密码, the covering branch's secretary handles it on the staff pages
(seeing neither the 查询密码 nor the phone's last digits), and the worker tracks with code + 查询密码, reads the
public reply (never the internal note) and confirms it with a score.

Skipped as a whole when no Chromium is found (CHROMIUM_PATH or /usr/bin/chromium), like test_journeys.py.
Screenshots for people to look at are written to /tmp/shots (BROWSER_SHOTS_DIR).
"""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium_executable

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
# (service categories, reply templates, the abuse-limit rules); Django puts them back before the next test.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = "13800138000"
DESCRIPTION = "甲网点所在园区不让电动车进门充电，晚上只能把车停在路边，电池经常被偷。"
LOCATION = "东街道园区北门充电棚"
PUBLIC_REPLY = "已与园区物业协调，北门充电棚今晚起对骑手开放。"
INTERNAL_NOTE = "内部核实：物业王经理此前拒绝过两次"  # distinctive: must never reach the public pages
RESOLVE_REPLY = "充电棚已开放，物业为骑手办理了通行卡。"
NOT_FOUND = "未找到对应的诉求，请核对查询码和查询密码"


def assert_no_horizontal_scroll(page: Page, width: int = 375) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways at {width} px: scrollWidth {scroll_width}"


def look_up(page: Page, code: str, secret: str) -> None:
    """The tracking form, like a person: 查询码 and 查询密码, then 查询."""
    page.goto(reverse("services:public_track"))
    page.get_by_label("查询码").fill(code)
    page.get_by_label("查询密码").fill(secret)
    page.get_by_role("button", name="查询", exact=True).click()


def act(page: Page, button: str, message: str) -> None:
    """Press one of the detail page's action buttons and wait for its success message."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text(message)


def test_gig_worker_request_is_handled_by_the_branch_and_confirmed_on_the_phone(open_page, journey, shots_dir):
    from services.models import RequesterRevealLog, RequestStatus, ServiceRequest

    # ------------------------------------------------ 1. the gig worker submits on a 375 px phone, no account
    worker = open_page("mobile")
    worker.goto(reverse("services:public_intake"))
    expect(worker.get_by_role("heading", level=1)).to_have_text("遇到困难，我们帮您办")
    worker.get_by_role("link", name="通行/停车/充电").click()  # the name goes on with the guidance
    expect(worker).to_have_url(re.compile(reverse("services:public_intake_form", kwargs={"code": "traffic"}) + "$"))
    expect(worker.get_by_role("heading", level=1)).to_have_text("反映通行/停车/充电问题")

    worker.get_by_label("遇到了什么问题").fill(DESCRIPTION)
    worker.get_by_label("具体路段或地点").fill(LOCATION)  # the category's required extra field
    worker.get_by_label("您的称呼").fill("刘师傅")
    worker.get_by_label("手机号").fill(PHONE)
    # the radios are Bootstrap toggle buttons (.btn-check): a person taps the label
    worker.locator("label.btn", has_text=re.compile(r"^不是党员$")).click()
    expect(worker.get_by_label("不是党员", exact=True)).to_be_checked()
    worker.get_by_label("所在站点或单位").select_option(label="甲网点")
    worker.get_by_label("同意将联系电话用于办理本诉求").check()
    assert_no_horizontal_scroll(worker)
    worker.screenshot(path=str(shots_dir / "services-intake-375.png"), full_page=True)
    worker.get_by_role("button", name="提交", exact=True).click()

    expect(worker).to_have_url(re.compile(reverse("services:public_submitted") + "$"))  # the code is never in the URL
    expect(worker.get_by_role("heading", level=1)).to_have_text("提交成功")
    code_on_page = worker.locator("#tracking-code")
    expect(code_on_page).to_have_text(re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$"))
    display_code = code_on_page.inner_text().strip()
    secret_on_page = worker.locator("#access-secret")
    expect(secret_on_page).to_have_text(re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$"))
    secret = secret_on_page.inner_text().strip()  # the worker writes it down: it is shown only this once
    expect(worker.get_by_text("由甲网点党支部承办")).to_be_visible()  # routed to the branch covering 甲网点
    assert_no_horizontal_scroll(worker)
    worker.screenshot(path=str(shots_dir / "services-submitted-375.png"), full_page=True)

    req = ServiceRequest.objects.get()
    assert req.display_code == display_code
    assert req.responsible_org == journey.branch_a and req.workplace == journey.wa
    assert req.status == RequestStatus.SUBMITTED and req.member_answer == "no"
    assert req.extra == {"location_detail": LOCATION}
    assert PHONE not in req.requester_phone_encrypted  # stored encrypted
    assert secret.replace("-", "") not in req.access_secret_hash  # only a keyed hash of the 查询密码
    worker.reload()
    expect(worker.locator("#access-secret")).to_have_count(0)  # not shown a second time

    # ------------------------------------------------ 2. the branch secretary handles it on the staff pages
    staff = open_page("desktop", user=journey.secretary)
    staff.goto(reverse("services:request_list"))
    row = staff.locator(f'tr[data-code="{req.tracking_code}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("通行/停车/充电")
    expect(row).to_contain_text("甲网点党支部")
    expect(row).to_contain_text("已提交")
    row.get_by_role("link", name=display_code, exact=True).click()

    detail_url = reverse("services:request_detail", args=[req.tracking_code])
    expect(staff).to_have_url(re.compile(re.escape(detail_url) + "$"))
    status_badge = staff.locator("h1 [data-status]")
    expect(status_badge).to_have_text("已提交")
    expect(staff.locator("[data-description]")).to_have_text(DESCRIPTION)
    expect(staff.locator("[data-masked-phone]")).to_have_text("138********")  # masked until revealed: no last digits
    assert secret not in staff.content() and secret.replace("-", "") not in staff.content()

    act(staff, "受理", "已受理。")
    expect(status_badge).to_have_text("已受理")
    act(staff, "开始办理", "已开始办理。")
    expect(status_badge).to_have_text("办理中")

    staff.get_by_label("回复内容（提出人可见）").fill(PUBLIC_REPLY)
    act(staff, "回复", "已回复提出人。")
    staff.get_by_label("内部备注（提出人不可见）").fill(INTERNAL_NOTE)
    act(staff, "添加备注", "已添加内部备注。")

    # the full phone, once, with a reason that is logged
    staff.get_by_label("查看事由").fill("电话回访")
    staff.get_by_role("button", name="查看完整号码", exact=True).click()
    expect(staff.locator("[data-revealed-phone]")).to_have_text(PHONE)
    reveal = RequesterRevealLog.objects.get(request=req)
    assert reveal.actor == journey.secretary and reveal.reason == "电话回访"

    staff.get_by_label("答复内容（提出人可见）").fill(RESOLVE_REPLY)
    act(staff, "办结", "已办结，等待提出人确认。")
    expect(status_badge).to_have_text("已办结待确认")
    expect(staff.locator("[data-masked-phone]")).to_be_visible()  # the revealed number does not stick

    timeline = staff.locator("[data-timeline] > li")
    expect(timeline).to_have_count(7)
    kinds = [entry.get_attribute("data-entry") for entry in timeline.all()]
    assert kinds == ["submitted", "accepted", "started", "reply", "note", "revealed", "resolved"]
    expect(staff.locator('[data-entry="reply"]')).to_contain_text(PUBLIC_REPLY)
    expect(staff.locator('[data-entry="note"]')).to_contain_text(INTERNAL_NOTE)
    expect(staff.locator('[data-entry="note"]')).to_have_attribute("data-public", "0")
    expect(staff.locator('[data-entry="revealed"]')).to_have_attribute("data-public", "0")
    expect(staff.locator('[data-entry="resolved"]')).to_contain_text(RESOLVE_REPLY)
    expect(staff.locator('[data-entry="resolved"]')).to_contain_text("办理中 → 已办结待确认")
    staff.screenshot(path=str(shots_dir / "services-request-detail-1280.png"), full_page=True)
    req.refresh_from_db()
    assert req.status == RequestStatus.RESOLVED and req.assignee is None

    # ------------------------------------------------ 3. the worker, later, on a phone without the session
    tracker = open_page("mobile")
    tracker.goto(reverse("services:public_track_detail", kwargs={"code": req.tracking_code}))  # a bare link is not enough
    expect(tracker).to_have_url(re.compile(reverse("services:public_track") + "$"))

    # 4. a wrong 查询密码 and an unknown code are told apart by nothing, and nothing is echoed back
    look_up(tracker, display_code, "2345-6789")
    expect(tracker.get_by_role("alert")).to_have_text(NOT_FOUND)
    expect(tracker.get_by_label("查询码")).to_have_value("")
    wrong_secret_page = tracker.locator("main").inner_text()
    look_up(tracker, "ZZZZ-ZZZZ-ZZZZ", secret)
    expect(tracker.get_by_role("alert")).to_have_text(NOT_FOUND)
    expect(tracker.get_by_label("查询码")).to_have_value("")
    assert tracker.locator("main").inner_text() == wrong_secret_page
    # what the staff pages show (the code and the masked phone) opens nothing
    look_up(tracker, display_code, "138********")
    expect(tracker).to_have_url(re.compile(reverse("services:public_track") + "$"))

    look_up(tracker, display_code.lower(), secret.lower())  # case and dashes do not matter
    expect(tracker).to_have_url(re.compile(reverse("services:public_track_detail", kwargs={"code": req.tracking_code}) + "$"))
    expect(tracker.get_by_role("heading", level=1)).to_have_text("办理进度")
    expect(tracker.locator("main")).to_contain_text(display_code)
    expect(tracker.locator("main")).to_contain_text("已办结待确认")
    expect(tracker.locator("main")).to_contain_text("甲网点党支部")
    history = tracker.locator("main ol > li")
    expect(history).to_have_count(5)  # submitted, accepted, started, reply, resolved: the public entries only
    expect(history.filter(has_text=PUBLIC_REPLY)).to_have_count(1)
    expect(history.filter(has_text=RESOLVE_REPLY)).to_have_count(1)
    public_text = tracker.locator("body").inner_text()
    staff_only = (INTERNAL_NOTE, "内部备注", "查看联系电话", "电话回访", PHONE, "刘师傅", str(journey.secretary), "secretary")
    for secret in staff_only:
        assert secret not in public_text, f"{secret!r} shows on the public tracking page"
    assert INTERNAL_NOTE not in tracker.content()
    assert_no_horizontal_scroll(tracker)
    tracker.screenshot(path=str(shots_dir / "services-track-resolved-375.png"), full_page=True)

    confirm = tracker.locator("section", has=tracker.get_by_role("heading", name="问题已办结，请确认"))
    confirm.locator("label.btn", has_text="5 分 很满意").click()
    expect(confirm.get_by_label("5 分 很满意")).to_be_checked()
    confirm.get_by_label("评价（选填）").fill("办得很快，谢谢！")
    confirm.get_by_role("button", name="确认办结", exact=True).click()

    expect(tracker.get_by_role("alert")).to_have_text("感谢您的评价，本诉求已关闭。")
    expect(tracker.locator("main .badge")).to_have_text("已关闭")
    expect(tracker.locator("main")).to_contain_text("5 / 5")
    expect(tracker.get_by_role("button", name="确认办结")).to_have_count(0)
    expect(history).to_have_count(6)
    expect(history.last).to_contain_text("提出人确认办结，满意度 5 分。评价：办得很快，谢谢！")
    tracker.screenshot(path=str(shots_dir / "services-track-closed-375.png"), full_page=True)

    req.refresh_from_db()
    assert req.status == RequestStatus.CLOSED and req.closed_at is not None
    assert req.satisfaction == 5 and req.satisfaction_comment == "办得很快，谢谢！"

    # the secretary sees the score on the detail page; the request left the (open-by-default) queue
    staff.goto(detail_url)
    expect(status_badge).to_have_text("已关闭")
    expect(staff.locator("main")).to_contain_text("5 / 5 · 办得很快，谢谢！")
    expect(staff.get_by_role("button", name="办结", exact=True)).to_have_count(0)
    staff.goto(reverse("services:request_list"))
    expect(staff.locator(f'tr[data-code="{req.tracking_code}"]')).to_have_count(0)
