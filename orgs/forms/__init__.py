"""Forms collect and validate input; saving is done by orgs.actions."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from orgs.forms.pickers import use_org_picker
from orgs.models import (
    ALLOWED_CHILD_KINDS,
    AssignmentRole,
    FormationMode,
    Industry,
    Instructor,
    Organization,
    OrgKind,
    Region,
    Workplace,
    WorkplaceKind,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _region_choices():
    return Region.objects.order_by("path")


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "　" * (obj.depth - 1) + obj.name


class OrgChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "　" * (obj.depth - 1) + obj.name


class WorkplaceMultipleField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.get_kind_display()}）"


# Fields of the org form that only the level above may change (orgs.actions.ORG_STRUCTURAL_FIELDS + coverage).
STRUCTURE_FORM_FIELDS = ("formation_mode", "established_on", "has_committee", "committee_elected_on", "workplaces")


class OrgForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("组织类别"), choices=OrgKind.choices)
    name = forms.CharField(label=_("组织名称"), max_length=100)
    code = forms.CharField(label=_("组织代码"), max_length=30, help_text=_("全区唯一，如 ZB-KD-001"))
    formation_mode = forms.ChoiceField(label=_("组建方式"), choices=[("", "—")] + list(FormationMode.choices), required=False)
    industry = forms.ChoiceField(label=_("行业"), choices=[("", "—")] + list(Industry.choices), required=False)
    region = RegionChoiceField(label=_("所在区域"), queryset=Region.objects.none(), required=False)
    secretary_name = forms.CharField(label=_("书记"), max_length=50, required=False)
    established_on = forms.DateField(label=_("成立日期"), widget=DATE_WIDGET, required=False)
    document_number = forms.CharField(label=_("批复文号"), max_length=60, required=False)
    has_committee = forms.BooleanField(label=_("设支部委员会"), required=False)
    committee_elected_on = forms.DateField(label=_("本届委员会选举日期"), widget=DATE_WIDGET, required=False)
    workplaces = WorkplaceMultipleField(label=_("覆盖单位"), queryset=Workplace.objects.none(), required=False,
                                        widget=forms.SelectMultiple(attrs={"size": 8}))
    reason = forms.CharField(label=_("变更说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, parent: Organization | None = None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = _region_choices()
        self.fields["workplaces"].queryset = Workplace.objects.restrict(user, "view").filter(is_active=True).order_by("name")
        if parent is not None:
            allowed = ALLOWED_CHILD_KINDS.get(parent.kind, ())
            self.fields["kind"].choices = [(k, v) for k, v in OrgKind.choices if k in allowed]
        if editing:
            # An edit changes names and contact facts only; the org's structural facts (and its kind) are changed
            # by the level above on the separate OrgStructureForm page, with a document number and a reason.
            for name in ("kind", *STRUCTURE_FORM_FIELDS):
                del self.fields[name]
            # Here the document number is the change's (e.g. of a rename), optional; not the approval number.
            self.fields["document_number"].label = _("变更文号")

    def clean(self):
        data = super().clean()
        if "has_committee" in self.fields and data.get("has_committee") and not data.get("committee_elected_on"):
            self.add_error("committee_elected_on", _("设支部委员会的，请填写本届委员会选举日期。"))
        return data


class OrgStructureForm(BootstrapFormMixin, forms.Form):
    """变更组织要素: the facts that decide what is expected of an org, changed by the level above."""

    formation_mode = forms.ChoiceField(label=_("组建方式"), choices=[("", "—")] + list(FormationMode.choices), required=False)
    established_on = forms.DateField(label=_("成立日期"), widget=DATE_WIDGET, required=False)
    has_committee = forms.BooleanField(label=_("设支部委员会"), required=False)
    committee_elected_on = forms.DateField(label=_("本届委员会选举日期"), widget=DATE_WIDGET, required=False)
    workplaces = WorkplaceMultipleField(label=_("覆盖单位"), queryset=Workplace.objects.none(), required=False,
                                        widget=forms.SelectMultiple(attrs={"size": 8}))
    happened_on = forms.DateField(label=_("变更日期"), widget=DATE_WIDGET)
    document_number = forms.CharField(label=_("变更文号"), max_length=60)
    reason = forms.CharField(label=_("变更原因"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        # What the org covers now stays selectable even if it closed since, so saving keeps it unless unticked.
        self.fields["workplaces"].queryset = (
            Workplace.objects.restrict(user, "view").filter(Q(is_active=True) | Q(pk__in=org.workplaces.values("pk"))).order_by("name")
        )

    def clean(self):
        data = super().clean()
        if data.get("has_committee") and not data.get("committee_elected_on"):
            self.add_error("committee_elected_on", _("设支部委员会的，请填写本届委员会选举日期。"))
        return data


class OrgMoveForm(BootstrapFormMixin, forms.Form):
    new_parent = OrgChoiceField(label=_("新的上级党组织"), queryset=Organization.objects.none())
    happened_on = forms.DateField(label=_("调整日期"), widget=DATE_WIDGET)
    document_number = forms.CharField(label=_("文号"), max_length=60, required=False)
    reason = forms.CharField(label=_("原因"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].queryset = (
            Organization.objects.restrict(user, "add").active().exclude(kind=OrgKind.PARTY_GROUP).order_by("path")
        )
        use_org_picker(self.fields["new_parent"], "org.add")  # searches; never lists every org


class OrgDissolveForm(BootstrapFormMixin, forms.Form):
    happened_on = forms.DateField(label=_("撤销日期"), widget=DATE_WIDGET)
    document_number = forms.CharField(label=_("文号"), max_length=60, required=False)
    reason = forms.CharField(label=_("撤销原因"), widget=forms.Textarea(attrs={"rows": 2}))


class WorkplaceForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("单位名称"), max_length=100)
    kind = forms.ChoiceField(label=_("单位类型"), choices=WorkplaceKind.choices)
    industry = forms.ChoiceField(label=_("行业"), choices=Industry.choices)
    region = RegionChoiceField(label=_("所在区域"), queryset=Region.objects.none())
    responsible_org = OrgChoiceField(label=_("属地/行业主管党组织"), queryset=Organization.objects.none())
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    latitude = forms.DecimalField(label=_("纬度"), max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False)
    longitude = forms.DecimalField(label=_("经度"), max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False)
    gig_worker_count = forms.IntegerField(label=_("新就业群体从业人数"), min_value=0, initial=0)
    has_trade_union = forms.BooleanField(label=_("已建工会"), required=False)
    is_active = forms.BooleanField(label=_("在营"), required=False, initial=True)

    def __init__(self, *args, user, perm: str = "workplace.add", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = _region_choices()
        from orgs.selectors import orgs_where

        self.fields["responsible_org"].queryset = (
            orgs_where(user=user, perm=perm).exclude(kind=OrgKind.PARTY_GROUP).order_by("path")
        )
        use_org_picker(self.fields["responsible_org"], perm)

    def clean(self):
        data = super().clean()
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise forms.ValidationError(_("经纬度须同时填写或同时留空。"))
        return data


class AssignmentForm(BootstrapFormMixin, forms.Form):
    instructor = forms.ModelChoiceField(label=_("指导员/联络员"), queryset=Instructor.objects.none())
    role = forms.ChoiceField(label=_("身份"), choices=AssignmentRole.choices)
    started_on = forms.DateField(label=_("开始日期"), widget=DATE_WIDGET)
    ended_on = forms.DateField(label=_("结束日期"), widget=DATE_WIDGET, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instructor"].queryset = Instructor.objects.restrict(user, "add").order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("ended_on") and data.get("started_on") and data["ended_on"] < data["started_on"]:
            self.add_error("ended_on", _("结束日期不能早于开始日期。"))
        return data


class AssignmentEndForm(BootstrapFormMixin, forms.Form):
    ended_on = forms.DateField(label=_("结束日期"), widget=DATE_WIDGET)
