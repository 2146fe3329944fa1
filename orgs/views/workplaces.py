"""Workplace forms (register, edit) and instructor/liaison assignments (选派, end). Thin: orgs.actions writes.
(The workplace list and page with figures are coverage:workplace_list and coverage:workplace_detail.)"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError
from core.views.generic import ScopedActionView, ScopedFormView
from orgs import actions
from orgs.forms import AssignmentEndForm, AssignmentForm, WorkplaceForm
from orgs.models import Assignment, Workplace

NAV = "workplaces"


def _workplace_url(workplace) -> str:
    return reverse("coverage:workplace_detail", args=[workplace.pk])


class WorkplaceCreateView(ScopedFormView):
    perm = "workplace.add"
    nav_section = NAV
    title = gettext_lazy("登记覆盖单位")
    template_name = "orgs/workplaces/form.html"
    form_class = WorkplaceForm

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "perm": "workplace.add"}

    def perform(self, form):
        return actions.workplace_create(actor=self.request.user, **form.cleaned_data)

    def get_success_message(self, result) -> str:
        return _("已登记“%(name)s”。") % {"name": result.name}

    def get_success_url(self, result) -> str:
        return _workplace_url(result)

    def get_cancel_url(self) -> str:
        return reverse("coverage:workplace_list")


class WorkplaceEditView(ScopedFormView):
    perm = "workplace.change"
    nav_section = NAV
    title = gettext_lazy("编辑覆盖单位")
    template_name = "orgs/workplaces/form.html"
    form_class = WorkplaceForm
    queryset = Workplace.objects.all()
    success_message = gettext_lazy("已保存。")

    def get_initial(self) -> dict:
        return {f: getattr(self.object, f) for f in actions.WORKPLACE_FIELDS}

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "perm": "workplace.change"}

    def perform(self, form):
        return actions.workplace_update(actor=self.request.user, workplace=self.object, **form.cleaned_data)

    def get_success_url(self, result) -> str:
        return _workplace_url(self.object)

    def get_cancel_url(self) -> str:
        return _workplace_url(self.object)


class AssignmentCreateView(ScopedFormView):
    """Assign an instructor or liaison to a workplace (work coverage, 工作覆盖)."""

    perm = "assignment.add"
    nav_section = NAV
    title = gettext_lazy("选派党建指导员/联络员")
    submit_label = gettext_lazy("确认选派")
    success_message = gettext_lazy("已选派。")
    template_name = "orgs/orgs/action_form.html"
    form_class = AssignmentForm
    queryset = Workplace.objects.all()
    object_action = "view"

    def perform(self, form):
        return actions.assignment_create(actor=self.request.user, workplace=self.object, **form.cleaned_data)

    def get_success_url(self, result) -> str:
        return _workplace_url(self.object)

    def get_cancel_url(self) -> str:
        return _workplace_url(self.object)


class AssignmentEndView(ScopedActionView):
    perm = "assignment.change"
    queryset = Assignment.objects.all()
    success_message = gettext_lazy("选派已结束。")

    def perform(self, obj):
        form = AssignmentEndForm(self.request.POST)
        if not form.is_valid():
            raise DomainError(_("请填写有效的结束日期。"), field="ended_on")
        return actions.assignment_end(actor=self.request.user, assignment=obj, ended_on=form.cleaned_data["ended_on"])

    def get_success_url(self, obj) -> str:
        if obj.workplace_id:
            return reverse("coverage:workplace_detail", args=[obj.workplace_id])
        return reverse("coverage:org_detail", args=[obj.org_id])
