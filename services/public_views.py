"""Public pages for gig workers without an account, mounted at /s/ (namespace "public").

Mobile first, no login, no internal data: no assignee, no staff names, no internal notes, no other
requests, no coverage data. The tracking code travels in the session after submitting (never in a
query string); the 查询密码 waits in the session only until the confirmation page has shown it once. The
detail page of a request, and with it confirming with a score or reopening, opens only in a session that
looked it up with its code and 查询密码 (or, for requests from before it existed, the complete phone
number) or submitted it. Staff pages have no way to do either. Thin: selectors read, actions write.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from core.exceptions import DomainError, apply_to_form
from services import credentials, throttle
from services.actions import intake as intake_actions
from services.models import EntryKind, RequestStatus
from services.public_forms import HONEYPOT, ConfirmForm, IntakeForm, ReopenForm, TrackForm
from services.selectors import public

SUBMITTED_KEY = "public_submitted_code"
SUBMITTED_SECRET_KEY = "public_submitted_secret"  # noqa: S105 - a session key name; popped by the confirmation page: shown once
TRACKED_KEY = "public_tracked_ids"
TRACKED_MAX = 10
NOT_FOUND = gettext_noop("未找到对应的诉求，请核对查询码和查询密码")


def _remember(request, service_request) -> None:
    """Let this session open the request's tracking page (a short list: the newest ten)."""
    tracked = [pk for pk in request.session.get(TRACKED_KEY, []) if pk != service_request.pk]
    request.session[TRACKED_KEY] = (tracked + [service_request.pk])[-TRACKED_MAX:]


def _handling():
    # Imported when used: the handling actions are their own module (services.actions.handling).
    from services.actions import handling

    return handling


# ---------------------------------------------------------------- intake
def intake(request):
    return render(request, "services/public/intake.html", {"categories": public.intake_categories()})


def intake_form(request, code):
    category = public.intake_category(code)
    if category is None:
        raise Http404
    form = IntakeForm(request.POST or None, category=category)
    status = 200
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data.get(HONEYPOT):
            # Filled by a bot (people never see the field): refuse plainly, create nothing, count nothing.
            form.add_error(None, _("提交未能完成，请刷新页面后重新填写。如情况紧急，请拨打 12345 政务服务便民热线。"))
        else:
            try:
                created = intake_actions.request_submit(**form.action_kwargs(), client_address=throttle.client_address(request))
            except DomainError as exc:
                apply_to_form(form, exc)
                status = 429 if isinstance(exc, intake_actions.RateLimited) else 200
            else:
                request.session[SUBMITTED_KEY] = created.tracking_code
                request.session[SUBMITTED_SECRET_KEY] = created.access_secret
                _remember(request, created)
                return redirect("services:public_submitted")
    return render(request, "services/public/intake_form.html", {"category": category, "form": form}, status=status)


def submitted(request):
    code = request.session.get(SUBMITTED_KEY)
    found = public.public_request(code=code) if code else None
    if found is None:
        return redirect("services:public_intake")
    secret = request.session.pop(SUBMITTED_SECRET_KEY, None)
    response = render(request, "services/public/submitted.html", {
        "req": found, "secret": credentials.format_secret(secret) if secret else None,
    })
    add_never_cache_headers(response)  # the 查询密码 must not sit in a cache or come back with "back"
    return response


# ---------------------------------------------------------------- tracking
def track(request):
    form = TrackForm(request.POST or None)
    not_found = False
    if request.method == "POST" and form.is_valid():
        try:
            intake_actions.track_attempt(client_address=throttle.client_address(request))
        except intake_actions.RateLimited as exc:
            return render(request, "services/public/rate_limited.html", {"message": exc.message}, status=429)
        found = public.track_lookup(code=form.cleaned_data["code"], secret=form.cleaned_data["secret"])
        if found is not None:
            _remember(request, found)
            return redirect("services:public_track_detail", code=found.tracking_code)
        # Unknown code and wrong 查询密码: the same blank form and message, nothing echoed back.
        form, not_found = TrackForm(), True
    return render(request, "services/public/track.html", {"form": form, "not_found": not_found, "not_found_message": _(NOT_FOUND)})


def _tracked_or_none(request, code):
    found = public.public_request(code=code)
    if found is None or found.pk not in request.session.get(TRACKED_KEY, []):
        return None
    return found


def _who(entry) -> str:
    if entry.by_requester:
        return _("您")
    if entry.kind in (EntryKind.AUTO_CLOSED, EntryKind.ESCALATED):
        return _("系统")
    return _("工作人员")


def _detail(request, found, *, confirm_form=None, reopen_form=None, status=200):
    entries = [(entry, _who(entry)) for entry in found.public_entries]
    resolved = found.status == RequestStatus.RESOLVED
    return render(request, "services/public/track_detail.html", {
        "req": found, "entries": entries, "resolved": resolved,
        "confirm_form": (confirm_form or ConfirmForm()) if resolved else None,
        "reopen_form": (reopen_form or ReopenForm()) if resolved else None,
    }, status=status)


def track_detail(request, code):
    found = _tracked_or_none(request, code)
    if found is None:
        return redirect("services:public_track")
    return _detail(request, found)


@require_POST
def track_confirm(request, code):
    found = _tracked_or_none(request, code)
    if found is None:
        return redirect("services:public_track")
    form = ConfirmForm(request.POST)
    if form.is_valid():
        try:
            _handling().request_confirm(request=found, satisfaction=form.cleaned_data["satisfaction"],
                                        comment=form.cleaned_data["comment"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("感谢您的评价，本诉求已关闭。"))
            return redirect("services:public_track_detail", code=found.tracking_code)
    return _detail(request, found, confirm_form=form)


@require_POST
def track_reopen(request, code):
    found = _tracked_or_none(request, code)
    if found is None:
        return redirect("services:public_track")
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            _handling().request_reopen(request=found, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            apply_to_form(form, exc)
        else:
            messages.success(request, _("已重新打开，工作人员会继续办理。"))
            return redirect("services:public_track_detail", code=found.tracking_code)
    return _detail(request, found, reopen_form=form)

