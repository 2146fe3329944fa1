"""The public pages at /s/: intake without an account, the tracking code and 查询密码, tracking, confirm and reopen."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from services.models import EntryKind, PublicHit, PublicHitKind, RequestStatus, ServiceCategory, ServiceRequest, TimelineEntry
from tests.factories import WorkplaceFactory, set_rule
from tests.services.factories import SECRET, make_request

PHONE = "13912345678"
NOT_FOUND = "未找到对应的诉求，请核对查询码和查询密码"
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
SHOWN_SECRET = re.compile(r'id="access-secret">([^<]+)<')
WRONG_SECRET = "2345-6789"  # noqa: S105 - well formed, matches nothing


def form_data(**overrides):
    data = {
        "description": "小区门禁不让外卖骑手进入，送餐经常超时被罚款。", "requester_name": "王师傅", "phone": PHONE,
        "member_answer": "unknown", "region": "", "workplace": "", "place": "东大街12号", "latitude": "", "longitude": "",
        "consent": "on", "website": "",
    }
    data.update(overrides)
    return data


def submit(client, code="other", **overrides):
    return client.post(reverse("services:public_intake_form", kwargs={"code": code}), form_data(**overrides))


def track(client, code, secret):
    return client.post(reverse("services:public_track"), {"code": code, "secret": secret})


def open_detail(client, req, secret=SECRET):
    response = track(client, req.tracking_code, secret)
    assert response.status_code == 302
    return client.get(response["Location"])


@pytest.fixture
def resolved(world):
    """A resolved request handled by the secretary, with a public reply and an internal note."""
    world.secretary.display_name = "李书记"
    world.secretary.save()
    req = make_request(org=world.jb, status=RequestStatus.RESOLVED, phone=PHONE, assignee=world.secretary,
                       resolved_at=timezone.now(), requester_name="赵师傅")
    TimelineEntry.objects.create(request=req, kind=EntryKind.REPLY, public=True, actor=world.secretary,
                                 body="已协调物业为骑手登记通行证。", to_status=RequestStatus.RESOLVED)
    TimelineEntry.objects.create(request=req, kind=EntryKind.NOTE, public=False, actor=world.secretary,
                                 body="内部备注：物业经理态度不好")
    return req


# ---------------------------------------------------------------- open to anyone
def test_every_public_page_opens_without_login(world, client, resolved):
    urls = [reverse("services:public_intake"), reverse("services:public_track")]
    urls += [reverse("services:public_intake_form", kwargs={"code": c.code}) for c in ServiceCategory.objects.all()]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "/login/" not in response.content.decode()
    assert open_detail(client, resolved).status_code == 200
    assert submit(client).status_code == 302
    assert client.get(reverse("services:public_submitted")).status_code == 200


def test_intake_page_lists_the_enabled_categories_with_guidance(world, client):
    ServiceCategory.objects.filter(code="skills").update(enabled=False)
    page = client.get(reverse("services:public_intake")).content.decode()
    assert "欠薪/劳动权益" in page and "被拖欠工资" in page
    assert "技能培训" not in page
    assert client.get(reverse("services:public_intake_form", kwargs={"code": "skills"})).status_code == 404
    assert client.get(reverse("services:public_intake_form", kwargs={"code": "nope"})).status_code == 404


def test_intake_form_shows_guidance_extra_fields_streets_and_workplace_names(world, client):
    page = client.get(reverse("services:public_intake_form", kwargs={"code": "wage_arrears"})).content.decode()
    assert "也可拨打 12333" in page  # the category's guidance
    for label in ("用工单位或平台", "拖欠金额（元）", "拖欠起始月份", "同意将联系电话用于办理本诉求", "不愿说明"):
        assert label in page
    assert "东街道" in page and "东一社区" in page and "西街道" in page
    assert "A顺丰东一站" in page and "H外卖楼宇（停业）" not in page  # closed workplaces are not offered
    assert "快递行业党委" not in page and "顺丰站点党支部" not in page  # no org / coverage data
    assert 'name="csrfmiddlewaretoken"' in page
    assert "js/public_intake" in page


def test_submitted_page_without_a_submission_goes_back_to_intake(world, client):
    response = client.get(reverse("services:public_submitted"))
    assert response.status_code == 302 and response["Location"] == reverse("services:public_intake")


# ---------------------------------------------------------------- the whole flow
def test_submit_then_track_shows_only_public_entries(world, client):
    response = submit(client, workplace=str(world.wp_a.pk), region=str(world.east_one.pk))
    assert response.status_code == 302 and response["Location"] == reverse("services:public_submitted")
    assert "?" not in response["Location"]
    req = ServiceRequest.objects.get()
    assert req.responsible_org == world.br_a and req.workplace == world.wp_a and req.region == world.east_one
    page = client.get(reverse("services:public_submitted")).content.decode()
    assert req.display_code in page and "请立即记下" in page
    assert PHONE not in page and req.tracking_code not in client.get(reverse("services:public_intake")).content.decode()
    secret = SHOWN_SECRET.search(page).group(1)

    TimelineEntry.objects.create(request=req, kind=EntryKind.NOTE, public=False, body="内部备注：疑似重复反映")
    other = make_request(org=world.br_a, description="另一位师傅的诉求内容", phone="13700001111")

    # A new visitor (another session) tracks with the code in lower case and with spaces.
    visitor = Client()
    typed = f"{req.tracking_code[:4].lower()} {req.tracking_code[4:8]}-{req.tracking_code[8:]}"
    response = track(visitor, typed, secret.lower())
    assert response.status_code == 302
    assert response["Location"] == reverse("services:public_track_detail", kwargs={"code": req.tracking_code})
    page = visitor.get(response["Location"]).content.decode()
    assert "已提交" in page and "其他" in page and "顺丰站点党支部" in page
    assert "诉求已提交，由顺丰站点党支部承办" in page
    assert "内部备注" not in page and "疑似重复反映" not in page
    assert other.description not in page and other.display_code not in page
    assert PHONE not in page and "王师傅" not in page


def test_intake_errors_are_shown_on_the_fields_and_nothing_is_created(world, client):
    response = submit(client, phone="12345", description="太短")
    page = response.content.decode()
    assert response.status_code == 200
    assert "至少10个字" in page
    assert ServiceRequest.objects.count() == 0
    response = submit(client, phone="12345")
    assert "手机号应为11位中国大陆手机号码" in response.content.decode()
    response = submit(client, consent="")
    assert "请勾选同意" in response.content.decode()
    response = submit(client, "wage_arrears", employer="某配送公司", amount_owed="很多", owed_since="2025-03")
    assert "拖欠金额应为大于0" in response.content.decode()
    assert ServiceRequest.objects.count() == 0 and PublicHit.objects.count() == 0


def test_wage_arrears_extra_fields_reach_the_request(world, client):
    response = submit(client, "wage_arrears", employer="某配送公司", amount_owed="3500", owed_since="2025-03",
                      latitude="39.91", longitude="116.40")
    assert response.status_code == 302
    req = ServiceRequest.objects.get()
    assert req.extra == {"employer": "某配送公司", "amount_owed": "3500.00", "owed_since": "2025-03"}
    assert str(req.latitude) == "39.910000"


def test_honeypot_is_refused_with_a_generic_message(world, client):
    response = submit(client, website="http://spam.example")
    assert response.status_code == 200
    assert "提交未能完成" in response.content.decode()
    assert ServiceRequest.objects.count() == 0 and PublicHit.objects.count() == 0


def test_intake_rate_limit_tells_when_to_try_again(world, client):
    for i in range(5):
        assert submit(client, phone=f"1390000000{i}").status_code == 302
    response = submit(client, phone="13900000009")
    assert response.status_code == 429
    page = response.content.decode()
    assert "提交次数过多" in page and "12345" in page
    assert ServiceRequest.objects.count() == 5


# ---------------------------------------------------------------- tracking
def test_wrong_secret_and_unknown_code_get_the_same_answer(world, client, resolved):
    wrong_secret = track(client, resolved.tracking_code, WRONG_SECRET)
    unknown = track(client, "ABCD-EFGH-JKMN", SECRET)
    assert wrong_secret.status_code == unknown.status_code == 200
    assert NOT_FOUND in wrong_secret.content.decode()
    assert CSRF.sub(b"", wrong_secret.content) == CSRF.sub(b"", unknown.content)
    assert resolved.tracking_code not in wrong_secret.content.decode()  # nothing typed is echoed back
    assert SECRET not in wrong_secret.content.decode()
    assert client.get(reverse("services:public_track_detail", kwargs={"code": resolved.tracking_code})).status_code == 302


def test_track_rate_limit_at_the_boundary(world, client):
    for _ in range(30):
        assert track(client, "ABCD-EFGH-JKMN", WRONG_SECRET).status_code == 200
    response = track(client, "ABCD-EFGH-JKMN", WRONG_SECRET)
    assert response.status_code == 429
    assert "查询次数过多" in response.content.decode()
    assert PublicHit.objects.filter(kind=PublicHitKind.TRACK_ADDRESS).count() == 30
    # Another address still gets through.
    other = Client(REMOTE_ADDR="10.1.1.1")
    assert track(other, "ABCD-EFGH-JKMN", WRONG_SECRET).status_code == 200


def test_track_rate_limit_follows_the_rule_row_and_the_clock(world, client, resolved):
    set_rule("track_per_address_per_hour", 2)
    track(client, "ABCD-EFGH-JKMN", WRONG_SECRET)
    track(client, "ABCD-EFGH-JKMN", WRONG_SECRET)
    assert track(client, resolved.tracking_code, SECRET).status_code == 429  # even the right code
    PublicHit.objects.update(created_at=timezone.now() - dt.timedelta(minutes=61))
    assert track(client, resolved.tracking_code, SECRET).status_code == 302


def test_track_form_checks_the_secret_shape_without_counting(world, client):
    for typed in ("12", "5678", "K7M9-P2Q", "1391234567"):
        response = track(client, "ABCD", typed)
        assert "请输入8位查询密码" in response.content.decode(), typed
    assert PublicHit.objects.count() == 0


def test_another_session_cannot_open_someone_elses_tracking_page(world, client, resolved):
    assert open_detail(client, resolved).status_code == 200
    stranger = Client()
    url = reverse("services:public_track_detail", kwargs={"code": resolved.tracking_code})
    response = stranger.get(url)
    assert response.status_code == 302 and response["Location"] == reverse("services:public_track")
    response = stranger.post(reverse("services:public_track_confirm", kwargs={"code": resolved.tracking_code}), {"satisfaction": "5"})
    assert response.status_code == 302 and response["Location"] == reverse("services:public_track")
    response = stranger.post(reverse("services:public_track_reopen", kwargs={"code": resolved.tracking_code}), {"reason": "没解决"})
    assert response.status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == RequestStatus.RESOLVED


def test_tracking_page_hides_staff_names_notes_and_the_phone(world, client, resolved):
    page = open_detail(client, resolved).content.decode()
    assert "已协调物业为骑手登记通行证。" in page  # the public reply
    assert "工作人员" in page and "您" in page
    assert "李书记" not in page and world.secretary.username not in page
    assert "物业经理态度不好" not in page
    assert PHONE not in page and "139****5678" not in page and "139********" not in page
    assert "赵师傅" not in page and SECRET not in page


def test_confirm_through_the_page_closes_with_a_score(world, client, resolved):
    page = open_detail(client, resolved).content.decode()
    assert "确认办结" in page and "问题未解决" in page
    url = reverse("services:public_track_confirm", kwargs={"code": resolved.tracking_code})
    response = client.post(url, {"comment": "谢谢"})
    assert response.status_code == 200 and "请为办理结果打分" in response.content.decode()
    response = client.post(url, {"satisfaction": "4", "comment": "谢谢"}, follow=True)
    page = response.content.decode()
    assert "已关闭" in page and "感谢您的评价" in page and "4 / 5" in page
    assert url not in page and 'name="satisfaction"' not in page  # the confirm form is gone
    assert "提出人确认办结，满意度 4 分" in page
    resolved.refresh_from_db()
    assert resolved.status == RequestStatus.CLOSED and resolved.satisfaction == 4 and resolved.satisfaction_comment == "谢谢"


def test_reopen_through_the_page(world, client, resolved):
    open_detail(client, resolved)
    url = reverse("services:public_track_reopen", kwargs={"code": resolved.tracking_code})
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200
    response = client.post(url, {"reason": "通行证还没有办下来"}, follow=True)
    page = response.content.decode()
    assert "已重新打开" in page and "通行证还没有办下来" in page
    resolved.refresh_from_db()
    assert resolved.status == RequestStatus.REOPENED and resolved.reopen_count == 1
    # A second confirm on a reopened request is refused politely, not a 500.
    response = client.post(reverse("services:public_track_confirm", kwargs={"code": resolved.tracking_code}), {"satisfaction": "5"})
    assert response.status_code == 200


def test_rejected_request_shows_the_reason_and_where_to_go(world, client):
    req = make_request(org=world.root, status=RequestStatus.REJECTED, phone=PHONE, reject_reason="属于劳动仲裁范围",
                       redirect_to="区劳动人事争议仲裁院")
    page = open_detail(client, req).content.decode()
    assert "不予受理" in page and "属于劳动仲裁范围" in page and "区劳动人事争议仲裁院" in page


# ---------------------------------------------------------------- constant queries
def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_intake_form_queries_do_not_grow_with_workplaces(world, client):
    url = reverse("services:public_intake_form", kwargs={"code": "other"})
    before = _count(client, url)
    for i in range(15):
        WorkplaceFactory(name=f"新增站点{i}", region=world.east, responsible_org=world.express)
    assert _count(client, url) == before


def test_tracking_page_queries_do_not_grow_with_entries(world, client, resolved):
    open_detail(client, resolved)
    url = reverse("services:public_track_detail", kwargs={"code": resolved.tracking_code})
    before = _count(client, url)
    for i in range(10):
        TimelineEntry.objects.create(request=resolved, kind=EntryKind.REPLY, public=True, actor=world.secretary, body=f"回复{i}")
    assert _count(client, url) == before


def test_intake_page_queries_do_not_grow_with_categories(world, client):
    url = reverse("services:public_intake")
    before = _count(client, url)
    for i in range(5):
        ServiceCategory.objects.create(code=f"extra{i}", name=f"新类别{i}", guidance="说明", sla_hours=24)
    assert _count(client, url) == before


# ---------------------------------------------------------------- English
def test_public_pages_render_in_english(world, client, resolved):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for url in (reverse("services:public_intake"), reverse("services:public_track"), reverse("services:public_intake_form", kwargs={"code": "wage_arrears"})):
        response = client.get(url)
        assert response.status_code == 200
        assert '<html lang="en">' in response.content.decode()
    assert open_detail(client, resolved).status_code == 200
    assert submit(client).status_code == 302
    assert client.get(reverse("services:public_submitted")).status_code == 200
    response = track(client, "ABCD-EFGH-JKMN", WRONG_SECRET)
    assert response.status_code == 200


def test_lookup_does_the_same_work_whatever_the_answer(world, resolved, monkeypatch):
    """Unknown code, wrong 查询密码 and the right one each cost one query and the same two keyed hashes, so
    timing does not tell them apart; nothing is decrypted."""
    from services import credentials
    from services.selectors import public

    calls = []
    for name in ("secret_hash", "phone_digest"):
        real = getattr(credentials, name)
        monkeypatch.setattr(credentials, name, lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw))
    monkeypatch.setattr(public, "decrypt", lambda token: pytest.fail("the look-up decrypts"), raising=False)
    legacy = make_request(org=world.jb, phone=PHONE, secret=None)
    for code, secret, expected in [
        ("ABCD-EFGH-JKMN", SECRET, None), (resolved.tracking_code, WRONG_SECRET, None),
        (resolved.display_code.lower(), SECRET.lower(), resolved), (legacy.tracking_code, "13900000000", None),
        (legacy.tracking_code, PHONE, legacy),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            assert public.track_lookup(code=code, secret=secret) == expected
        assert len(ctx.captured_queries) == 1
    assert calls == ["secret_hash", "phone_digest"] * 5


def test_public_forms_need_the_csrf_token(world):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("services:public_intake_form", kwargs={"code": "other"}), form_data()).status_code == 403
    assert strict.post(reverse("services:public_track"), {"code": "ABCD", "secret": SECRET}).status_code == 403
    assert ServiceRequest.objects.count() == 0
