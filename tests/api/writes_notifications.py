"""Writes of the inbox, reminder rules and snapshot endpoints for the generic API cases (tests/api/harness.py).

The inbox has no collection writes (its `read` / `read-all` actions are tested in test_notifications_api.py);
reminder rules are district-wide settings (PATCH only); a snapshot request answers 202 (taken by a worker)."""

from __future__ import annotations

from tests.api.harness import Write

WRITES = {
    # the factory's rule has an old channel name ("inbox"): the PATCH names a valid one, as the page's form would
    "api-reminder-rule": Write(update=lambda home, rule: {"name": "改名后的提醒规则", "channels": ["in_app"]}, grant_at="root"),
    "api-snapshot": Write(
        create=lambda home: {"org": home.committee.pk},
        create_away=lambda home, away: {"org": away.committee.pk},
    ),
}
