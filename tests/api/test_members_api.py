"""The members API (/api/v1/members/, /api/v1/transfers/): masking, the exact lookup, registration and edit through
the page's actions, the stage advance, every transfer step (409 on a second or stale attempt, 404 from an
unrelated district), filters, ordering, the request's language, and constant query counts."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import crypto
from core.audit import SYSTEM
from members.actions.registry import member_create
from members.actions.transfers import transfer_request
from members.models import Member, MemberOrgHistory, RelationKind, Stage, Transfer, TransferEvent, TransferStatus
from orgs.models import Role, SecurityEvent, SecurityEventKind
from tests.factories import MemberFactory, UserFactory, WorkplaceFactory, grant, make_branch, make_committee, set_rule
from tests.members import make_id

pytestmark = pytest.mark.django_db

MEMBERS = reverse("api-member-list")
LOOKUP = reverse("api-member-lookup")
TRANSFERS = reverse("api-transfer-list")

ID_A, PHONE_A = make_id(dt.date(1990, 5, 6), seq=11), "13912345678"
ID_B, PHONE_B = make_id(dt.date(1985, 7, 8), seq=12), "13712345679"
ID_F, PHONE_F = make_id(dt.date(1992, 2, 3), seq=13), "13612345670"


def member_url(pk, step: str | None = None) -> str:
    return reverse(f"api-member-{step}" if step else "api-member-detail", args=[pk])


def transfer_url(pk, step: str | None = None) -> str:
    return reverse(f"api-transfer-{step}" if step else "api-transfer-detail", args=[pk])


def post(client, url, data=None, **headers):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **headers)


def patch(client, url, data, **headers):
    return client.patch(url, json.dumps(data), content_type="application/json", **headers)


def rows(response) -> list[dict]:
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content[:400]
    return {row["id"] for row in rows(response)}


@pytest.fixture
def people(world):
    """Three registered people with real ID numbers and phones: two in 顺丰站点党支部, one in 美团站点党支部."""
    a = member_create(actor=SYSTEM, org=world.br_a, id_number=ID_A, phone=PHONE_A, name="张接口", stage=Stage.FULL,
                      workplace=world.wp_a, roles=["grid", "vanguard"])
    b = member_create(actor=SYSTEM, org=world.br_a, id_number=ID_B, phone=PHONE_B, name="李接口", stage=Stage.APPLICANT,
                      applied_on=world.today - dt.timedelta(days=30))
    f = member_create(actor=SYSTEM, org=world.br_f, id_number=ID_F, phone=PHONE_F, name="王接口", stage=Stage.FULL)
    return {"a": a, "b": b, "f": f}


@pytest.fixture
def sides(world):
    """A sending secretary at 顺丰站点党支部 (express) and a receiving one at 美团站点党支部 (food): unrelated subtrees."""
    send = UserFactory(username="api_send")
    grant(send, world.br_a, Role.SECRETARY)
    recv = UserFactory(username="api_recv")
    grant(recv, world.br_f, Role.SECRETARY)
    return {"send": send, "recv": recv}


def assert_no_plaintext(responses, *values):
    for response in responses:
        text = response.content.decode()
        for value in values:
            assert value not in text, f"{value} in {response.request['PATH_INFO']}: {text[:300]}"
        for secret in ("id_number_encrypted", "id_number_index", "phone_encrypted", "phone_index"):
            assert secret not in text


# ---------------------------------------------------------------- masking
def test_no_response_carries_a_full_id_number_or_phone(client, world, people, sides):
    client.force_login(world.district_user)
    a = people["a"]
    seen = [
        client.get(MEMBERS, {"per_page": 100}),
        client.get(member_url(a.pk)),
        post(client, LOOKUP, {"id_number": ID_A}),
        post(client, LOOKUP, {"phone": PHONE_B}),
        patch(client, member_url(a.pk), {"employer": "顺丰"}),
        post(client, member_url(people["b"].pk, "advance"), {"to_stage": "activist", "on": world.today.isoformat()}),
        post(client, MEMBERS, {"name": "重复者", "id_number": ID_F, "org": world.br_a.pk, "stage": "full"}),  # duplicate
        client.get(MEMBERS, {"q": "接口"}, HTTP_ACCEPT_LANGUAGE="en"),
    ]
    created = post(client, MEMBERS, {"name": "新登记", "id_number": make_id(seq=21), "phone": "13500001111",
                                     "org": world.br_a.pk, "stage": "full"})
    assert created.status_code == 201, created.content
    seen.append(created)
    transfer = transfer_request(actor=sides["send"], member=a, kind="internal", to_org=world.br_f, reason="调动",
                                dues_paid_until=world.today)
    seen += [client.get(TRANSFERS), client.get(transfer_url(transfer.pk))]
    assert all(r.status_code in (200, 201, 400) for r in seen), [r.status_code for r in seen]
    assert_no_plaintext(seen, ID_A, PHONE_A, ID_B, PHONE_B, ID_F, PHONE_F, make_id(seq=21), "13500001111")

    detail = client.get(member_url(a.pk)).json()
    assert detail["id_number_masked"] == crypto.mask_id_number(ID_A) == f"{ID_A[:3]}{'*' * 11}{ID_A[-4:]}"
    assert detail["phone_masked"] == crypto.mask_phone(PHONE_A) == "139****5678"
    assert detail["org"] == {"id": world.br_a.pk, "name": "顺丰站点党支部"}
    assert detail["workplace"] == {"id": world.wp_a.pk, "name": world.wp_a.name}
    assert detail["stage"] == "full" and detail["stage_display"] == "正式党员"
    assert detail["roles"] == ["grid", "vanguard"]
    assert detail["flags"] == {"lost_contact": False, "card_expired": False, "no_life": False}
    assert "birth_date" not in detail


# ---------------------------------------------------------------- lookup
def test_lookup_by_id_number_or_phone_answers_the_members_in_scope(client, world, people):
    twin = member_create(actor=SYSTEM, org=world.br_a, id_number=make_id(seq=31), phone=PHONE_A, name="同号家属",
                         stage=Stage.FULL)
    client.force_login(world.district_user)
    response = post(client, LOOKUP, {"id_number": ID_A.lower()[:-1] + ID_A[-1].lower()})
    assert response.status_code == 200 and [r["id"] for r in response.json()] == [people["a"].pk]
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert {r["id"] for r in post(client, LOOKUP, {"phone": "139 1234 5678"}).json()} == {people["a"].pk, twin.pk}
    assert post(client, LOOKUP, {"id_number": make_id(seq=99)}).json() == []

    # The secretary of 快递联合党支部 sees neither branch: the same ID number is simply not found.
    client.force_login(world.secretary)
    assert post(client, LOOKUP, {"id_number": ID_A}).json() == []
    assert post(client, LOOKUP, {"phone": PHONE_F}).json() == []

    # A receiving-side secretary finds only its own member.
    recv = UserFactory()
    grant(recv, world.br_f, Role.SECRETARY)
    client.force_login(recv)
    assert [r["id"] for r in post(client, LOOKUP, {"id_number": ID_F}).json()] == [people["f"].pk]


def test_lookup_refuses_bad_input_and_get_refuses_a_number_in_the_url(client, world, people):
    client.force_login(world.district_user)
    for body, field in (({}, None), ({"id_number": ID_A, "phone": PHONE_A}, None), ({"id_number": "1101011990"}, "id_number"),
                        ({"phone": "1391234"}, "phone"), ({"id_number": PHONE_A}, "id_number"), ({"phone": ID_A}, "phone")):
        response = post(client, LOOKUP, body)
        assert response.status_code == 400, body
        error = response.json()
        assert set(error) == {"code", "message", "fields"} and error["code"] == "invalid"
        if field:
            assert error["fields"] == {field: ["请输入完整的18位身份证号或11位手机号。"]}
        else:
            assert error["message"] == "请输入完整的18位身份证号或11位手机号。"
    response = client.get(MEMBERS, {"pid": ID_A})
    assert response.status_code == 400 and "pid" in response.json()["fields"] and "results" not in response.json()
    assert client.get(LOOKUP).status_code == 405  # the number never goes in a URL
    client.force_login(world.viewer)  # no member.view
    assert post(client, LOOKUP, {"id_number": ID_A}).status_code == 403


# ---------------------------------------------------------------- register and edit
def test_register_through_the_api(client, world):
    client.force_login(world.secretary)  # 快递联合党支部
    new_id = make_id(dt.date(1995, 1, 2), seq=41)
    response = post(client, MEMBERS, {"name": "赵新", "id_number": new_id, "phone": "13811112222", "org": world.jb.pk,
                                      "stage": "full", "workplace": world.wp_b.pk, "roles": ["grid"], "occupation": "rider"})
    assert response.status_code == 201, response.content
    body = response.json()
    member = Member.objects.get(pk=body["id"])
    assert (member.org, member.workplace, member.birth_date) == (world.jb, world.wp_b, dt.date(1995, 1, 2))
    assert crypto.decrypt(member.id_number_encrypted) == new_id and body["id_number_masked"] == crypto.mask_id_number(new_id)
    assert body["roles"] == ["grid"] and body["occupation_display"] == "外卖骑手"
    assert member.stage_events.count() == 1

    before = Member.objects.count()
    bad_checksum = new_id[:17] + ("0" if new_id[17] != "0" else "1")
    response = post(client, MEMBERS, {"name": "错号", "id_number": bad_checksum, "org": world.jb.pk, "stage": "full"})
    assert response.status_code == 400 and "校验位错误" in response.json()["fields"]["id_number"][0]
    # an org outside the caller's scope "does not exist"; a workplace outside it too
    response = post(client, MEMBERS, {"name": "越界", "id_number": make_id(seq=42), "org": world.br_f.pk, "stage": "full"})
    assert response.status_code == 400 and "org" in response.json()["fields"]
    response = post(client, MEMBERS, {"name": "越界", "id_number": make_id(seq=43), "org": world.jb.pk, "stage": "full",
                                      "workplace": world.wp_f.pk})
    assert response.status_code == 400 and "workplace" in response.json()["fields"]
    # the action's rule: an applicant must be old enough
    fifteen = dt.date(timezone.localdate().year - 15, 1, 1)
    response = post(client, MEMBERS, {"name": "少年", "id_number": make_id(fifteen, seq=44), "org": world.jb.pk,
                                      "stage": "applicant"})
    assert response.status_code == 400 and response.json()["fields"] == {"birth_date": [response.json()["message"]]}
    assert "年满" in response.json()["message"]
    assert Member.objects.count() == before


def test_already_registered_is_refused_logged_and_rate_limited(client, world, people):
    set_rule("duplicate_refusals_per_user_per_day", 1)
    client.force_login(world.secretary)
    payload = {"name": "查重", "id_number": ID_F, "org": world.jb.pk, "stage": "full"}
    response = post(client, MEMBERS, payload)
    assert response.status_code == 400
    assert response.json()["fields"] == {"id_number": ["该身份证号已在系统中登记，请联系区委组织部核实。"]}  # no name, no org
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.DUPLICATE_REFUSED, user=world.secretary).count() == 1
    response = post(client, MEMBERS, payload)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled" and "已在系统中登记" not in response.json()["message"]
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.RATE_LIMITED, user=world.secretary).count() == 1
    assert Member.objects.filter(name="查重").count() == 0


def test_edit_through_the_api(client, world, people):
    a = people["a"]
    client.force_login(world.district_user)
    response = patch(client, member_url(a.pk), {"name": "张改名", "phone": "13600009999", "roles": ["model_post"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "张改名" and body["phone_masked"] == "136****9999" and body["roles"] == ["model_post"]
    a.refresh_from_db()
    assert crypto.decrypt(a.phone_encrypted) == "13600009999" and a.workplace == world.wp_a  # untouched fields stay
    assert crypto.decrypt(a.id_number_encrypted) == ID_A

    for locked in ({"stage": "applicant"}, {"org": world.br_f.pk}):
        response = patch(client, member_url(a.pk), locked)
        assert response.status_code == 400 and list(response.json()["fields"]) == list(locked)
    a.refresh_from_db()
    assert (a.stage, a.org_id) == (Stage.FULL, world.br_a.pk)
    response = patch(client, member_url(a.pk), {"relation_kind": "lost_contact"})  # the action's rule
    assert response.status_code == 400 and "lost_contact_since" in response.json()["fields"]

    client.force_login(world.secretary)  # 快递联合党支部: 顺丰站点党支部's member is out of scope
    response = patch(client, member_url(a.pk), {"name": "越界"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# ---------------------------------------------------------------- advance
def test_advance_one_stage_and_refusals(client, world, people):
    b = people["b"]
    client.force_login(world.district_user)
    url = member_url(b.pk, "advance")
    response = post(client, url, {"to_stage": "activist", "on": world.today.isoformat(), "note": "支委会确定"})
    assert response.status_code == 200 and response.json()["stage"] == "activist"
    assert response.json()["activist_on"] == world.today.isoformat()
    b.refresh_from_db()
    assert b.stage == Stage.ACTIVIST and b.stage_events.filter(to_stage=Stage.ACTIVIST).count() == 1

    # The same request again (a double click) is refused by the action's rule: no skipping, no going back.
    response = post(client, url, {"to_stage": "activist", "on": world.today.isoformat()})
    assert response.status_code == 400 and response.json()["fields"].keys() == {"to_stage"}
    assert "不能跳过或倒退" in response.json()["message"]
    response = post(client, url, {"to_stage": "activist", "on": world.today.isoformat()}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"].startswith("From “") and "cannot be skipped or reversed" in response.json()["message"]
    # too early for a candidate (the rule row's months)
    response = post(client, url, {"to_stage": "candidate", "on": world.today.isoformat()})
    assert response.status_code == 400 and "on" in response.json()["fields"]
    b.refresh_from_db()
    assert b.stage == Stage.ACTIVIST and b.stage_events.count() == 2

    client.force_login(world.secretary)
    assert post(client, url, {"to_stage": "candidate", "on": world.today.isoformat()}).status_code == 404


# ---------------------------------------------------------------- filters and ordering
def test_member_filters_each_narrow(client, world):
    committee = make_committee("筛选行业党委", parent=world.root, code="FLT")
    one = make_branch("筛选一支部", parent=committee, code="FLT-1")
    two = make_branch("筛选二支部", parent=committee, code="FLT-2")
    place = WorkplaceFactory(responsible_org=committee, name="筛选站")
    today = timezone.localdate()
    m = {
        "full": MemberFactory(org=one, stage=Stage.FULL, gender="male", education="college", workplace=place, name="A-甲筛"),
        "prob": MemberFactory(org=one, stage=Stage.PROBATIONARY, gender="female", occupation="rider", name="B-乙筛"),
        "applicant": MemberFactory(org=two, stage=Stage.APPLICANT, education="senior", name="C-丙筛"),
        "mobile": MemberFactory(org=two, relation_kind=RelationKind.MOBILE, home_org_name="老家党支部",
                                mobile_card_valid_until=today - dt.timedelta(days=1), name="D-丁筛"),
        "lost": MemberFactory(org=two, relation_kind=RelationKind.LOST_CONTACT,
                              lost_contact_since=today - dt.timedelta(days=800), name="E-戊筛"),
    }
    role_member = member_create(actor=SYSTEM, org=two, id_number=make_id(seq=51), name="F-己筛", stage=Stage.FULL,
                                roles=["emergency_agent"])
    every = {x.pk for x in m.values()} | {role_member.pk}
    client.force_login(world.district_user)

    def got(**params):
        return ids(client.get(MEMBERS, {"org": committee.pk, "per_page": 100, **params}))

    assert got() == every
    assert got(org=one.pk) == {m["full"].pk, m["prob"].pk}  # subtree of one branch
    assert got(org=two.pk) == every - {m["full"].pk, m["prob"].pk}
    assert got(stage="probationary") == {m["prob"].pk}
    assert got(stage="applicant") == {m["applicant"].pk}
    assert got(party_member="true") == every - {m["applicant"].pk}
    assert got(party_member="false") == {m["applicant"].pk}
    assert got(relation_kind="mobile") == {m["mobile"].pk}
    assert got(occupation="rider") == {m["prob"].pk}
    assert got(gender="female") == {m["prob"].pk}
    assert got(education="senior") == {m["applicant"].pk}
    assert got(workplace=place.pk) == {m["full"].pk}
    assert got(flag="card_expired") == {m["mobile"].pk}
    assert got(flag="lost_contact") == {m["lost"].pk}
    assert got(role="emergency_agent") == {role_member.pk}
    assert got(q="丙") == {m["applicant"].pk}
    Member.objects.filter(pk=m["full"].pk).update(updated_at=timezone.now() - dt.timedelta(days=10))
    assert got(updated_since=(timezone.now() - dt.timedelta(days=1)).isoformat()) == every - {m["full"].pk}
    assert client.get(MEMBERS, {"stage": "nonsense"}).status_code == 400  # a bad value is an error, not "everything"

    # ordering: by name either way; the default is newest first
    names = [r["name"] for r in rows(client.get(MEMBERS, {"org": committee.pk, "ordering": "name"}))]
    assert names == ["A-甲筛", "B-乙筛", "C-丙筛", "D-丁筛", "E-戊筛", "F-己筛"]
    assert [r["name"] for r in rows(client.get(MEMBERS, {"org": committee.pk, "ordering": "-name"}))] == names[::-1]
    default = [r["id"] for r in rows(client.get(MEMBERS, {"org": committee.pk}))]
    assert default == sorted(default, reverse=True)


def test_member_list_pages_by_cursor(client, world):
    branch = make_branch("分页支部", parent=world.express, code="PG-1")
    made = {MemberFactory(org=branch).pk for _ in range(5)}
    client.force_login(world.district_user)
    first = client.get(MEMBERS, {"org": branch.pk, "per_page": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    second = client.get(first["next"]).json()
    assert {r["id"] for r in first["results"]} | {r["id"] for r in second["results"]} == made and not second["next"]


# ---------------------------------------------------------------- transfers
def request_transfer(client, member, to_org, **extra):
    return post(client, TRANSFERS, {"member": member.pk, "to_org": to_org.pk, "dues_paid_until": timezone.localdate().isoformat(),
                                    "reason": "工作调动", **extra})


def test_request_approve_receive_complete_moves_the_member_once(client, world, people, sides):
    a = people["a"]
    client.force_login(sides["send"])
    response = request_transfer(client, a, world.br_f)  # the receiving org lies outside the requester's scope
    assert response.status_code == 201, response.content
    body = response.json()
    pk = body["id"]
    assert body["status"] == "requested" and body["from_org"]["id"] == world.br_a.pk and body["to_org"]["id"] == world.br_f.pk
    assert [e["kind"] for e in body["events"]] == ["requested"] and body["events"][0]["actor"]["id"] == sides["send"].pk
    assert body["steps"] == ["approve", "send-back", "withdraw"] and body["version"] == 0

    response = post(client, transfer_url(pk, "approve"), {"version": 0, "letter_number": "ZJ-API-1"})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert response.json()["letter_number"] == "ZJ-API-1" and response.json()["letter_valid_until"]
    a.refresh_from_db()
    assert a.org_id == world.br_a.pk  # the sending org stays responsible until completion

    client.force_login(sides["recv"])
    assert client.get(transfer_url(pk)).json()["steps"] == ["receive", "send-back"]
    response = post(client, transfer_url(pk, "receive"), {"version": 1})
    assert response.status_code == 200 and response.json()["status"] == "received"
    a.refresh_from_db()
    assert a.org_id == world.br_a.pk and MemberOrgHistory.objects.filter(member=a).count() == 0
    response = post(client, transfer_url(pk, "complete"), {"version": 2})
    assert response.status_code == 200 and response.json()["status"] == "completed" and response.json()["steps"] == []
    assert [e["kind"] for e in response.json()["events"]] == ["requested", "approved", "received", "completed"]
    a.refresh_from_db()
    assert a.org_id == world.br_f.pk
    history = MemberOrgHistory.objects.get(member=a)
    assert (history.from_org_id, history.to_org_id, history.transfer_id) == (world.br_a.pk, world.br_f.pk, pk)

    # Completing again changes nothing: 409, still one history row.
    response = post(client, transfer_url(pk, "complete"), {})
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert MemberOrgHistory.objects.filter(member=a).count() == 1


def test_a_second_or_stale_approve_is_409(client, world, people, sides):
    t = transfer_request(actor=sides["send"], member=people["a"], kind="internal", to_org=world.br_f, reason="调动",
                         dues_paid_until=world.today)
    client.force_login(sides["send"])
    assert post(client, transfer_url(t.pk, "approve"), {"version": 0}).status_code == 200
    response = post(client, transfer_url(t.pk, "approve"), {})  # already approved: the status check
    assert response.status_code == 409 and response.json()["code"] == "conflict" and "转出方已审批" in response.json()["message"]
    response = post(client, transfer_url(t.pk, "approve"), {"version": 0})  # what the client saw is stale
    assert response.status_code == 409 and "刚刚已被他人处理" in response.json()["message"]
    response = post(client, transfer_url(t.pk, "approve"), {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409 and response.json()["message"].startswith("This transfer is now")
    assert TransferEvent.objects.filter(transfer=t, kind="approved").count() == 1

    # A stale receive (the receiving side saw version 0) is a conflict too, and nothing moves.
    client.force_login(sides["recv"])
    assert post(client, transfer_url(t.pk, "receive"), {"version": 0}).status_code == 409
    t.refresh_from_db()
    assert (t.status, t.version) == (TransferStatus.APPROVED, 1)


def test_the_wrong_side_is_refused_and_an_unrelated_district_gets_404(client, world, people, sides):
    t = transfer_request(actor=sides["send"], member=people["a"], kind="internal", to_org=world.br_f, reason="调动",
                         dues_paid_until=world.today)
    client.force_login(sides["recv"])
    response = post(client, transfer_url(t.pk, "approve"), {})
    assert response.status_code == 400 and "只有转出方" in response.json()["message"]
    response = post(client, transfer_url(t.pk, "withdraw"), {})
    assert response.status_code == 400 and "只有申请人本人" in response.json()["message"]

    client.force_login(world.secretary)  # 快递联合党支部: neither side
    assert client.get(transfer_url(t.pk)).status_code == 404
    assert t.pk not in ids(client.get(TRANSFERS))
    for step in ("approve", "receive", "complete", "send-back", "withdraw"):
        response = post(client, reverse(f"api-transfer-{step}", args=[t.pk]), {"reason": "越界"})
        assert response.status_code == 404 and response.json()["code"] == "not_found", step
    t.refresh_from_db()
    assert (t.status, t.version) == (TransferStatus.REQUESTED, 0)


def test_send_back_needs_a_reason_and_withdraw_is_the_requesters(client, world, people, sides):
    t = transfer_request(actor=sides["send"], member=people["a"], kind="internal", to_org=world.br_f, reason="调动",
                         dues_paid_until=world.today)
    client.force_login(sides["recv"])
    response = post(client, transfer_url(t.pk, "send-back"), {"reason": ""})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = post(client, transfer_url(t.pk, "send-back"), {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = post(client, transfer_url(t.pk, "send-back"), {"reason": "材料不全", "version": 0})
    assert response.status_code == 200 and response.json()["status"] == "returned"
    last = response.json()["events"][-1]
    assert (last["kind"], last["reason"], last["actor"]["id"]) == ("returned", "材料不全", sides["recv"].pk)
    response = post(client, transfer_url(t.pk, "send-back"), {"reason": "再退"})
    assert response.status_code == 409

    # a new request, withdrawn by its requester; then no more withdrawing
    client.force_login(sides["send"])
    pk = request_transfer(client, people["a"], world.br_f).json()["id"]
    response = post(client, transfer_url(pk, "withdraw"), {"reason": "暂缓"})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert post(client, transfer_url(pk, "withdraw"), {}).status_code == 409
    assert Transfer.objects.filter(member=people["a"], status__in=["requested", "approved", "received"]).count() == 0


def test_request_refusals(client, world, people, sides):
    client.force_login(sides["send"])
    response = request_transfer(client, people["a"], world.br_a)
    assert response.status_code == 400 and "to_org" in response.json()["fields"]
    response = request_transfer(client, people["a"], world.br_dead)  # dissolved: not a receiving org
    assert response.status_code == 400 and "to_org" in response.json()["fields"]
    response = request_transfer(client, people["f"], world.br_a)  # a member outside the requester's scope
    assert response.status_code == 400 and "member" in response.json()["fields"]
    response = request_transfer(client, people["a"], world.br_f, kind="out")
    assert response.status_code == 400 and response.json()["fields"] == {"external_org_name": ["请填写系统外党组织名称。"]}
    assert request_transfer(client, people["a"], world.br_f).status_code == 201
    response = request_transfer(client, people["a"], world.br_f)  # one open transfer per member
    assert response.status_code == 400 and "正在办理" in response.json()["message"]
    assert Transfer.objects.count() == 1
    client.force_login(world.viewer)
    assert request_transfer(client, people["a"], world.br_f).status_code == 403


def test_transfer_filters_each_narrow(client, world, people, sides):
    out = transfer_request(actor=sides["send"], member=people["a"], kind="internal", to_org=world.br_f, reason="调动",
                           dues_paid_until=world.today)
    back = transfer_request(actor=sides["recv"], member=people["f"], kind="internal", to_org=world.br_a, reason="回调",
                            dues_paid_until=world.today, cross_province=True)
    gone = transfer_request(actor=sides["send"], member=people["b"], kind="out", external_org_name="外省某支部",
                            reason="返乡", dues_paid_until=world.today)
    Transfer.objects.filter(pk=gone.pk).update(status=TransferStatus.WITHDRAWN,
                                               requested_at=timezone.now() - dt.timedelta(days=40))
    client.force_login(world.district_user)

    def got(**params):
        return ids(client.get(TRANSFERS, {"per_page": 100, **params}))

    assert got() == {out.pk, back.pk, gone.pk}
    assert got(status="requested") == {out.pk, back.pk}
    assert ids(client.get(TRANSFERS + "?status=withdrawn&status=requested")) == {out.pk, back.pk, gone.pk}
    assert got(kind="out") == {gone.pk}
    assert got(is_open="true") == {out.pk, back.pk} and got(is_open="false") == {gone.pk}
    assert got(member=people["f"].pk) == {back.pk}
    assert got(from_org=world.br_a.pk) == {out.pk, gone.pk}
    assert got(to_org=world.br_a.pk) == {back.pk}
    assert got(org=world.food.pk) == {out.pk, back.pk}  # either side in the subtree
    assert got(cross_province="true") == {back.pk}
    assert got(requested_from=(world.today - dt.timedelta(days=1)).isoformat()) == {out.pk, back.pk}
    assert got(requested_to=(world.today - dt.timedelta(days=30)).isoformat()) == {gone.pk}
    client.force_login(sides["send"])  # the page boxes: waiting for my side / leaving my orgs
    assert ids(client.get(TRANSFERS, {"box": "inbox"})) == {out.pk}
    assert ids(client.get(TRANSFERS, {"box": "outbox"})) == {out.pk, gone.pk}
    assert ids(client.get(TRANSFERS, {"box": "open"})) == {out.pk, back.pk}
    client.force_login(sides["recv"])
    assert ids(client.get(TRANSFERS, {"box": "inbox"})) == {back.pk}
    assert ids(client.get(TRANSFERS)) == {out.pk, back.pk}  # both sides see a transfer
    client.force_login(world.district_user)
    assert [r["id"] for r in rows(client.get(TRANSFERS, {"ordering": "requested_at"}))] == [gone.pk, out.pk, back.pk]


# ---------------------------------------------------------------- query counts
def _count(client, url, params=None):
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"per_page": 100, **(params or {})})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(rows(response))


def test_member_list_query_count_is_constant(client, world):
    branch = make_branch("计数支部", parent=world.express, code="QC-1")
    place = WorkplaceFactory(responsible_org=world.express)
    client.force_login(world.district_user)

    def add(n):
        for i in range(n):
            member_create(actor=SYSTEM, org=branch, id_number=make_id(seq=200 + add.serial + i), phone=f"1390000{add.serial + i:04d}",
                          name=f"计数{add.serial + i}", stage=Stage.FULL, workplace=place, roles=["grid", "vanguard"])
        add.serial += n

    add.serial = 0
    add(2)
    small, n_small = _count(client, MEMBERS, {"org": branch.pk})
    add(8)
    large, n_large = _count(client, MEMBERS, {"org": branch.pk})
    assert (n_small, n_large) == (2, 10)
    assert small == large


def test_transfer_list_query_count_is_constant(client, world, sides):
    client.force_login(world.district_user)

    def add(n):
        for _ in range(n):
            member = MemberFactory(org=world.br_a)
            t = transfer_request(actor=sides["send"], member=member, kind="internal", to_org=world.br_f, reason="调动",
                                 dues_paid_until=world.today)
            from members.actions.transfers import transfer_approve

            transfer_approve(actor=sides["send"], transfer=t)

    add(2)
    small, n_small = _count(client, TRANSFERS)
    add(6)
    large, n_large = _count(client, TRANSFERS)
    assert (n_small, n_large) == (2, 8)
    assert small == large
