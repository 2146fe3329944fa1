"""Member and transfer FilterSets, shared by the UI lists, their exports and the API (/api/v1/members/,
/api/v1/transfers/).

Search by 身份证号 or phone is an exact match on the blind index (core.crypto.blind_index); ciphertext is
never searched with LIKE. The page submits that search by POST and the API offers POST
/api/v1/members/lookup/, so the number never appears in a URL.
"""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core import crypto
from core.dates import sane_date_validator
from members.actions.registry import ID_PURPOSE, PHONE_PURPOSE
from members.models import (
    OPEN_TRANSFER_STATUSES,
    PARTY_MEMBER_STAGES,
    Education,
    Gender,
    Member,
    MemberRole,
    Occupation,
    RelationKind,
    Stage,
    Transfer,
    TransferKind,
    TransferStatus,
)
from members.selectors.registry import FLAG_LABELS, has_role_q
from members.validators import MOBILE_RE, normalize_id_number, normalize_phone
from orgs.forms.pickers import org_picker, workplace_picker
from orgs.models import Organization, Workplace
from orgs.scoping import path_q

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def pid_kind(value: str, *, strict: bool = False) -> tuple[str, str] | None:
    """("id"|"phone", normalized value) for an exact search, or None (raises for bad input when strict)."""
    value = normalize_id_number(value)
    if not value:
        return None
    if len(value) == 18:
        return "id", value
    phone = normalize_phone(value)
    if MOBILE_RE.match(phone):
        return "phone", phone
    if strict:
        raise forms.ValidationError(_("请输入完整的18位身份证号或11位手机号。"))
    return None


def exact_match_q(kind: str, normalized: str) -> Q:
    """Blind-index equality for an exact search: `kind` "id" (an ID number) or "phone" (a mobile number)."""
    if kind == "id":
        return Q(id_number_index=crypto.blind_index(normalized, purpose=ID_PURPOSE))
    return Q(phone_index=crypto.blind_index(normalized, purpose=PHONE_PURPOSE))


class MemberFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("姓名"), method="filter_name")
    stage = django_filters.ChoiceFilter(label=_("发展阶段"), choices=Stage.choices)
    relation_kind = django_filters.ChoiceFilter(label=_("组织关系"), choices=RelationKind.choices)
    occupation = django_filters.ChoiceFilter(label=_("职业"), choices=Occupation.choices)
    gender = django_filters.ChoiceFilter(label=_("性别"), choices=Gender.choices)
    education = django_filters.ChoiceFilter(label=_("学历"), choices=Education.choices)
    party_member = django_filters.BooleanFilter(label=_("党员（预备或正式）"), method="filter_party_member")
    workplace = django_filters.ModelChoiceFilter(label=_("工作单位"), queryset=Workplace.objects.none())
    org = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=Organization.objects.none(), method="filter_org")
    flag = django_filters.ChoiceFilter(
        label=_("提示"), choices=[("lost_contact", _("失联满规定月数")), ("card_expired", _("流动党员活动证过期")),
                             ("no_life", _("长期未参加组织生活"))],
        method="filter_flag",
    )
    role = django_filters.ChoiceFilter(label=_("作用发挥"), choices=MemberRole.choices, method="filter_role")
    # Exact look-up by ID number or phone: POSTed by the list view, never put in a link. Hidden, so the GET
    # filter form (whose values go into the URL) never renders it.
    pid = django_filters.CharFilter(label=_("身份证号或手机号"), method="filter_pid", widget=forms.HiddenInput,
                                    validators=[lambda v: pid_kind(v, strict=True)])
    # For REST clients that sync changes (hidden: the page's filter form does not render it).
    updated_since = django_filters.IsoDateTimeFilter(
        label=_("更新时间不早于"), field_name="updated_at", lookup_expr="gte", widget=forms.HiddenInput,
        validators=[sane_date_validator],
    )

    class Meta:
        model = Member
        fields = ["q", "stage", "relation_kind", "occupation", "gender", "education", "party_member", "workplace", "org",
                  "flag", "role", "pid", "updated_since"]

    def __init__(self, data=None, queryset=None, *, request_user=None, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        if request_user is None and request is not None:
            request_user = request.user  # the generic list view passes the request
        if request_user is not None:
            self.filters["workplace"].queryset = Workplace.objects.restrict(request_user, "view").order_by("name")
            self.filters["workplace"].extra["widget"] = workplace_picker()  # tens of thousands in a city
            self.filters["org"].queryset = Organization.objects.restrict(request_user, "view").active().order_by("path")
            self.filters["org"].extra["widget"] = org_picker("org.view")  # searches; never lists every org

    def get_form_class(self):
        from core.forms import BootstrapFormMixin

        return type("MemberFilterForm", (BootstrapFormMixin, super().get_form_class()), {})

    def filter_name(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(name__icontains=value) if value else queryset

    def filter_org(self, queryset, name, value):
        return queryset.filter(path_q("org__path", [value.path])) if value else queryset

    def filter_party_member(self, queryset, name, value):
        if value is None:
            return queryset
        q = Q(stage__in=PARTY_MEMBER_STAGES)
        return queryset.filter(q if value else ~q)

    def filter_flag(self, queryset, name, value):
        field = FLAG_LABELS.get(value)
        return queryset.filter(**{field: True}) if field else queryset

    def filter_role(self, queryset, name, value):
        return queryset.filter(has_role_q(value)) if value else queryset

    def filter_pid(self, queryset, name, value):
        found = pid_kind(value)
        if found is None:
            return queryset if not (value or "").strip() else queryset.none()
        return queryset.filter(exact_match_q(*found))


class TransferFilterSet(django_filters.FilterSet):
    """Transfers (组织关系转接) by status, kind, member, either side's org, the page boxes and request dates.

    The queryset is already the caller's (both sides see a transfer); ids of orgs or members outside it simply
    match nothing (number filters: a "not a valid choice" answer would tell an id exists)."""

    status = django_filters.MultipleChoiceFilter(label=_("状态"), choices=TransferStatus.choices)
    kind = django_filters.ChoiceFilter(label=_("转接类型"), choices=TransferKind.choices)
    is_open = django_filters.BooleanFilter(label=_("正在办理"), method="filter_is_open")
    box = django_filters.ChoiceFilter(
        label=_("列表"), method="filter_box",
        choices=[("inbox", _("待我办理的转接")), ("outbox", _("我方转出与申请的转接")), ("open", _("在途转接"))],
    )
    member = django_filters.NumberFilter(label=_("党员"), field_name="member_id")
    from_org = django_filters.NumberFilter(label=_("转出党组织"), field_name="from_org_id")
    to_org = django_filters.NumberFilter(label=_("接收党组织"), field_name="to_org_id")
    org = django_filters.ModelChoiceFilter(label=_("党组织（含下级）"), queryset=Organization.objects.none(), method="filter_org")
    cross_province = django_filters.BooleanFilter(label=_("跨省转接"))
    requested_from = django_filters.DateFilter(label=_("申请日期自"), field_name="requested_at", lookup_expr="date__gte",
                                               widget=DATE_INPUT, validators=[sane_date_validator])
    requested_to = django_filters.DateFilter(label=_("申请日期至"), field_name="requested_at", lookup_expr="date__lte",
                                             widget=DATE_INPUT, validators=[sane_date_validator])

    class Meta:
        model = Transfer
        fields = ["status", "kind", "is_open", "box", "member", "from_org", "to_org", "org", "cross_province",
                  "requested_from", "requested_to"]

    def __init__(self, data=None, queryset=None, *, request_user=None, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        if request_user is None and request is not None:
            request_user = request.user
        self.request_user = request_user
        if request_user is not None:
            self.filters["org"].queryset = Organization.objects.restrict(request_user, "view").order_by("path")
            self.filters["org"].extra["widget"] = org_picker("org.view")

    def filter_is_open(self, queryset, name, value):
        if value is None:
            return queryset
        q = Q(status__in=OPEN_TRANSFER_STATUSES)
        return queryset.filter(q if value else ~q)

    @extend_schema_field(OpenApiTypes.INT)  # an org's id (the schema cannot read it from the model)
    def filter_org(self, queryset, name, value):
        """Either side in the org's subtree."""
        if not value:
            return queryset
        return queryset.filter(path_q("from_org__path", [value.path]) | path_q("to_org__path", [value.path]))

    def filter_box(self, queryset, name, value):
        """The page lists' rows (members.selectors.transfers): inbox, outbox, open, as one subquery."""
        from members.selectors import transfers as selectors

        boxes = {"inbox": selectors.transfer_inbox, "outbox": selectors.transfer_outbox, "open": selectors.transfer_open_list}
        if not value or self.request_user is None:
            return queryset
        return queryset.filter(pk__in=boxes[value](user=self.request_user).values("pk"))
