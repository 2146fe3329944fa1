"""Periodic service-request and service-point tasks (beat schedule in portal/settings.py). Thin: plain values
in, the work is in services.actions, where every one of them is idempotent (a duplicate delivery or a
second beat finds nothing left to do)."""

import logging

from core.tasks import portal_task
from services.actions.handling import requests_autoclose_resolved, requests_escalate_overdue
from services.actions.intake import public_hits_purge
from services.actions.points import reach_refresh

logger = logging.getLogger(__name__)


@portal_task("services.requests_escalate_overdue")
def escalate_overdue() -> int:
    """Escalate overdue open requests one level up per started overdue period (once per period)."""
    count = requests_escalate_overdue()
    logger.info("service requests escalated: %s", count)
    return count


@portal_task("services.requests_autoclose_resolved")
def autoclose_resolved() -> int:
    """Close resolved requests whose requester neither confirmed nor reopened within the rule's days."""
    count = requests_autoclose_resolved()
    logger.info("service requests closed automatically: %s", count)
    return count


@portal_task("services.public_hits_purge")
def purge_public_hits(older_than_hours: int = 48) -> int:
    """Drop abuse-limit counters older than every limit's window."""
    count = public_hits_purge(older_than_hours=older_than_hours)
    logger.info("public hit rows purged: %s", count)
    return count


@portal_task("services.reach_refresh")
def refresh_reach() -> int:
    """Recompute every workplace's nearest open service point (the 15-minute circle), nightly."""
    count = reach_refresh()
    logger.info("workplace reach rows written: %s", count)
    return count
