"""The forms on one org: set up a child org, edit names and contact facts, and the structural changes made by
the level above (变更组织要素, move, dissolve). Thin: orgs.actions writes (and checks scope again).
(The org page with figures is coverage:org_detail: it counts members.)"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.views.generic import ScopedFormView
from orgs import actions, selectors
from orgs.forms import OrgDissolveForm, OrgForm, OrgMoveForm, OrgStructureForm
from orgs.models import Organization

NAV = "tree"


class OrgFormMixin:
    nav_section = NAV
    queryset = Organization.objects.all()

    def get_success_url(self, result) -> str:
        return reverse("coverage:org_detail", args=[result.pk])

    def get_cancel_url(self) -> str:
        return reverse("coverage:org_detail", args=[self.object.pk])


class OrgCreateView(OrgFormMixin, ScopedFormView):
    """设立下级组织 under `parent_pk` (a node where the user may add)."""

    perm = "org.add"
    object_action = "add"
    lookup_url_kwarg = "parent_pk"
    title = gettext_lazy("设立下级组织")
    template_name = "orgs/orgs/form.html"
    form_class = OrgForm

    def get_initial(self) -> dict:
        return {"industry": self.object.industry, "region": self.object.region_id}

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "parent": self.object}

    def perform(self, form):
        data = form.cleaned_data
        values = {k: v for k, v in data.items() if k not in {"workplaces", "reason", "kind"}}
        return actions.org_create(actor=self.request.user, parent=self.object, kind=data["kind"],
                                  workplaces=list(data["workplaces"]), reason=data["reason"], **values)

    def get_success_message(self, result) -> str:
        return _("已设立“%(name)s”。") % {"name": result.name}

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "parent": self.object}


class OrgEditView(OrgFormMixin, ScopedFormView):
    """Names and contact facts; the structural facts are shown read-only (changed on org_structure)."""

    perm = "org.change"
    title = gettext_lazy("编辑党组织")
    template_name = "orgs/orgs/form.html"
    form_class = OrgForm
    success_message = gettext_lazy("已保存。")

    def get_object(self):
        org = super().get_object()
        if not org.is_active:
            raise Http404
        return org

    def get_initial(self) -> dict:
        initial = {f: getattr(self.object, f) for f in actions.ORG_DESCRIPTIVE_FIELDS}
        initial["region"] = self.object.region_id
        return initial

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "editing": True}

    def perform(self, form):
        data = form.cleaned_data
        actions.org_update(actor=self.request.user, org=self.object, reason=data["reason"],
                           document_number=data["document_number"],
                           **{f: data[f] for f in actions.ORG_DESCRIPTIVE_FIELDS})
        return self.object

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update({"org": self.object, "structure_locked": True,
                        "can_change_structure": selectors.can_change_org_structure(user=self.request.user, org=self.object)})
        return context


class LevelAboveMixin(OrgFormMixin):
    """Structural changes: the page exists only for the level above (the action checks again)."""

    template_name = "orgs/orgs/action_form.html"
    danger = False

    def get_object(self):
        org = super().get_object()
        if not org.is_active or not selectors.can_change_org_structure(user=self.request.user, org=org):
            raise Http404
        return org

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "danger": self.danger}


class OrgStructureView(LevelAboveMixin, ScopedFormView):
    """变更组织要素: dates, committee, formation mode and coverage, by the level above with 文号 and reason."""

    perm = "org.change"
    title = gettext_lazy("变更组织要素")
    submit_label = gettext_lazy("确认变更")
    success_message = gettext_lazy("已变更组织要素。")
    form_class = OrgStructureForm

    def get_initial(self) -> dict:
        initial = {f: getattr(self.object, f) for f in actions.ORG_STRUCTURAL_FIELDS}
        initial["workplaces"] = list(self.object.workplaces.values_list("pk", flat=True))
        initial["happened_on"] = timezone.localdate()
        return initial

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "org": self.object}

    def perform(self, form):
        data = form.cleaned_data
        actions.org_update(
            actor=self.request.user, org=self.object, workplaces=list(data["workplaces"]),
            happened_on=data["happened_on"], document_number=data["document_number"], reason=data["reason"],
            **{f: data[f] for f in actions.ORG_STRUCTURAL_FIELDS},
        )
        return self.object


class OrgMoveView(LevelAboveMixin, ScopedFormView):
    perm = "org.change"
    title = gettext_lazy("调整隶属关系")
    submit_label = gettext_lazy("确认调整")
    success_message = gettext_lazy("已调整隶属关系。")
    form_class = OrgMoveForm

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "org": self.object}

    def perform(self, form):
        actions.org_move(actor=self.request.user, org=self.object, **form.cleaned_data)
        return self.object


class OrgDissolveView(LevelAboveMixin, ScopedFormView):
    perm = "org.delete"
    object_action = "delete"
    title = gettext_lazy("撤销党组织")
    submit_label = gettext_lazy("确认撤销")
    form_class = OrgDissolveForm
    form_takes_user = False
    danger = True

    def perform(self, form):
        actions.org_dissolve(actor=self.request.user, org=self.object, **form.cleaned_data)
        return self.object

    def get_success_message(self, result) -> str:
        return _("已撤销“%(name)s”。") % {"name": result.name}
