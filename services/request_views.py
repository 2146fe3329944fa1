"""Staff pages for service requests: the queue (filters, overdue first, export), one request with its
timeline and the action forms its status allows, the logged phone reveal, and the category settings.

Thin: services.selectors.requests reads, services.actions.handling / categories write and re-check scope.
A request is looked up by tracking code through get_scoped_or_404 (outside the user's scope: 404).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import crypto
from core.exceptions import ConflictError, DomainError, apply_to_form
from orgs.scoping import has_perm
from services import credentials
from services import request_forms as forms
from services.actions import categories as category_actions
from services.actions import handling
from services.models import OPEN_STATUSES, TRANSITIONS, ExtraField, RequestStatus
from services.selectors import requests as selectors
from services.spreadsheets import request_export

PAGE_SIZE = 50
NAV = "service_requests"


def _require(user, perm: str) -> None:
    if not has_perm(user, perm):
        raise Http404


# ---------------------------------------------------------------- queue and export
@login_required
def request_list(request):
    _require(request.user, "service_request.view")
    now = timezone.now()
    filterset = selectors.request_filterset(user=request.user, data=request.GET, now=now)
    qs = selectors.request_queue(user=request.user, now=now, filterset=filterset)
    if request.GET.get("format") == "xlsx":
        return request_export(qs, now=now)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "services/requests/request_list.html", {
        "nav_section": NAV, "filter": filterset,
        "page": page, "query": query.urlencode(), "now": now,
        "can_edit_categories": has_perm(request.user, "service_category.change"),
    })


# ---------------------------------------------------------------- detail with the action forms
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


def _make_form(step: str, obj, user, data=None):
    """Each form has its step as prefix, so several forms on one page keep distinct field ids."""
    if step == "accept":
        return forms.AcceptForm(data, prefix=step, assignees=selectors.assignable_users(obj))
    if step == "assign":
        return forms.AssignForm(data, prefix=step, assignees=selectors.assignable_users(obj), initial={"assignee": obj.assignee_id})
    if step == "reroute":
        return forms.RerouteForm(data, prefix=step, targets=selectors.reroute_targets(user=user, request=obj))
    if step == "priority":
        return forms.PriorityForm(data, prefix=step, initial={"priority": obj.priority})
    return STEPS[step][0](data, prefix=step)


def _detail(request, obj, *, bound=None, status=200, revealed_phone=None, reveal_form=None):
    user = request.user
    can_change = handling.can_change_request(user, obj)
    can_reveal = handling.can_change_request(user, obj, "reveal")
    action_forms = {}
    if can_change:
        for step in STEPS:
            if _step_allowed(obj, step):
                action_forms[step] = bound[1] if bound and bound[0] == step else _make_form(step, obj, user)
    templates = []
    if "resolve" in action_forms or "reply" in action_forms:
        templates = [(t.title, handling.render_reply_template(template=t, request=obj)) for t in selectors.reply_templates_for(obj)]
    labels = dict(ExtraField.choices)
    extra = [(labels.get(key, key), value) for key, value in (obj.extra or {}).items() if value not in (None, "")]
    response = render(request, "services/requests/request_detail.html", {
        "nav_section": NAV, "req": obj, "timeline": list(obj.timeline.all()), "extra": extra,
        "masked_phone": credentials.requester_phone_mask(crypto.decrypt(obj.requester_phone_encrypted)),
        "overdue": obj.is_overdue(), "can_change": can_change, "can_reveal": can_reveal,
        "forms": action_forms, "templates": templates, "revealed_phone": revealed_phone,
        "reveal_form": reveal_form or forms.RevealForm(prefix="reveal"),
    }, status=status)
    if revealed_phone:
        add_never_cache_headers(response)  # the full number must not sit in a cache
    return response


@login_required
def request_detail(request, code: str):
    obj = selectors.request_detail(user=request.user, code=code)
    return _detail(request, obj)


def _run(step, user, obj, data):
    if step == "accept":
        return handling.request_accept(actor=user, request=obj, assignee=data["assignee"])
    if step == "start":
        return handling.request_start(actor=user, request=obj)
    if step == "resolve":
        return handling.request_resolve(actor=user, request=obj, reply=data["reply"])
    if step == "reject":
        return handling.request_reject(actor=user, request=obj, reason=data["reason"], redirect_to=data["redirect_to"])
    if step == "reroute":
        return handling.request_reroute(actor=user, request=obj, org=data["org"], reason=data["reason"])
    if step == "assign":
        return handling.request_assign(actor=user, request=obj, assignee=data["assignee"])
    if step == "priority":
        return handling.request_set_priority(actor=user, request=obj, priority=data["priority"], reason=data["reason"])
    if step == "note":
        return handling.request_add_note(actor=user, request=obj, body=data["body"])
    if step == "reply":
        return handling.request_reply(actor=user, request=obj, body=data["body"])
    raise Http404


# step -> (form class, success message, button label)
STEPS = {
    "accept": (forms.AcceptForm, gettext_lazy("已受理。"), gettext_lazy("受理")),
    "start": (forms.StartForm, gettext_lazy("已开始办理。"), gettext_lazy("开始办理")),
    "resolve": (forms.ResolveForm, gettext_lazy("已办结，等待提出人确认。"), gettext_lazy("办结")),
    "reply": (forms.ReplyForm, gettext_lazy("已回复提出人。"), gettext_lazy("回复提出人")),
    "note": (forms.NoteForm, gettext_lazy("已添加内部备注。"), gettext_lazy("添加备注")),
    "assign": (forms.AssignForm, gettext_lazy("已更新经办人。"), gettext_lazy("指定经办人")),
    "priority": (forms.PriorityForm, gettext_lazy("已调整优先级。"), gettext_lazy("调整优先级")),
    "reroute": (forms.RerouteForm, gettext_lazy("已改派。"), gettext_lazy("改派")),
    "reject": (forms.RejectForm, gettext_lazy("已不予受理并告知提出人。"), gettext_lazy("不予受理")),
}


@login_required
@require_POST
def request_act(request, code: str, step: str):
    obj = selectors.request_detail(user=request.user, code=code)
    if step not in STEPS:
        raise Http404
    form = _make_form(step, obj, request.user, request.POST)
    if form.is_valid():
        try:
            result = _run(step, request.user, obj, form.cleaned_data)
        except ConflictError as exc:
            messages.error(request, str(exc.message))
            return redirect("services:request_detail", code=obj.tracking_code)
        except DomainError as exc:
            if not handling.can_change_request(request.user, obj):
                messages.error(request, str(exc.message))  # no form to show it on
                return redirect("services:request_detail", code=obj.tracking_code)
            apply_to_form(form, exc)
        else:
            messages.success(request, str(STEPS[step][1]))
            if step == "reroute" and not handling.can_change_request(request.user, result, "view"):
                return redirect("services:request_list")  # sent up, out of the user's sight
            return redirect("services:request_detail", code=obj.tracking_code)
    if not handling.can_change_request(request.user, obj) or not _step_allowed(obj, step):
        messages.error(request, _("该操作当前不可办理，请刷新后查看。"))
        return redirect("services:request_detail", code=obj.tracking_code)
    return _detail(request, obj, bound=(step, form), status=400)


@login_required
@require_POST
def request_reveal(request, code: str):
    """Show the full phone once, on this response only (never in a URL, a redirect or the session)."""
    obj = selectors.request_detail(user=request.user, code=code)
    form = forms.RevealForm(request.POST, prefix="reveal")
    if form.is_valid():
        try:
            phone = handling.request_reveal_phone(actor=request.user, request=obj, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if not handling.can_change_request(request.user, obj, "reveal"):
                messages.error(request, str(exc.message))
                return redirect("services:request_detail", code=obj.tracking_code)
            apply_to_form(form, exc)
        else:
            obj = selectors.request_detail(user=request.user, code=code)  # the timeline now has the reveal
            return _detail(request, obj, revealed_phone=phone)
    return _detail(request, obj, reveal_form=form, status=400)


# ---------------------------------------------------------------- categories (district staff)
@login_required
def category_list(request):
    _require(request.user, "service_category.change")
    return render(request, "services/requests/category_list.html", {
        "nav_section": NAV, "categories": selectors.category_list(),
    })


def _category_initial(category) -> dict:
    return {"name": category.name, "guidance": category.guidance, "required_fields": category.required_fields,
            "routing": category.routing, "default_org": category.default_org_id, "sla_hours": category.sla_hours,
            "enabled": category.enabled}


@login_required
def category_edit(request, pk: int):
    _require(request.user, "service_category.change")
    category = selectors.category_detail(pk)
    orgs = selectors.category_org_choices(user=request.user)
    form = forms.CategoryForm(request.POST or None, orgs=orgs, initial=_category_initial(category))
    template_form = forms.ReplyTemplateForm(prefix="tpl")
    if request.method == "POST" and form.is_valid():
        try:
            category_actions.category_update(actor=request.user, category=category, **form.cleaned_data)
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已保存“%(name)s”。") % {"name": form.cleaned_data["name"]})
            return redirect("services:category_edit", pk=category.pk)
    return _category_page(request, category, form, template_form, status=400 if request.method == "POST" else 200)


def _category_page(request, category, form, template_form, *, status=200, editing=None):
    return render(request, "services/requests/category_edit.html", {
        "nav_section": NAV, "category": category, "form": form, "template_form": template_form,
        "templates": list(category.reply_templates.all()), "editing": editing,
    }, status=status)


@login_required
def category_template(request, pk: int, template_pk: int | None = None):
    """Add a reply template to a category (or edit one of its own)."""
    _require(request.user, "service_category.change")
    category = selectors.category_detail(pk)
    template = None
    if template_pk is not None:
        template = next((t for t in category.reply_templates.all() if t.pk == template_pk), None)
        if template is None:
            raise Http404
    template_form = forms.ReplyTemplateForm(request.POST or None, prefix="tpl", instance=template)
    if request.method == "POST" and template_form.is_valid():
        data = template_form.cleaned_data
        try:
            category_actions.reply_template_save(actor=request.user, category=category, template=template,
                                                 title=data["title"], body=data["body"], position=data["position"])
        except DomainError as exc:
            apply_to_form(template_form, exc)
        else:
            messages.success(request, _("已保存回复模板。"))
            return redirect("services:category_edit", pk=category.pk)
    form = forms.CategoryForm(orgs=selectors.category_org_choices(user=request.user), initial=_category_initial(category))
    return _category_page(request, category, form, template_form, status=400 if request.method == "POST" else 200,
                          editing=template)
