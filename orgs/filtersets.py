"""The orgs app's FilterSets, shared by its list pages (accounts, the security-event log, the audit log) and the
REST API (orgs, regions, instructors, assignments, accounts, grants, the audit log). The generic list views and
DRF's DjangoFilterBackend build them with `(data, queryset=..., request=request)`; the querysets they get are
already restricted to the user's scope (restrict() or the selectors). An org named in a filter must be one the
user may see: any other id is "not a valid choice", exactly like an id that does not exist."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.forms import BootstrapFormMixin
from orgs.forms.audit import AuditFilterForm
from orgs.models import (
    Assignment,
    AssignmentRole,
    FormationMode,
    Industry,
    Instructor,
    Organization,
    OrgKind,
    OrgStatus,
    Region,
    RegionKind,
    Role,
    RoleGrant,
    SecurityEventKind,
    Workplace,
)
from orgs.scoping import get_scoped_or_404, grant_paths, path_q
from orgs.selectors import audit as audit_selectors


def _visible_orgs(request):
    """The orgs the requesting user may see (django-filter calls this with the request)."""
    return Organization.objects.restrict(getattr(request, "user", None), "view")


def _visible_workplaces(request):
    return Workplace.objects.restrict(getattr(request, "user", None), "view")


def _visible_instructors(request):
    return Instructor.objects.restrict(getattr(request, "user", None), "view")


class _BootstrapForm:
    def get_form_class(self):
        return type(f"{type(self).__name__}Form", (BootstrapFormMixin, super().get_form_class()), {})


# ---------------------------------------------------------------- the org tree (API: /api/v1/orgs/, /api/v1/regions/)
class OrganizationFilterSet(django_filters.FilterSet):
    """Orgs: by kind, status, industry, formation mode, region (and its sub-areas), direct parent, subtree (the
    org and everything under it) and a name/code search."""

    q = django_filters.CharFilter(label=_("名称/代码"), method="filter_q", max_length=100)
    kind = django_filters.ChoiceFilter(label=_("组织类别"), choices=OrgKind.choices)
    status = django_filters.ChoiceFilter(label=_("状态"), choices=OrgStatus.choices)
    industry = django_filters.ChoiceFilter(label=_("行业"), choices=Industry.choices)
    formation_mode = django_filters.ChoiceFilter(label=_("组建方式"), choices=FormationMode.choices)
    region = django_filters.ModelChoiceFilter(label=_("所在区域"), queryset=Region.objects.all(), method="filter_region")
    parent = django_filters.ModelChoiceFilter(label=_("上级党组织"), queryset=_visible_orgs, method="filter_parent")
    subtree = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=_visible_orgs, method="filter_subtree")

    class Meta:
        model = Organization
        fields = ["q", "kind", "status", "industry", "formation_mode", "region", "parent", "subtree"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))

    def filter_region(self, queryset, name, value):
        return queryset.filter(region__path__startswith=value.path) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_parent(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path, depth=value.depth + 1) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_subtree(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path) if value else queryset


class RegionFilterSet(django_filters.FilterSet):
    """Regions (district → street → community): by level and direct parent."""

    kind = django_filters.ChoiceFilter(label=_("层级"), choices=RegionKind.choices)
    parent = django_filters.ModelChoiceFilter(label=_("上级区域"), queryset=Region.objects.all(), method="filter_parent")

    class Meta:
        model = Region
        fields = ["kind", "parent"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_parent(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path, depth=value.depth + 1) if value else queryset


# ---------------------------------------------------------------- instructors and their assignments
class InstructorFilterSet(django_filters.FilterSet):
    """Instructors and liaisons: by the org they belong to (and its sub-orgs) and a name search."""

    q = django_filters.CharFilter(label=_("姓名"), method="filter_q", max_length=50)
    org = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=_visible_orgs, method="filter_org")

    class Meta:
        model = Instructor
        fields = ["q", "org"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(name__icontains=value) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_org(self, queryset, name, value):
        return queryset.filter(org__path__startswith=value.path) if value else queryset


class AssignmentFilterSet(django_filters.FilterSet):
    """Assignments: by instructor, workplace, org, role, and whether they are in force today."""

    instructor = django_filters.ModelChoiceFilter(label=_("指导员/联络员"), queryset=_visible_instructors)
    workplace = django_filters.ModelChoiceFilter(label=_("联系单位"), queryset=_visible_workplaces)
    org = django_filters.ModelChoiceFilter(label=_("联系党组织"), queryset=_visible_orgs)
    role = django_filters.ChoiceFilter(label=_("身份"), choices=AssignmentRole.choices)
    active = django_filters.BooleanFilter(label=_("在任"), method="filter_active")

    class Meta:
        model = Assignment
        fields = ["instructor", "workplace", "org", "role", "active"]

    def filter_active(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        active = Q(started_on__lte=today) & (Q(ended_on__isnull=True) | Q(ended_on__gte=today))
        return queryset.filter(active) if value else queryset.exclude(active)


# ---------------------------------------------------------------- accounts and grants
class UserFilterSet(_BootstrapForm, django_filters.FilterSet):
    """/users/ (and /api/v1/users/): a username or display name contains the search; a role held in the viewer's
    subtrees; enabled or disabled accounts."""

    q = django_filters.CharFilter(label=_("搜索"), method="filter_q", max_length=50)
    role = django_filters.ChoiceFilter(label=_("角色"), choices=Role.choices, method="filter_role")
    is_active = django_filters.BooleanFilter(
        label=_("状态"), widget=forms.Select(choices=[("", _("全部")), ("true", _("启用")), ("false", _("已停用"))])
    )

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.form.fields["q"].widget.input_type = "search"
        self.form.fields["q"].widget.attrs["placeholder"] = _("用户名或姓名")

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(display_name__icontains=value))

    def filter_role(self, queryset, name, value):
        """Accounts holding `value` at a node the viewer sees (the same subtrees as the grants listed with them)."""
        if not value:
            return queryset
        paths = _user_view_paths(self.request)
        grants = RoleGrant.objects.filter(user_id=OuterRef("pk"), role=value)
        if paths is not None:
            grants = grants.filter(path_q("org__path", paths))
        return queryset.filter(Exists(grants))


def _user_view_paths(request):
    """The subtrees where the requesting user may see accounts; None for everywhere (superusers)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_superuser:
        return None
    return grant_paths(user, "user.view")


class RoleGrantFilterSet(django_filters.FilterSet):
    """Grants: by account, role, and the org they sit at (or its subtree)."""

    user = django_filters.NumberFilter(label=_("用户"), field_name="user_id")
    role = django_filters.ChoiceFilter(label=_("角色"), choices=Role.choices)
    org = django_filters.ModelChoiceFilter(label=_("党组织"), queryset=_visible_orgs)
    subtree = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=_visible_orgs, method="filter_subtree")

    class Meta:
        model = RoleGrant
        fields = ["user", "role", "org", "subtree"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_subtree(self, queryset, name, value):
        return queryset.filter(org__path__startswith=value.path) if value else queryset


class SecurityEventFilterSet(_BootstrapForm, django_filters.FilterSet):
    """/security/: one kind of event (an unknown kind is ignored: every kind is listed)."""

    kind = django_filters.ChoiceFilter(label=_("类别"), choices=SecurityEventKind.choices, empty_label=_("全部类别"))


class _AuditFilterForm(AuditFilterForm):
    """The page's form plus what links and REST clients narrow by: one account, one object (hidden on the page,
    kept in its address)."""

    actor = forms.IntegerField(label=_("操作人"), required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    object_type = forms.RegexField(label=_("对象类型"), required=False, max_length=60, regex=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
                                   widget=forms.HiddenInput)
    object_id = forms.CharField(label=_("对象编号"), required=False, max_length=40, widget=forms.HiddenInput)


class AuditEntryFilterSet:
    """/audit/ (and /api/v1/audit/): who (name contains) or actor (account id), what (an action or a resource
    prefix), when (local dates), org subtree, object type and id; validated by the page's AuditFilterForm. Not a
    django-filter FilterSet because a bad value is reported and skipped on the page (the other filters still apply;
    the API answers 400 instead), and an org outside the viewer's scope is 404 rather than "not a choice". Same
    interface as a FilterSet (form, qs, errors)."""

    #: the query parameters, in order (the API documents them)
    parameters = ("who", "actor", "what", "date_from", "date_to", "org", "object_type", "object_id")

    def __init__(self, data=None, queryset=None, *, request=None, **_kwargs):
        self.queryset = queryset
        self.request = request
        self.is_bound = data is not None
        self.form = _AuditFilterForm(data, org_choices=audit_selectors.audit_org_choices(user=request.user))

    @property
    def errors(self):
        if not self.is_bound:
            return {}
        return self.form.errors

    @property
    def qs(self):
        if not hasattr(self, "_qs"):
            data = {}
            if self.is_bound:
                self.form.is_valid()
                data = self.form.cleaned_data  # only the fields that passed
            org = None
            if data.get("org"):
                org = get_scoped_or_404(Organization.objects, self.request.user, "view", pk=data["org"])
            qs = audit_selectors.audit_entries_filter(
                self.queryset, who=data.get("who", ""), what=data.get("what", ""), date_from=data.get("date_from"),
                date_to=data.get("date_to"), org=org,
            )
            if data.get("actor"):
                qs = qs.filter(actor_id=data["actor"])
            if data.get("object_type"):
                qs = qs.filter(object_type=data["object_type"])
            if data.get("object_id"):
                qs = qs.filter(object_id=data["object_id"].strip())
            self._qs = qs
        return self._qs
