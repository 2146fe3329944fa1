"""`manage.py load_demo`: a realistic demo district, loaded once; a second run changes nothing."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from core.models import User
from coverage.selectors.figures import annotate_coverage, coverage_for_org
from coverage.selectors.gaps import gap_missing_committees, gap_needs_own_branch, gap_oversized_branches
from members.models import Member, RelationKind, Stage
from orgs.models import (
    Assignment,
    FormationMode,
    Instructor,
    Organization,
    OrgEvent,
    OrgEventKind,
    OrgKind,
    OrgStatus,
    Role,
    RoleGrant,
    Workplace,
    WorkplaceKind,
)
from orgs.selectors import CoverageState

BRANCH_KINDS = (OrgKind.BRANCH, OrgKind.JOINT_BRANCH)


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models(include_auto_created=True)}


pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker):
    """Load the demo once for the module (a load takes seconds) inside a transaction rolled back at the end;
    each test runs in its own savepoint within it, so no test sees another's changes."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            output = _load()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield output
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def demo(demo_output, db):
    return demo_output


@pytest.fixture
def root(demo):
    return Organization.objects.get(code="SFQ000")


@pytest.fixture
def district_user(demo):
    return User.objects.get(username="district")


def test_second_run_changes_nothing(demo):
    counts = _row_counts()
    last_event = OrgEvent.objects.order_by("-id").values_list("id", flat=True).first()
    orgs = list(Organization.objects.order_by("pk").values_list("pk", "path", "name", "status", "updated_at"))

    output = _load()

    assert _row_counts() == counts
    assert OrgEvent.objects.order_by("-id").values_list("id", flat=True).first() == last_event
    assert list(Organization.objects.order_by("pk").values_list("pk", "path", "name", "status", "updated_at")) == orgs
    assert "已存在" in output


def test_output_gives_url_and_logins(demo):
    assert "http://127.0.0.1:8000" in demo
    assert settings.PORTAL_DEMO_PASSWORD in demo
    for username in ("district", "secretary", "instructor", "viewer"):
        assert username in demo


def test_about_thirty_branches_of_every_formation_mode(root):
    branches = Organization.objects.filter(path__startswith=root.path, kind__in=BRANCH_KINDS, status=OrgStatus.ACTIVE)
    assert 28 <= branches.count() <= 34
    assert set(branches.values_list("formation_mode", flat=True)) == set(FormationMode.values)
    single = branches.filter(formation_mode=FormationMode.SINGLE)
    assert all(branch.workplaces.count() == 1 for branch in single)
    joint = branches.filter(formation_mode=FormationMode.JOINT)
    assert all(2 <= branch.workplaces.count() <= 5 for branch in joint)
    assert branches.filter(has_committee=True, committee_elected_on__isnull=False).exists()
    kinds = set(Organization.objects.values_list("kind", flat=True))
    assert kinds == set(OrgKind.values)
    industries = set(Organization.objects.filter(kind=OrgKind.INDUSTRY_COMMITTEE).values_list("industry", flat=True))
    assert industries == {"express", "food_delivery", "ride_hailing", "freight", "live_streaming"}


def test_history_shows_a_rename_and_a_dissolution(root):
    assert OrgEvent.objects.filter(kind=OrgEventKind.RENAMED).count() == 1
    dissolved = Organization.objects.get(status=OrgStatus.DISSOLVED)
    assert dissolved.events.filter(kind=OrgEventKind.DISSOLVED).exclude(document_number="").exists()
    # every org was established through the action, so every org has its history row
    assert OrgEvent.objects.filter(kind=OrgEventKind.ESTABLISHED).count() == Organization.objects.count()


def test_workplaces_cover_all_kinds_with_a_coverage_mix(root):
    workplaces = Workplace.objects.all()
    assert 140 <= workplaces.count() <= 160
    assert set(workplaces.values_list("kind", flat=True)) == set(WorkplaceKind.values)
    assert all(5 <= count <= 400 for count in workplaces.values_list("gig_worker_count", flat=True))
    assert workplaces.filter(has_trade_union=True).exists() and workplaces.filter(has_trade_union=False).exists()
    for lat, lon in workplaces.values_list("latitude", "longitude"):
        assert abs(float(lat) - 39.9) < 0.09 and abs(float(lon) - 116.4) < 0.12  # within ~10 km
    states = list(annotate_coverage(workplaces).values_list("coverage_state", flat=True))
    assert 15 <= states.count(CoverageState.WORK_ONLY) <= 30
    assert 15 <= states.count(CoverageState.NONE) <= 35
    # responsible org: an industry committee, or a street committee for the mixed places
    assert set(workplaces.values_list("responsible_org__kind", flat=True)) == {
        OrgKind.INDUSTRY_COMMITTEE, OrgKind.REGIONAL_COMMITTEE,
    }


def test_coverage_figures_for_the_district(root, district_user):
    figures = coverage_for_org(user=district_user, org=root)
    assert 0 < figures.org_covered < figures.work_covered < figures.workplaces
    assert figures.uncovered > 0


def test_gaps_are_there_to_show(root, district_user):
    assert gap_needs_own_branch(user=district_user).count() >= 2
    assert any(branch.member_count > 50 for branch in gap_oversized_branches(user=district_user))
    assert any(branch.full_member_count >= 7 for branch in gap_missing_committees(user=district_user))


def test_members_sit_at_workplaces_their_branch_covers(root):
    members = Member.objects.select_related("org")
    assert 250 <= members.count() <= 500
    assert set(members.values_list("relation_kind", flat=True)) == set(RelationKind.values)
    assert {Stage.FULL, Stage.PROBATIONARY, Stage.ACTIVIST, Stage.APPLICANT} <= set(members.values_list("stage", flat=True))
    assert members.filter(stage=Stage.FULL).count() > members.count() / 2
    covered = set(Organization.workplaces.through.objects.values_list("organization_id", "workplace_id"))
    assert all((m.org_id, m.workplace_id) in covered for m in members)
    assert all(m.org.kind in BRANCH_KINDS and m.org.status == OrgStatus.ACTIVE for m in members)


def test_instructors_and_assignments(root):
    assert 5 <= Instructor.objects.count() <= 8
    assert Assignment.objects.filter(ended_on__isnull=False).count() >= 2
    assert Assignment.objects.filter(org__isnull=False).exists()
    assert set(Assignment.objects.values_list("role", flat=True)) == {"instructor", "liaison"}


def test_four_demo_users_with_their_grants(root):
    assert not User.objects.filter(is_superuser=True).exists()
    users = {user.username: user for user in User.objects.all()}
    assert set(users) == {"district", "secretary", "instructor", "viewer"}
    for user in users.values():
        assert user.check_password(settings.PORTAL_DEMO_PASSWORD)
        assert user.display_name

    def grants(username):
        return list(RoleGrant.objects.filter(user=users[username]).values_list("role", "org__kind", "org__code"))

    assert grants("district") == [(Role.DISTRICT, OrgKind.DISTRICT_COMMITTEE, root.code)]
    assert grants("viewer") == [(Role.VIEWER, OrgKind.DISTRICT_COMMITTEE, root.code)]
    [(role, kind, code)] = grants("secretary")
    assert role == Role.SECRETARY and kind in BRANCH_KINDS
    branch = Organization.objects.get(code=code)
    assert branch.members.exists() and branch.workplaces.exists()
    assert Organization.objects.filter(path__startswith=branch.path, kind=OrgKind.PARTY_GROUP).exists()
    [(role, kind, code)] = grants("instructor")
    assert role == Role.INSTRUCTOR and kind == OrgKind.INDUSTRY_COMMITTEE


def test_instructor_login_sees_its_subtree_plus_assigned_workplaces(root):
    user = User.objects.get(username="instructor")
    committee = RoleGrant.objects.get(user=user).org
    instructor = Instructor.objects.get(user=user)
    assigned = Workplace.objects.filter(assignments__instructor=instructor, assignments__ended_on__isnull=True)
    outside = assigned.exclude(Workplace.in_subtrees_q([committee.path]))
    assert outside.exists()
    visible = Workplace.objects.restrict(user, "view")
    assert set(outside) <= set(visible)
    assert visible.count() == Workplace.objects.filter(Workplace.in_subtrees_q([committee.path])).count() + outside.count()


# ---------------------------------------------------------------- members' personal data and pipeline dates
def test_demo_members_have_valid_unique_personal_data_and_consistent_dates(demo, root):
    from core import crypto
    from members.selectors.registry import add_months
    from members.validators import age_on, validate_id_number, validate_mobile

    members = list(Member.objects.filter(org__path__startswith=root.path))
    assert members
    numbers = set()
    for m in members:
        number = crypto.decrypt(m.id_number_encrypted)
        assert validate_id_number(number, birth_date=m.birth_date) == number
        assert int(number[16]) % 2 == (1 if m.gender == "male" else 0)
        assert validate_mobile(crypto.decrypt(m.phone_encrypted))
        assert m.id_number_index == crypto.blind_index(number, purpose="member.id_number")
        numbers.add(number)
        assert m.education and m.employer and m.applied_on
        assert age_on(m.birth_date, m.applied_on) >= 18
        if m.stage not in (Stage.APPLICANT,):
            assert m.applied_on <= m.activist_on
        if m.stage in (Stage.CANDIDATE, Stage.PROBATIONARY, Stage.FULL):
            assert add_months(m.activist_on, 12) <= m.candidate_on
        if m.stage in (Stage.PROBATIONARY, Stage.FULL):
            assert m.candidate_on <= m.admitted_on and m.training_hours >= 24
        if m.stage == Stage.FULL:
            assert add_months(m.admitted_on, 12) <= m.full_on
        if m.relation_kind == RelationKind.MOBILE:
            assert m.home_org_name and m.mobile_card_number and m.mobile_card_valid_until
        if m.relation_kind == RelationKind.POCKET:
            assert m.letter_number
    assert len(numbers) == len(members)


def test_demo_district_login_may_reveal(demo):
    assert User.objects.get(username="district").has_perm("members.reveal_personal_data")
    assert not User.objects.get(username="secretary").has_perm("members.reveal_personal_data")
