"""API tokens for REST clients, issued and revoked by district staff (/api-tokens/).

Thin: orgs.selectors.tokens reads (tokens of accounts outside the viewer's subtree are 404), orgs.actions.tokens
writes. A new token is shown once, on the page answering the POST that issued it: never stored, never in a URL,
never in a message (messages live in the session until shown), and the page is never cached. The list shows
only each token's prefix.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import ApiToken
from core.views.generic import ScopedActionView, ScopedFormView, ScopedListView
from orgs.actions import tokens as actions
from orgs.forms.tokens import ApiTokenIssueForm
from orgs.selectors import tokens as selectors

NAV = "api_tokens"


class ApiTokenListView(ScopedListView):
    perm = "api_token.view"
    nav_section = NAV
    title = gettext_lazy("API 令牌")
    template_name = "orgs/tokens/list.html"
    table_template_name = "orgs/tokens/_table.html"
    ordering = ("-created", "-token_key")

    def get_queryset(self):
        return selectors.api_tokens_for(actor=self.request.user)

    def decorate(self, rows: list) -> list:
        revocable = selectors.revocable_token_keys(actor=self.request.user, tokens=rows)
        for token in rows:
            token.may_revoke = token.token_key in revocable and token.revoked_at is None
        return rows

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "can_add": self.may("api_token.add")}


class ApiTokenIssueView(ScopedFormView):
    """The answer to a valid POST is the page showing the new token, once."""

    perm = "api_token.add"
    nav_section = NAV
    title = gettext_lazy("签发 API 令牌")
    submit_label = gettext_lazy("签发令牌")
    template_name = "orgs/tokens/form.html"
    form_class = ApiTokenIssueForm
    never_cache = True

    def perform(self, form):
        data = form.cleaned_data
        token, plaintext = actions.api_token_issue(actor=self.request.user, user=data["username"], name=data["name"],
                                                   scope=data["scope"], expires_on=data["expires_on"])
        return render(self.request, "orgs/tokens/issued.html", {
            "nav_section": NAV, "title": _("令牌已签发"), "token": token, "plaintext": plaintext,
        })

    def get_cancel_url(self) -> str:
        return reverse("orgs:api_token_list")


class ApiTokenRevokeView(ScopedActionView):
    perm = "api_token.change"
    nav_section = NAV
    queryset = ApiToken.objects
    object_action = "change"
    lookup_field = "token_key"
    lookup_url_kwarg = "token_key"

    def perform(self, token):
        return actions.api_token_revoke(actor=self.request.user, token=token)

    def get_success_message(self, token, result) -> str:
        return _("令牌 %(key)s… 已撤销，使用它的请求将立即被拒绝。") % {"key": token.token_key}

    def get_success_url(self, token) -> str:
        return reverse("orgs:api_token_list")
