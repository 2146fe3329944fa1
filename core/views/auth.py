"""Login, the lockout page and logout."""

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.http import login_lockout_period


class PortalLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the login page again, saying how long the lock lasts and when it ends (429).

    Used for the portal's login and admin's alike. Every failure while locked restarts the period
    (django-axes' default), so the end is counted from this attempt.
    """
    period = login_lockout_period(request)
    started = getattr(request, "axes_attempt_time", None) or timezone.now()
    minutes = max(1, int(period.total_seconds() // 60))
    until = timezone.localtime(started + period).strftime("%H:%M")
    message = _("登录失败次数过多，账号已锁定，请在 %(minutes)s 分钟后再试（%(until)s 解锁）") % {"minutes": minutes, "until": until}
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "lockout_message": message,
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(int(period.total_seconds()))
    return response


@require_POST
def logout_view(request):
    logout(request)  # flushes the session
    return redirect("login")
