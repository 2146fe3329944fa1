"""Bulk onboarding pages (/users/import/, district staff with user.add): upload → preview (every row with its
errors) → confirm (all valid rows or none) → download the set-password links.

Between the pages the parsed rows (no passwords) live in the session under PENDING_KEY; after confirming, the
new accounts' ids live under DONE_KEY so the links can be downloaded (tokens are made fresh on each download,
never stored). Thin: orgs.actions.onboarding reads the file, checks the rows and writes.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError
from core.views.generic import PortalView, ScopedFormView
from core.xlsx import workbook_response
from orgs.actions import onboarding as actions
from orgs.forms.onboarding import OnboardingConfirmForm, OnboardingUploadForm

NAV = "users"
PENDING_KEY = "orgs.onboarding.pending"
DONE_KEY = "orgs.onboarding.done"


class OnboardingMixin:
    perm = actions.PERM
    nav_section = NAV


class UploadView(OnboardingMixin, ScopedFormView):
    """The file is read and every row parsed; nothing is written until the preview is confirmed. A refused
    file is a 400 with the reason on the form."""

    title = gettext_lazy("批量开通账号")
    template_name = "orgs/onboarding/upload.html"
    form_class = OnboardingUploadForm
    form_takes_user = False

    def perform(self, form):
        upload_file = form.cleaned_data["file"]
        # Type and size first, before the file is read into memory.
        actions.check_xlsx_upload(filename=upload_file.name, size=upload_file.size)
        rows = actions.onboarding_parse(actor=self.request.user, filename=upload_file.name, data=upload_file.read())
        self.request.session[PENDING_KEY] = {"batch": secrets.token_hex(8), "filename": upload_file.name[:100], "rows": rows}
        return redirect("orgs:onboarding_preview")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form again, with the reason the file was refused
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "max_rows": actions.MAX_ROWS,
                "pending": self.request.session.get(PENDING_KEY, {}).get("filename")}


class TemplateDownloadView(OnboardingMixin, PortalView):
    def get(self, request, *args, **kwargs):
        return workbook_response(filename=_("批量开通账号模板"), title=_("账号清单"), headers=actions.TEMPLATE_HEADERS, rows=[])


class PreviewView(OnboardingMixin, PortalView):
    title = gettext_lazy("开通预览")
    template_name = "orgs/onboarding/preview.html"

    def get(self, request, *args, **kwargs):
        pending = request.session.get(PENDING_KEY)
        if not pending:
            messages.info(request, _("请先上传账号清单。"))
            return redirect("orgs:onboarding_upload")
        checks = actions.onboarding_validate(actor=request.user, rows=pending["rows"])
        valid = sum(1 for c in checks if c.ok)
        form = OnboardingConfirmForm(initial={"batch": pending["batch"], "digest": actions.fingerprint(pending["batch"], checks)})
        return self.render_to_response(self.get_context_data(
            filename=pending["filename"], checks=checks, total=len(checks), valid=valid, invalid=len(checks) - valid,
            form=form,
        ))


class ConfirmView(OnboardingMixin, PortalView):
    """POST only: open every valid row of the preview (all or none) if it still matches what was shown."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        pending = request.session.get(PENDING_KEY)
        form = OnboardingConfirmForm(request.POST)
        if not pending or not form.is_valid() or form.cleaned_data["batch"] != pending["batch"]:
            messages.error(request, _("预览已失效，请重新上传账号清单。"))
            return redirect("orgs:onboarding_upload")
        try:
            users = actions.onboarding_confirm(actor=request.user, rows=pending["rows"], batch=pending["batch"],
                                               expected=form.cleaned_data["digest"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("orgs:onboarding_preview")
        del request.session[PENDING_KEY]
        request.session[DONE_KEY] = {"user_ids": [u.pk for u in users], "filename": pending["filename"]}
        messages.success(request, _("已开通 %(n)d 个账号。请下载设置密码链接，分别发给本人。") % {"n": len(users)})
        return redirect("orgs:onboarding_done")


class DoneView(OnboardingMixin, PortalView):
    title = gettext_lazy("账号已开通")
    template_name = "orgs/onboarding/done.html"

    def get(self, request, *args, **kwargs):
        finished = request.session.get(DONE_KEY)
        if not finished:
            return redirect("orgs:onboarding_upload")
        return self.render_to_response(self.get_context_data(
            count=len(finished["user_ids"]), filename=finished["filename"],
            valid_days=max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        ))


class LinksView(OnboardingMixin, PortalView):
    """The new accounts' set-password links as .xlsx (made fresh on each download; never cached)."""

    def get(self, request, *args, **kwargs):
        finished = request.session.get(DONE_KEY)
        if not finished:
            raise Http404
        rows = actions.onboarding_link_rows(actor=request.user, user_ids=finished["user_ids"])
        with_url = any(r["path"] for r in rows) or not rows
        headers = [_("用户名"), _("姓名"), _("角色"), _("党组织"), _("党组织编码")]
        headers += [_("设置密码链接")] if with_url else ["uidb64", "token"]

        def cells(r):
            base = [r["username"], r["display_name"], r["role"], r["org"], r["org_code"]]
            if r["has_password"]:
                return base + [_("已设置密码")] + ([] if with_url else [""])
            return base + ([request.build_absolute_uri(r["path"]) if r["path"] else ""] if with_url else [r["uidb64"], r["token"]])

        response = workbook_response(filename=_("设置密码链接"), title=_("设置密码链接"), headers=headers,
                                     rows=[cells(r) for r in rows])
        response["Cache-Control"] = "no-store"
        return response
