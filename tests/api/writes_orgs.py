"""Writes of the org-tree API (orgs, workplaces, assignments, accounts, grants) for the generic cases
(tests/api/test_every_endpoint.py). Payloads name objects of the `home` district; `create_away` names one of the
other district, which the caller cannot see (400 "does not exist", nothing created)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests import factories as f
from tests.api.harness import Write


def _org(parent, code: str) -> dict:
    return {"parent": parent.pk, "kind": "branch", "name": f"{code}党支部", "code": code, "formation_mode": "joint",
            "reason": "新建站点"}


def _workplace(side, responsible) -> dict:
    return {"name": "接口登记的网点", "kind": "station", "industry": "express", "region": side.region.pk,
            "responsible_org": responsible.pk, "address": "测试路1号", "latitude": "39.900000", "longitude": "116.400000"}


def _assignment(home, workplace) -> dict:
    instructor = f.InstructorFactory(org=home.committee)
    started = timezone.localdate() - dt.timedelta(days=3)
    return {"instructor": instructor.pk, "workplace": workplace.pk, "role": "liaison", "started_on": started.isoformat()}


def _user(username: str, org) -> dict:
    return {"username": username, "display_name": "接口新建", "email": "", "org": org.pk, "role": "secretary"}


WRITES = {
    "api-org": Write(
        create=lambda home: _org(home.committee, "API-ORG-1"),
        create_away=lambda home, away: _org(away.committee, "API-ORG-2"),
        update=lambda home, obj: {"name": "改名后的党支部", "secretary_name": "王书记", "reason": "更名"},
    ),
    "api-workplace": Write(
        create=lambda home: _workplace(home, home.committee),
        create_away=lambda home, away: _workplace(home, away.committee),
        update=lambda home, obj: {"name": "改名后的网点", "gig_worker_count": 25},
    ),
    "api-assignment": Write(
        create=lambda home: _assignment(home, f.WorkplaceFactory(responsible_org=home.committee, region=home.region)),
        create_away=lambda home, away: _assignment(home, f.WorkplaceFactory(responsible_org=away.committee, region=away.region)),
    ),
    "api-user": Write(
        create=lambda home: _user("api-new-1", home.branch),
        create_away=lambda home, away: _user("api-new-2", away.branch),
    ),
    # the caller grants a second role to their own account (creating another account would add a grant of its own)
    "api-grant": Write(
        create=lambda home: {"user": home.staff.pk, "org": home.branch.pk, "role": "viewer"},
        create_away=lambda home, away: {"user": home.staff.pk, "org": away.branch.pk, "role": "viewer"},
        destroy=True,
    ),
}
