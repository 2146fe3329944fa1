"""Accounts and roles for district staff (/users/), and the public set-password page a new account's link opens.

Thin: orgs.selectors.users reads (accounts outside the viewer's subtree are 404), orgs.actions.users writes.
A set-password link is shown once, on the page answering the POST that issued it (never stored, never cached).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.exceptions import DomainError, apply_to_form
from orgs.actions import users as actions
from orgs.forms.users import GrantAddForm, PortalSetPasswordForm, UserCreateForm, UserSearchForm
from orgs.scoping import has_perm
from orgs.selectors import users as selectors

PAGE_SIZE = 50


def _require(request, perm: str) -> None:
    if not has_perm(request.user, perm):
        raise Http404


def _link_page(request, link: actions.PasswordLink, *, created: bool):
    timeout = int(settings.PASSWORD_RESET_TIMEOUT)
    return render(request, "orgs/users/link.html", {
        "nav_section": "users", "account": link.user, "created": created,
        "link_url": request.build_absolute_uri(link.path), "valid_hours": max(1, timeout // 3600),
    })


# ---------------------------------------------------------------- list and detail
@login_required
def user_list(request):
    _require(request, "user.view")
    search = UserSearchForm(request.GET or None)
    q = search.cleaned_data["q"].strip() if search.is_valid() else ""
    page = Paginator(selectors.users_for(actor=request.user, search=q), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orgs/users/list.html", {
        "nav_section": "users", "page": page, "search": search, "q": q,
        "query": urlencode({"q": q}) if q else "", "can_add": has_perm(request.user, "user.add"),
    })


@login_required
def user_detail(request, pk: int):
    _require(request, "user.view")
    account = selectors.user_scoped_or_404(actor=request.user, pk=pk)
    can_change = selectors.may_change_account(actor=request.user, user=account)
    return render(request, "orgs/users/detail.html", {
        "nav_section": "users", "account": account, "grants": account.grants_in_scope,
        "outside": selectors.grants_outside_scope_count(actor=request.user, user=account),
        "can_change_account": can_change and account.pk != request.user.pk,
        "can_issue_link": can_change and account.is_active,
        "can_grant": has_perm(request.user, "user.change"),
        "is_self": account.pk == request.user.pk,
    })


# ---------------------------------------------------------------- writes
@login_required
@never_cache
def user_create(request):
    _require(request, "user.add")
    form = UserCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            link = actions.user_create(
                actor=request.user, username=data["username"], display_name=data["display_name"],
                email=data["email"], org=data["org"], role=data["role"],
            )
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            return _link_page(request, link, created=True)
    return render(request, "orgs/users/form.html", {
        "nav_section": "users", "form": form, "title": _("新建账号"), "button": _("创建账号"),
        "cancel_url": reverse("orgs:user_list"),
    })


@login_required
def grant_add(request, pk: int):
    _require(request, "user.change")
    account = selectors.user_scoped_or_404(actor=request.user, pk=pk, perm="user.change")
    form = GrantAddForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            grant = actions.grant_add(actor=request.user, user=account, org=form.cleaned_data["org"], role=form.cleaned_data["role"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已授予“%(role)s”（%(org)s）。") % {"role": grant.get_role_display(), "org": grant.org.name})
            return redirect("orgs:user_detail", pk=account.pk)
    return render(request, "orgs/users/form.html", {
        "nav_section": "users", "form": form, "account": account, "title": _("授予角色"), "button": _("授予"),
        "cancel_url": reverse("orgs:user_detail", args=[account.pk]),
    })


def _post_action(request, pk: int, do, success: str):
    """Run one POST-only action on an account the actor may change; refusals come back as a message."""
    account = selectors.user_scoped_or_404(actor=request.user, pk=pk, perm="user.change")
    try:
        do(account)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success)
    return redirect("orgs:user_detail", pk=account.pk)


@login_required
@require_POST
def grant_revoke(request, pk: int, grant_pk: int):
    _require(request, "user.change")
    account = selectors.user_scoped_or_404(actor=request.user, pk=pk, perm="user.change")
    grant = selectors.grant_scoped_or_404(actor=request.user, user=account, pk=grant_pk)
    return _post_action(request, pk, lambda _a: actions.grant_revoke(actor=request.user, grant=grant), _("已撤销该授权。"))


@login_required
@require_POST
def user_deactivate(request, pk: int):
    _require(request, "user.change")
    return _post_action(request, pk, lambda a: actions.user_deactivate(actor=request.user, user=a), _("账号已停用。"))


@login_required
@require_POST
def user_reactivate(request, pk: int):
    _require(request, "user.change")
    return _post_action(request, pk, lambda a: actions.user_reactivate(actor=request.user, user=a), _("账号已恢复。"))


@login_required
@require_POST
def user_reveal_right(request, pk: int):
    _require(request, "user.change")
    allowed = request.POST.get("allowed") == "1"
    success = _("已授予查看完整身份证号和手机号的权限。") if allowed else _("已收回查看完整身份证号和手机号的权限。")
    return _post_action(request, pk, lambda a: actions.user_reveal_right_set(actor=request.user, user=a, allowed=allowed), success)


@login_required
@require_POST
@never_cache
def user_password_link(request, pk: int):
    _require(request, "user.change")
    account = selectors.user_scoped_or_404(actor=request.user, pk=pk, perm="user.change")
    try:
        link = actions.user_password_link(actor=request.user, user=account)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("orgs:user_detail", pk=account.pk)
    return _link_page(request, link, created=False)


# ---------------------------------------------------------------- the public set-password page
SESSION_TOKEN = "_password_set_token"  # noqa: S105 - a session key, not a secret
URL_TOKEN = "set-password"  # noqa: S105 - the placeholder that replaces the token in the address


@never_cache
def password_set(request, uidb64: str, token: str):
    """Open to anyone holding a valid link. Like Django's reset view, the token moves from the address into the
    session at once (a redirect), so it does not linger in the history or leak through a Referer."""
    if token != URL_TOKEN:
        if selectors.password_link_user(uidb64=uidb64, token=token) is not None:
            request.session[SESSION_TOKEN] = token
            return redirect("orgs:password_set", uidb64=uidb64, token=URL_TOKEN)
        return render(request, "registration/set_password.html", {"valid": False})
    session_token = request.session.get(SESSION_TOKEN, "")
    account = selectors.password_link_user(uidb64=uidb64, token=session_token)
    if account is None:
        return render(request, "registration/set_password.html", {"valid": False})
    form = PortalSetPasswordForm(account, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.user_password_set(actor=account, user=account, token=session_token, password=form.cleaned_data["new_password1"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            request.session.pop(SESSION_TOKEN, None)
            messages.success(request, _("密码已设置，请用新密码登录。"))
            return redirect("login")
    return render(request, "registration/set_password.html", {"valid": True, "form": form, "account": account})
