from django.urls import NoReverseMatch, reverse

from portal.models import Role
from portal.scoping import has_perm, user_roles
from portal.selectors.notifications import unread_count


def _optional_url(name: str) -> str | None:
    """The URL of a page that may not be wired yet (the menu leaves it out instead of failing)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _unread_for(request, user):
    """A callable the template calls where it shows the badge: one COUNT per request, none on pages without
    the navigation (htmx fragments), cached on the request for the other places that show it."""

    def unread() -> int:
        if not hasattr(request, "_portal_unread"):
            request._portal_unread = unread_count(user=user)
        return request._portal_unread

    return unread


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    labels = dict(Role.choices)
    return {
        "nav_roles": [str(labels[r]) for r in Role.values if r in user_roles(user)],
        # Menu items shown only to users who may use them (grants are cached on the user: no extra query).
        "nav_can": {"members": has_perm(user, "member.view"), "transfers": has_perm(user, "transfer.view"),
                    "activities": has_perm(user, "activity.view"),
                    "service_requests": has_perm(user, "service_request.view"),
                    "service_points": has_perm(user, "service_point.view"),
                    "reminder_rules": has_perm(user, "reminder_rule.view")},
        "nav_snapshots_url": _optional_url("snapshots:snapshot_list") if has_perm(user, "snapshot.view") else None,
        "nav_unread": _unread_for(request, user),
    }
