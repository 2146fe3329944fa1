"""The unread badge in the navigation."""

from core.navigation import register_context
from notifications.selectors.inbox import unread_count


@register_context
def unread_badge(request) -> dict:
    """A callable the template calls where it shows the badge: one COUNT per request, none on pages without
    the navigation (htmx fragments), cached on the request for the other places that show it."""
    user = request.user

    def unread() -> int:
        if not hasattr(request, "_portal_unread"):
            request._portal_unread = unread_count(user=user)
        return request._portal_unread

    return {"nav_unread": unread}
