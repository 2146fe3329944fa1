"""Output serializers (what a REST client reads) and input serializers (what it may send) of the org-tree resources.

Output: related objects as an id plus a display name loaded with the row (select_related or an annotation of the
viewset's `prepare()`, never a query per row); choice fields also as `<field>_display`. No password or password
hash, no set-password token except the one link a new account's creation answers with once.
Input: ids through ScopedRelatedField / AccountField, so an id outside the caller's scope reads as "does not exist".
Rules the actions check (scope, kinds, counts, the level above) are not repeated here; the form-only rules are.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import ScopedRelatedField
from core.dates import sane_date_validator
from core.models import AuditEntry, User
from orgs.models import (
    Assignment,
    AssignmentRole,
    FormationMode,
    Industry,
    Instructor,
    Organization,
    OrgKind,
    Region,
    Role,
    RoleGrant,
    Workplace,
)
from orgs.selectors.audit import change_lines
from orgs.selectors.users import users_for


def _date(**kwargs) -> serializers.DateField:
    return serializers.DateField(validators=[sane_date_validator], **kwargs)


def committee_date_required(data: dict, instance=None) -> None:
    """The org form's rule: an org with a committee names the date its committee was elected."""
    has_committee = data.get("has_committee", getattr(instance, "has_committee", False))
    elected_on = data["committee_elected_on"] if "committee_elected_on" in data else getattr(instance, "committee_elected_on", None)
    if has_committee and not elected_on:
        raise serializers.ValidationError({"committee_elected_on": [_("设支部委员会的，请填写本届委员会选举日期。")]})


@extend_schema_field(OpenApiTypes.INT)
class AccountField(serializers.PrimaryKeyRelatedField):
    """An account id among those the caller may `perm` (orgs.selectors.users): any other id does not exist."""

    def __init__(self, *, perm: str = "user.change", **kwargs):
        self.perm = perm
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return users_for(actor=getattr(request, "user", None), perm=self.perm)

    def use_pk_only_optimization(self):
        return False


# ---------------------------------------------------------------- regions
class RegionSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    parent = serializers.IntegerField(source="parent_pk", read_only=True, allow_null=True)
    parent_name = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["id", "name", "code", "kind", "kind_display", "parent", "parent_name", "depth", "path"]


# ---------------------------------------------------------------- organizations
class OrganizationSerializer(serializers.ModelSerializer):
    """An org; `parent` is null for the root and for a parent outside the caller's scope."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    formation_mode_display = serializers.CharField(source="get_formation_mode_display", read_only=True)
    industry_display = serializers.CharField(source="get_industry_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    parent = serializers.IntegerField(source="parent_pk", read_only=True, allow_null=True)
    parent_name = serializers.CharField(read_only=True, allow_null=True)
    region_name = serializers.CharField(source="region.name", read_only=True, allow_null=True, default=None)
    workplaces = serializers.SerializerMethodField(help_text="ids of the covered workplaces the caller may see")

    class Meta:
        model = Organization
        fields = [
            "id", "code", "name", "kind", "kind_display", "formation_mode", "formation_mode_display", "industry",
            "industry_display", "region", "region_name", "parent", "parent_name", "path", "depth", "numchild", "status",
            "status_display", "secretary_name", "established_on", "dissolved_on", "document_number", "has_committee",
            "committee_elected_on", "workplaces", "updated_at",
        ]

    def get_workplaces(self, obj) -> list[int]:
        return [workplace.pk for workplace in getattr(obj, "visible_workplaces", ())]


class OrgCreateSerializer(serializers.Serializer):
    """设立下级组织: the UI's org form (orgs.forms.OrgForm) for orgs.actions.org_create."""

    parent = ScopedRelatedField(model=Organization, verb="add")
    kind = serializers.ChoiceField(choices=OrgKind.choices)
    name = serializers.CharField(max_length=100)
    code = serializers.CharField(max_length=30)
    formation_mode = serializers.ChoiceField(choices=FormationMode.choices, required=False, allow_blank=True, default="")
    industry = serializers.ChoiceField(choices=Industry.choices, required=False, allow_blank=True, default="")
    region = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all(), required=False, allow_null=True, default=None)
    secretary_name = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    established_on = _date(required=False, allow_null=True, default=None)
    document_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    has_committee = serializers.BooleanField(required=False, default=False)
    committee_elected_on = _date(required=False, allow_null=True, default=None)
    workplaces = ScopedRelatedField(model=Workplace, verb="view", many=True, required=False, default=list)
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, data):
        committee_date_required(data)
        return data


class OrgUpdateSerializer(serializers.Serializer):
    """What the org itself may change (orgs.actions.ORG_DESCRIPTIVE_FIELDS); a rename may carry a document number
    and a reason. Structural facts are `restructure`, the parent `move`; any other field is refused."""

    name = serializers.CharField(max_length=100, required=False)
    code = serializers.CharField(max_length=30, required=False)
    industry = serializers.ChoiceField(choices=Industry.choices, required=False, allow_blank=True)
    region = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all(), required=False, allow_null=True)
    secretary_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    happened_on = _date(required=False, allow_null=True, help_text="the change's date on its history event")
    document_number = serializers.CharField(
        max_length=60, required=False, allow_blank=True,
        help_text="the change's document number (e.g. of a rename), kept on its history event; not the approval number",
    )
    reason = serializers.CharField(required=False, allow_blank=True)

    def validate(self, data):
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(_("不能修改字段：%(f)s") % {"f": ", ".join(unknown)})
        return data


class OrgRestructureSerializer(serializers.Serializer):
    """变更组织要素 by the level above: only the facts sent change; a document number and a reason are required.
    (The committee-date rule needs the org's current facts: the viewset checks it with `committee_date_required`.)"""

    formation_mode = serializers.ChoiceField(choices=FormationMode.choices, required=False, allow_blank=True)
    established_on = _date(required=False, allow_null=True)
    has_committee = serializers.BooleanField(required=False)
    committee_elected_on = _date(required=False, allow_null=True)
    workplaces = ScopedRelatedField(model=Workplace, verb="view", many=True, required=False)
    happened_on = _date(required=False, allow_null=True)
    document_number = serializers.CharField(max_length=60)
    reason = serializers.CharField()


class OrgMoveSerializer(serializers.Serializer):
    new_parent = ScopedRelatedField(model=Organization, verb="add")
    happened_on = _date(required=False, allow_null=True)
    document_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    reason = serializers.CharField()


class OrgDissolveSerializer(serializers.Serializer):
    happened_on = _date(required=False, allow_null=True)
    document_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    reason = serializers.CharField()


# ---------------------------------------------------------------- instructors and assignments
class InstructorSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)

    class Meta:
        model = Instructor
        fields = ["id", "name", "title", "org", "org_name", "user"]


class AssignmentSerializer(serializers.ModelSerializer):
    instructor_name = serializers.CharField(source="instructor.name", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    workplace_name = serializers.CharField(source="workplace.name", read_only=True, allow_null=True, default=None)
    org_name = serializers.CharField(source="org.name", read_only=True, allow_null=True, default=None)
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "instructor", "instructor_name", "role", "role_display", "workplace", "workplace_name", "org",
                  "org_name", "started_on", "ended_on", "is_active"]

    def get_is_active(self, obj) -> bool:
        """In force today: started, and not ended before today."""
        today = timezone.localdate()
        return obj.started_on <= today and (obj.ended_on is None or obj.ended_on >= today)


class AssignmentCreateSerializer(serializers.Serializer):
    """选派: an instructor to a workplace or to an org (exactly one of them; the action checks)."""

    instructor = ScopedRelatedField(model=Instructor, verb="add")
    role = serializers.ChoiceField(choices=AssignmentRole.choices, default=AssignmentRole.INSTRUCTOR)
    workplace = ScopedRelatedField(model=Workplace, verb="view", required=False, allow_null=True, default=None)
    org = ScopedRelatedField(model=Organization, verb="view", required=False, allow_null=True, default=None)
    started_on = _date()
    ended_on = _date(required=False, allow_null=True, default=None)

    def validate(self, data):
        if data.get("ended_on") and data["ended_on"] < data["started_on"]:
            raise serializers.ValidationError({"ended_on": [_("结束日期不能早于开始日期。")]})
        return data


class AssignmentEndSerializer(serializers.Serializer):
    ended_on = _date(required=False, default=timezone.localdate)


# ---------------------------------------------------------------- accounts and grants
class GrantSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = RoleGrant
        fields = ["id", "user", "username", "org", "org_name", "role", "role_display", "created_at"]


class NestedGrantSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = RoleGrant
        fields = ["id", "org", "org_name", "role", "role_display", "created_at"]


class UserSerializer(serializers.ModelSerializer):
    """An account and its grants inside the caller's subtrees (grants elsewhere are not shown)."""

    grants = NestedGrantSerializer(source="grants_in_scope", many=True, read_only=True)
    may_reveal = serializers.BooleanField(read_only=True, help_text="may reveal full ID numbers and phones")

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "email", "is_active", "last_login", "date_joined", "may_reveal", "grants"]


class UserCreatedSerializer(UserSerializer):
    password_link = serializers.CharField(read_only=True, help_text="the one-time set-password link: shown only in this answer")

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "password_link"]


class UserCreateSerializer(serializers.Serializer):
    """新建账号: one role at one org; no password (the answer carries a one-time set-password link)."""

    username = serializers.CharField(max_length=150)
    display_name = serializers.CharField(max_length=50)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    org = ScopedRelatedField(model=Organization, verb="view")
    role = serializers.ChoiceField(choices=Role.choices)


class GrantCreateSerializer(serializers.Serializer):
    user = AccountField(perm="user.change")
    org = ScopedRelatedField(model=Organization, verb="view")
    role = serializers.ChoiceField(choices=Role.choices)


# ---------------------------------------------------------------- the audit log
class AuditEntrySerializer(serializers.ModelSerializer):
    """One audited write; `changes` were masked when the row was written (no full ID number or phone)."""

    change_lines = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "actor", "actor_label", "address", "action", "object_type", "object_id",
                  "object_repr", "org_path", "changes", "change_lines"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_change_lines(self, obj) -> list[str]:
        return change_lines(obj)
