"""Transfer pages (组织关系转接): inbox, outbox, open list, detail with timeline and the steps the user may
take, one step, the request form, and the search of its receiving org.

Thin: members.selectors.transfers reads, members.actions.transfers writes and checks the sides again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import ConflictError, DomainError
from core.views.generic import PortalView, ScopedDetailView, ScopedFormView, ScopedListView
from members import actions
from members.forms.transfers import TransferActForm, TransferRequestForm, receiving_org_choices
from members.models import Member, TransferKind
from members.selectors import transfers as selectors

NAV = "transfers"


# ---------------------------------------------------------------- the three lists
class TransferListBase(ScopedListView):
    perm = "transfer.view"
    nav_section = NAV
    template_name = "members/transfers/list.html"
    table_template_name = "members/transfers/_table.html"
    #: the tab this list is (members/transfers/_tabs.html)
    box = ""

    def decorate(self, rows: list) -> list:
        return selectors.annotate_age(rows)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "box": self.box}


class TransferInboxView(TransferListBase):
    """Open transfers waiting for the user's side, oldest first."""

    title = gettext_lazy("待我办理的转接")
    box = "inbox"
    ordering = ("requested_at", "pk")

    def get_queryset(self):
        return selectors.transfer_inbox(user=self.request.user)


class TransferOutboxView(TransferListBase):
    """Transfers the user requested or that leave the user's orgs, newest first."""

    title = gettext_lazy("我方转出与申请的转接")
    box = "outbox"
    ordering = ("-requested_at", "-pk")

    def get_queryset(self):
        return selectors.transfer_outbox(user=self.request.user)


class TransferOpenListView(TransferListBase):
    """All open transfers in scope, oldest first, with their age (the district's ageing list)."""

    title = gettext_lazy("在途转接")
    box = "open"
    ordering = ("requested_at", "pk")

    def get_queryset(self):
        return selectors.transfer_open_list(user=self.request.user)


# ---------------------------------------------------------------- detail and steps
class TransferPageMixin:
    """One transfer in the user's view scope, with its timeline; the page shows a form per step the user may take."""

    perm = "transfer.view"
    nav_section = NAV
    template_name = "members/transfers/detail.html"

    def get_object(self):
        return selectors.transfer_detail(user=self.request.user, pk=self.kwargs["pk"])

    def available_steps(self) -> list[str]:
        return actions.transfer_available_steps(actor=self.request.user, transfer=self.object)

    def step_forms(self, *, act_form=None, act_step=None) -> list:
        forms = []
        for step in self.available_steps():
            if act_form is not None and step == act_step:
                form = act_form
            else:
                form = TransferActForm(initial={"step": step, "version": self.object.version})
            if not (step == "approve" and self.object.kind != TransferKind.IN):
                del form.fields["letter_number"]
            if step == "return":
                form.fields["reason"].required = True
                form.fields["reason"].label = _("退回原因")
            forms.append((step, actions.STEP_LABELS[step], form))
        return forms

    def detail_context(self, **step_kwargs) -> dict[str, Any]:
        transfer = self.object
        transfer.age_days = selectors.annotate_age([transfer])[0].age_days
        return {"transfer": transfer, "timeline": transfer.timeline, "step_forms": self.step_forms(**step_kwargs)}


class TransferDetailView(TransferPageMixin, ScopedDetailView):
    context_object_name = "transfer"

    def get_title(self) -> str:
        return self.object.member.name

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **self.detail_context()}


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


class TransferActView(TransferPageMixin, ScopedFormView):
    """One step (POST only). A refusal on a step the user may take is shown on its form on the detail page
    (400); a conflict (someone else acted first) or a step that is not the user's is a message on the page."""

    http_method_names = ["post"]
    form_class = TransferActForm
    form_takes_user = False

    def check_permission(self) -> None:
        super().check_permission()
        self.object = self.get_object()

    def perform(self, form):
        data = form.cleaned_data
        step = data["step"]
        kwargs = {"actor": self.request.user, "transfer": self.object, "reason": data["reason"],
                  "expected_version": data["version"]}
        if step == "approve":
            kwargs["letter_number"] = data["letter_number"]
        try:
            STEP_ACTIONS[step](**kwargs)
        except DomainError as exc:
            if isinstance(exc, ConflictError) or step not in self.available_steps():
                return self.back_with_error(str(exc.message))  # no form of this user's to show it on
            raise
        return step

    def back_with_error(self, message: str):
        messages.error(self.request, message)
        return redirect("members:transfer_detail", pk=self.object.pk)

    def get_success_url(self, result) -> str:
        return reverse("members:transfer_detail", args=[self.object.pk])

    def get_success_message(self, result) -> str:
        return str(STEP_DONE[result])

    def render_to_response(self, context, **response_kwargs):
        """Only a refused step gets here: its form again on the detail page, or a message when the step is not
        (or no longer) the user's."""
        step = context["form"].data.get("step")
        if step not in self.available_steps():
            return self.back_with_error(_("该步骤当前不可办理，请刷新后查看。"))
        return super().render_to_response(context, status=400, **response_kwargs)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = context["form"]
        return {**context, **self.detail_context(act_form=form, act_step=form.data.get("step"))}

    def get_title(self) -> str:
        return self.object.member.name


# ---------------------------------------------------------------- request
class TransferRequestView(ScopedFormView):
    perm = "transfer.add"
    nav_section = NAV
    title = gettext_lazy("申请组织关系转接")
    template_name = "members/transfers/form.html"
    form_class = TransferRequestForm
    form_takes_user = False
    queryset = Member.objects.select_related("org")
    object_action = "view"
    lookup_url_kwarg = "member_pk"
    submit_label = gettext_lazy("提交申请")
    success_message = gettext_lazy("已提交转接申请。")

    def get_initial(self) -> dict:
        return {"kind": TransferKind.INTERNAL}

    def perform(self, form):
        data = form.cleaned_data
        return actions.transfer_request(
            actor=self.request.user, member=self.object, kind=data["kind"], reason=data["reason"],
            dues_paid_until=data["dues_paid_until"], to_org=data["to_org"], external_org_name=data["external_org_name"],
            cross_province=data["cross_province"], letter_number=data["letter_number"],
        )

    def get_success_url(self, result) -> str:
        return reverse("members:transfer_detail", args=[result.pk])

    def get_cancel_url(self) -> str:
        return reverse("members:transfer_outbox")

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "member": self.object}


class ReceivingOrgPickView(PortalView):
    """The search of the request form's receiving-org picker (core.forms.SearchSelect): the options of the
    receiving orgs matching a name, anywhere in the district (the form offers them all; this lists at most
    LIMIT at a time)."""

    perm = "transfer.add"
    template_name = "core/widgets/_options.html"
    LIMIT = 20

    def get(self, request, *args, **kwargs):
        name = request.GET.get("name", "to_org")
        q = (request.GET.get(f"{name}__q") or request.GET.get("q") or "").strip()[:60]
        qs = receiving_org_choices()
        if q:
            qs = qs.filter(name__icontains=q)
        rows = list(qs.values_list("pk", "name")[: self.LIMIT + 1])
        return self.render_to_response({"options": rows[: self.LIMIT], "more": len(rows) > self.LIMIT})
