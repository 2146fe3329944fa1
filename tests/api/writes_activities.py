"""Writes of the organizational-life API for the generic cases (tests/api/test_every_endpoint.py)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.api.harness import Write


def _start(hours_ago: int = 2) -> str:
    return (timezone.localtime() - dt.timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def _activity(org) -> dict:
    return {"org": org.pk, "kind": "theme_day", "topic": "主题党日：学习党章", "starts_at": _start(), "place": "站点会议室"}


def _exemption(org) -> dict:
    today = timezone.localdate()
    return {"org": org.pk, "starts_on": today.isoformat(), "ends_on": (today + dt.timedelta(days=30)).isoformat(),
            "reason": "站点搬迁，暂停组织生活"}


WRITES = {
    "api-activity": Write(
        create=lambda home: _activity(home.branch),
        create_away=lambda home, away: _activity(away.branch),
        update=lambda home, obj: {"topic": "修改后的议题", "place": "线上"},
    ),
    "api-exemption": Write(
        create=lambda home: _exemption(home.branch),
        create_away=lambda home, away: _exemption(away.branch),
    ),
}
