"""Transfer pages (组织关系转接): inbox, outbox, open list, detail with timeline, request, one step.

Thin: members.selectors.transfers reads, members.actions.transfers writes and checks the sides again.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.exceptions import ConflictError, DomainError, apply_to_form
from members import actions
from members.models import Member, TransferKind
from members.selectors import transfers as selectors
from members.transfer_forms import TransferActForm, TransferRequestForm
from orgs.scoping import get_scoped_or_404, has_perm

PAGE_SIZE = 50
NAV = "transfers"


def _require_view(user) -> None:
    if not has_perm(user, "transfer.view"):
        raise Http404


def _list(request, qs, *, box: str, title: str):
    _require_view(request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.annotate_age(page.object_list)
    return render(request, "members/transfers/list.html", {
        "nav_section": NAV, "box": box, "title": title, "page": page, "rows": rows, "query": "",
    })


@login_required
def transfer_inbox(request):
    return _list(request, selectors.transfer_inbox(user=request.user), box="inbox", title=_("待我办理的转接"))


@login_required
def transfer_outbox(request):
    return _list(request, selectors.transfer_outbox(user=request.user), box="outbox", title=_("我方转出与申请的转接"))


@login_required
def transfer_list(request):
    return _list(request, selectors.transfer_open_list(user=request.user), box="open", title=_("在途转接"))


def _detail_context(request, transfer, *, act_form=None, act_step=None) -> dict:
    transfer.age_days = selectors.annotate_age([transfer])[0].age_days
    steps = actions.transfer_available_steps(actor=request.user, transfer=transfer)
    forms = []
    for step in steps:
        if act_form is not None and step == act_step:
            form = act_form
        else:
            form = TransferActForm(initial={"step": step, "version": transfer.version})
        if not (step == "approve" and transfer.kind != TransferKind.IN):
            del form.fields["letter_number"]
        if step == "return":
            form.fields["reason"].required = True
            form.fields["reason"].label = _("退回原因")
        forms.append((step, actions.STEP_LABELS[step], form))
    return {"nav_section": NAV, "transfer": transfer, "timeline": transfer.timeline, "step_forms": forms}


@login_required
def transfer_detail(request, pk: int):
    transfer = selectors.transfer_detail(user=request.user, pk=pk)
    return render(request, "members/transfers/detail.html", _detail_context(request, transfer))


STEP_ACTIONS = {
    "approve": actions.transfer_approve,
    "receive": actions.transfer_receive,
    "complete": actions.transfer_complete,
    "return": actions.transfer_return,
    "withdraw": actions.transfer_withdraw,
}
STEP_DONE = {
    "approve": gettext_lazy("已审批。"), "receive": gettext_lazy("已接收。"),
    "complete": gettext_lazy("已办结，党员组织关系已变更。"), "return": gettext_lazy("已退回。"),
    "withdraw": gettext_lazy("已撤回。"),
}


@login_required
@require_POST
def transfer_act(request, pk: int):
    transfer = selectors.transfer_detail(user=request.user, pk=pk)
    form = TransferActForm(request.POST)
    step = request.POST.get("step")
    if form.is_valid():
        data = form.cleaned_data
        step = data["step"]
        kwargs = {"actor": request.user, "transfer": transfer, "reason": data["reason"], "expected_version": data["version"]}
        if step == "approve":
            kwargs["letter_number"] = data["letter_number"]
        try:
            STEP_ACTIONS[step](**kwargs)
        except ConflictError as exc:
            messages.error(request, str(exc.message))
            return redirect("members:transfer_detail", pk=transfer.pk)
        except DomainError as exc:
            if step not in actions.transfer_available_steps(actor=request.user, transfer=transfer):
                messages.error(request, str(exc.message))  # not this user's step: no form to show it on
                return redirect("members:transfer_detail", pk=transfer.pk)
            apply_to_form(form, exc)
        else:
            messages.success(request, str(STEP_DONE[step]))
            return redirect("members:transfer_detail", pk=transfer.pk)
    if step not in actions.transfer_available_steps(actor=request.user, transfer=transfer):
        messages.error(request, _("该步骤当前不可办理，请刷新后查看。"))
        return redirect("members:transfer_detail", pk=transfer.pk)
    context = _detail_context(request, transfer, act_form=form, act_step=step)
    return render(request, "members/transfers/detail.html", context, status=400)


@login_required
def transfer_request(request, member_pk: int):
    member = get_scoped_or_404(Member.objects.select_related("org"), request.user, "view", pk=member_pk)
    if not has_perm(request.user, "transfer.add"):
        raise Http404
    form = TransferRequestForm(request.POST or None, initial={"kind": TransferKind.INTERNAL})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = actions.transfer_request(
                actor=request.user, member=member, kind=data["kind"], reason=data["reason"],
                dues_paid_until=data["dues_paid_until"], to_org=data["to_org"],
                external_org_name=data["external_org_name"], cross_province=data["cross_province"],
                letter_number=data["letter_number"],
            )
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已提交转接申请。"))
            return redirect("members:transfer_detail", pk=transfer.pk)
    return render(request, "members/transfers/request_form.html", {"nav_section": NAV, "form": form, "member": member})
