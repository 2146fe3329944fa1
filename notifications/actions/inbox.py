"""The in-app inbox: writing notifications and marking them read."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationKind


def notifications_create(
    *, user_ids: Iterable[int], title: str, body: str = "", url: str = "", kind: str = NotificationKind.SYSTEM
) -> list[Notification]:
    """One notification per user, in one INSERT (title/body are plain text: templates escape them on display)."""
    now = timezone.now()
    rows = [Notification(user_id=uid, kind=kind, title=title[:200], body=body, url=url[:300], created_at=now)
            for uid in dict.fromkeys(user_ids)]
    return Notification.objects.bulk_create(rows)


@transaction.atomic
def notification_mark_read(*, user, notification_id: int) -> Notification | None:
    """Mark one of the user's own notifications read; None when it is not theirs (the view answers 404)."""
    notification = Notification.objects.select_for_update().filter(user_id=user.pk, pk=notification_id).first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read (one UPDATE); returns how many."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())
