import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import redirect


class AdminSuperuserOnlyMiddleware:
    """Django admin is for superusers only: everyone else gets the same 404 as a missing page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/"):
            user = getattr(request, "user", None)
            # Anonymous users meet admin's own login, which admits only staff; we admit only superusers.
            if user is not None and user.is_authenticated and not user.is_superuser:
                raise Http404
        return self.get_response(request)


class SessionLifetimeMiddleware:
    """End a session 12 hours after login whatever the activity (ASVS 3.3.2); idle expiry is the cookie age."""

    KEY = "portal_login_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(self.KEY)
            now = int(time.time())
            if started is None:
                request.session[self.KEY] = now
            elif now - int(started) > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                return redirect(settings.LOGIN_URL)
        return self.get_response(request)


class ChineseByDefaultMiddleware:
    """Simplified Chinese unless the user chose English with the language switch (cookie).

    LocaleMiddleware would otherwise follow the browser's Accept-Language; on government
    intranets the portal's language is Chinese whatever the browser's setting.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # REST clients have no language switch: the API answers in the request's Accept-Language
        # (zh-hans when absent or unsupported).
        if not request.path_info.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
