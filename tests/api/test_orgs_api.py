"""The org-tree resources of the REST API: orgs (children, ancestors, filters, writes, transitions), the coverage
endpoint, regions, workplaces, instructors, assignments, accounts, grants and the audit log. Scope, filters,
ordering, errors (400/403/404/409, English messages), masking and constant query counts at two data sizes.
The generic cases (401, 403, 404, own object, writes) run from tests/api/writes_orgs.py in test_every_endpoint."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone

from core.models import AuditEntry, User
from members.actions import member_create
from members.models import Stage
from orgs.actions import org_dissolve
from orgs.models import Assignment, Organization, OrgEvent, OrgStatus, RegionKind, Role, RoleGrant, Workplace
from tests.factories import (
    AssignmentFactory,
    InstructorFactory,
    UserFactory,
    WorkplaceFactory,
    fresh,
    grant,
    make_branch,
    make_committee,
    make_joint_branch,
    make_org,
    make_region,
    make_root,
    reload,
)
from tests.members import make_id

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
JSON = "application/json"


class World:
    """区 → 东街道 (东一社区), 西街道; root → 快递行业党委 (甲支部 → 甲小组, 乙联合支部), 外卖行业党委 (丙支部)."""

    def __init__(self):
        from core.audit import SYSTEM

        self.district = make_region("示范区", code="W-D")
        self.east = make_region("东街道", parent=self.district, code="W-E")
        self.east_one = make_region("东一社区", parent=self.east, code="W-E1")
        self.west = make_region("西街道", parent=self.district, code="W-W")
        self.root = make_root("区委两新工委", code="W-ROOT", region=self.district)
        self.express = make_committee("快递行业党委", parent=self.root, code="W-EXP", industry="express", region=self.east)
        self.food = make_committee("外卖行业党委", parent=self.root, code="W-FOOD", industry="food_delivery", region=self.west)
        self.wa = WorkplaceFactory(name="甲网点", region=self.east_one, responsible_org=self.express)
        self.wb = WorkplaceFactory(name="乙站点", region=self.west, responsible_org=self.food)
        self.br_a = make_branch("甲支部", parent=self.express, code="W-A", workplaces=[self.wa], industry="express",
                                region=self.east_one)
        self.group = make_org("甲小组", parent=self.br_a, kind="party_group", code="W-G")
        self.br_b = make_joint_branch("乙联合支部", parent=self.express, code="W-B", industry="express", region=self.west)
        self.br_f = make_branch("丙支部", parent=self.food, code="W-F", workplaces=[self.wb], industry="food_delivery",
                                region=self.west)
        self.system = SYSTEM
        self.staff_root = self.user("staff-root", self.root, Role.DISTRICT)
        self.staff_exp = self.user("staff-exp", self.express, Role.DISTRICT)
        self.secretary = self.user("secretary-a", self.br_a, Role.SECRETARY)
        self.viewer = self.user("viewer-root", self.root, Role.VIEWER)
        for name in ("express", "food", "br_a", "group", "br_b", "br_f", "root"):
            setattr(self, name, reload(getattr(self, name)))

    @staticmethod
    def user(username, org, role):
        account = UserFactory(username=username, display_name=username)
        grant(account, org, role)
        return account


@pytest.fixture
def world():
    return World()


def as_user(client, user):
    client.force_login(user)
    return client


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:400]
    return response.json()["results"]


def names(response) -> list[str]:
    return [row["name"] for row in results(response)]


def queries(client, url, params=None) -> int:
    client.get(url, params)  # warm: session, grant cache
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    if code:
        assert body["code"] == code
    return body


# ---------------------------------------------------------------- orgs: list, scope, tree fields
def test_org_list_is_scoped_in_tree_order_with_parents_in_scope(client, world):
    body = results(as_user(client, world.staff_exp).get("/api/v1/orgs/"))
    assert [o["name"] for o in body] == ["快递行业党委", "甲支部", "甲小组", "乙联合支部"]
    by_name = {o["name"]: o for o in body}
    assert by_name["快递行业党委"]["parent"] is None  # the root is outside this caller's scope
    assert (by_name["甲支部"]["parent"], by_name["甲支部"]["parent_name"]) == (world.express.pk, "快递行业党委")
    assert by_name["甲支部"]["workplaces"] == [world.wa.pk]
    assert by_name["甲支部"]["kind_display"] == "党支部" and by_name["甲支部"]["region_name"] == "东一社区"
    assert client.get(f"/api/v1/orgs/{world.br_f.pk}/").status_code == 404


FILTER_CASES = [
    ({"kind": "branch"}, {"甲支部", "丙支部"}),
    ({"kind": "joint_branch"}, {"乙联合支部"}),
    ({"industry": "food_delivery"}, {"外卖行业党委", "丙支部"}),
    ({"formation_mode": "joint"}, {"乙联合支部"}),
    ({"region": "@east"}, {"快递行业党委", "甲支部"}),  # the region and its sub-areas
    ({"parent": "@express"}, {"甲支部", "乙联合支部"}),
    ({"subtree": "@br_a"}, {"甲支部", "甲小组"}),
    ({"subtree": "@food"}, {"外卖行业党委", "丙支部"}),
    ({"q": "联合"}, {"乙联合支部"}),
    ({"q": "w-a"}, {"甲支部"}),  # the code, case-insensitive
    ({"status": "dissolved"}, {"甲小组"}),
    ({"kind": "branch", "industry": "express"}, {"甲支部"}),
]


def test_org_filters_each_narrow(client, world):
    org_dissolve(actor=world.system, org=world.group, reason="撤并")
    as_user(client, world.staff_root)
    wrong = {}
    for params, expected in FILTER_CASES:
        query = {k: getattr(world, v[1:]).pk if v.startswith("@") else v for k, v in params.items()}
        got = set(names(client.get("/api/v1/orgs/", query)))
        if got != expected:
            wrong[json.dumps(params, ensure_ascii=False)] = (got, expected)
    assert wrong == {}
    assert len(names(client.get("/api/v1/orgs/", {"status": "active"}))) == 6  # all but the dissolved group


def test_org_filter_naming_an_org_outside_scope_is_invalid(client, world):
    as_user(client, world.staff_exp)
    assert error(client.get("/api/v1/orgs/", {"parent": world.food.pk}), 400, "invalid")["fields"].keys() == {"parent"}
    assert error(client.get("/api/v1/orgs/", {"kind": "bogus"}), 400)["fields"].keys() == {"kind"}


def test_org_ordering(client, world):
    as_user(client, world.staff_root)
    assert names(client.get("/api/v1/orgs/", {"ordering": "name"})) == sorted(
        ["区委两新工委", "快递行业党委", "外卖行业党委", "甲支部", "甲小组", "乙联合支部", "丙支部"])
    codes = [o["code"] for o in results(client.get("/api/v1/orgs/", {"ordering": "-code"}))]
    assert codes == sorted(codes, reverse=True) and len(codes) == 7


# ---------------------------------------------------------------- children and ancestors
def test_children_are_direct_visible_and_paged(client, world):
    org_dissolve(actor=world.system, org=world.br_b, reason="撤并")
    as_user(client, world.staff_root)
    url = f"/api/v1/orgs/{world.express.pk}/children/"
    assert names(client.get(url)) == ["甲支部", "乙联合支部"]  # not the party group under 甲支部
    assert names(client.get(url, {"status": "active"})) == ["甲支部"]
    first = client.get(url, {"per_page": 1}).json()
    assert [o["name"] for o in first["results"]] == ["甲支部"] and first["next"]
    second = client.get(first["next"]).json()
    assert [o["name"] for o in second["results"]] == ["乙联合支部"] and second["next"] is None
    as_user(client, world.secretary)
    assert names(client.get(f"/api/v1/orgs/{world.br_a.pk}/children/")) == ["甲小组"]
    error(client.get(f"/api/v1/orgs/{world.food.pk}/children/"), 404, "not_found")


def test_ancestors_root_first_only_in_scope(client, world):
    url = f"/api/v1/orgs/{world.group.pk}/ancestors/"
    chain = as_user(client, world.staff_root).get(url).json()
    assert [o["name"] for o in chain] == ["区委两新工委", "快递行业党委", "甲支部"]
    assert chain[2]["parent"] == world.express.pk
    assert [o["name"] for o in as_user(client, world.staff_exp).get(url).json()] == ["快递行业党委", "甲支部"]
    assert [o["name"] for o in as_user(client, world.secretary).get(url).json()] == ["甲支部"]
    error(client.get(f"/api/v1/orgs/{world.br_f.pk}/ancestors/"), 404)
    assert as_user(client, world.staff_root).get(f"/api/v1/orgs/{world.root.pk}/ancestors/").json() == []


# ---------------------------------------------------------------- org writes
def test_create_org_through_the_action(client, world):
    as_user(client, world.staff_exp)
    payload = {"parent": world.express.pk, "kind": "branch", "name": "丁支部", "code": "W-D1", "formation_mode": "joint",
               "workplaces": [world.wa.pk], "reason": "新建"}
    response = client.post("/api/v1/orgs/", payload, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["parent"], body["kind"], body["workplaces"], body["status"]) == (world.express.pk, "branch", [world.wa.pk], "active")
    org = Organization.objects.get(pk=body["id"])
    assert OrgEvent.objects.filter(org=org, kind="established", reason="新建").exists()
    assert AuditEntry.objects.filter(action="org.create", object_id=str(org.pk), actor=world.staff_exp).exists()
    # the action's refusal, on its field
    refused = client.post("/api/v1/orgs/", {**payload, "parent": world.br_a.pk, "code": "W-D2"}, content_type=JSON)
    assert error(refused, 400, "invalid")["fields"].keys() == {"kind"}
    # a parent outside the caller's scope does not exist
    outside = client.post("/api/v1/orgs/", {**payload, "parent": world.food.pk, "code": "W-D3"}, content_type=JSON)
    assert error(outside, 400)["fields"].keys() == {"parent"}
    # the form's rule: a committee needs its election date
    committee = client.post("/api/v1/orgs/", {**payload, "code": "W-D4", "has_committee": True}, content_type=JSON)
    assert error(committee, 400)["fields"].keys() == {"committee_elected_on"}
    assert not Organization.objects.filter(code__in=["W-D2", "W-D3", "W-D4"]).exists()


def test_update_org_descriptive_fields_only(client, world):
    as_user(client, world.secretary)
    url = f"/api/v1/orgs/{world.br_a.pk}/"
    response = client.patch(url, {"name": "甲网点党支部", "secretary_name": "李四", "reason": "更名"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "甲网点党支部" and reload(world.br_a).secretary_name == "李四"
    assert OrgEvent.objects.filter(org=world.br_a, kind="renamed", reason="更名").exists()
    structural = client.patch(url, {"formation_mode": "joint"}, content_type=JSON)
    assert "formation_mode" in error(structural, 400)["message"]
    assert reload(world.br_a).formation_mode == "single"
    error(client.patch(f"/api/v1/orgs/{world.br_f.pk}/", {"name": "x"}, content_type=JSON), 404)


def test_restructure_by_the_level_above_with_document_and_reason(client, world):
    url = f"/api/v1/orgs/{world.br_a.pk}/restructure/"
    facts = {"has_committee": True, "committee_elected_on": "2026-01-10", "document_number": "快党〔2026〕3号", "reason": "换届"}
    as_user(client, world.secretary)
    refused = error(client.post(url, facts, content_type=JSON), 400)
    assert "上级党组织" in refused["message"] and refused["fields"].keys() == {"committee_elected_on"}
    assert reload(world.br_a).has_committee is False
    as_user(client, world.staff_exp)
    missing = error(client.post(url, {"has_committee": True, "committee_elected_on": "2026-01-10"}, content_type=JSON), 400)
    assert missing["fields"].keys() == {"document_number", "reason"}
    no_date = error(client.post(url, {**facts, "committee_elected_on": None}, content_type=JSON), 400)
    assert no_date["fields"].keys() == {"committee_elected_on"}
    response = client.post(url, facts, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["has_committee"] is True and response.json()["committee_elected_on"] == "2026-01-10"
    event = OrgEvent.objects.get(org=world.br_a, kind="updated")
    assert (event.document_number, event.reason) == ("快党〔2026〕3号", "换届")


def test_move_under_another_parent(client, world):
    as_user(client, world.staff_root)
    url = f"/api/v1/orgs/{world.br_b.pk}/move/"
    error(client.post(url, {"new_parent": world.food.pk}, content_type=JSON), 400)  # a reason is required
    response = client.post(url, {"new_parent": world.food.pk, "reason": "划转"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert (response.json()["parent"], response.json()["parent_name"]) == (world.food.pk, "外卖行业党委")
    as_user(client, world.staff_exp)  # the food committee is not theirs: the target does not exist for them
    error(client.post(f"/api/v1/orgs/{world.br_a.pk}/move/", {"new_parent": world.food.pk, "reason": "x"}, content_type=JSON), 400)


def test_dissolve_then_conflict_in_english(client, world):
    url = f"/api/v1/orgs/{world.br_b.pk}/dissolve/"
    as_user(client, world.secretary)
    error(client.post(url, {"reason": "x"}, content_type=JSON), 403, "permission_denied")
    as_user(client, world.staff_exp)
    error(client.post(f"/api/v1/orgs/{world.br_f.pk}/dissolve/", {"reason": "x"}, content_type=JSON), 404, "not_found")
    response = client.post(url, {"reason": "站点关停", "happened_on": "2026-03-01"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["dissolved_on"]) == (OrgStatus.DISSOLVED, "2026-03-01")
    again = error(client.post(url, {"reason": "再次"}, content_type=JSON, **EN), 409, "conflict")
    assert again["message"] == "This Party organization has already been dissolved."
    assert error(client.post(url, {"reason": "再次"}, content_type=JSON), 409)["message"] == "该党组织已经撤销。"


# ---------------------------------------------------------------- the coverage endpoint (coverage.api)
def test_coverage_endpoint_resolves_beside_the_org_routes(client, world):
    assert resolve(f"/api/v1/orgs/{world.express.pk}/coverage/").url_name == "api-org-coverage"
    assert resolve(f"/api/v1/orgs/{world.express.pk}/").url_name == "api-org-detail"
    assert resolve(f"/api/v1/orgs/{world.express.pk}/children/").url_name == "api-org-children"
    as_user(client, world.staff_exp)
    body = client.get(f"/api/v1/orgs/{world.express.pk}/coverage/").json()
    assert (body["org"]["workplaces"], body["org"]["org_covered"]) == (1, 1)
    assert {c["label"]: c["workplaces"] for c in body["children"]} == {"甲支部": 1, "乙联合支部": 0}
    error(client.get(f"/api/v1/orgs/{world.food.pk}/coverage/"), 404)


# ---------------------------------------------------------------- regions
def test_regions_are_a_tree_for_anyone_who_sees_orgs(client, world):
    as_user(client, world.secretary)
    body = {r["code"]: r for r in results(client.get("/api/v1/regions/"))}
    assert {"W-D", "W-E", "W-E1", "W-W"} <= set(body)
    assert body["W-E1"]["parent"] == world.east.pk and body["W-E1"]["parent_name"] == "东街道"
    assert body["W-D"]["parent"] is None and body["W-E"]["kind_display"] == "街道"
    streets = {r["code"] for r in results(client.get("/api/v1/regions/", {"kind": RegionKind.STREET}))}
    assert streets == {"W-E", "W-W"}
    assert {r["code"] for r in results(client.get("/api/v1/regions/", {"parent": world.east.pk}))} == {"W-E1"}
    as_user(client, UserFactory())  # no grant at all
    error(client.get("/api/v1/regions/"), 403, "permission_denied")


# ---------------------------------------------------------------- workplaces (coverage.api, orgs' actions)
def test_workplace_create_and_update(client, world):
    as_user(client, world.staff_exp)
    payload = {"name": "丁网点", "kind": "station", "industry": "express", "region": world.east.pk,
               "responsible_org": world.express.pk, "gig_worker_count": 12}
    response = client.post("/api/v1/workplaces/", payload, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["coverage_state"], body["responsible_org_name"], body["gig_worker_count"]) == ("none", "快递行业党委", 12)
    assert AuditEntry.objects.filter(action="workplace.create", object_id=str(body["id"])).exists()
    half = client.post("/api/v1/workplaces/", {**payload, "latitude": "39.9"}, content_type=JSON)
    assert error(half, 400)["message"] == "经纬度须同时填写或同时留空。"
    outside = client.post("/api/v1/workplaces/", {**payload, "responsible_org": world.food.pk}, content_type=JSON)
    assert error(outside, 400)["fields"].keys() == {"responsible_org"}
    patched = client.patch(f"/api/v1/workplaces/{body['id']}/", {"latitude": "39.9", "longitude": "116.4"}, content_type=JSON)
    assert patched.status_code == 200 and patched.json()["latitude"] == "39.900000"
    assert error(client.patch(f"/api/v1/workplaces/{body['id']}/", {"longitude": None}, content_type=JSON), 400)
    error(client.patch(f"/api/v1/workplaces/{world.wb.pk}/", {"name": "x"}, content_type=JSON), 404)
    assert Workplace.objects.filter(name="丁网点").count() == 1


def test_workplace_filters_are_the_pages(client, world):
    as_user(client, world.staff_root)
    WorkplaceFactory(name="空白网点", responsible_org=world.express, region=world.west)
    assert names(client.get("/api/v1/workplaces/", {"coverage": "none"})) == ["空白网点"]
    assert set(names(client.get("/api/v1/workplaces/", {"org": world.express.pk}))) == {"甲网点", "空白网点"}
    assert set(names(client.get("/api/v1/workplaces/", {"region": world.east.pk}))) == {"甲网点"}
    assert names(client.get("/api/v1/workplaces/", {"ordering": "name"})) == sorted(["甲网点", "乙站点", "空白网点"])


# ---------------------------------------------------------------- instructors and assignments
@pytest.fixture
def staffed(world):
    world.ins_a = InstructorFactory(name="王指导员", org=world.express)
    world.ins_f = InstructorFactory(name="赵联络员", org=world.food)
    world.as_a = AssignmentFactory(instructor=world.ins_a, workplace=world.wa)
    world.as_old = AssignmentFactory(instructor=world.ins_a, workplace=world.wa, role="liaison",
                                     started_on=timezone.localdate() - dt.timedelta(days=90),
                                     ended_on=timezone.localdate() - dt.timedelta(days=10))
    world.as_f = AssignmentFactory(instructor=world.ins_f, workplace=world.wb)
    return world


def test_instructors_scoped_and_filtered(client, staffed):
    world = staffed
    as_user(client, world.staff_exp)
    assert names(client.get("/api/v1/instructors/")) == ["王指导员"]
    as_user(client, world.staff_root)
    assert set(names(client.get("/api/v1/instructors/"))) == {"王指导员", "赵联络员"}
    assert names(client.get("/api/v1/instructors/", {"org": world.food.pk})) == ["赵联络员"]
    assert names(client.get("/api/v1/instructors/", {"q": "王"})) == ["王指导员"]
    error(as_user(client, world.viewer).get("/api/v1/instructors/"), 403)


def test_assignment_filters(client, staffed):
    world = staffed
    as_user(client, world.staff_root)

    def ids(**params):
        return {row["id"] for row in results(client.get("/api/v1/assignments/", params))}

    assert ids() == {world.as_a.pk, world.as_old.pk, world.as_f.pk}
    assert ids(active="true") == {world.as_a.pk, world.as_f.pk}
    assert ids(active="false") == {world.as_old.pk}
    assert ids(instructor=world.ins_f.pk) == {world.as_f.pk}
    assert ids(workplace=world.wa.pk) == {world.as_a.pk, world.as_old.pk}
    assert ids(role="liaison") == {world.as_old.pk}
    as_user(client, world.staff_exp)
    assert ids() == {world.as_a.pk, world.as_old.pk}
    error(client.get("/api/v1/assignments/", {"instructor": world.ins_f.pk}), 400)


def test_assignment_create_and_end_then_conflict(client, staffed):
    world = staffed
    as_user(client, world.staff_exp)
    payload = {"instructor": world.ins_a.pk, "org": world.br_b.pk, "role": "liaison", "started_on": "2026-01-05"}
    response = client.post("/api/v1/assignments/", payload, content_type=JSON)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["org_name"], created["workplace"], created["instructor_name"]) == ("乙联合支部", None, "王指导员")
    both = client.post("/api/v1/assignments/", {**payload, "workplace": world.wa.pk}, content_type=JSON)
    error(both, 400)  # exactly one of workplace and org (the model's rule, through the action)
    error(client.post("/api/v1/assignments/", {**payload, "instructor": world.ins_f.pk}, content_type=JSON), 400)
    backwards = client.post("/api/v1/assignments/", {**payload, "ended_on": "2026-01-01"}, content_type=JSON)
    assert error(backwards, 400)["fields"].keys() == {"ended_on"}
    url = f"/api/v1/assignments/{world.as_a.pk}/end/"
    ended = client.post(url, {}, content_type=JSON)
    assert ended.status_code == 200 and ended.json()["ended_on"] == timezone.localdate().isoformat()
    assert ended.json()["is_active"] is (reload(world.as_a).started_on <= timezone.localdate())
    again = error(client.post(url, {}, content_type=JSON, **EN), 409, "conflict")
    assert again["message"] == "This assignment has already ended."
    error(client.post(f"/api/v1/assignments/{world.as_f.pk}/end/", {}, content_type=JSON), 404)
    as_user(client, world.secretary)  # may view assignments, not change them
    error(client.post(f"/api/v1/assignments/{world.as_old.pk}/end/", {}, content_type=JSON), 403)
    assert Assignment.objects.filter(org=world.br_b).count() == 1


# ---------------------------------------------------------------- accounts and grants
def test_users_scoped_with_grants_in_scope_and_no_password(client, world):
    grant(world.secretary, world.br_f, Role.VIEWER)  # a grant outside staff-exp's subtree
    as_user(client, world.staff_exp)
    response = client.get("/api/v1/users/", {"ordering": "username"})
    body = results(response)
    assert [u["username"] for u in body] == ["secretary-a", "staff-exp"]
    secretary = body[0]
    assert [(g["org_name"], g["role"]) for g in secretary["grants"]] == [("甲支部", "secretary")]
    text = response.content.decode()
    assert "password" not in text and User.objects.get(username="secretary-a").password not in text
    error(client.get(f"/api/v1/users/{world.staff_root.pk}/"), 404)
    assert [u["username"] for u in results(client.get("/api/v1/users/", {"role": "secretary"}))] == ["secretary-a"]
    assert [u["username"] for u in results(client.get("/api/v1/users/", {"q": "staff"}))] == ["staff-exp"]
    error(as_user(client, world.secretary).get("/api/v1/users/"), 403)


def test_user_create_answers_the_link_once_then_deactivate(client, world):
    as_user(client, world.staff_exp)
    payload = {"username": "new-secretary", "display_name": "新书记", "org": world.br_b.pk, "role": "secretary"}
    response = client.post("/api/v1/users/", payload, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["password_link"].startswith("http://testserver/users/password/set/")
    assert response["Cache-Control"] == "no-store"
    assert [(g["org"], g["role"]) for g in body["grants"]] == [(world.br_b.pk, "secretary")]
    detail = client.get(f"/api/v1/users/{body['id']}/").json()
    assert "password_link" not in detail and detail["username"] == "new-secretary"
    assert not User.objects.get(pk=body["id"]).has_usable_password()
    outside = client.post("/api/v1/users/", {**payload, "username": "x2", "org": world.br_f.pk}, content_type=JSON)
    assert error(outside, 400)["fields"].keys() == {"org"}
    taken = client.post("/api/v1/users/", payload, content_type=JSON)
    assert error(taken, 400)["fields"].keys() == {"username"}
    off = client.post(f"/api/v1/users/{body['id']}/deactivate/", content_type=JSON)
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert [u["username"] for u in results(client.get("/api/v1/users/", {"is_active": "false"}))] == ["new-secretary"]
    error(client.post(f"/api/v1/users/{body['id']}/deactivate/", content_type=JSON), 400)
    on = client.post(f"/api/v1/users/{body['id']}/reactivate/", content_type=JSON)
    assert on.status_code == 200 and on.json()["is_active"] is True


def test_grants_list_create_revoke(client, world):
    as_user(client, world.staff_exp)
    listed = {(g["username"], g["org_name"]) for g in results(client.get("/api/v1/grants/"))}
    assert listed == {("secretary-a", "甲支部"), ("staff-exp", "快递行业党委")}
    created = client.post("/api/v1/grants/", {"user": world.secretary.pk, "org": world.br_b.pk, "role": "viewer"}, content_type=JSON)
    assert created.status_code == 201, created.content
    grant_id = created.json()["id"]
    assert {g["id"] for g in results(client.get("/api/v1/grants/", {"user": world.secretary.pk, "role": "viewer"}))} == {grant_id}
    assert {g["org_name"] for g in results(client.get("/api/v1/grants/", {"subtree": world.br_a.pk}))} == {"甲支部"}
    duplicate = client.post("/api/v1/grants/", {"user": world.secretary.pk, "org": world.br_b.pk, "role": "viewer"}, content_type=JSON)
    assert error(duplicate, 400)["fields"].keys() == {"role"}
    stranger = client.post("/api/v1/grants/", {"user": world.staff_root.pk, "org": world.br_b.pk, "role": "viewer"}, content_type=JSON)
    assert error(stranger, 400)["fields"].keys() == {"user"}  # an account outside the subtree does not exist
    assert client.delete(f"/api/v1/grants/{grant_id}/").status_code == 204
    assert not RoleGrant.objects.filter(pk=grant_id).exists()
    last = RoleGrant.objects.get(user=world.secretary)
    assert "唯一的授权" in error(client.delete(f"/api/v1/grants/{last.pk}/"), 400)["message"]
    root_grant = RoleGrant.objects.get(user=world.staff_root)
    error(client.delete(f"/api/v1/grants/{root_grant.pk}/"), 404)
    error(as_user(client, world.secretary).get("/api/v1/grants/"), 403)


# ---------------------------------------------------------------- the audit log
def test_audit_log_scoped_filtered_and_paged(client, world):
    as_user(client, world.staff_exp)
    client.patch(f"/api/v1/orgs/{world.br_a.pk}/", {"secretary_name": "李四"}, content_type=JSON)
    rows = results(client.get("/api/v1/audit/", {"per_page": 100}))
    paths = {row["org_path"] for row in rows}
    assert paths and all(path.startswith(world.express.path) for path in paths)
    assert rows[0]["action"] == "org.update" and rows[0]["actor"] == world.staff_exp.pk  # newest first
    assert any("书记" in line for line in rows[0]["change_lines"])
    created = [row["created_at"] for row in rows]
    assert created == sorted(created, reverse=True)

    def actions(**params):
        return [(row["action"], row["object_id"]) for row in results(client.get("/api/v1/audit/", params))]

    assert actions(actor=world.staff_exp.pk) == [("org.update", str(world.br_a.pk))]
    assert actions(what="org.update") == [("org.update", str(world.br_a.pk))]
    assert {a for a, _ in actions(what="org.")} == {"org.create", "org.update"}
    assert {o for _, o in actions(object_type="orgs.organization", object_id=str(world.br_b.pk))} == {str(world.br_b.pk)}
    assert {o for a, o in actions(org=world.br_a.pk) if a == "org.create"} == {str(world.br_a.pk), str(world.group.pk)}
    assert actions(date_from=(timezone.localdate() + dt.timedelta(days=1)).isoformat()) == []
    assert error(client.get("/api/v1/audit/", {"date_from": "not-a-date"}), 400)["fields"].keys() == {"date_from"}
    assert error(client.get("/api/v1/audit/", {"what": "DROP TABLE"}), 400)["fields"].keys() == {"what"}
    error(client.get("/api/v1/audit/", {"org": world.food.pk}), 404)
    # cursor pages keep the filters (the API's cursor is not the page's keyset position)
    page = client.get("/api/v1/audit/", {"what": "org.", "per_page": 2}).json()
    seen = [row["id"] for row in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    assert len(seen) == len(set(seen)) == len(actions(what="org.", per_page=100))
    error(as_user(client, world.viewer).get("/api/v1/audit/"), 403)


# ---------------------------------------------------------------- masking
def test_no_full_id_number_or_phone_in_any_response(client, world):
    id_number, phone = make_id(dt.date(1991, 2, 3), 7), "13912345678"
    member_create(actor=fresh(world.secretary), org=world.br_a, id_number=id_number, phone=phone, name="张三", stage=Stage.FULL)
    assert AuditEntry.objects.filter(action="member.create").exists()
    as_user(client, world.staff_root)
    urls = ["/api/v1/audit/", "/api/v1/orgs/", "/api/v1/users/", "/api/v1/grants/", "/api/v1/workplaces/",
            "/api/v1/assignments/", "/api/v1/instructors/", "/api/v1/regions/", f"/api/v1/orgs/{world.br_a.pk}/",
            f"/api/v1/orgs/{world.express.pk}/coverage/", f"/api/v1/orgs/{world.group.pk}/ancestors/"]
    audit_text = client.get("/api/v1/audit/", {"what": "member.", "per_page": 100}).content.decode()
    assert "member.create" in audit_text
    for url in urls:
        response = client.get(url, {"per_page": 100})
        assert response.status_code == 200, url
        text = response.content.decode()
        assert id_number not in text and phone not in text, url


# ---------------------------------------------------------------- constant queries at two sizes
LISTS = ["/api/v1/orgs/", "children", "/api/v1/regions/", "/api/v1/workplaces/", "/api/v1/instructors/",
         "/api/v1/assignments/", "/api/v1/users/", "/api/v1/grants/", "/api/v1/audit/"]


def _grow(world, n: int):
    for _ in range(n):
        region = make_region(parent=world.east)
        workplace = WorkplaceFactory(responsible_org=world.express, region=region)
        branch = make_branch(parent=world.express, workplaces=[workplace], region=region)
        instructor = InstructorFactory(org=branch)
        AssignmentFactory(instructor=instructor, workplace=workplace)
        account = UserFactory()
        grant(account, branch, Role.SECRETARY)
        grant(account, world.express, Role.VIEWER)


@pytest.mark.parametrize("url", LISTS)
def test_list_query_count_constant_as_rows_grow(client, world, url):
    as_user(client, world.staff_root)
    if url == "children":
        url = f"/api/v1/orgs/{world.express.pk}/children/"
    params = {"per_page": 100}
    _grow(world, 2)
    small_rows = len(results(client.get(url, params)))
    small = queries(client, url, params)
    _grow(world, 6)
    large_rows = len(results(client.get(url, params)))
    assert large_rows > small_rows, f"{url}: the list did not grow"
    assert queries(client, url, params) == small, url


# ---------------------------------------------------------------- the shared FilterSets still serve the pages
def test_pages_filter_with_the_extended_filtersets(client, world):
    as_user(client, world.staff_exp)
    page = client.get(reverse("orgs:user_list"), {"role": "secretary"}).content.decode()
    assert re.findall(r'data-user="([^"]+)"', page) == ["secretary-a"]
    page = client.get(reverse("orgs:user_list"), {"is_active": "false"}).content.decode()
    assert re.findall(r'data-user="([^"]+)"', page) == []
    client.patch(f"/api/v1/orgs/{world.br_a.pk}/", {"secretary_name": "李四"}, content_type=JSON)
    entry = AuditEntry.objects.get(action="org.update")
    page = client.get(reverse("orgs:audit_list"), {"actor": world.staff_exp.pk}).content.decode()
    assert re.findall(r'data-entry="(\d+)"', page) == [str(entry.pk)]
    page = client.get(reverse("orgs:audit_list"), {"object_type": "orgs.organization", "object_id": world.br_b.pk}).content.decode()
    assert set(re.findall(r'data-entry="(\d+)"', page)) == {
        str(pk) for pk in AuditEntry.objects.filter(object_id=str(world.br_b.pk)).values_list("pk", flat=True)}
