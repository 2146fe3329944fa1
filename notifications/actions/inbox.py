"""The in-app inbox: writing notifications and marking them read.

Audit: `notifications_create` writes one summary row per call (SYSTEM: notices are written on behalf of the
action that asked for them, through core.signals.notice_requested) with the count, not one per recipient.
Marking read changes only the user's own inbox (who read what, when): no audit row."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from core.audit import SYSTEM, audit_record
from notifications.models import Notification, NotificationKind


def notifications_create(
    *, user_ids: Iterable[int], title: str, body: str = "", url: str = "", kind: str = NotificationKind.SYSTEM
) -> list[Notification]:
    """One notification per user, in one INSERT (title/body are plain text: templates escape them on display)."""
    now = timezone.now()
    rows = [Notification(user_id=uid, kind=kind, title=title[:200], body=body, url=url[:300], created_at=now)
            for uid in dict.fromkeys(user_ids)]
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows)
        if created:
            # Counts only: a notice's title may name people.
            audit_record(actor=SYSTEM, action="notification.create", object_type=Notification._meta.label_lower,
                         changes={"note": kind, "count": len(created)})
    return created


@transaction.atomic
def notification_mark_read(*, user, notification_id: int) -> Notification | None:
    """Mark one of the user's own notifications read; None when it is not theirs (the view answers 404).
    The user's own inbox: no audit row."""
    notification = Notification.objects.select_for_update().filter(user_id=user.pk, pk=notification_id).first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read (one UPDATE); returns how many. No audit row (own inbox)."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())
