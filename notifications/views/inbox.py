"""The signed-in user's notification inbox: the list (all / unread, keyset pages of 25), opening one (marks it
read, then goes to its page) and marking all read. A notification belongs to exactly one user, so the inbox
is not org-scoped: the selector reads only the user's own, and another user's id is 404.

Thin: notifications.selectors.inbox reads, notifications.actions.inbox writes.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.views.generic import ScopedActionView, ScopedListView
from notifications.actions.inbox import notification_mark_read, notifications_mark_all_read
from notifications.selectors.inbox import notification_list

NAV = "inbox"


def _local_path(url: str) -> str | None:
    """`url` when it is a path on this site ("/..."), else None: a notification never sends anyone away."""
    if not url or not url.startswith("/") or url.startswith("//"):
        return None
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts=None) else None


class InboxView(ScopedListView):
    """Any signed-in user's own notifications, newest first; `?show=unread` lists the unread ones only."""

    nav_section = NAV
    title = gettext_lazy("通知")
    template_name = "notifications/inbox/list.html"
    table_template_name = "notifications/inbox/_list.html"
    ordering = ("-created_at", "-pk")
    page_size = 25

    @property
    def unread_only(self) -> bool:
        return self.request.GET.get("show") == "unread"

    def get_queryset(self):
        return notification_list(user=self.request.user, unread_only=self.unread_only)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["unread_only"] = self.unread_only
        return context


class NotificationOpenView(ScopedActionView):
    """POST: mark one of the user's own notifications read and go to its page (a path on this site), else
    back to the inbox."""

    def get_object(self):
        notification = notification_list(user=self.request.user).filter(pk=self.kwargs["pk"]).first()
        if notification is None:
            raise Http404
        return notification

    def perform(self, obj):
        return notification_mark_read(user=self.request.user, notification_id=obj.pk)

    def get_success_url(self, obj) -> str:
        return _local_path(obj.url) or reverse("notifications:inbox")


class MarkAllReadView(ScopedActionView):
    """POST: mark every unread notification of the user read. The object acted on is the user's own inbox."""

    def get_object(self):
        return self.request.user

    def perform(self, obj) -> int:
        return notifications_mark_all_read(user=obj)

    def get_success_message(self, obj, result) -> str:
        return _("已将 %(n)s 条通知标为已读。") % {"n": result} if result else ""

    def get_success_url(self, obj) -> str:
        return reverse("notifications:inbox")
