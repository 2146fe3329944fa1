"""Factories and builders for tests.

Plain factory-boy factories for flat models; helper functions for tree nodes, because
treebeard computes paths itself (nodes are created only through its manager API) and
organizations are created only through `orgs.actions.org_create` (actor=SYSTEM unless a test passes a user).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory

from core.audit import SYSTEM
from core.models import Rule, User
from members.models import Member, Occupation, RelationKind, Stage
from orgs.actions import org_create
from orgs.models import (
    Assignment,
    AssignmentRole,
    FormationMode,
    Industry,
    Instructor,
    Organization,
    OrgKind,
    Region,
    RegionKind,
    Role,
    RoleGrant,
    Workplace,
    WorkplaceKind,
)

_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


# ---------------------------------------------------------------- users and grants
PASSWORD = "correct-horse-battery"


@functools.cache
def _password_hash() -> str:
    """Hash once per session with the configured hasher: PBKDF2 at Django's default cost takes most of a second."""
    return make_password(PASSWORD)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"测试用户{n}")
    password = factory.LazyFunction(_password_hash)
    is_active = True


def grant(user: User, org: Organization, role: str = Role.DISTRICT) -> RoleGrant:
    """Give `user` a role at `org` and drop the per-request grant cache scoping keeps on the user."""
    row = RoleGrant.objects.create(user=user, org=org, role=role)
    user.__dict__.pop("_portal_grants", None)
    return row


def fresh(user: User) -> User:
    """The same account, reloaded: scoping caches grants on the user object like a request would."""
    return User.objects.get(pk=user.pk)


def names(objects) -> set[str]:
    return {obj.name for obj in objects}


def set_rule(key: str, value) -> Rule:
    rule = Rule.objects.get(key=key)
    rule.value = value
    rule.save()
    return rule


# ---------------------------------------------------------------- regions (treebeard)
_REGION_KIND_BY_DEPTH = {1: RegionKind.DISTRICT, 2: RegionKind.STREET, 3: RegionKind.COMMUNITY}


def make_region(name: str | None = None, *, parent: Region | None = None, kind: str | None = None, code: str | None = None) -> Region:
    n = _next()
    depth = 1 if parent is None else parent.depth + 1
    region = Region(
        name=name or f"区域{n}",
        code=code or f"R{n:06d}",
        kind=kind or _REGION_KIND_BY_DEPTH.get(depth, RegionKind.COMMUNITY),
    )
    if parent is None:
        return Region.objects.add_root(instance=region)
    return Region.objects.add_child(parent, instance=region)


def default_region() -> Region:
    return Region.objects.get_first_root_node() or make_region("测试区")


# ---------------------------------------------------------------- organizations (through the action)
_DEFAULT_FORMATION = {
    OrgKind.BRANCH: FormationMode.SINGLE,
    OrgKind.JOINT_BRANCH: FormationMode.JOINT,
}


def make_org(
    name: str | None = None,
    *,
    parent: Organization | None = None,
    kind: str | None = None,
    code: str | None = None,
    formation_mode: str | None = None,
    workplaces: list[Workplace] | None = None,
    actor=None,
    **kwargs,
) -> Organization:
    """An org created the way the system does it (orgs.actions.org_create)."""
    n = _next()
    if kind is None:
        kind = OrgKind.DISTRICT_COMMITTEE if parent is None else OrgKind.BRANCH
    if formation_mode is None:
        formation_mode = _DEFAULT_FORMATION.get(kind, "")
    return org_create(
        actor=SYSTEM if actor is None else actor,
        parent=parent,
        kind=kind,
        name=name or f"党组织{n}",
        code=code or f"ORG{n:05d}",
        formation_mode=formation_mode,
        workplaces=workplaces,
        **kwargs,
    )


def make_root(name: str = "区委两新工委", **kwargs) -> Organization:
    return make_org(name, parent=None, kind=OrgKind.DISTRICT_COMMITTEE, **kwargs)


def default_root() -> Organization:
    return Organization.objects.get_first_root_node() or make_root()


def make_committee(name: str | None = None, *, parent: Organization, kind: str = OrgKind.INDUSTRY_COMMITTEE, **kwargs) -> Organization:
    return make_org(name, parent=parent, kind=kind, **kwargs)


def make_branch(name: str | None = None, *, parent: Organization, workplaces=None, **kwargs) -> Organization:
    return make_org(name, parent=parent, kind=OrgKind.BRANCH, workplaces=workplaces, **kwargs)


def make_joint_branch(name: str | None = None, *, parent: Organization, workplaces=None, **kwargs) -> Organization:
    return make_org(name, parent=parent, kind=OrgKind.JOINT_BRANCH, workplaces=workplaces, **kwargs)


def reload(obj):
    """A fresh copy from the database (tree fields change under other nodes' feet)."""
    return type(obj).objects.get(pk=obj.pk)


# ---------------------------------------------------------------- flat models
class WorkplaceFactory(DjangoModelFactory):
    class Meta:
        model = Workplace

    name = factory.Sequence(lambda n: f"单位{n:04d}")
    kind = WorkplaceKind.STATION
    industry = Industry.EXPRESS
    address = factory.Sequence(lambda n: f"测试路{n}号")
    region = factory.LazyFunction(default_region)
    responsible_org = factory.LazyFunction(default_root)
    gig_worker_count = 10
    has_trade_union = False
    is_active = True


class InstructorFactory(DjangoModelFactory):
    class Meta:
        model = Instructor

    name = factory.Sequence(lambda n: f"指导员{n}")
    user = None
    org = factory.LazyFunction(default_root)
    title = "党建指导员"


class AssignmentFactory(DjangoModelFactory):
    class Meta:
        model = Assignment

    instructor = factory.SubFactory(InstructorFactory)
    role = AssignmentRole.INSTRUCTOR
    workplace = factory.SubFactory(WorkplaceFactory)
    org = None
    started_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    ended_on = None


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    name = factory.Sequence(lambda n: f"党员{n}")
    org = factory.LazyFunction(default_root)
    workplace = None
    stage = Stage.FULL
    relation_kind = RelationKind.HELD
    occupation = Occupation.COURIER
    lost_contact_since = factory.LazyAttribute(
        lambda m: timezone.localdate() - dt.timedelta(days=200) if m.relation_kind == RelationKind.LOST_CONTACT else None
    )


# ---------------------------------------------------------------- more flat models (the per-view matrix builds
# one object of every model a page looks up, in or out of the user's subtree: tests/view_cases.py)
class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = "activities.Activity"

    kind = "general_meeting"
    org = factory.LazyFunction(default_root)
    starts_at = factory.Sequence(lambda n: timezone.now().replace(microsecond=0) - dt.timedelta(days=3, minutes=n))
    topic = factory.Sequence(lambda n: f"议题{n}")
    created_by = factory.SubFactory(UserFactory)


class ActivityFileFactory(DjangoModelFactory):
    """Writes a real file under MEDIA_ROOT (point it at tmp_path in the test)."""

    class Meta:
        model = "activities.ActivityFile"

    activity = factory.SubFactory(ActivityFactory)
    file = factory.django.FileField(filename="minutes.txt", data=b"minutes")
    original_name = "minutes.txt"
    content_type = "text/plain"
    size = 7
    uploaded_by = factory.SubFactory(UserFactory)


class ExemptionFactory(DjangoModelFactory):
    class Meta:
        model = "activities.Exemption"

    org = factory.LazyFunction(default_root)
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=10))
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=10))
    reason = "测试豁免"
    approved_by = factory.SubFactory(UserFactory)


class TransferFactory(DjangoModelFactory):
    """An internal transfer of a member from its org to `to_org` (requested; no events)."""

    class Meta:
        model = "members.Transfer"

    member = factory.SubFactory(MemberFactory)
    kind = "internal"
    from_org = factory.LazyAttribute(lambda t: t.member.org)
    to_org = factory.LazyAttribute(lambda t: t.member.org)
    reason = "工作调动"
    requested_by = factory.SubFactory(UserFactory)


class RevealLogFactory(DjangoModelFactory):
    class Meta:
        model = "members.RevealLog"

    actor = factory.SubFactory(UserFactory)
    member = factory.SubFactory(MemberFactory)
    field = "phone"
    reason = "联系核实"


class MemberImportFactory(DjangoModelFactory):
    class Meta:
        model = "members.MemberImport"

    org = factory.LazyFunction(default_root)
    uploaded_by = factory.SubFactory(UserFactory)
    filename = factory.Sequence(lambda n: f"导入{n}.xlsx")


class RosterComparisonFactory(DjangoModelFactory):
    class Meta:
        model = "members.RosterComparison"

    org = factory.LazyFunction(default_root)
    uploaded_by = factory.SubFactory(UserFactory)
    filename = factory.Sequence(lambda n: f"名单{n}.xlsx")
    status = "done"


class CoverageSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = "coverage.CoverageSnapshot"

    org = factory.LazyFunction(default_root)
    kind = "on_demand"
    period_start = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    period_end = factory.LazyFunction(timezone.localdate)
    requested_by = None


class ServiceCategoryFactory(DjangoModelFactory):
    class Meta:
        model = "services.ServiceCategory"

    code = factory.Sequence(lambda n: f"test-category-{n}")
    name = factory.Sequence(lambda n: f"测试类别{n}")
    guidance = "请说明情况"
    sla_hours = 48


class ReplyTemplateFactory(DjangoModelFactory):
    class Meta:
        model = "services.ReplyTemplate"

    category = factory.SubFactory(ServiceCategoryFactory)
    title = factory.Sequence(lambda n: f"回复模板{n}")
    body = "您好，{code} 已办结。"


class ReminderRuleFactory(DjangoModelFactory):
    class Meta:
        model = "notifications.ReminderRule"

    name = factory.Sequence(lambda n: f"提醒规则{n}")
    kind = "probation_ending"
    offset = 30
    recipients = factory.LazyFunction(lambda: ["secretary"])
    channels = factory.LazyFunction(lambda: ["inbox"])
    subject_template = "提醒"
    body_template = "请及时办理。"
    effective_from = factory.LazyFunction(timezone.localdate)


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = "notifications.Notification"

    user = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"通知{n}")
    url = "/"


class ApiTokenFactory(DjangoModelFactory):
    """An API token (core.models.ApiToken) made the way knox makes one; the token itself is `.plaintext` on the
    returned object (never stored). Valid for 30 days unless `expiry` says otherwise."""

    class Meta:
        model = "portal.ApiToken"

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"测试令牌{n}")
    scope = "full"
    expiry = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from knox.models import get_digest_token
        from knox.settings import CONSTANTS

        digest, plaintext = get_digest_token()
        kwargs.setdefault("digest", digest)
        kwargs.setdefault("token_key", plaintext[: CONSTANTS.TOKEN_KEY_LENGTH])
        token = model_class(*args, **kwargs)  # knox's manager.create() draws its own token
        token.save(force_insert=True)
        token.plaintext = plaintext
        return token
