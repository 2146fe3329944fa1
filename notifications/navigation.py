"""The notifications app's menu entry and the unread badge in the navigation."""

from django.utils.translation import gettext_lazy as _

from core.navigation import MenuItem, register_context, register_menu
from notifications.selectors.inbox import unread_count

register_menu(MenuItem("reminders", _("提醒规则"), "notifications:reminder_rule_list", "reminder_rule.view", order=110, group="manage"))


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
