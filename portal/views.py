"""Cross-cutting pages: login/logout, the coverage overview (home), health."""

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orgs import selectors as org_selectors
from portal.selectors import worker_heartbeat_age_seconds


class PortalLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


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


def healthz(request):
    """Liveness for load balancers and compose: database reachable; worker heartbeat age (no personal data)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        db_ok = True
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db_ok = False
    age = worker_heartbeat_age_seconds() if db_ok else None
    return JsonResponse({"database": db_ok, "worker_heartbeat_age_seconds": age}, status=200 if db_ok else 503)
