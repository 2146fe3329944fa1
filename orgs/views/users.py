"""Accounts and roles for district staff (/users/), and the public set-password page a new account's link opens.

Thin: orgs.selectors.users reads (accounts outside the viewer's subtree are 404), orgs.actions.users writes.
A set-password link is shown once, on the page answering the POST that issued it (never stored, never cached).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, apply_to_form
from core.views.generic import PortalView, ScopedActionView, ScopedDetailView, ScopedFormView, ScopedListView
from orgs.actions import users as actions
from orgs.filtersets import UserFilterSet
from orgs.forms.users import GrantAddForm, PortalSetPasswordForm, UserCreateForm
from orgs.selectors import users as selectors

NAV = "users"


def _link_page(view: PortalView, link: actions.PasswordLink, *, created: bool):
    """The one page that shows a set-password link (the view is never_cache)."""
    timeout = int(settings.PASSWORD_RESET_TIMEOUT)
    return render(view.request, "orgs/users/link.html", {
        "nav_section": NAV, "account": link.user, "created": created,
        "link_url": view.request.build_absolute_uri(link.path), "valid_hours": max(1, timeout // 3600),
    })


def _detail_url(pk) -> str:
    return reverse("orgs:user_detail", args=[pk])


# ---------------------------------------------------------------- list and detail
class UserListView(ScopedListView):
    perm = "user.view"
    nav_section = NAV
    title = gettext_lazy("用户与角色")
    template_name = "orgs/users/list.html"
    table_template_name = "orgs/users/_table.html"
    filterset_class = UserFilterSet
    ordering = ("username", "pk")

    def get_queryset(self):
        return selectors.users_for(actor=self.request.user)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "can_add": self.may("user.add")}


class AccountMixin:
    """The account named by the URL's `pk`, inside the scope of `account_perm` (404 otherwise)."""

    nav_section = NAV
    account_perm = "user.change"

    def get_object(self):
        return selectors.user_scoped_or_404(actor=self.request.user, pk=self.kwargs["pk"], perm=self.account_perm)

    def get_success_url(self, *_args) -> str:
        return _detail_url(self.kwargs["pk"])


class UserDetailView(AccountMixin, ScopedDetailView):
    perm = "user.view"
    account_perm = "user.view"
    template_name = "orgs/users/detail.html"
    context_object_name = "account"

    def get_title(self) -> str:
        return str(self.object)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user, account = self.request.user, self.object
        can_change = selectors.may_change_account(actor=user, user=account)
        context.update({
            "grants": account.grants_in_scope,
            "outside": selectors.grants_outside_scope_count(actor=user, user=account),
            "can_change_account": can_change and account.pk != user.pk,
            "can_issue_link": can_change and account.is_active,
            "can_grant": self.may("user.change"),
            "is_self": account.pk == user.pk,
        })
        return context


# ---------------------------------------------------------------- writes
class UserCreateView(ScopedFormView):
    """A new account with one grant; the answer is the page with its set-password link (shown once)."""

    perm = "user.add"
    nav_section = NAV
    title = gettext_lazy("新建账号")
    submit_label = gettext_lazy("创建账号")
    template_name = "orgs/users/form.html"
    form_class = UserCreateForm
    never_cache = True

    def perform(self, form):
        data = form.cleaned_data
        link = actions.user_create(actor=self.request.user, username=data["username"], display_name=data["display_name"],
                                   email=data["email"], org=data["org"], role=data["role"])
        return _link_page(self, link, created=True)

    def get_cancel_url(self) -> str:
        return reverse("orgs:user_list")


class GrantAddView(AccountMixin, ScopedFormView):
    perm = "user.change"
    title = gettext_lazy("授予角色")
    submit_label = gettext_lazy("授予")
    template_name = "orgs/users/form.html"
    form_class = GrantAddForm

    def check_permission(self) -> None:
        super().check_permission()
        self.object = self.get_object()

    def perform(self, form):
        return actions.grant_add(actor=self.request.user, user=self.object, org=form.cleaned_data["org"],
                                 role=form.cleaned_data["role"])

    def get_success_message(self, result) -> str:
        return _("已授予“%(role)s”（%(org)s）。") % {"role": result.get_role_display(), "org": result.org.name}

    def get_cancel_url(self) -> str:
        return _detail_url(self.object.pk)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "account": self.object}


class GrantRevokeView(AccountMixin, ScopedActionView):
    perm = "user.change"
    success_message = gettext_lazy("已撤销该授权。")

    def get_object(self):
        account = super().get_object()
        return selectors.grant_scoped_or_404(actor=self.request.user, user=account, pk=self.kwargs["grant_pk"])

    def perform(self, grant):
        return actions.grant_revoke(actor=self.request.user, grant=grant)


class UserDeactivateView(AccountMixin, ScopedActionView):
    perm = "user.change"
    success_message = gettext_lazy("账号已停用。")

    def perform(self, account):
        return actions.user_deactivate(actor=self.request.user, user=account)


class UserReactivateView(AccountMixin, ScopedActionView):
    perm = "user.change"
    success_message = gettext_lazy("账号已恢复。")

    def perform(self, account):
        return actions.user_reactivate(actor=self.request.user, user=account)


class UserRevealRightView(AccountMixin, ScopedActionView):
    """Grant (allowed=1) or withdraw the right to see full ID numbers and phone numbers."""

    perm = "user.change"

    @property
    def allowed(self) -> bool:
        return self.request.POST.get("allowed") == "1"

    def perform(self, account):
        return actions.user_reveal_right_set(actor=self.request.user, user=account, allowed=self.allowed)

    def get_success_message(self, obj, result) -> str:
        if self.allowed:
            return _("已授予查看完整身份证号和手机号的权限。")
        return _("已收回查看完整身份证号和手机号的权限。")


class UserPasswordLinkView(AccountMixin, ScopedActionView):
    """A new set-password link, shown once on the answer to this POST; a refusal comes back as a message."""

    perm = "user.change"
    never_cache = True

    def post(self, request, *args, **kwargs):
        account = self.get_object()
        try:
            link = actions.user_password_link(actor=request.user, user=account)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect(self.get_success_url())
        return _link_page(self, link, created=False)


# ---------------------------------------------------------------- the public set-password page
SESSION_TOKEN = "_password_set_token"  # noqa: S105 - a session key, not a secret
URL_TOKEN = "set-password"  # noqa: S105 - the placeholder that replaces the token in the address


class PasswordSetView(PortalView):
    """Open to anyone holding a valid link. Like Django's reset view, the token moves from the address into the
    session at once (a redirect), so it does not linger in the history or leak through a Referer."""

    public = True
    never_cache = True
    title = gettext_lazy("设置密码")
    template_name = "registration/set_password.html"

    def open_link(self):
        """A redirect when the address still holds the token; else the account the session's token is for."""
        uidb64, token = self.kwargs["uidb64"], self.kwargs["token"]
        self.account, self.token = None, ""
        if token != URL_TOKEN:
            if selectors.password_link_user(uidb64=uidb64, token=token) is not None:
                self.request.session[SESSION_TOKEN] = token
                return redirect("orgs:password_set", uidb64=uidb64, token=URL_TOKEN)
            return None
        self.token = self.request.session.get(SESSION_TOKEN, "")
        self.account = selectors.password_link_user(uidb64=uidb64, token=self.token)
        return None

    def answer(self, form=None):
        if self.account is None:
            return self.render_to_response(self.get_context_data(valid=False))
        return self.render_to_response(self.get_context_data(valid=True, form=form, account=self.account))

    def get(self, request, *args, **kwargs):
        moved = self.open_link()
        if moved is not None:
            return moved
        return self.answer(PortalSetPasswordForm(self.account) if self.account else None)

    def post(self, request, *args, **kwargs):
        moved = self.open_link()
        if moved is not None:
            return moved
        if self.account is None:
            return self.answer()
        form = PortalSetPasswordForm(self.account, request.POST)
        if form.is_valid():
            try:
                actions.user_password_set(actor=self.account, user=self.account, token=self.token,
                                          password=form.cleaned_data["new_password1"])
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                request.session.pop(SESSION_TOKEN, None)
                messages.success(request, _("密码已设置，请用新密码登录。"))
                return redirect("login")
        return self.answer(form)
