"""Helpers for the per-view permission matrix (tests/test_every_view.py): the URL patterns, two districts,
users holding or lacking a page's permission, and one object of each model a page looks up, built inside or
outside the user's district.

Adding a page whose object is a new model: add a builder to BUILDERS (a model without one fails the matrix,
so no page can skip the out-of-scope case). A page whose object is not `queryset.model` (it looks the object
up through a selector) is listed in OBJECT_MODELS; a URL argument other than the lookup one names the
attribute it comes from in KWARG_ATTRS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from activities.models import Activity, ActivityFile, Exemption
from core.audit import audit_record
from core.models import ApiToken, AuditEntry, Rule, User
from core.views.generic import PortalView, ScopedObjectMixin
from coverage.models import CoverageSnapshot
from members.models import Member, MemberImport, RevealLog, RosterComparison, Transfer
from notifications.models import Notification, ReminderRule
from orgs.models import Assignment, Instructor, Organization, Region, Role, RoleGrant, Workplace
from orgs.permissions import ROLE_ACTIONS
from services.models import ServiceCategory, ServicePoint, ServiceRequest
from tests import factories as f
from tests.services.factories import make_point, make_request

#: url names the matrix does not open: the admin, the API (tests/coverage API tests), the language switch and
#: the foundation's own pages (login, logout, health checks)
SKIPPED_PREFIXES = ("admin:", "api-")
SKIPPED_NAMES = {"set_language", "login", "logout", "healthz"}

#: every permission some role holds
KNOWN_PERMS: frozenset[str] = frozenset().union(*ROLE_ACTIONS.values())
#: the order roles are tried in: the broadest first for "holds", the narrowest first for "lacks"
ROLES_BROAD_FIRST = (Role.DISTRICT, Role.SECRETARY, Role.INSTRUCTOR, Role.VIEWER)


def url_patterns(resolver=None, prefix: str = ""):
    """(namespaced name, URLPattern) of every named pattern."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from url_patterns(entry, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + entry.name, entry


def matrix_patterns() -> dict[str, URLPattern]:
    """The patterns the matrix covers (the first pattern of a name wins, as reverse() does)."""
    found: dict[str, URLPattern] = {}
    for name, pattern in url_patterns():
        if name.startswith(SKIPPED_PREFIXES) or name in SKIPPED_NAMES:
            continue
        found.setdefault(name, pattern)
    return found


def view_class_of(pattern: URLPattern):
    return getattr(pattern.callback, "view_class", None)


def route_kwargs(pattern: URLPattern) -> list[str]:
    """The URL arguments a pattern takes from the path (not its fixed default arguments)."""
    return [key for key in pattern.pattern.regex.groupindex if key not in (pattern.default_args or {})]


def dummy_kwargs(pattern: URLPattern) -> dict[str, str]:
    return {key: "1" for key in route_kwargs(pattern)}


def methods(view_class) -> list[str]:
    """The methods the page answers among GET and POST."""
    return [m for m in ("get", "post") if m in view_class.http_method_names and hasattr(view_class, m)]


# ---------------------------------------------------------------- roles
def role_lacking(perm: str) -> str | None:
    """A role that does not allow `perm` (the narrowest first), or None when every role allows it."""
    for role in reversed(ROLES_BROAD_FIRST):
        if perm not in ROLE_ACTIONS[role]:
            return role
    return None


def role_holding(*perms: str) -> str | None:
    """A role allowing all of `perms` (the broadest first), or None."""
    for role in ROLES_BROAD_FIRST:
        if all(p in ROLE_ACTIONS[role] for p in perms):
            return role
    return None


# ---------------------------------------------------------------- two districts
@dataclass
class Side:
    """One part of the tree standing for a district: an industry committee (the user's grant sits here), two
    branches under it, and a staff account. The portal has one root org, so both sides hang under it."""

    root: Organization
    committee: Organization
    branch: Organization
    branch_2: Organization
    region: Region
    staff: User


def build_sides(*, staff: User | None = None) -> tuple[Side, Side]:
    """(home, away): two sibling subtrees under one root; `staff` (or a new account) is home's."""
    region = f.make_region("矩阵区", code="MX-R")
    root = f.make_root("矩阵区委两新工委", code="MX-ROOT", region=region)
    sides = []
    for label, account in (("HOME", staff), ("AWAY", None)):
        committee = f.make_committee(f"{label}快递行业党委", parent=root, code=f"{label}-EXP")
        branch = f.make_branch(f"{label}站点党支部", parent=committee, code=f"{label}-A")
        branch_2 = f.make_branch(f"{label}第二党支部", parent=committee, code=f"{label}-B")
        sides.append(Side(root=root, committee=f.reload(committee), branch=branch, branch_2=branch_2, region=region,
                          staff=account or f.UserFactory(username=f"{label.lower()}-staff")))
    for side in sides:
        side.root = f.reload(root)
    return sides[0], sides[1]


def _activity(side: Side) -> Activity:
    activity = f.ActivityFactory(org=side.branch, created_by=side.staff)
    f.ActivityFileFactory(activity=activity, uploaded_by=side.staff)
    return activity


def _user(side: Side) -> User:
    account = f.UserFactory()
    f.grant(account, side.branch, Role.SECRETARY)
    return account


def _category(side: Side) -> ServiceCategory:
    category = f.ServiceCategoryFactory()
    f.ReplyTemplateFactory(category=category)
    return category


def _snapshot(side: Side) -> CoverageSnapshot:
    return f.CoverageSnapshotFactory(org=side.committee, status="ready", taken_at=timezone.now(), report=b"PK\x03\x04report",
                                     report_built_at=timezone.now())


def _workplace(side: Side) -> Workplace:
    return f.WorkplaceFactory(responsible_org=side.committee, region=side.region)


#: model -> builder(side) of one object inside `side`'s district
BUILDERS: dict[type, Callable[[Side], object]] = {
    Organization: lambda side: f.make_branch(parent=side.committee),
    Workplace: _workplace,
    Instructor: lambda side: f.InstructorFactory(org=side.committee),
    Assignment: lambda side: f.AssignmentFactory(instructor=f.InstructorFactory(org=side.committee),
                                                 workplace=_workplace(side), started_on=timezone.localdate() - dt.timedelta(days=5)),
    User: _user,
    Member: lambda side: f.MemberFactory(org=side.branch),
    Transfer: lambda side: f.TransferFactory(member=f.MemberFactory(org=side.branch), to_org=side.branch_2,
                                             requested_by=side.staff),
    RevealLog: lambda side: f.RevealLogFactory(member=f.MemberFactory(org=side.branch), actor=side.staff),
    MemberImport: lambda side: f.MemberImportFactory(org=side.branch, uploaded_by=side.staff),
    RosterComparison: lambda side: f.RosterComparisonFactory(org=side.branch, uploaded_by=side.staff),
    Activity: _activity,
    ActivityFile: lambda side: f.ActivityFileFactory(activity=f.ActivityFactory(org=side.branch, created_by=side.staff),
                                                     uploaded_by=side.staff),
    Exemption: lambda side: f.ExemptionFactory(org=side.branch, approved_by=side.staff),
    CoverageSnapshot: _snapshot,
    ServiceRequest: lambda side: make_request(org=side.branch),
    ServicePoint: lambda side: make_point(org=side.branch, region=side.region, lat=Decimal("39.900000"),
                                          lon=Decimal("116.400000")),
    ServiceCategory: _category,
    ReminderRule: lambda side: f.ReminderRuleFactory(),
    Rule: lambda side: Rule.objects.order_by("pk").first(),  # seeded by migration
    # a user's own inbox: "another district" is somebody else's notification
    Notification: lambda side: f.NotificationFactory(user=side.staff),
    ApiToken: lambda side: f.ApiTokenFactory(user=_user(side), issued_by=side.staff),
    Region: lambda side: f.make_region(parent=side.region),
    RoleGrant: lambda side: f.grant(_user(side), side.branch_2, Role.VIEWER),  # a second grant: revoking is allowed
    AuditEntry: lambda side: audit_record(actor=side.staff, action="org.update", obj=side.branch,
                                          changes={"name": ["甲", "乙"]}),
}

#: objects that belong to no subtree (district-wide settings): only the in-scope case applies
UNSCOPED: set[type] = {Rule, ServiceCategory, ReminderRule, Region}

#: pages whose object is not `queryset.model` (or that have no queryset and look it up via a selector)
OBJECT_MODELS: dict[str, type] = {
    "orgs:tree_children": Organization,
    "orgs:user_detail": User,
    "orgs:grant_add": User,
    "orgs:grant_revoke": User,
    "orgs:user_deactivate": User,
    "orgs:user_reactivate": User,
    "orgs:user_reveal_right": User,
    "orgs:user_password_link": User,
    "orgs:rule_edit": Rule,
    "members:member_detail": Member,
    "members:member_edit": Member,
    "members:member_advance": Member,
    "members:member_extend_probation": Member,
    "members:member_reveal": Member,
    "members:transfer_detail": Transfer,
    "members:transfer_act": Transfer,
    "activities:activity_file": ActivityFile,
    "services:category_edit": ServiceCategory,
    "services:category_template_add": ServiceCategory,
    "services:category_template_edit": ServiceCategory,
    "services:request_detail": ServiceRequest,
    "services:request_reveal": ServiceRequest,
    "services:request_accept": ServiceRequest,
    "services:request_start": ServiceRequest,
    "services:request_resolve": ServiceRequest,
    "services:request_reply": ServiceRequest,
    "services:request_note": ServiceRequest,
    "services:request_assign": ServiceRequest,
    "services:request_priority": ServiceRequest,
    "services:request_reroute": ServiceRequest,
    "services:request_reject": ServiceRequest,
    "coverage:org_detail": Organization,
    "coverage:workplace_detail": Workplace,
    "coverage:snapshot_detail": CoverageSnapshot,
    "coverage:snapshot_download": CoverageSnapshot,
    "notifications:inbox_open": Notification,
    "notifications:reminder_rule_edit": ReminderRule,
}

#: (model, URL argument) -> the attribute path of the object it comes from ("a__b" follows relations; a
#: to-many step takes the first related row)
KWARG_ATTRS: dict[tuple[type, str], str] = {
    (ServiceRequest, "code"): "tracking_code",
    (Organization, "parent_pk"): "pk",
    (Member, "member_pk"): "pk",
    (User, "grant_pk"): "grants__pk",
    (ServiceCategory, "template_pk"): "reply_templates__pk",
}


class MatrixGap(AssertionError):
    """The matrix cannot build a case for a page: say what to declare."""


def object_model(name: str, view_class) -> type | None:
    """The model of the page's object, or None for a page without one (no URL arguments)."""
    if name in OBJECT_MODELS:
        return OBJECT_MODELS[name]
    queryset = getattr(view_class, "queryset", None)
    if queryset is not None:
        return queryset.model
    return None


def attr_path(obj, path: str):
    value = obj
    for part in path.split("__"):
        value = getattr(value, part)
        if hasattr(value, "all") and callable(value.all) and not isinstance(value, type):  # a related manager
            value = value.order_by("pk").first()
            if value is None:
                raise MatrixGap(f"{type(obj).__name__}.{path}: the builder made no related row")
    return value


def object_kwargs(name: str, pattern: URLPattern, view_class, obj) -> dict:
    """The URL arguments naming `obj` on this page."""
    kwargs = {}
    lookup_kwarg = getattr(view_class, "lookup_url_kwarg", None) if issubclass(view_class, ScopedObjectMixin) else None
    for key in route_kwargs(pattern):
        if key == lookup_kwarg:
            path = view_class.lookup_field
        elif (type(obj), key) in KWARG_ATTRS:
            path = KWARG_ATTRS[(type(obj), key)]
        elif key == "pk":
            path = "pk"
        else:
            raise MatrixGap(f"{name}: say where URL argument {key!r} comes from: KWARG_ATTRS[({type(obj).__name__}, {key!r})]")
        kwargs[key] = attr_path(obj, path)
    return kwargs


def build(model: type, side: Side):
    if model not in BUILDERS:
        raise MatrixGap(f"no builder for {model.__name__}: add one to tests/view_cases.py BUILDERS (and a factory)")
    return BUILDERS[model](side)


def is_portal_page(view_class) -> bool:
    return view_class is not None and isinstance(view_class, type) and issubclass(view_class, PortalView)
