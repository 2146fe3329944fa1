"""Staff pages for service requests: the queue (filters, keyset pages, export), one request with its timeline
and the action forms its status allows, each action step, the logged phone reveal, and the category settings.

Thin: services.selectors.requests reads, services.actions.handling / categories write and re-check scope.
A request is looked up by tracking code (dashes and case forgiven) inside the user's scope: outside it, 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import crypto
from core.exceptions import ConflictError, DomainError
from core.pagination import order_by
from core.views.generic import ScopedDetailView, ScopedFormView, ScopedListView
from services import credentials, spreadsheets
from services.actions import categories as category_actions
from services.actions import handling
from services.filtersets import RequestFilterSet
from services.forms import requests as forms
from services.models import OPEN_STATUSES, TRANSITIONS, ExtraField, RequestStatus
from services.selectors import requests as selectors

NAV = "service_requests"


# ---------------------------------------------------------------- queue and export
class RequestListView(ScopedListView):
    """The queue: open requests unless asked otherwise, by due time (so the overdue ones come first in the open
    queue), overdue rows flagged; `?format=xlsx` exports what the filters select, phone masked."""

    perm = "service_request.view"
    nav_section = NAV
    title = gettext_lazy("服务诉求")
    template_name = "services/requests/list.html"
    table_template_name = "services/requests/_table.html"
    filterset_class = RequestFilterSet
    # keyset pages: non-null fields ending with the primary key, named "id" ("pk" is no model field: the
    # cursor could not be read back, core.pagination._field)
    ordering = ("due_at", "id")
    export_headers = spreadsheets.HEADERS
    export_title = gettext_lazy("服务诉求")

    @cached_property
    def now(self):
        return timezone.now()

    def get_queryset(self):
        return selectors.request_base_queryset(user=self.request.user)

    def get_filterset(self, queryset):
        return self.filterset_class(self.filter_data(), queryset=queryset, request=self.request, now=self.now)

    def decorate(self, rows: list) -> list:
        for row in rows:
            row.overdue_now = row.is_overdue(self.now)
        return rows

    def export_rows(self, qs):
        return super().export_rows(order_by(qs, self.ordering))

    def export_row(self, obj) -> list:
        return spreadsheets.request_row(obj, now=self.now)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(now=self.now, can_edit_categories=self.may("service_category.change"))
        return context


# ---------------------------------------------------------------- one request, its steps and the reveal
@dataclass(frozen=True)
class Step:
    form_class: type
    success_message: str
    run: Any  # (actor, request, cleaned data) -> the request


def _step_allowed(obj, step: str) -> bool:
    status = obj.status
    transitions = TRANSITIONS.get(status, ())
    return {
        "accept": RequestStatus.ACCEPTED in transitions,
        "start": RequestStatus.IN_PROGRESS in transitions,
        "resolve": RequestStatus.RESOLVED in transitions and status != RequestStatus.RESOLVED,
        "reject": RequestStatus.REJECTED in transitions,
        "reroute": status in OPEN_STATUSES,
        "assign": status in OPEN_STATUSES,
        "priority": status in OPEN_STATUSES,
        "reply": status in (*OPEN_STATUSES, RequestStatus.RESOLVED),
        "note": True,
    }[step]


#: step -> its form, success message and action; each is one URL (services:request_<step>)
STEPS: dict[str, Step] = {
    "accept": Step(forms.AcceptForm, gettext_lazy("已受理。"),
                   lambda actor, r, data: handling.request_accept(actor=actor, request=r, assignee=data["assignee"])),
    "start": Step(forms.StartForm, gettext_lazy("已开始办理。"),
                  lambda actor, r, data: handling.request_start(actor=actor, request=r)),
    "resolve": Step(forms.ResolveForm, gettext_lazy("已办结，等待提出人确认。"),
                    lambda actor, r, data: handling.request_resolve(actor=actor, request=r, reply=data["reply"])),
    "reply": Step(forms.ReplyForm, gettext_lazy("已回复提出人。"),
                  lambda actor, r, data: handling.request_reply(actor=actor, request=r, body=data["body"])),
    "note": Step(forms.NoteForm, gettext_lazy("已添加内部备注。"),
                 lambda actor, r, data: handling.request_add_note(actor=actor, request=r, body=data["body"])),
    "assign": Step(forms.AssignForm, gettext_lazy("已更新经办人。"),
                   lambda actor, r, data: handling.request_assign(actor=actor, request=r, assignee=data["assignee"])),
    "priority": Step(forms.PriorityForm, gettext_lazy("已调整优先级。"),
                     lambda actor, r, data: handling.request_set_priority(actor=actor, request=r, priority=data["priority"],
                                                                          reason=data["reason"])),
    "reroute": Step(forms.RerouteForm, gettext_lazy("已改派。"),
                    lambda actor, r, data: handling.request_reroute(actor=actor, request=r, org=data["org"],
                                                                    reason=data["reason"])),
    "reject": Step(forms.RejectForm, gettext_lazy("已不予受理并告知提出人。"),
                   lambda actor, r, data: handling.request_reject(actor=actor, request=r, reason=data["reason"],
                                                                  redirect_to=data["redirect_to"])),
}


class RequestPageMixin:
    """The request page: the request (by tracking code, in scope), its timeline, the masked phone, and the
    action forms its status allows (none for read-only users). A form sent back with its errors replaces the
    blank one of its step (`bound_forms`)."""

    perm = "service_request.view"
    nav_section = NAV
    template_name = "services/requests/detail.html"
    revealed_phone: str | None = None

    @cached_property
    def bound_forms(self) -> dict:
        return {}

    def get_object(self):
        return selectors.request_detail(user=self.request.user, code=self.kwargs["code"])

    def get_title(self) -> str:
        return self.object.display_code if self.object else ""

    def detail_url(self) -> str:
        return reverse("services:request_detail", args=[self.object.tracking_code])

    def refuse(self, message):
        """Answer a step that cannot be shown on a form (no permission, a conflict): a message on the page."""
        messages.error(self.request, str(message))
        return redirect(self.detail_url())

    def make_form(self, step: str, data=None):
        """Each form has its step as prefix, so several forms on one page keep distinct field ids."""
        obj = self.object
        if step == "accept":
            return forms.AcceptForm(data, prefix=step, assignees=selectors.assignable_users(obj))
        if step == "assign":
            return forms.AssignForm(data, prefix=step, assignees=selectors.assignable_users(obj),
                                    initial={"assignee": obj.assignee_id})
        if step == "reroute":
            return forms.RerouteForm(data, prefix=step, targets=selectors.reroute_targets(user=self.request.user, request=obj))
        if step == "priority":
            return forms.PriorityForm(data, prefix=step, initial={"priority": obj.priority})
        if step == "reveal":
            return forms.RevealForm(data, prefix=step)
        return STEPS[step].form_class(data, prefix=step)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        obj, user = self.object, self.request.user
        can_change = handling.can_change_request(user, obj)
        action_forms = {}
        if can_change:
            for step in STEPS:
                if _step_allowed(obj, step):
                    action_forms[step] = self.bound_forms.get(step) or self.make_form(step)
        templates = []
        if "resolve" in action_forms or "reply" in action_forms:
            templates = [(t.title, handling.render_reply_template(template=t, request=obj))
                         for t in selectors.reply_templates_for(obj)]
        labels = dict(ExtraField.choices)
        extra = [(labels.get(key, key), value) for key, value in (obj.extra or {}).items() if value not in (None, "")]
        context.update({
            "req": obj, "timeline": list(obj.timeline.all()), "extra": extra,
            "masked_phone": credentials.requester_phone_mask(crypto.decrypt(obj.requester_phone_encrypted)),
            "overdue": obj.is_overdue(), "can_change": can_change,
            "can_reveal": handling.can_change_request(user, obj, "reveal"),
            "forms": action_forms, "templates": templates, "revealed_phone": self.revealed_phone,
            "reveal_form": self.bound_forms.get("reveal") or self.make_form("reveal"),
        })
        return context


class RequestDetailView(RequestPageMixin, ScopedDetailView):
    context_object_name = "req"


class RequestStepView(RequestPageMixin, ScopedFormView):
    """POST one step (`{"step": ...}` from the URL): success goes back to the page with a message; a form error
    shows the page again (400) with the error on its field; a step the user may not take, or that the status no
    longer allows, is a message on the page."""

    http_method_names = ["post"]
    form_takes_user = False

    def check_permission(self) -> None:
        super().check_permission()
        self.object = self.get_object()
        if self.step not in STEPS:
            raise Http404

    @property
    def step(self) -> str:
        return self.kwargs["step"]

    def get_form(self):
        form = self.make_form(self.step, self.request.POST)
        self.bound_forms[self.step] = form
        return form

    def perform(self, form):
        user = self.request.user
        try:
            return STEPS[self.step].run(user, self.object, form.cleaned_data)
        except ConflictError as exc:
            return self.refuse(exc.message)
        except DomainError as exc:
            if not handling.can_change_request(user, self.object):
                return self.refuse(exc.message)  # no form to show it on
            raise

    def get_success_message(self, result) -> str:
        return str(STEPS[self.step].success_message)

    def get_success_url(self, result) -> str:
        if self.step == "reroute" and not handling.can_change_request(self.request.user, result, "view"):
            return reverse("services:request_list")  # sent up, out of the user's sight
        return self.detail_url()

    def render_to_response(self, context, **response_kwargs):
        # Reached only with a form sent back (GET is not allowed here).
        if not handling.can_change_request(self.request.user, self.object) or not _step_allowed(self.object, self.step):
            return self.refuse(_("该操作当前不可办理，请刷新后查看。"))
        response_kwargs.setdefault("status", 400)
        return super().render_to_response(context, **response_kwargs)


class RequestRevealView(RequestPageMixin, ScopedFormView):
    """Show the full phone once, on this response only (never in a URL, a redirect or the session), with a
    reason that is logged (services.actions.handling.request_reveal_phone)."""

    http_method_names = ["post"]
    never_cache = True  # the full number must not sit in a cache
    form_takes_user = False

    def check_permission(self) -> None:
        super().check_permission()
        self.object = self.get_object()

    def get_form(self):
        form = self.make_form("reveal", self.request.POST)
        self.bound_forms["reveal"] = form
        return form

    def perform(self, form):
        user = self.request.user
        try:
            self.revealed_phone = handling.request_reveal_phone(actor=user, request=self.object,
                                                                reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if not handling.can_change_request(user, self.object, "reveal"):
                return self.refuse(exc.message)
            raise
        self.object = self.get_object()  # the timeline now has the reveal
        return self.render_to_response(self.get_context_data(form=form), status=200)

    def render_to_response(self, context, **response_kwargs):
        response_kwargs.setdefault("status", 400)  # without an explicit status: the reason was refused
        return super().render_to_response(context, **response_kwargs)


# ---------------------------------------------------------------- categories (district staff)
class CategoryListView(ScopedListView):
    perm = "service_category.change"
    nav_section = NAV
    title = gettext_lazy("诉求类别设置")
    template_name = "services/requests/category_list.html"
    table_template_name = "services/requests/_category_table.html"
    ordering = ("position", "id")
    show_total = False

    def get_queryset(self):
        return selectors.category_list()


def _category_initial(category) -> dict:
    return {"name": category.name, "guidance": category.guidance, "required_fields": category.required_fields,
            "routing": category.routing, "default_org": category.default_org_id, "sla_hours": category.sla_hours,
            "enabled": category.enabled}


class CategoryPageMixin:
    """A category's settings page: its form and its reply templates (with the add/edit template form)."""

    perm = "service_category.change"
    nav_section = NAV
    template_name = "services/requests/category_form.html"
    form_takes_user = False
    editing = None  # the reply template being edited

    def check_permission(self) -> None:
        super().check_permission()
        self.object = selectors.category_detail(self.kwargs["pk"])

    def get_title(self) -> str:
        return self.object.name

    def category_form(self, data=None):
        return forms.CategoryForm(data, orgs=selectors.category_org_choices(user=self.request.user),
                                  initial=_category_initial(self.object))

    def page_context(self, *, form, template_form) -> dict[str, Any]:
        return {"category": self.object, "form": form, "template_form": template_form,
                "templates": list(self.object.reply_templates.all()), "editing": self.editing}

    def get_success_url(self, result) -> str:
        return reverse("services:category_edit", args=[self.object.pk])

    def render_to_response(self, context, **response_kwargs):
        if self.request.method == "POST":
            response_kwargs.setdefault("status", 400)  # a form sent back with its errors
        return super().render_to_response(context, **response_kwargs)


class CategoryEditView(CategoryPageMixin, ScopedFormView):
    def get_form(self):
        return self.category_form(self.request.POST if self.request.method == "POST" else None)

    def perform(self, form):
        return category_actions.category_update(actor=self.request.user, category=self.object, **form.cleaned_data)

    def get_success_message(self, result) -> str:
        return _("已保存“%(name)s”。") % {"name": result.name}

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.page_context(form=kwargs["form"], template_form=forms.ReplyTemplateForm(prefix="tpl")))
        return context


class CategoryTemplateView(CategoryPageMixin, ScopedFormView):
    """Add a reply template to a category (or edit one of its own)."""

    def check_permission(self) -> None:
        super().check_permission()
        template_pk = self.kwargs.get("template_pk")
        if template_pk is not None:
            self.editing = next((t for t in self.object.reply_templates.all() if t.pk == template_pk), None)
            if self.editing is None:
                raise Http404

    def get_form(self):
        data = self.request.POST if self.request.method == "POST" else None
        return forms.ReplyTemplateForm(data, prefix="tpl", instance=self.editing)

    def perform(self, form):
        data = form.cleaned_data
        return category_actions.reply_template_save(actor=self.request.user, category=self.object, template=self.editing,
                                                    title=data["title"], body=data["body"], position=data["position"])

    def get_success_message(self, result) -> str:
        return _("已保存回复模板。")

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        template_form = kwargs.pop("form")
        context = super().get_context_data(**kwargs)
        context.update(self.page_context(form=self.category_form(), template_form=template_form))
        return context
