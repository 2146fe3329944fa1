"""Member registry pages: list (filters, exact search, export), detail (masked; logged reveal), forms for
create/edit/advance/extend probation, and the reveal log. Thin: selectors read, actions write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.exceptions import DomainError, RateLimitedError, apply_to_form
from core.xlsx import workbook_response
from members import actions, selectors
from members.actions.pipeline import NEXT_STAGE
from members.actions.registry import MEMBER_FIELDS
from members.forms import AdvanceForm, ExactSearchForm, ExtendProbationForm, MemberForm, RevealForm
from members.models import Member, RevealField, Stage
from orgs.scoping import get_scoped_or_404, has_perm

PAGE_SIZE = 50
NAV = "members"


def _can_change(user, member: Member) -> bool:
    return Member.objects.restrict(user, "change").filter(pk=member.pk).exists()


def _can_reveal(user) -> bool:
    return user.has_perm("members.reveal_personal_data")


# ---------------------------------------------------------------- list, exact search, export
EXPORT_HEADERS = [
    gettext_lazy("姓名"), gettext_lazy("性别"), gettext_lazy("身份证号（脱敏）"), gettext_lazy("手机号（脱敏）"),
    gettext_lazy("民族"), gettext_lazy("学历"), gettext_lazy("职业"), gettext_lazy("平台/用工单位"), gettext_lazy("工作单位"),
    gettext_lazy("所在党组织"), gettext_lazy("发展阶段"), gettext_lazy("组织关系"), gettext_lazy("递交入党申请日期"),
    gettext_lazy("确定为积极分子日期"), gettext_lazy("列为发展对象日期"), gettext_lazy("接收为预备党员日期"),
    gettext_lazy("转为正式党员日期"), gettext_lazy("作用发挥"), gettext_lazy("提示"),
]


def _flags(member) -> list[str]:
    flags = []
    if getattr(member, "flag_lost_contact", False):
        flags.append(_("失联满规定月数"))
    if getattr(member, "flag_card_expired", False):
        flags.append(_("活动证过期"))
    return flags


@login_required
def member_list(request):
    if not has_perm(request.user, "member.view"):
        raise Http404
    data = request.GET.copy()
    data.pop("pid", None)  # an ID number or phone never travels in a URL: exact search is POSTed
    search_form = ExactSearchForm(request.POST or None)
    searching = request.method == "POST"
    if searching and search_form.is_valid():
        data["pid"] = search_form.cleaned_data["pid"]
    if request.GET.get("format") == "xlsx" and not searching:
        return _member_export(selectors.member_list(user=request.user, filters=data))
    qs = selectors.member_list(user=request.user, filters=data)
    if searching and not search_form.is_valid():
        qs = qs.none()
    filterset = selectors.member_filterset(user=request.user, data=data or None)
    if searching and "pid" in data:
        filterset.is_valid()
        for error in filterset.errors.get("pid", []):
            search_form.add_error("pid", error)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(m, selectors.masked_id_number(m), selectors.masked_phone(m)) for m in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("pid", None)
    response = render(request, "members/registry/member_list.html", {
        "nav_section": NAV, "filter": filterset, "search_form": search_form, "searching": searching,
        "page": page, "rows": rows, "query": query.urlencode(),
        "can_add": has_perm(request.user, "member.add"), "can_see_log": has_perm(request.user, "reveal_log.view"),
        "can_import": has_perm(request.user, "member_import.add"), "can_roster": has_perm(request.user, "roster.view"),
    })
    if searching:
        add_never_cache_headers(response)
    return response


def _member_export(qs):
    rows = (
        [m.name, m.get_gender_display(), selectors.masked_id_number(m), selectors.masked_phone(m), m.ethnicity,
         m.get_education_display(), m.get_occupation_display(), m.employer, m.workplace.name if m.workplace else "",
         m.org.name, m.get_stage_display(), m.get_relation_kind_display(), m.applied_on, m.activist_on, m.candidate_on,
         m.admitted_on, m.full_on, "、".join(r.get_role_display() for r in m.roles.all()), "、".join(_flags(m))]
        for m in qs.iterator(chunk_size=2000)
    )
    title = _("党员名册")
    return workbook_response(filename=title, title=title, headers=[str(h) for h in EXPORT_HEADERS], rows=rows)


# ---------------------------------------------------------------- detail and reveal
def _detail_context(request, member, **extra):
    user = request.user
    next_stage = NEXT_STAGE.get(member.stage)
    context = {
        "nav_section": NAV, "member": member,
        "masked_id": selectors.masked_id_number(member), "masked_phone": selectors.masked_phone(member),
        "dates": selectors.pipeline_dates(member), "events": selectors.member_stage_events(member=member)[:50],
        "flags": _flags(member), "can_change": _can_change(user, member), "can_reveal": _can_reveal(user),
        "next_stage": Stage(next_stage).label if next_stage else None,
        "can_extend": member.stage == Stage.PROBATIONARY and not member.probation_extended_months,
        "can_transfer": has_perm(user, "transfer.add"),
        "reveal_id_form": RevealForm(initial={"field": RevealField.ID_NUMBER}, prefix="id"),
        "reveal_phone_form": RevealForm(initial={"field": RevealField.PHONE}, prefix="phone"),
        "revealed": None,
    }
    context.update(extra)
    return context


@login_required
def member_detail(request, pk: int):
    member = get_scoped_or_404(selectors.member_detail_queryset(), request.user, "view", pk=pk)
    return render(request, "members/registry/member_detail.html", _detail_context(request, member))


@login_required
@require_POST
def member_reveal(request, pk: int):
    """Show the full ID number or phone once, in the response body only (never in a URL), and log it."""
    member = get_scoped_or_404(selectors.member_detail_queryset(), request.user, "view", pk=pk)
    prefix = "phone" if request.POST.get("phone-field") else "id"
    form = RevealForm(request.POST, prefix=prefix)
    revealed = None
    if form.is_valid():
        try:
            value = actions.member_reveal(actor=request.user, member=member, field=form.cleaned_data["field"],
                                          reason=form.cleaned_data["reason"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            revealed = {"field": form.cleaned_data["field"], "value": value,
                        "label": RevealField(form.cleaned_data["field"]).label}
    if request.htmx:
        response = render(request, "members/registry/_reveal.html", {"member": member, "form": form, "revealed": revealed,
                                                                      "field": prefix})
    else:
        extra = {"revealed": revealed, f"reveal_{prefix}_form": form}
        response = render(request, "members/registry/member_detail.html", _detail_context(request, member, **extra))
    add_never_cache_headers(response)
    return response


# ---------------------------------------------------------------- create and edit
def _member_values(data: dict) -> dict:
    return {k: v for k, v in data.items() if k in MEMBER_FIELDS and k != "stage"}


@login_required
def member_create(request):
    if not has_perm(request.user, "member.add"):
        raise Http404
    form = MemberForm(request.POST or None, user=request.user)
    limited = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member = actions.member_create(
                actor=request.user, org=data["org"], id_number=data["id_number"], phone=data["phone"],
                workplace=data["workplace"], roles=data["roles"], stage=data["stage"], **_member_values(data),
            )
        except DomainError as exc:
            apply_to_form(form, exc)
            limited = exc if isinstance(exc, RateLimitedError) else None
        else:
            messages.success(request, _("已登记“%(name)s”。") % {"name": member.name})
            return redirect("members:member_detail", pk=member.pk)
    response = render(request, "members/registry/member_form.html", {"nav_section": NAV, "form": form, "title": _("登记党员")})
    return _limited(response, limited)


def _limited(response, exc: RateLimitedError | None):
    """A refused duplicate past the daily limit answers 429 with Retry-After."""
    if exc is not None:
        response.status_code = 429
        response["Retry-After"] = str(exc.retry_after)
    return response


@login_required
def member_edit(request, pk: int):
    member = get_scoped_or_404(Member.objects, request.user, "change", pk=pk)
    initial = {f: getattr(member, f) for f in MEMBER_FIELDS}
    initial["workplace"] = member.workplace_id
    initial["roles"] = list(member.roles.values_list("role", flat=True))
    form = MemberForm(request.POST or None, user=request.user, editing=True, initial=initial)
    limited = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.member_update(
                actor=request.user, member=member, id_number=data["id_number"] or None, phone=data["phone"] or None,
                workplace=data["workplace"], roles=data["roles"], **_member_values(data),
            )
        except DomainError as exc:
            apply_to_form(form, exc)
            limited = exc if isinstance(exc, RateLimitedError) else None
        else:
            messages.success(request, _("已保存。"))
            return redirect("members:member_detail", pk=member.pk)
    return _limited(render(request, "members/registry/member_form.html", {"nav_section": NAV, "form": form, "member": member,
                                                                          "title": _("编辑党员信息")}), limited)


# ---------------------------------------------------------------- pipeline
@login_required
def member_advance(request, pk: int):
    member = get_scoped_or_404(Member.objects, request.user, "change", pk=pk)
    to_stage = NEXT_STAGE.get(member.stage)
    if to_stage is None:
        messages.info(request, _("%(name)s 已是正式党员。") % {"name": member.name})
        return redirect("members:member_detail", pk=member.pk)
    form = AdvanceForm(request.POST or None, to_stage=to_stage, initial={"to_stage": to_stage})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.member_advance(actor=request.user, member=member, to_stage=data["to_stage"], on=data["on"],
                                   training_hours=data.get("training_hours"), note=data["note"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("%(name)s 已转为“%(stage)s”。") % {"name": member.name, "stage": Stage(to_stage).label})
            return redirect("members:member_detail", pk=member.pk)
    return render(request, "members/registry/member_action_form.html", {
        "nav_section": NAV, "form": form, "member": member, "dates": selectors.pipeline_dates(member),
        "title": _("推进发展阶段：%(from)s → %(to)s") % {"from": member.get_stage_display(), "to": Stage(to_stage).label},
        "button": _("确认"),
    })


@login_required
def member_extend_probation(request, pk: int):
    member = get_scoped_or_404(Member.objects, request.user, "change", pk=pk)
    form = ExtendProbationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.member_extend_probation(actor=request.user, member=member, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已延长预备期。"))
            return redirect("members:member_detail", pk=member.pk)
    return render(request, "members/registry/member_action_form.html", {
        "nav_section": NAV, "form": form, "member": member, "dates": selectors.pipeline_dates(member),
        "title": _("延长预备期"), "button": _("确认延长"),
    })


# ---------------------------------------------------------------- reveal log
@login_required
def reveal_log(request):
    if not has_perm(request.user, "reveal_log.view"):
        raise Http404
    page = Paginator(selectors.reveal_log_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "members/registry/reveal_log.html", {"nav_section": NAV, "page": page, "query": ""})
