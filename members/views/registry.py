"""Member registry pages: the list (filters, exact search by ID number or phone, masked export), the masked
detail with its logged reveal, the forms to register, edit, advance and extend probation, and the reveal log.
Thin: selectors read, actions write; the generic views scope, gate, page and export."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, apply_to_form
from core.views.generic import ScopedDetailView, ScopedFormView, ScopedListView, is_htmx
from members import actions, selectors
from members.actions.pipeline import NEXT_STAGE
from members.actions.registry import MEMBER_FIELDS
from members.filtersets import MemberFilterSet
from members.forms.registry import AdvanceForm, ExactSearchForm, ExtendProbationForm, MemberForm, RevealForm
from members.models import Member, RevealField, Stage
from members.views.common import RateLimitedFormMixin

NAV = "members"


def _flags(member) -> list[str]:
    flags = []
    if getattr(member, "flag_lost_contact", False):
        flags.append(_("失联满规定月数"))
    if getattr(member, "flag_card_expired", False):
        flags.append(_("活动证过期"))
    return flags


# ---------------------------------------------------------------- list, exact search, export
class MemberRow(NamedTuple):
    """A row of the member table: the member and its masked ID number and phone."""

    member: Member
    masked_id: str
    masked_phone: str


class MemberListView(ScopedListView):
    """Members in scope, by name. A POST is the exact search by ID number or phone (blind index): the number
    never travels in a URL, the answer is never cached, exported or paged further."""

    perm = "member.view"
    nav_section = NAV
    title = gettext_lazy("党员")
    template_name = "members/registry/list.html"
    table_template_name = "members/registry/_table.html"
    filterset_class = MemberFilterSet
    ordering = ("name", "pk")
    export_title = gettext_lazy("党员名册")
    export_headers = [
        gettext_lazy("姓名"), gettext_lazy("性别"), gettext_lazy("身份证号（脱敏）"), gettext_lazy("手机号（脱敏）"),
        gettext_lazy("民族"), gettext_lazy("学历"), gettext_lazy("职业"), gettext_lazy("平台/用工单位"),
        gettext_lazy("工作单位"), gettext_lazy("所在党组织"), gettext_lazy("发展阶段"), gettext_lazy("组织关系"),
        gettext_lazy("递交入党申请日期"), gettext_lazy("确定为积极分子日期"), gettext_lazy("列为发展对象日期"),
        gettext_lazy("接收为预备党员日期"), gettext_lazy("转为正式党员日期"), gettext_lazy("作用发挥"), gettext_lazy("提示"),
    ]
    searching = False
    search_form: ExactSearchForm | None = None

    def get_queryset(self):
        return selectors.member_list(user=self.request.user)

    def post(self, request, *args, **kwargs):
        self.searching = True
        self.search_form = ExactSearchForm(request.POST)
        response = self.get(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    def filter_data(self):
        data = super().filter_data()
        data.pop("pid", None)  # an ID number or phone in the URL is ignored, never used
        if self.searching and self.search_form.is_valid():
            data["pid"] = self.search_form.cleaned_data["pid"]
        return data

    def filtered_queryset(self):
        qs = super().filtered_queryset()
        filterset = self.filterset
        if self.searching:
            if not self.search_form.is_valid():
                return qs.none()
            for error in filterset.errors.get("pid", []):
                self.search_form.add_error("pid", error)
        if filterset.is_bound and not filterset.is_valid():
            return qs.none()  # a bad filter value selects nothing rather than being ignored
        return qs

    def get_page(self, qs):
        page = super().get_page(qs)
        if self.searching:
            page.next_cursor = ""  # a further page would be a GET, without the number
        return page

    @property
    def exportable(self) -> bool:
        return bool(self.export_headers) and not self.searching

    def decorate(self, rows: list) -> list:
        for member in rows:
            member.masked_id = selectors.masked_id_number(member)
            member.masked_phone = selectors.masked_phone(member)
        return rows

    def export_row(self, m) -> list:
        return [
            m.name, m.get_gender_display(), selectors.masked_id_number(m), selectors.masked_phone(m), m.ethnicity,
            m.get_education_display(), m.get_occupation_display(), m.employer, m.workplace.name if m.workplace else "",
            m.org.name, m.get_stage_display(), m.get_relation_kind_display(), m.applied_on, m.activist_on,
            m.candidate_on, m.admitted_on, m.full_on, "、".join(r.get_role_display() for r in m.roles.all()),
            "、".join(_flags(m)),
        ]

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update({
            "rows": [MemberRow(m, m.masked_id, m.masked_phone) for m in context["rows"]],
            "search_form": self.search_form or ExactSearchForm(), "searching": self.searching,
            "can_add": self.may("member.add"), "can_see_log": self.may("reveal_log.view"),
            "can_import": self.may("member_import.add"), "can_roster": self.may("roster.view"),
        })
        return context


# ---------------------------------------------------------------- detail and reveal
class MemberDetailView(ScopedDetailView):
    perm = "member.view"
    nav_section = NAV
    template_name = "members/registry/detail.html"
    context_object_name = "member"

    def get_base_queryset(self):
        return selectors.member_detail_queryset()

    def get_title(self) -> str:
        return self.object.name

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member, user = self.object, self.request.user
        next_stage = NEXT_STAGE.get(member.stage)
        context.update({
            "masked_id": selectors.masked_id_number(member), "masked_phone": selectors.masked_phone(member),
            "dates": selectors.pipeline_dates(member), "events": selectors.member_stage_events(member=member)[:50],
            "flags": _flags(member), "can_reveal": user.has_perm("members.reveal_personal_data"),
            "can_change": Member.objects.restrict(user, "change").filter(pk=member.pk).exists(),
            "next_stage": Stage(next_stage).label if next_stage else None,
            "can_extend": member.stage == Stage.PROBATIONARY and not member.probation_extended_months,
            "can_transfer": self.may("transfer.add"),
        })
        context.setdefault("reveal_id_form", RevealForm(initial={"field": RevealField.ID_NUMBER}, prefix="id"))
        context.setdefault("reveal_phone_form", RevealForm(initial={"field": RevealField.PHONE}, prefix="phone"))
        context.setdefault("revealed", None)
        return context


class MemberRevealView(MemberDetailView):
    """Show the full ID number or phone once, in the response body only (never in a URL), and log it: an htmx
    fragment in place of the reveal form, or the whole detail page without htmx. Never cached."""

    http_method_names = ["post"]
    never_cache = True

    def post(self, request, *args, **kwargs):
        self.object = member = self.get_object()
        prefix = "phone" if request.POST.get("phone-field") else "id"
        form = RevealForm(request.POST, prefix=prefix)
        revealed = None
        if form.is_valid():
            field = form.cleaned_data["field"]
            try:
                value = actions.member_reveal(actor=request.user, member=member, field=field,
                                              reason=form.cleaned_data["reason"])
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                revealed = {"field": field, "value": value, "label": RevealField(field).label}
        if is_htmx(request):
            return self.response_class(request=request, template=["members/registry/_reveal.html"], using=self.template_engine,
                                       context={"member": member, "form": form, "revealed": revealed, "field": prefix})
        return self.render_to_response(self.get_context_data(member=member, object=member, revealed=revealed,
                                                             **{f"reveal_{prefix}_form": form}))


# ---------------------------------------------------------------- create and edit
def _member_values(data: dict) -> dict:
    return {k: v for k, v in data.items() if k in MEMBER_FIELDS and k != "stage"}


class MemberCreateView(RateLimitedFormMixin, ScopedFormView):
    perm = "member.add"
    nav_section = NAV
    title = gettext_lazy("登记党员")
    form_class = MemberForm

    def perform(self, form):
        data = form.cleaned_data
        with self.rate_limit():
            return actions.member_create(
                actor=self.request.user, org=data["org"], id_number=data["id_number"], phone=data["phone"],
                workplace=data["workplace"], roles=data["roles"], stage=data["stage"], **_member_values(data),
            )

    def get_success_url(self, result) -> str:
        return reverse("members:member_detail", args=[result.pk])

    def get_success_message(self, result) -> str:
        return _("已登记“%(name)s”。") % {"name": result.name}

    def get_cancel_url(self) -> str:
        return reverse("members:member_list")


class MemberObjectFormMixin:
    """A form on one member in the user's change scope; back to its detail page."""

    perm = "member.change"
    nav_section = NAV
    object_action = "change"

    def get_base_queryset(self):
        return selectors.member_detail_queryset()

    def check_permission(self) -> None:
        super().check_permission()
        self.object = self.get_object()  # before anything else: 404 outside the change scope

    def get_success_url(self, result) -> str:
        return reverse("members:member_detail", args=[self.object.pk])

    def get_cancel_url(self) -> str:
        return reverse("members:member_detail", args=[self.object.pk])


class MemberEditView(RateLimitedFormMixin, MemberObjectFormMixin, ScopedFormView):
    title = gettext_lazy("编辑党员信息")
    form_class = MemberForm
    success_message = gettext_lazy("已保存。")

    def get_title(self) -> str:
        return f"{self.title}：{self.object.name}"

    def get_initial(self) -> dict:
        member = self.object
        initial = {f: getattr(member, f) for f in MEMBER_FIELDS}
        initial["workplace"] = member.workplace_id
        initial["roles"] = [r.role for r in member.roles.all()]
        return initial

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "editing": True}

    def perform(self, form):
        data = form.cleaned_data
        with self.rate_limit():
            return actions.member_update(
                actor=self.request.user, member=self.object, id_number=data["id_number"] or None,
                phone=data["phone"] or None, workplace=data["workplace"], roles=data["roles"], **_member_values(data),
            )


# ---------------------------------------------------------------- pipeline
class MemberActionFormMixin(MemberObjectFormMixin):
    template_name = "members/registry/action_form.html"
    form_takes_user = False

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(member=self.object, dates=selectors.pipeline_dates(self.object))
        return context


class MemberAdvanceView(MemberActionFormMixin, ScopedFormView):
    form_class = AdvanceForm
    submit_label = gettext_lazy("确认")

    @property
    def to_stage(self) -> str | None:
        return NEXT_STAGE.get(self.object.stage)

    def get(self, request, *args, **kwargs):
        return self.full_member_redirect() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self.full_member_redirect() or super().post(request, *args, **kwargs)

    def full_member_redirect(self):
        if self.to_stage is not None:
            return None
        messages.info(self.request, _("%(name)s 已是正式党员。") % {"name": self.object.name})
        return redirect("members:member_detail", pk=self.object.pk)

    def get_title(self) -> str:
        return _("推进发展阶段：%(from)s → %(to)s") % {"from": self.object.get_stage_display(),
                                                    "to": Stage(self.to_stage).label}

    def get_initial(self) -> dict:
        return {"to_stage": self.to_stage}

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "to_stage": self.to_stage}

    def perform(self, form) -> str:
        """Advance; the result is the stage reached (for the message)."""
        data = form.cleaned_data
        actions.member_advance(actor=self.request.user, member=self.object, to_stage=data["to_stage"], on=data["on"],
                               training_hours=data.get("training_hours"), note=data["note"])
        return data["to_stage"]

    def get_success_message(self, result) -> str:
        return _("%(name)s 已转为“%(stage)s”。") % {"name": self.object.name, "stage": Stage(result).label}


class MemberExtendProbationView(MemberActionFormMixin, ScopedFormView):
    title = gettext_lazy("延长预备期")
    form_class = ExtendProbationForm
    submit_label = gettext_lazy("确认延长")
    success_message = gettext_lazy("已延长预备期。")

    def perform(self, form):
        return actions.member_extend_probation(actor=self.request.user, member=self.object, **form.cleaned_data)


# ---------------------------------------------------------------- reveal log
class RevealLogView(ScopedListView):
    """Reveals of members in the user's reveal_log.view scope (district staff), newest first."""

    perm = "reveal_log.view"
    nav_section = NAV
    title = gettext_lazy("敏感信息查看记录")
    table_template_name = "members/registry/_reveal_log_table.html"
    ordering = ("-created_at", "-pk")

    def get_queryset(self):
        return selectors.reveal_log_list(user=self.request.user)
