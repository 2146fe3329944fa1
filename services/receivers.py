"""Services' reactions to orgs' signals (connected in ServicesConfig.ready)."""

from django.db import transaction
from django.dispatch import receiver

from orgs.signals import workplace_changed
from services.actions.points import reach_refresh


@receiver(workplace_changed, dispatch_uid="services-workplace-changed")
def refresh_reach_after_commit(sender, *, workplace_id: int, **kwargs) -> None:
    """A workplace's coordinates or active flag may have changed: its nearest service point, after commit."""
    transaction.on_commit(lambda: reach_refresh(workplace_ids=[workplace_id]))
