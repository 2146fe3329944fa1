"""Cross-cutting pages: login/logout, the coverage overview (home), health."""

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orgs import selectors as org_selectors
from portal.http import login_lockout_period
from portal.selectors import outbox as outbox_selectors
from portal.selectors import worker_heartbeat_age_seconds


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


@login_required
def home(request):
    """Coverage overview for the top of the user's scope."""
    roots = list(org_selectors.org_scope_roots(user=request.user))
    root = roots[0] if roots else None
    context = {"nav_section": "home", "roots": roots, "root": root}
    if root is not None:
        context.update(
            figures=org_selectors.coverage_for_org(user=request.user, org=root),
            by_child=org_selectors.coverage_by_child(user=request.user, org=root),
            by_industry=org_selectors.coverage_by_industry(user=request.user, org=root),
            by_street=org_selectors.coverage_by_street(user=request.user, org=root),
            counts=org_selectors.org_summary_counts(user=request.user, org=root),
            members=org_selectors.org_member_counts(org=root),
        )
        context["chart_children"] = {
            "labels": [f.label for f in context["by_child"]],
            "series": [
                {"name": str(_("单位")), "values": [f.workplaces for f in context["by_child"]]},
                {"name": str(_("组织覆盖")), "values": [f.org_covered for f in context["by_child"]]},
                {"name": str(_("工作覆盖")), "values": [f.work_covered for f in context["by_child"]]},
            ],
        }
    return render(request, "portal/home.html", context)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return False


def healthz(request):
    """Monitoring: database, broker, worker heartbeat and the outbox backlog (no personal data). 200 only when
    the database and the broker answer and a worker's heartbeat is younger than rule worker_heartbeat_stale_seconds;
    otherwise 503 with the failed checks in "failed"."""
    db_ok = _database_ok()
    body = {"database": db_ok, "broker": outbox_selectors.broker_reachable(), "worker_heartbeat_age_seconds": None}
    failed = [name for name in ("database", "broker") if not body[name]]
    if db_ok:
        age = worker_heartbeat_age_seconds()
        stale_after = outbox_selectors.heartbeat_stale_seconds()
        body.update({"worker_heartbeat_age_seconds": age, "worker_heartbeat_stale_seconds": stale_after})
        body.update(outbox_selectors.outbox_pending())
        if age is None or age > stale_after:
            failed.append("worker_heartbeat")
    body["failed"] = failed
    body["ok"] = not failed
    return JsonResponse(body, status=200 if not failed else 503)


def healthz_live(request):
    """Liveness for the web container's healthcheck: the process answers and reaches its database. A broker or
    worker outage must not make compose restart the web (requests still succeed: tasks wait in the outbox)."""
    db_ok = _database_ok()
    return JsonResponse({"database": db_ok}, status=200 if db_ok else 503)
