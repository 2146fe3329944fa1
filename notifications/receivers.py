"""Reactions to other apps' signals (connected in NotificationsConfig.ready)."""

from django.dispatch import receiver

from core.signals import notice_requested
from notifications.actions.inbox import notifications_create


@receiver(notice_requested, dispatch_uid="notifications-notice-requested")
def write_notices(sender, *, user_ids, title, body="", url="", kind="system", **kwargs):
    return notifications_create(user_ids=user_ids, title=title, body=body, url=url, kind=kind)
