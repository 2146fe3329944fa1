"""The signed-in user's notification inbox: the list (all / unread), opening one (marks it read, then goes
to its page) and marking all read. A notification belongs to exactly one user; another user's id is 404.

Thin: notifications.selectors.inbox reads, notifications.actions.inbox writes.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications.actions.inbox import notification_mark_read, notifications_mark_all_read
from notifications.selectors.inbox import notification_list

PAGE_SIZE = 25
NAV = "inbox"


def _local_path(url: str) -> str | None:
    """`url` when it is a path on this site ("/..."), else None: a notification never sends anyone away."""
    if not url or not url.startswith("/") or url.startswith("//"):
        return None
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts=None) else None


@login_required
def inbox(request):
    unread_only = request.GET.get("show") == "unread"
    qs = notification_list(user=request.user, unread_only=unread_only)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "notifications/inbox/inbox.html", {
        "nav_section": NAV, "page": page, "query": query.urlencode(), "unread_only": unread_only,
    })


@login_required
@require_POST
def notification_open(request, pk: int):
    notification = notification_mark_read(user=request.user, notification_id=pk)
    if notification is None:
        raise Http404
    target = _local_path(notification.url)
    return redirect(target) if target else redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request):
    count = notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("已将 %(n)s 条通知标为已读。") % {"n": count})
    return redirect("notifications:inbox")
