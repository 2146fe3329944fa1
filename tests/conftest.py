"""Shared fixtures: a small hand-built district (`world`) whose figures are worked out by hand.

Org tree (codes in brackets)::

    区委两新工委 root [ROOT]                       district committee
    ├── 快递行业党委 express [EXP]                  industry committee
    │   ├── 顺丰站点党支部 br_a [EXP-A]              branch, single, covers wp_a
    │   └── 快递联合党支部 jb [EXP-J]                joint branch, covers wp_b, wp_c
    │       └── 第一党小组 group [EXP-J-G]
    └── 外卖配送行业党委 food [FOOD]                 industry committee
        ├── 美团站点党支部 br_f [FOOD-A]             branch, area-based (区域联建), covers wp_f, wp_h
        └── 已撤销党支部 br_dead [FOOD-X]            dissolved; still linked to wp_g

Regions: 示范区 district → 东街道 (→ 东一社区), 西街道.

Workplaces (resp = responsible org; state = coverage state)::

    wp   resp     covered by      assignment             gig  region    industry  active  state
    a    express  br_a (single)   -                      40   东一社区   express   yes     org
    b    express  jb              -                      20   东街道     express   yes     org
    c    food     jb              -                      10   西街道     express   yes     org
    d    express  -               老李 active            15   西街道     express   yes     work_only
    e    express  -               老李 ended             5    示范区     express   yes     none
    f    food     br_f            -                      30   东街道     food      yes     org
    g    food     br_dead (diss.) 指导员小王 (inst) active 25   西街道     food      yes     work_only
    h    food     br_f            -                      100  东一社区   food      no      org (closed)

Subtrees: express = a b c d e; food = c f g (+h closed); jb = b c; root = a..g (+h).

Members: br_a 3 full @a + 1 probationary @a; jb 3 full @b, 2 full + 2 probationary @c;
br_f 2 full @f. (13 in all; express subtree 11, jb 7, food 2.)

Users: district@root, secretary@jb, instructor@express (also Instructor 小王 assigned to wp_g),
viewer@root, a superuser, an account without grants, an inactive district account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db.backends.signals import connection_created
from django.utils import timezone, translation

from members.models import Stage
from orgs.actions import org_dissolve
from orgs.models import Industry, OrgKind, RegionKind, Role, WorkplaceKind
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
    make_org,
    make_region,
    make_root,
    reload,
)


def _bounded_waits(sender, connection, **kwargs):
    """On PostgreSQL a test never waits forever: a lock wait or a runaway statement fails with its SQL."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '60s'; SET statement_timeout = '150s'")


connection_created.connect(_bounded_waits, dispatch_uid="tests-bounded-waits")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters (the API's per-token limits) live in the cache; ids repeat across rolled-back tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site language: LocaleMiddleware activates a request's language (e.g. an
    "en" cookie in a client test) for the whole thread and nothing deactivates it afterwards."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@dataclass
class World:
    today: dt.date
    # regions
    district: object
    east: object
    east_one: object
    west: object
    # orgs
    root: object
    express: object
    br_a: object
    jb: object
    group: object
    food: object
    br_f: object
    br_dead: object
    # workplaces
    wp_a: object
    wp_b: object
    wp_c: object
    wp_d: object
    wp_e: object
    wp_f: object
    wp_g: object
    wp_h: object
    # instructors and assignments
    lao_li: object
    xiao_wang: object
    asg_d: object
    asg_e: object
    asg_g: object
    # users
    district_user: object
    secretary: object
    instructor: object
    viewer: object
    superuser: object
    nobody: object
    inactive: object

    def refresh(self) -> World:
        """Reload the org nodes (tree fields change when other nodes are added or moved)."""
        for name in ("root", "express", "br_a", "jb", "group", "food", "br_f", "br_dead"):
            setattr(self, name, reload(getattr(self, name)))
        return self


@pytest.fixture
def world(db) -> World:
    today = timezone.localdate()

    district = make_region("示范区", kind=RegionKind.DISTRICT, code="110199")
    east = make_region("东街道", parent=district, code="110199001")
    east_one = make_region("东一社区", parent=east, code="110199001001")
    west = make_region("西街道", parent=district, code="110199002")

    root = make_root("区委两新工委", code="ROOT", region=district)
    express = make_committee("快递行业党委", parent=root, code="EXP", industry=Industry.EXPRESS)
    food = make_committee("外卖配送行业党委", parent=root, code="FOOD", industry=Industry.FOOD_DELIVERY)

    def wp(name, resp, gig, region, industry, kind=WorkplaceKind.STATION, **kw):
        return WorkplaceFactory(name=name, responsible_org=resp, gig_worker_count=gig, region=region, industry=industry, kind=kind, **kw)

    wp_a = wp("A顺丰东一站", express, 40, east_one, Industry.EXPRESS)
    wp_b = wp("B中通东街网点", express, 20, east, Industry.EXPRESS, has_trade_union=True)
    wp_c = wp("C韵达西分拣中心", food, 10, west, Industry.EXPRESS, kind=WorkplaceKind.SORTING_CENTER)
    wp_d = wp("D圆通加盟公司", express, 15, west, Industry.EXPRESS, kind=WorkplaceKind.FRANCHISE)
    wp_e = wp("E快递平台区办", express, 5, district, Industry.EXPRESS, kind=WorkplaceKind.PLATFORM, address="示范区大道1号")
    wp_f = wp("F美团东街站", food, 30, east, Industry.FOOD_DELIVERY, has_trade_union=True)
    wp_g = wp("G饿了么西街站", food, 25, west, Industry.FOOD_DELIVERY)
    wp_h = wp("H外卖楼宇（停业）", food, 100, east_one, Industry.FOOD_DELIVERY, kind=WorkplaceKind.BUILDING, is_active=False)

    br_a = make_branch("顺丰站点党支部", parent=express, code="EXP-A", workplaces=[wp_a])
    jb = make_joint_branch("快递联合党支部", parent=express, code="EXP-J", workplaces=[wp_b, wp_c])
    group = make_org("第一党小组", parent=jb, kind=OrgKind.PARTY_GROUP, code="EXP-J-G")
    br_f = make_branch("美团站点党支部", parent=food, code="FOOD-A", workplaces=[wp_f, wp_h], formation_mode="area")
    br_dead = make_branch("已撤销党支部", parent=food, code="FOOD-X", workplaces=[wp_g])

    district_user = UserFactory(username="district")
    grant(district_user, root, Role.DISTRICT)
    br_dead = org_dissolve(actor=district_user, org=br_dead, reason="单位迁出", happened_on=today - dt.timedelta(days=3))

    secretary = UserFactory(username="secretary")
    grant(secretary, jb, Role.SECRETARY)
    instructor = UserFactory(username="instructor")
    grant(instructor, express, Role.INSTRUCTOR)
    viewer = UserFactory(username="viewer")
    grant(viewer, root, Role.VIEWER)
    superuser = UserFactory(username="admin", is_superuser=True, is_staff=True)
    nobody = UserFactory(username="nobody")
    inactive = UserFactory(username="inactive", is_active=False)
    grant(inactive, root, Role.DISTRICT)

    lao_li = InstructorFactory(name="老李", org=express)
    xiao_wang = InstructorFactory(name="小王", org=express, user=instructor)
    asg_d = AssignmentFactory(instructor=lao_li, workplace=wp_d, started_on=today - dt.timedelta(days=100))
    asg_e = AssignmentFactory(
        instructor=lao_li, workplace=wp_e, started_on=today - dt.timedelta(days=100), ended_on=today - dt.timedelta(days=1)
    )
    asg_g = AssignmentFactory(instructor=xiao_wang, workplace=wp_g, started_on=today - dt.timedelta(days=10))

    for _ in range(3):
        MemberFactory(org=br_a, workplace=wp_a)
    MemberFactory(org=br_a, workplace=wp_a, stage=Stage.PROBATIONARY)
    for _ in range(3):
        MemberFactory(org=jb, workplace=wp_b)
    for _ in range(2):
        MemberFactory(org=jb, workplace=wp_c)
    for _ in range(2):
        MemberFactory(org=jb, workplace=wp_c, stage=Stage.PROBATIONARY)
    for _ in range(2):
        MemberFactory(org=br_f, workplace=wp_f)

    return World(
        today=today,
        district=district, east=east, east_one=east_one, west=west,
        root=root, express=express, br_a=br_a, jb=jb, group=group, food=food, br_f=br_f, br_dead=br_dead,
        wp_a=wp_a, wp_b=wp_b, wp_c=wp_c, wp_d=wp_d, wp_e=wp_e, wp_f=wp_f, wp_g=wp_g, wp_h=wp_h,
        lao_li=lao_li, xiao_wang=xiao_wang, asg_d=asg_d, asg_e=asg_e, asg_g=asg_g,
        district_user=district_user, secretary=secretary, instructor=instructor, viewer=viewer,
        superuser=superuser, nobody=nobody, inactive=inactive,
    ).refresh()


class _LiveApps:
    """The live app registry for data-migration seeds written against an older layout: a model asked for under
    the label it had then (e.g. ("portal", "ReminderRule") before step 7 moved it to notifications) is found
    under its label now."""

    def get_model(self, app_label, model_name=None):
        from django.apps import apps

        if model_name is None:
            app_label, model_name = app_label.split(".")
        try:
            return apps.get_model(app_label, model_name)
        except LookupError:
            matches = [m for m in apps.get_models() if m.__name__.lower() == model_name.lower()]
            if len(matches) != 1:
                raise
            return matches[0]


def reseed_data_migrations() -> None:
    """Run every data migration's `seed(apps, schema_editor)` again (each is get_or_create: idempotent)."""
    import importlib
    import pkgutil

    for module_name in ("core", "activities", "services"):
        package = importlib.import_module(f"{module_name}.migrations")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{module_name}.migrations.{info.name}")
            if callable(getattr(module, "seed", None)):
                module.seed(_LiveApps(), None)


@pytest.fixture
def seeded_transactional_db(transactional_db):
    """transactional_db with the rows that data migrations seed (rule rows, compliance rules, categories,
    reminder rules) put back: a transactional test's flush wipes them. Preferred to serialized_rollback,
    whose restore collides with content types re-created by an earlier flush (post_migrate)."""
    reseed_data_migrations()
