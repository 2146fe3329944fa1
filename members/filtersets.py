"""Member FilterSet, shared by the UI list, its export (and later the API).

Search by 身份证号 or phone is an exact match on the blind index (core.crypto.blind_index); ciphertext is
never searched with LIKE. The view submits that search by POST so the number never appears in a URL.
"""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from core import crypto
from members.actions.registry import ID_PURPOSE, PHONE_PURPOSE
from members.models import Member, MemberRole, Occupation, RelationKind, Stage
from members.selectors.registry import FLAG_LABELS, has_role_q
from members.validators import MOBILE_RE, normalize_id_number, normalize_phone
from orgs.forms.pickers import org_picker, workplace_picker
from orgs.models import Organization, Workplace
from orgs.scoping import path_q


def _pid_kind(value: str, *, strict: bool = False) -> tuple[str, str] | None:
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


class MemberFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("姓名"), method="filter_name")
    stage = django_filters.ChoiceFilter(label=_("发展阶段"), choices=Stage.choices)
    relation_kind = django_filters.ChoiceFilter(label=_("组织关系"), choices=RelationKind.choices)
    occupation = django_filters.ChoiceFilter(label=_("职业"), choices=Occupation.choices)
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
                                    validators=[lambda v: _pid_kind(v, strict=True)])

    class Meta:
        model = Member
        fields = ["q", "stage", "relation_kind", "occupation", "workplace", "org", "flag", "role", "pid"]

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

    def filter_flag(self, queryset, name, value):
        field = FLAG_LABELS.get(value)
        return queryset.filter(**{field: True}) if field else queryset

    def filter_role(self, queryset, name, value):
        return queryset.filter(has_role_q(value)) if value else queryset

    def filter_pid(self, queryset, name, value):
        found = _pid_kind(value)
        if found is None:
            return queryset if not (value or "").strip() else queryset.none()
        kind, normalized = found
        if kind == "id":
            return queryset.filter(id_number_index=crypto.blind_index(normalized, purpose=ID_PURPOSE))
        return queryset.filter(phone_index=crypto.blind_index(normalized, purpose=PHONE_PURPOSE))
