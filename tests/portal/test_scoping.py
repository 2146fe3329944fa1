"""The scoping choke point: who sees what (portal/scoping.py + each model's scope_q)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from members.models import Member
from orgs.actions import org_dissolve
from orgs.models import Assignment, Instructor, Organization, OrganizationQuerySet, Role, Workplace
from orgs.permissions import ROLE_ACTIONS, role_allows
from orgs.scoping import get_scoped_or_404, grant_paths, has_perm, minimal_paths, path_q, user_roles
from tests.factories import (
    AssignmentFactory,
    InstructorFactory,
    MemberFactory,
    UserFactory,
    WorkplaceFactory,
    fresh,
    grant,
    make_branch,
    names,
)

ALL_ORGS = {"区委两新工委", "快递行业党委", "顺丰站点党支部", "快递联合党支部", "第一党小组", "外卖配送行业党委", "美团站点党支部", "已撤销党支部"}
ALL_WORKPLACES = {"A顺丰东一站", "B中通东街网点", "C韵达西分拣中心", "D圆通加盟公司", "E快递平台区办", "F美团东街站", "G饿了么西街站", "H外卖楼宇（停业）"}
EXPRESS_WORKPLACES = {"A顺丰东一站", "B中通东街网点", "C韵达西分拣中心", "D圆通加盟公司", "E快递平台区办"}


def at(day: dt.date):
    """Travel to noon (Shanghai) on `day`: scoping reads timezone.localdate()."""
    return time_machine.travel(dt.datetime.combine(day, dt.time(12, 0), tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)


# ---------------------------------------------------------------- the manager itself
def test_organization_manager_returns_scoped_queryset(db):
    """Regression: treebeard's manager once built a plain MP_NodeQuerySet without restrict()/active()."""
    qs = Organization.objects.all()
    assert isinstance(qs, OrganizationQuerySet)
    assert list(Organization.objects.restrict(AnonymousUser(), "view")) == []
    assert list(Organization.objects.active()) == []


def test_organization_queryset_keeps_tree_order(world):
    """Whatever the manager's fix, the default queryset stays in tree (path) order."""
    paths = list(Organization.objects.values_list("path", flat=True))
    assert paths == sorted(paths)


# ---------------------------------------------------------------- who sees what
ROLE_VIEWS = {
    # user attribute: (orgs, workplaces, members count)
    "district_user": (ALL_ORGS, ALL_WORKPLACES, 13),
    "secretary": ({"快递联合党支部", "第一党小组"}, {"B中通东街网点", "C韵达西分拣中心"}, 7),
    "instructor": ({"快递行业党委", "顺丰站点党支部", "快递联合党支部", "第一党小组"}, EXPRESS_WORKPLACES | {"G饿了么西街站"}, 0),
    "viewer": (ALL_ORGS, ALL_WORKPLACES, 0),
    "superuser": (ALL_ORGS, ALL_WORKPLACES, 13),
    "nobody": (set(), set(), 0),
    "inactive": (set(), set(), 0),
}


@pytest.mark.parametrize("who", ROLE_VIEWS)
def test_each_role_sees_exactly_its_subtree(world, who):
    user = getattr(world, who)
    orgs, workplaces, member_count = ROLE_VIEWS[who]
    assert names(Organization.objects.restrict(user, "view")) == orgs
    assert names(Workplace.objects.restrict(user, "view")) == workplaces
    assert Member.objects.restrict(user, "view").count() == member_count


@pytest.mark.parametrize("user", [None, AnonymousUser()], ids=["none", "anonymous"])
def test_anonymous_sees_nothing(world, user):
    for model in (Organization, Workplace, Member, Instructor, Assignment):
        assert not model.objects.restrict(user, "view").exists()
    assert grant_paths(user, "org.view") == []
    assert has_perm(user, "org.view") is False
    assert user_roles(user) == set()


def test_inactive_user_with_a_grant_sees_nothing(world):
    assert grant_paths(world.inactive, "org.view") == []
    assert has_perm(world.inactive, "org.view") is False
    assert not Instructor.objects.restrict(world.inactive, "view").exists()


def test_superuser_sees_everything_for_every_action(world):
    for action in ("view", "add", "change", "delete"):
        assert Organization.objects.restrict(world.superuser, action).count() == 8
        assert Workplace.objects.restrict(world.superuser, action).count() == 8
    assert has_perm(world.superuser, "anything.at_all") is True


def test_secretary_sees_members_of_sub_orgs_but_not_siblings(world):
    MemberFactory(name="小组党员", org=world.group)
    MemberFactory(name="别的支部党员", org=world.br_a)
    visible = names(Member.objects.restrict(world.secretary, "view"))
    assert "小组党员" in visible
    assert "别的支部党员" not in visible


def test_workplace_covered_from_inside_the_subtree_is_in_scope(world):
    """wp_c answers to the food committee but the express joint branch covers it."""
    assert world.wp_c.responsible_org_id == world.food.pk
    assert Workplace.objects.restrict(world.secretary, "view").filter(pk=world.wp_c.pk).exists()
    assert not Organization.objects.restrict(world.secretary, "view").filter(pk=world.food.pk).exists()


def test_coverage_by_a_dissolved_org_does_not_bring_a_workplace_into_scope(world):
    express_staff = UserFactory()
    grant(express_staff, world.express, Role.DISTRICT)
    outsider = WorkplaceFactory(name="X外部单位", responsible_org=world.food, region=world.west)
    branch = make_branch("X单位党支部", parent=world.express, workplaces=[outsider])
    assert Workplace.objects.restrict(fresh(express_staff), "view").filter(pk=outsider.pk).exists()

    org_dissolve(actor=world.district_user, org=branch, reason="单位迁出")

    assert not Workplace.objects.restrict(fresh(express_staff), "view").filter(pk=outsider.pk).exists()


def test_grant_on_a_dissolved_org_gives_nothing(world):
    user = UserFactory()
    grant(user, world.br_dead, Role.DISTRICT)
    assert grant_paths(user, "org.view") == []
    assert user_roles(user) == set()
    assert not Organization.objects.restrict(user, "view").exists()
    assert not Workplace.objects.restrict(user, "view").exists()
    assert not Member.objects.restrict(user, "view").exists()


def test_dissolving_the_granted_org_withdraws_access(world):
    user = UserFactory()
    branch = make_branch("临时党支部", parent=world.food)
    MemberFactory(org=world.br_f)  # unrelated
    grant(user, branch, Role.SECRETARY)
    assert names(Organization.objects.restrict(fresh(user), "view")) == {"临时党支部"}
    org_dissolve(actor=world.district_user, org=branch, reason="撤销")
    assert not Organization.objects.restrict(fresh(user), "view").exists()


# ---------------------------------------------------------------- the permission matrix, action by action
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_restrict_follows_the_permission_matrix(world, role):
    """A grant at the root gives an action on a resource exactly when ROLE_ACTIONS says so."""
    user = UserFactory()
    grant(user, world.root, role)
    mismatches = []
    for resource, model in (("org", Organization), ("workplace", Workplace), ("member", Member), ("assignment", Assignment)):
        for action in ("view", "add", "change", "delete"):
            allowed = role_allows(role, f"{resource}.{action}")
            if model.objects.restrict(user, action).exists() is not allowed:
                mismatches.append(f"{resource}.{action} (matrix says {allowed})")
    assert mismatches == []


ACTION_CASES = [
    ("viewer", Organization, "change", set()),
    ("viewer", Workplace, "change", set()),
    ("viewer", Member, "view", set()),
    ("secretary", Organization, "add", set()),
    ("secretary", Organization, "delete", set()),
    ("secretary", Organization, "change", {"快递联合党支部", "第一党小组"}),
    ("secretary", Workplace, "add", set()),
    ("secretary", Workplace, "change", {"B中通东街网点", "C韵达西分拣中心"}),
    ("instructor", Organization, "change", set()),
    ("instructor", Workplace, "change", set()),
    ("district_user", Organization, "delete", ALL_ORGS),
    ("district_user", Workplace, "add", ALL_WORKPLACES),
]


def test_action_level_scoping(world):
    for who, model, action, expected in ACTION_CASES:
        assert names(model.objects.restrict(getattr(world, who), action)) == expected, (who, model.__name__, action)


def test_secretary_may_add_members_only_in_own_branch(world):
    assert Member.objects.restrict(world.secretary, "add").count() == 7
    assert set(Member.objects.restrict(world.secretary, "add").values_list("org__code", flat=True)) == {"EXP-J"}


def test_matrix_is_consistent_with_the_roles():
    assert set(ROLE_ACTIONS) == set(Role.values)
    # every role may at least look at the tree and the figures
    for role in Role.values:
        assert role_allows(role, "org.view")
        assert role_allows(role, "stats.view")
    assert not role_allows("nonexistent", "org.view")


# ---------------------------------------------------------------- instructors: assignments give view
def test_instructor_sees_assigned_workplace_only_while_assignment_is_active(world):
    asg = world.asg_g  # started 10 days ago, open-ended
    wp_g = world.wp_g

    def sees() -> bool:
        return Workplace.objects.restrict(fresh(world.instructor), "view").filter(pk=wp_g.pk).exists()

    with at(asg.started_on - dt.timedelta(days=1)):
        assert not sees()
    with at(asg.started_on):
        assert sees()
    assert sees()

    Assignment.objects.filter(pk=asg.pk).update(ended_on=world.today + dt.timedelta(days=5))
    with at(world.today + dt.timedelta(days=5)):
        assert sees()  # the end date is still a working day of the assignment
    with at(world.today + dt.timedelta(days=6)):
        assert not sees()


def test_assignment_gives_view_only(world):
    for action in ("add", "change", "delete"):
        assert not Workplace.objects.restrict(world.instructor, action).filter(pk=world.wp_g.pk).exists()


def test_account_without_grants_sees_its_assigned_workplace(world):
    user = UserFactory()
    instructor = InstructorFactory(user=user, org=world.food)
    AssignmentFactory(instructor=instructor, workplace=world.wp_f)
    assert names(Workplace.objects.restrict(user, "view")) == {"F美团东街站"}
    assert not Organization.objects.restrict(user, "view").exists()


def test_ended_assignment_gives_no_view(world):
    user = UserFactory()
    instructor = InstructorFactory(user=user, org=world.food)
    AssignmentFactory(
        instructor=instructor, workplace=world.wp_f,
        started_on=world.today - dt.timedelta(days=30), ended_on=world.today - dt.timedelta(days=1),
    )
    assert not Workplace.objects.restrict(user, "view").exists()


def test_instructor_sees_assignments_of_the_subtree_and_own(world):
    assert set(Assignment.objects.restrict(world.instructor, "view")) == {world.asg_d, world.asg_e, world.asg_g}
    assert set(Instructor.objects.restrict(world.instructor, "view")) == {world.lao_li, world.xiao_wang}
    # the secretary's branch has no instructors or assignments of its own
    assert not Assignment.objects.restrict(world.secretary, "view").exists()


def test_instructor_cannot_add_or_change_own_assignments(world):
    assert not role_allows(Role.INSTRUCTOR, "assignment.add")
    assert not role_allows(Role.INSTRUCTOR, "assignment.change")
    assert not Instructor.objects.restrict(world.instructor, "add").exists()
    assert not Assignment.objects.restrict(world.instructor, "change").exists()


# ---------------------------------------------------------------- grant paths
def test_grant_paths_keep_the_covering_prefixes_per_permission(world):
    user = UserFactory()
    grant(user, world.express, Role.INSTRUCTOR)
    grant(user, world.jb, Role.SECRETARY)
    grant(user, world.br_f, Role.SECRETARY)
    assert grant_paths(user, "org.view") == sorted([world.express.path, world.br_f.path])
    assert grant_paths(user, "member.view") == sorted([world.jb.path, world.br_f.path])
    assert grant_paths(user, "org.add") == []
    assert user_roles(user) == {Role.INSTRUCTOR, Role.SECRETARY}


def test_grant_paths_are_cached_on_the_user_object(world, django_assert_num_queries):
    user = fresh(world.district_user)
    with django_assert_num_queries(1):
        grant_paths(user, "org.view")
        grant_paths(user, "member.view")
        has_perm(user, "org.add")


@pytest.mark.parametrize(
    "paths,expected",
    [
        ([], []),
        (["0001"], ["0001"]),
        (["00010002", "0001"], ["0001"]),
        (["0001", "0001"], ["0001"]),
        (["00010001", "00010002", "000100010003"], ["00010001", "00010002"]),
        (["0002", "00010001", "000200030004"], ["00010001", "0002"]),
        (["000100020003", "00010002", "00010003"], ["00010002", "00010003"]),
    ],
)
def test_minimal_paths(paths, expected):
    assert minimal_paths(paths) == expected


def test_path_q_with_no_paths_matches_nothing(world):
    assert not Organization.objects.filter(path_q("path", [])).exists()
    assert not Workplace.objects.filter(Workplace.in_subtrees_q([])).exists()


# ---------------------------------------------------------------- get_scoped_or_404
def test_get_scoped_or_404_returns_in_scope_objects(world):
    assert get_scoped_or_404(Organization.objects.all(), world.secretary, pk=world.jb.pk) == world.jb
    assert get_scoped_or_404(Workplace.objects.all(), world.instructor, pk=world.wp_g.pk) == world.wp_g


@pytest.mark.parametrize(
    "lookup",
    [
        lambda w: {"pk": w.br_a.pk},  # exists, out of scope
        lambda w: {"pk": 987654},  # missing
        lambda w: {"pk": "not-a-number"},  # garbage from a URL
    ],
    ids=["out-of-scope", "missing", "garbage"],
)
def test_get_scoped_or_404_answers_404_alike(world, lookup):
    with pytest.raises(Http404):
        get_scoped_or_404(Organization.objects.all(), world.secretary, **lookup(world))


def test_get_scoped_or_404_checks_the_action(world):
    assert get_scoped_or_404(Workplace.objects.all(), world.secretary, "change", pk=world.wp_b.pk) == world.wp_b
    with pytest.raises(Http404):
        get_scoped_or_404(Workplace.objects.all(), world.viewer, "change", pk=world.wp_b.pk)
    with pytest.raises(Http404):
        get_scoped_or_404(Member.objects.all(), world.viewer, pk=Member.objects.first().pk)
