"""Public pages for gig workers without an account, under /s/ (names "services:public_*", listed in
tests/test_architecture.py): submit a request, track it, confirm or reopen it, and find the nearest open
service points. Each is a PortalView with `public = True` (no login).

Mobile first, no internal data: no assignee, no staff names, no internal notes, no other requests, no
coverage data. The tracking code travels in the session after submitting (never in a query string); the
查询密码 waits in the session only until the confirmation page has shown it once (that page is never cached).
The detail page of a request, and with it confirming with a score or reopening, opens only in a session that
looked it up with its code and 查询密码 (or, for requests from before it existed, the complete phone number)
or submitted it. Staff pages have no way to do either. Submitting and looking up are rate limited
(services.actions.intake, PublicHit rows). Thin: selectors read, actions write.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.exceptions import DomainError, apply_to_form
from core.views.generic import PortalView
from services import credentials, throttle
from services.actions import intake as intake_actions
from services.forms.public import HONEYPOT, ConfirmForm, IntakeForm, NearestOriginForm, ReopenForm, TrackForm
from services.models import EntryKind, RequestStatus
from services.selectors import points as point_selectors
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


class PublicPage(PortalView):
    """A page open without an account."""

    public = True


# ---------------------------------------------------------------- intake
class IntakeView(PublicPage):
    template_name = "services/public/intake.html"

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(categories=public.intake_categories()))


class IntakeFormView(PublicPage):
    template_name = "services/public/intake_form.html"

    def dispatch(self, request, *args, **kwargs):
        self.category = public.intake_category(kwargs["code"])
        if self.category is None:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def render_form(self, form, *, status=200):
        return self.render_to_response(self.get_context_data(category=self.category, form=form), status=status)

    def get(self, request, *args, **kwargs):
        return self.render_form(IntakeForm(category=self.category))

    def post(self, request, *args, **kwargs):
        form = IntakeForm(request.POST, category=self.category)
        status = 200
        if form.is_valid():
            if form.cleaned_data.get(HONEYPOT):
                # Filled by a bot (people never see the field): refuse plainly, create nothing, count nothing.
                form.add_error(None, _("提交未能完成，请刷新页面后重新填写。如情况紧急，请拨打 12345 政务服务便民热线。"))
            else:
                try:
                    created = intake_actions.request_submit(**form.action_kwargs(),
                                                            client_address=throttle.client_address(request))
                except DomainError as exc:
                    apply_to_form(form, exc)
                    status = 429 if isinstance(exc, intake_actions.RateLimited) else 200
                else:
                    request.session[SUBMITTED_KEY] = created.tracking_code
                    request.session[SUBMITTED_SECRET_KEY] = created.access_secret
                    _remember(request, created)
                    return redirect("services:public_submitted")
        return self.render_form(form, status=status)


class SubmittedView(PublicPage):
    template_name = "services/public/submitted.html"
    never_cache = True  # the 查询密码 must not sit in a cache or come back with "back"

    def get(self, request, *args, **kwargs):
        code = request.session.get(SUBMITTED_KEY)
        found = public.public_request(code=code) if code else None
        if found is None:
            return redirect("services:public_intake")
        secret = request.session.pop(SUBMITTED_SECRET_KEY, None)
        return self.render_to_response(self.get_context_data(
            req=found, secret=credentials.format_secret(secret) if secret else None,
        ))


# ---------------------------------------------------------------- tracking
class TrackView(PublicPage):
    template_name = "services/public/track.html"

    def render_form(self, form, *, not_found=False):
        return self.render_to_response(self.get_context_data(form=form, not_found=not_found,
                                                             not_found_message=_(NOT_FOUND)))

    def get(self, request, *args, **kwargs):
        return self.render_form(TrackForm())

    def post(self, request, *args, **kwargs):
        form = TrackForm(request.POST)
        if not form.is_valid():
            return self.render_form(form)
        try:
            intake_actions.track_attempt(client_address=throttle.client_address(request))
        except intake_actions.RateLimited as exc:
            return self.response_class(request=request, template=["services/public/rate_limited.html"],
                                       context={"message": exc.message}, status=429, using=self.template_engine)
        found = public.track_lookup(code=form.cleaned_data["code"], secret=form.cleaned_data["secret"])
        if found is not None:
            _remember(request, found)
            return redirect("services:public_track_detail", code=found.tracking_code)
        # Unknown code and wrong 查询密码: the same blank form and message, nothing echoed back.
        return self.render_form(TrackForm(), not_found=True)


def _who(entry) -> str:
    if entry.by_requester:
        return _("您")
    if entry.kind in (EntryKind.AUTO_CLOSED, EntryKind.ESCALATED):
        return _("系统")
    return _("工作人员")


class TrackedRequestMixin:
    """The request of the URL's code, only for a session that looked it up or submitted it; any other
    session is sent to the look-up form (the same answer whether the code exists or not)."""

    template_name = "services/public/track_detail.html"

    def dispatch(self, request, *args, **kwargs):
        found = public.public_request(code=kwargs["code"])
        if found is None or found.pk not in request.session.get(TRACKED_KEY, []):
            return redirect("services:public_track")
        self.found = found
        return super().dispatch(request, *args, **kwargs)

    def render_detail(self, *, confirm_form=None, reopen_form=None):
        found = self.found
        resolved = found.status == RequestStatus.RESOLVED
        return self.render_to_response(self.get_context_data(
            req=found, entries=[(entry, _who(entry)) for entry in found.public_entries], resolved=resolved,
            confirm_form=(confirm_form or ConfirmForm()) if resolved else None,
            reopen_form=(reopen_form or ReopenForm()) if resolved else None,
        ))


class TrackDetailView(TrackedRequestMixin, PublicPage):
    def get(self, request, *args, **kwargs):
        return self.render_detail()


class TrackConfirmView(TrackedRequestMixin, PublicPage):
    """The requester confirms the resolution with a score (and closes the request)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = ConfirmForm(request.POST)
        if form.is_valid():
            try:
                _handling().request_confirm(request=self.found, satisfaction=form.cleaned_data["satisfaction"],
                                            comment=form.cleaned_data["comment"])
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                messages.success(request, _("感谢您的评价，本诉求已关闭。"))
                return redirect("services:public_track_detail", code=self.found.tracking_code)
        return self.render_detail(confirm_form=form)


class TrackReopenView(TrackedRequestMixin, PublicPage):
    """The requester says the problem is not solved (the request opens again)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = ReopenForm(request.POST)
        if form.is_valid():
            try:
                _handling().request_reopen(request=self.found, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                messages.success(request, _("已重新打开，工作人员会继续办理。"))
                return redirect("services:public_track_detail", code=self.found.tracking_code)
        return self.render_detail(reopen_form=form)


# ---------------------------------------------------------------- nearest service points
class NearestPointsView(PublicPage):
    """The open service points nearest to a street, a workplace or the browser's location, with a server-drawn
    sketch. The location is used for this answer only and never stored."""

    template_name = "services/public/nearest.html"
    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        form = NearestOriginForm(request.GET or None, streets=point_selectors.public_streets())
        origin, nearby, reach_m = None, [], None
        if form.is_bound and form.is_valid():
            origin = form.origin()
            if origin is not None:
                nearby, reach_m = point_selectors.nearest_open_points(latitude=origin.latitude, longitude=origin.longitude)
        scale = point_selectors.layout_scale(nearby, reach_m) if origin is not None else None
        return self.render_to_response(self.get_context_data(
            form=form, origin=origin, candidates=form.candidates, nearby=nearby, reach_m=reach_m,
            reach_km=reach_m / 1000 if reach_m else None, reach_radius=round(reach_m / scale, 1) if scale else None,
            limit=point_selectors.PUBLIC_LIMIT,
        ))
