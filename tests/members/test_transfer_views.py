"""Transfer pages: scope (404 outside), forms calling actions, timeline, query-count pins."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.actions.transfers import transfer_approve, transfer_request
from members.models import MemberOrgHistory, Transfer, TransferEvent, TransferStatus
from orgs.models import Role
from tests.factories import MemberFactory, UserFactory, fresh, grant, reload

pytestmark = pytest.mark.django_db


@pytest.fixture
def sides(world):
    send = UserFactory(username="send_sec")
    grant(send, world.br_a, Role.SECRETARY)
    recv = UserFactory(username="recv_sec")
    grant(recv, world.br_f, Role.SECRETARY)
    return {"send": fresh(send), "recv": fresh(recv), "member": MemberFactory(org=world.br_a, name="张三")}


def open_transfer(world, sides, member=None):
    return transfer_request(actor=sides["send"], member=member or sides["member"], kind="internal", to_org=world.br_f,
                            reason="调动", dues_paid_until=world.today)


def test_request_form_creates_transfer_and_redirects_to_detail(client, world, sides):
    client.force_login(sides["send"])
    url = reverse("members:transfer_request", args=[sides["member"].pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"kind": "internal", "to_org": world.br_f.pk, "dues_paid_until": world.today.isoformat(),
                                 "reason": "调动到美团"})
    t = Transfer.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("members:transfer_detail", args=[t.pk])
    assert t.requested_by == sides["send"] and t.status == TransferStatus.REQUESTED


def test_request_form_shows_domain_errors_and_writes_nothing(client, world, sides):
    client.force_login(sides["send"])
    url = reverse("members:transfer_request", args=[sides["member"].pk])
    response = client.post(url, {"kind": "internal", "to_org": world.br_a.pk, "dues_paid_until": world.today.isoformat(),
                                 "reason": "调动"})
    assert response.status_code == 200 and "接收党组织不能是党员当前所在的党组织" in response.content.decode()
    response = client.post(url, {"kind": "out", "dues_paid_until": world.today.isoformat(), "reason": "返乡"})
    assert "请填写系统外党组织名称" in response.content.decode()
    open_transfer(world, sides)
    response = client.post(url, {"kind": "internal", "to_org": world.br_f.pk, "dues_paid_until": world.today.isoformat(),
                                 "reason": "再次"})
    assert "正在办理" in response.content.decode()
    assert Transfer.objects.count() == 1


def test_third_branch_and_viewer_get_404(client, world, sides):
    t = open_transfer(world, sides)
    for user in (world.secretary, world.viewer, world.nobody):
        client.force_login(user)
        assert client.get(reverse("members:transfer_detail", args=[t.pk])).status_code == 404
        assert client.post(reverse("members:transfer_act", args=[t.pk]), {"step": "approve", "version": 0}).status_code == 404
        assert client.get(reverse("members:transfer_request", args=[sides["member"].pk])).status_code == 404
    client.force_login(world.secretary)
    response = client.get(reverse("members:transfer_list"))
    assert response.status_code == 200 and "张三" not in response.content.decode()
    client.force_login(world.viewer)
    assert client.get(reverse("members:transfer_inbox")).status_code == 404


def test_both_sides_see_it_in_transit_with_age(client, world, sides):
    t = open_transfer(world, sides)
    Transfer.objects.filter(pk=t.pk).update(requested_at=t.requested_at - dt.timedelta(days=40))
    for user in (sides["send"], sides["recv"], world.district_user):
        client.force_login(user)
        body = client.get(reverse("members:transfer_list")).content.decode()
        assert "张三" in body and "data-ageing" in body and ">40 " in body
        assert client.get(reverse("members:transfer_detail", args=[t.pk])).status_code == 200


def test_act_walks_the_steps_and_timeline_shows_actor_time_reason(client, world, sides):
    t = open_transfer(world, sides)
    detail = reverse("members:transfer_detail", args=[t.pk])
    act = reverse("members:transfer_act", args=[t.pk])
    client.force_login(sides["send"])
    body = client.get(detail).content.decode()
    assert 'data-step="approve"' in body and 'data-step="receive"' not in body
    assert client.post(act, {"step": "approve", "version": 0, "letter_number": "ZJ-9", "reason": "同意"})["Location"] == detail
    client.force_login(sides["recv"])
    assert client.post(act, {"step": "receive", "version": 1, "reason": "同意接收"}).status_code == 302
    assert client.post(act, {"step": "complete", "version": 2, "reason": "已报到"}).status_code == 302
    assert reload(sides["member"]).org == world.br_f
    assert MemberOrgHistory.objects.filter(member=sides["member"]).count() == 1
    body = client.get(detail).content.decode()
    for text in ("申请", "转出方审批", "接收方接收", "办结", "同意接收", "已报到", str(sides["send"]), str(sides["recv"]), "ZJ-9"):
        assert text in body


def test_act_refusals_are_messages_not_500(client, world, sides):
    t = open_transfer(world, sides)
    act = reverse("members:transfer_act", args=[t.pk])
    client.force_login(sides["recv"])
    # wrong side: the step is not offered; a forged post gets a message and nothing changes
    response = client.post(act, {"step": "approve", "version": 0}, follow=True)
    assert "只有转出方" in response.content.decode()
    # return without a reason: form error, 400
    response = client.post(act, {"step": "return", "version": 0, "reason": ""})
    assert response.status_code == 400 and "退回须填写原因" in response.content.decode()
    assert reload(t).status == TransferStatus.REQUESTED
    # a stale second click: clear conflict message
    transfer_approve(actor=sides["send"], transfer=t)
    client.force_login(sides["send"])
    response = client.post(act, {"step": "approve", "version": 0}, follow=True)
    assert "他人处理" in response.content.decode()
    assert TransferEvent.objects.filter(transfer=t, kind="approved").count() == 1
    # return with a reason from the receiving side
    client.force_login(sides["recv"])
    assert client.post(act, {"step": "return", "version": 1, "reason": "未到岗"}).status_code == 302
    assert reload(t).status == TransferStatus.RETURNED


def _grow(world, sides, n):
    for _ in range(n):
        open_transfer(world, sides, member=MemberFactory(org=world.br_a))


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url_name,who", [
    ("members:transfer_inbox", "send"), ("members:transfer_outbox", "send"),
    ("members:transfer_list", "recv"), ("members:transfer_list", "district"),
])
def test_query_count_constant_as_rows_grow(client, world, sides, url_name, who):
    client.force_login(world.district_user if who == "district" else sides[who])
    url = reverse(url_name)
    _grow(world, sides, 2)
    small = _count(client, url)
    _grow(world, sides, 20)
    large = _count(client, url)
    assert small == large, f"{url_name}: {small} queries with few rows, {large} with many"


def test_detail_query_count_constant_as_timeline_grows(client, world, sides):
    t = open_transfer(world, sides)
    client.force_login(sides["send"])
    url = reverse("members:transfer_detail", args=[t.pk])
    small = _count(client, url)
    for i in range(10):
        TransferEvent.objects.create(transfer=t, kind="requested", actor=sides["send"], reason=f"补充说明{i}")
    assert _count(client, url) == small


def test_nav_item_for_users_with_transfer_view_and_pages_render_in_english(client, world, sides):
    t = open_transfer(world, sides)
    client.force_login(sides["send"])
    assert reverse("members:transfer_inbox") in client.get(reverse("members:transfer_list")).content.decode()
    client.cookies["django_language"] = "en"
    body = client.get(reverse("members:transfer_detail", args=[t.pk])).content.decode()
    assert "Timeline" in body and "Transfer details" in body
    client.force_login(world.viewer)
    assert reverse("members:transfer_inbox") not in client.get(reverse("home")).content.decode()
