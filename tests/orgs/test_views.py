"""Views: scope (404 outside), forms calling actions, export, and query-count pins."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from members.models import Stage
from orgs.models import Organization, OrgEvent, OrgKind, OrgStatus, Role, Workplace, WorkplaceKind
from tests.factories import (
    AssignmentFactory,
    InstructorFactory,
    MemberFactory,
    UserFactory,
    WorkplaceFactory,
    grant,
    make_branch,
    make_committee,
    make_joint_branch,
    make_region,
    make_root,
    reload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def district_tree():
    """root → (express committee → branch A (covers wa), branch B (covers wb); food committee → joint branch C)."""
    region = make_region("示范区")
    street = make_region("东街道", parent=region)
    root = make_root("区委两新工委", region=region)
    express = make_committee("快递行业党委", parent=root, industry="express")
    food = make_committee("外卖配送行业党委", parent=root, industry="food_delivery")
    wa = WorkplaceFactory(name="甲网点", region=street, responsible_org=express, gig_worker_count=40)
    wb = WorkplaceFactory(name="乙网点", region=street, responsible_org=express, gig_worker_count=20)
    wc = WorkplaceFactory(name="丙站点", region=street, responsible_org=food, industry="food_delivery", gig_worker_count=30)
    wd = WorkplaceFactory(name="丁站点", region=street, responsible_org=food, industry="food_delivery", gig_worker_count=15)
    we = WorkplaceFactory(name="戊商圈", region=street, responsible_org=food, kind=WorkplaceKind.BUSINESS_DISTRICT, industry="food_delivery")
    branch_a = make_branch("甲网点党支部", parent=express, workplaces=[wa])
    branch_b = make_branch("乙网点党支部", parent=express, workplaces=[wb])
    branch_c = make_joint_branch("丙丁联合党支部", parent=food, workplaces=[wc, wd])
    MemberFactory.create_batch(3, org=branch_a, workplace=wa, stage=Stage.FULL)
    return {"root": reload(root), "express": reload(express), "food": reload(food), "a": reload(branch_a),
            "b": reload(branch_b), "c": reload(branch_c), "wa": wa, "wb": wb, "wc": wc, "wd": wd, "we": we, "street": street}


def login(client, tree_node, role):
    user = UserFactory()
    grant(user, tree_node, role)
    client.force_login(user)
    return user


# ---------------------------------------------------------------- anonymous
@pytest.mark.parametrize("name,kwargs", [("home", {}), ("orgs:tree", {}), ("coverage:workplace_list", {}), ("coverage:gaps", {})])
def test_anonymous_is_sent_to_login(client, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_login_page_renders_in_chinese_and_logs_in(client, district_tree):
    user = UserFactory(username="zhang")
    grant(user, district_tree["root"], Role.DISTRICT)
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert "登录" in page.content.decode()
    response = client.post(reverse("login"), {"username": "zhang", "password": "correct-horse-battery"})
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert "区委两新工委" in home.content.decode()


def test_login_failure_shows_error(client, district_tree):
    response = client.post(reverse("login"), {"username": "nobody", "password": "wrong-password-123"})
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()


def test_logout_needs_post_and_ends_session(client, district_tree):
    login(client, district_tree["root"], Role.DISTRICT)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_english_is_available(client, district_tree):
    login(client, district_tree["root"], Role.DISTRICT)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "en"


# ---------------------------------------------------------------- scope: 404 outside
def test_secretary_sees_own_branch_and_404_elsewhere(client, district_tree):
    t = district_tree
    login(client, t["a"], Role.SECRETARY)
    assert client.get(reverse("coverage:org_detail", args=[t["a"].pk])).status_code == 200
    assert client.get(reverse("coverage:workplace_detail", args=[t["wa"].pk])).status_code == 200
    for org in (t["b"], t["c"], t["express"], t["root"]):
        assert client.get(reverse("coverage:org_detail", args=[org.pk])).status_code == 404
        assert client.get(reverse("orgs:tree_children", args=[org.pk])).status_code == 404
        assert client.get(reverse("orgs:org_edit", args=[org.pk])).status_code == 404
    for workplace in (t["wb"], t["wc"], t["we"]):
        assert client.get(reverse("coverage:workplace_detail", args=[workplace.pk])).status_code == 404
        assert client.get(reverse("orgs:workplace_edit", args=[workplace.pk])).status_code == 404
    listing = client.get(reverse("coverage:workplace_list")).content.decode()
    assert "甲网点" in listing and "乙网点" not in listing and "丙站点" not in listing
    assert client.get(reverse("coverage:gaps"), {"org": t["root"].pk}).status_code == 404


def test_missing_object_is_the_same_404(client, district_tree):
    login(client, district_tree["root"], Role.DISTRICT)
    assert client.get(reverse("coverage:org_detail", args=[999999])).status_code == 404
    assert client.get(reverse("coverage:workplace_detail", args=[999999])).status_code == 404


def test_district_sees_whole_tree(client, district_tree):
    login(client, district_tree["root"], Role.DISTRICT)
    page = client.get(reverse("orgs:tree")).content.decode()
    assert "区委两新工委" in page
    children = client.get(reverse("orgs:tree_children", args=[district_tree["root"].pk])).content.decode()
    assert "快递行业党委" in children and "外卖配送行业党委" in children
    listing = client.get(reverse("coverage:workplace_list"))
    assert listing.context["total"] == 5


def test_instructor_sees_assigned_workplace_outside_subtree(client, district_tree):
    t = district_tree
    user = login(client, t["express"], Role.INSTRUCTOR)
    AssignmentFactory(instructor=InstructorFactory(user=user, org=t["express"]), workplace=t["we"])
    assert client.get(reverse("coverage:workplace_detail", args=[t["we"].pk])).status_code == 200
    assert client.get(reverse("coverage:workplace_detail", args=[t["wc"].pk])).status_code == 404
    assert client.get(reverse("coverage:org_detail", args=[t["food"].pk])).status_code == 404
    # an instructor may look but not edit
    assert client.get(reverse("orgs:workplace_edit", args=[t["wa"].pk])).status_code == 404
    assert client.get(reverse("orgs:org_create", args=[t["express"].pk])).status_code == 404


def test_viewer_reads_figures_but_cannot_write(client, district_tree):
    t = district_tree
    login(client, t["root"], Role.VIEWER)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("coverage:org_detail", args=[t["a"].pk])).status_code == 200
    for url in (reverse("orgs:org_edit", args=[t["a"].pk]), reverse("orgs:org_create", args=[t["root"].pk]),
                reverse("orgs:org_move", args=[t["a"].pk]), reverse("orgs:org_dissolve", args=[t["b"].pk]),
                reverse("orgs:workplace_edit", args=[t["wa"].pk]), reverse("orgs:workplace_create")):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url


def test_admin_is_for_superusers_only(client, district_tree):
    login(client, district_tree["root"], Role.DISTRICT)
    assert client.get("/admin/").status_code == 404
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200


# ---------------------------------------------------------------- figures agree with the list
def test_org_page_figures_equal_filtered_workplace_list(client, district_tree):
    t = district_tree
    AssignmentFactory(workplace=t["we"], instructor=InstructorFactory(org=t["food"]))
    login(client, t["root"], Role.DISTRICT)
    for org in (t["root"], t["express"], t["food"], t["c"]):
        figures = client.get(reverse("coverage:org_detail", args=[org.pk])).context["figures"]
        listed = client.get(reverse("coverage:workplace_list"), {"org": org.pk}).context
        assert figures.workplaces == listed["total"], org.name
        org_cov = client.get(reverse("coverage:workplace_list"), {"org": org.pk, "coverage": "org"}).context
        assert figures.org_covered == org_cov["total"], org.name
        work_cov = client.get(reverse("coverage:workplace_list"), {"org": org.pk, "coverage": "work"}).context
        assert figures.work_covered == work_cov["total"], org.name
    root_figures = client.get(reverse("coverage:org_detail", args=[t["root"].pk])).context["figures"]
    assert (root_figures.workplaces, root_figures.org_covered, root_figures.work_covered) == (5, 4, 5)


# ---------------------------------------------------------------- forms call actions
def test_create_branch_through_form(client, district_tree):
    t = district_tree
    login(client, t["root"], Role.DISTRICT)
    response = client.post(reverse("orgs:org_create", args=[t["food"].pk]), {
        "kind": OrgKind.BRANCH, "name": "戊商圈党支部", "code": "ZB-NEW-1", "formation_mode": "single",
        "industry": "food_delivery", "established_on": "2026-11-01", "document_number": "示两新工〔2026〕9号",
        "workplaces": [t["we"].pk], "reason": "新建",
    })
    assert response.status_code == 302
    event = OrgEvent.objects.get(org__code="ZB-NEW-1")
    assert event.kind == "established" and event.document_number == "示两新工〔2026〕9号"
    assert Workplace.objects.get(pk=t["we"].pk).covering_orgs.filter(code="ZB-NEW-1").exists()


def test_form_errors_are_clear_and_nothing_is_written(client, district_tree):
    t = district_tree
    login(client, t["root"], Role.DISTRICT)
    extra = [WorkplaceFactory(responsible_org=t["food"]) for _ in range(5)]
    response = client.post(reverse("orgs:org_create", args=[t["food"].pk]), {
        "kind": OrgKind.JOINT_BRANCH, "name": "太大的联合党支部", "code": "ZB-BIG", "formation_mode": "joint",
        "workplaces": [w.pk for w in extra] + [t["we"].pk],
    })
    assert response.status_code == 200
    assert "不能超过5个" in response.content.decode()
    assert not OrgEvent.objects.filter(org__code="ZB-BIG").exists()
    duplicate = client.post(reverse("orgs:org_create", args=[t["food"].pk]), {
        "kind": OrgKind.BRANCH, "name": "重复", "code": t["a"].code, "formation_mode": "single",
    })
    assert "已被使用" in duplicate.content.decode()


def test_move_under_own_descendant_is_refused_with_message(client, district_tree):
    t = district_tree
    login(client, t["root"], Role.DISTRICT)
    group = make_committee("快递行业片区党委", parent=t["express"], kind=OrgKind.REGIONAL_COMMITTEE)
    response = client.post(reverse("orgs:org_move", args=[t["express"].pk]), {
        "new_parent": group.pk, "happened_on": "2026-11-20", "reason": "调整",
    })
    assert response.status_code == 200
    assert "下级组织" in response.content.decode()
    assert reload(t["express"]).depth == 2


def test_move_and_dissolve_through_forms(client, district_tree):
    t = district_tree
    login(client, t["root"], Role.DISTRICT)
    response = client.post(reverse("orgs:org_move", args=[t["b"].pk]), {
        "new_parent": t["food"].pk, "happened_on": "2026-11-20", "document_number": "示〔2026〕1号", "reason": "属地调整",
    })
    assert response.status_code == 302
    assert Organization.objects.get_parent(reload(t["b"])).pk == t["food"].pk
    response = client.post(reverse("orgs:org_dissolve", args=[t["b"].pk]), {"happened_on": "2026-11-21", "reason": ""})
    assert response.status_code == 200 and reload(t["b"]).status == OrgStatus.ACTIVE
    response = client.post(reverse("orgs:org_dissolve", args=[t["b"].pk]), {"happened_on": "2026-11-21", "reason": "单位注销"})
    assert response.status_code == 302
    assert reload(t["b"]).status == OrgStatus.DISSOLVED


def test_workplace_create_and_edit(client, district_tree):
    t = district_tree
    login(client, t["root"], Role.DISTRICT)
    data = {"name": "新网点", "kind": "station", "industry": "express", "region": t["street"].pk,
            "responsible_org": t["express"].pk, "address": "中山路1号", "latitude": "39.9", "longitude": "116.4",
            "gig_worker_count": "12", "is_active": "on"}
    response = client.post(reverse("orgs:workplace_create"), data)
    assert response.status_code == 302
    workplace = Workplace.objects.get(name="新网点")
    bad = dict(data, latitude="39.9", longitude="")
    response = client.post(reverse("orgs:workplace_edit", args=[workplace.pk]), bad)
    assert response.status_code == 200 and "同时填写" in response.content.decode()
    response = client.post(reverse("orgs:workplace_edit", args=[workplace.pk]), dict(data, gig_worker_count="-1"))
    assert response.status_code == 200
    assert Workplace.objects.get(pk=workplace.pk).gig_worker_count == 12


def test_secretary_cannot_file_workplace_outside_scope(client, district_tree):
    t = district_tree
    login(client, t["a"], Role.SECRETARY)
    data = {"name": "改名网点", "kind": "station", "industry": "express", "region": t["street"].pk,
            "responsible_org": t["root"].pk, "gig_worker_count": "40", "is_active": "on"}
    response = client.post(reverse("orgs:workplace_edit", args=[t["wa"].pk]), data)
    assert response.status_code == 200
    assert Workplace.objects.get(pk=t["wa"].pk).name == "甲网点"


# ---------------------------------------------------------------- export
def test_workplace_export_is_scoped_and_escaped(client, district_tree):
    t = district_tree
    WorkplaceFactory(name="=HYPERLINK(\"x\")", responsible_org=t["express"])
    login(client, t["express"], Role.DISTRICT)
    response = client.get(reverse("coverage:workplace_list"), {"format": "xlsx", "coverage": ""})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert set(names) == {"甲网点", "乙网点", "'=HYPERLINK(\"x\")"}


# ---------------------------------------------------------------- query counts stay constant
def _grow(tree, n):
    """Add n branches with workplaces and members under the express committee."""
    for i in range(n):
        workplace = WorkplaceFactory(responsible_org=tree["express"], region=tree["street"])
        branch = make_branch(f"扩展党支部{i}", parent=tree["express"], workplaces=[workplace])
        MemberFactory.create_batch(2, org=branch, workplace=workplace)
        AssignmentFactory(workplace=WorkplaceFactory(responsible_org=tree["food"], region=tree["street"]))


def _count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url_name,use_org,params", [
    ("orgs:tree", None, None),
    ("orgs:tree_children", "express", None),
    ("coverage:org_detail", "express", None),
    ("coverage:org_detail", "root", None),
    ("coverage:workplace_list", None, None),
    ("coverage:workplace_list", None, {"coverage": "org", "industry": "express"}),
    ("home", None, None),
    ("coverage:gaps", None, None),
])
def test_query_count_constant_as_rows_grow(client, district_tree, url_name, use_org, params):
    login(client, district_tree["root"], Role.DISTRICT)
    url = reverse(url_name, args=[district_tree[use_org].pk]) if use_org else reverse(url_name)
    _grow(district_tree, 3)
    small = _count_queries(client, url, params)
    _grow(district_tree, 30)
    large = _count_queries(client, url, params)
    assert small == large, f"{url_name}: {small} queries with few rows, {large} with many"


def test_healthz_reports_database(client, db):
    from core.actions.heartbeat import heartbeat_record

    heartbeat_record(name="worker")  # /healthz/ is 503 without a fresh worker heartbeat (tests/portal/test_health.py)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["database"] is True


def test_session_ends_after_absolute_lifetime(client, district_tree, settings):
    login(client, district_tree["root"], Role.DISTRICT)
    assert client.get(reverse("home")).status_code == 200
    session = client.session
    session["portal_login_at"] = session["portal_login_at"] - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client.get(reverse("home")).status_code == 302


def test_assign_and_end_instructor_gives_and_removes_work_coverage(client, district_tree):
    t = district_tree
    login(client, t["root"], Role.DISTRICT)
    instructor = InstructorFactory(org=t["food"], name="王指导")
    page = client.get(reverse("coverage:workplace_detail", args=[t["we"].pk]))
    assert "选派指导员/联络员" in page.content.decode()
    response = client.post(reverse("orgs:assignment_create", args=[t["we"].pk]), {
        "instructor": instructor.pk, "role": "instructor", "started_on": "2026-01-01", "ended_on": "2025-12-01",
    })
    assert response.status_code == 200 and "不能早于" in response.content.decode()
    response = client.post(reverse("orgs:assignment_create", args=[t["we"].pk]), {
        "instructor": instructor.pk, "role": "liaison", "started_on": "2026-01-01",
    })
    assert response.status_code == 302
    listed = client.get(reverse("coverage:workplace_list"), {"coverage": "work_only"}).context["page"].object_list
    assert [w.name for w in listed] == ["戊商圈"]
    assignment = t["we"].assignments.get()
    response = client.post(reverse("orgs:assignment_end", args=[assignment.pk]), {"ended_on": "2026-02-01"})
    assert response.status_code == 302
    listed = client.get(reverse("coverage:workplace_list"), {"coverage": "none"}).context["page"].object_list
    assert "戊商圈" in [w.name for w in listed]


def test_secretary_cannot_assign_instructors(client, district_tree):
    t = district_tree
    login(client, t["a"], Role.SECRETARY)
    assert client.get(reverse("orgs:assignment_create", args=[t["wa"].pk])).status_code == 404
    assignment = AssignmentFactory(workplace=t["wa"], instructor=InstructorFactory(org=t["express"]))
    assert client.post(reverse("orgs:assignment_end", args=[assignment.pk]), {"ended_on": "2026-02-01"}).status_code == 404
