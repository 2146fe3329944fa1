"""Org tree and forms, workplace forms, instructor assignments. Thin: selectors read, actions write.
(The org and workplace pages with figures are in coverage/views/orgs.py: they count members.)"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError, apply_to_form
from orgs import actions, selectors
from orgs.forms import (
    AssignmentEndForm,
    AssignmentForm,
    OrgDissolveForm,
    OrgForm,
    OrgMoveForm,
    OrgStructureForm,
    WorkplaceForm,
)
from orgs.models import Assignment, Organization, Workplace
from orgs.scoping import get_scoped_or_404, has_perm

PAGE_SIZE = 50


def _can(user, perm: str, obj=None) -> bool:
    """Whether to show a button: the user holds `perm` and (if given) `obj` is in its scope."""
    if obj is None:
        return has_perm(user, perm)
    resource, action = perm.split(".")
    return type(obj).objects.restrict(user, action).filter(pk=obj.pk).exists()


# ---------------------------------------------------------------- tree
@login_required
def tree(request):
    roots = list(selectors.org_scope_roots(user=request.user))
    return render(request, "orgs/tree.html", {"nav_section": "tree", "roots": roots})


@login_required
def tree_children(request, pk: int):
    """htmx partial: the visible children of one node (lazy expansion)."""
    parent = get_scoped_or_404(Organization.objects, request.user, "view", pk=pk)
    show_dissolved = request.GET.get("dissolved") == "1"
    children = selectors.org_children(user=request.user, parent=parent, include_dissolved=show_dissolved)
    return render(request, "orgs/_tree_nodes.html", {"nodes": children})


# ---------------------------------------------------------------- org detail and forms


def _org_form_values(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in {"workplaces", "reason", "kind"}}


@login_required
def org_create(request, parent_pk: int):
    parent = get_scoped_or_404(Organization.objects, request.user, "add", pk=parent_pk)
    form = OrgForm(request.POST or None, user=request.user, parent=parent,
                   initial={"industry": parent.industry, "region": parent.region_id})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            org = actions.org_create(
                actor=request.user, parent=parent, kind=data["kind"], workplaces=list(data["workplaces"]),
                reason=data["reason"], **_org_form_values(data),
            )
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已设立“%(name)s”。") % {"name": org.name})
            return redirect("coverage:org_detail", pk=org.pk)
    return render(request, "orgs/org_form.html", {"nav_section": "tree", "form": form, "parent": parent,
                                                  "title": _("设立下级组织")})


@login_required
def org_edit(request, pk: int):
    """Names and contact facts; the structural facts are shown read-only (changed on org_structure)."""
    org = get_scoped_or_404(Organization.objects, request.user, "change", pk=pk)
    if not org.is_active:
        raise Http404
    initial = {f: getattr(org, f) for f in actions.ORG_DESCRIPTIVE_FIELDS}
    initial["region"] = org.region_id
    form = OrgForm(request.POST or None, user=request.user, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values = {f: data[f] for f in actions.ORG_DESCRIPTIVE_FIELDS}
        try:
            actions.org_update(actor=request.user, org=org, reason=data["reason"],
                               document_number=data["document_number"], **values)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("coverage:org_detail", pk=org.pk)
    return render(request, "orgs/org_form.html", {
        "nav_section": "tree", "form": form, "org": org, "title": _("编辑党组织"), "structure_locked": True,
        "can_change_structure": selectors.can_change_org_structure(user=request.user, org=org),
    })


def _require_level_above(user, org: Organization) -> None:
    """Pages for structural changes exist only for the level above (the action checks again)."""
    if not org.is_active or not selectors.can_change_org_structure(user=user, org=org):
        raise Http404


@login_required
def org_structure(request, pk: int):
    """变更组织要素: dates, committee, formation mode and coverage, by the level above with 文号 and reason."""
    org = get_scoped_or_404(Organization.objects, request.user, "change", pk=pk)
    _require_level_above(request.user, org)
    initial = {f: getattr(org, f) for f in actions.ORG_STRUCTURAL_FIELDS}
    initial["workplaces"] = list(org.workplaces.values_list("pk", flat=True))
    initial["happened_on"] = timezone.localdate()
    form = OrgStructureForm(request.POST or None, user=request.user, org=org, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.org_update(
                actor=request.user, org=org, workplaces=list(data["workplaces"]), happened_on=data["happened_on"],
                document_number=data["document_number"], reason=data["reason"],
                **{f: data[f] for f in actions.ORG_STRUCTURAL_FIELDS},
            )
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已变更组织要素。"))
            return redirect("coverage:org_detail", pk=org.pk)
    return render(request, "orgs/org_action_form.html", {"nav_section": "tree", "form": form, "org": org,
                                                         "title": _("变更组织要素"), "button": _("确认变更")})


@login_required
def org_move(request, pk: int):
    org = get_scoped_or_404(Organization.objects, request.user, "change", pk=pk)
    _require_level_above(request.user, org)
    form = OrgMoveForm(request.POST or None, user=request.user, org=org)
    if request.method == "POST" and form.is_valid():
        try:
            actions.org_move(actor=request.user, org=org, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已调整隶属关系。"))
            return redirect("coverage:org_detail", pk=org.pk)
    return render(request, "orgs/org_action_form.html", {"nav_section": "tree", "form": form, "org": org,
                                                         "title": _("调整隶属关系"), "button": _("确认调整")})


@login_required
def org_dissolve(request, pk: int):
    org = get_scoped_or_404(Organization.objects, request.user, "delete", pk=pk)
    _require_level_above(request.user, org)
    form = OrgDissolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.org_dissolve(actor=request.user, org=org, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已撤销“%(name)s”。") % {"name": org.name})
            return redirect("coverage:org_detail", pk=org.pk)
    return render(request, "orgs/org_action_form.html", {"nav_section": "tree", "form": form, "org": org,
                                                         "title": _("撤销党组织"), "button": _("确认撤销"), "danger": True})


# ---------------------------------------------------------------- workplaces


@login_required
def assignment_create(request, pk: int):
    """Assign an instructor or liaison to a workplace (work coverage, 工作覆盖)."""
    workplace = get_scoped_or_404(Workplace.objects, request.user, "view", pk=pk)
    if not has_perm(request.user, "assignment.add"):
        raise Http404
    form = AssignmentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            actions.assignment_create(actor=request.user, workplace=workplace, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已选派。"))
            return redirect("coverage:workplace_detail", pk=workplace.pk)
    return render(request, "orgs/org_action_form.html", {
        "nav_section": "workplaces", "form": form, "org": workplace, "title": _("选派党建指导员/联络员"), "button": _("确认选派"),
        "cancel_url": reverse("coverage:workplace_detail", args=[workplace.pk]),
    })


@login_required
@require_POST
def assignment_end(request, pk: int):
    assignment = get_scoped_or_404(Assignment.objects, request.user, "change", pk=pk)
    form = AssignmentEndForm(request.POST)
    if form.is_valid():
        try:
            actions.assignment_end(actor=request.user, assignment=assignment, ended_on=form.cleaned_data["ended_on"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("选派已结束。"))
    else:
        messages.error(request, _("请填写有效的结束日期。"))
    target = assignment.workplace_id
    return redirect("coverage:workplace_detail", pk=target) if target else redirect("coverage:org_detail", pk=assignment.org_id)


@login_required
def workplace_create(request):
    if not has_perm(request.user, "workplace.add"):
        raise Http404
    form = WorkplaceForm(request.POST or None, user=request.user, perm="workplace.add")
    if request.method == "POST" and form.is_valid():
        try:
            workplace = actions.workplace_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已登记“%(name)s”。") % {"name": workplace.name})
            return redirect("coverage:workplace_detail", pk=workplace.pk)
    return render(request, "orgs/workplace_form.html", {"nav_section": "workplaces", "form": form, "title": _("登记覆盖单位")})


@login_required
def workplace_edit(request, pk: int):
    workplace = get_scoped_or_404(Workplace.objects, request.user, "change", pk=pk)
    initial = {f: getattr(workplace, f) for f in actions.WORKPLACE_FIELDS}
    form = WorkplaceForm(request.POST or None, user=request.user, perm="workplace.change", initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.workplace_update(actor=request.user, workplace=workplace, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("coverage:workplace_detail", pk=workplace.pk)
    return render(request, "orgs/workplace_form.html", {"nav_section": "workplaces", "form": form, "workplace": workplace,
                                                        "title": _("编辑覆盖单位")})


# ---------------------------------------------------------------- gaps
