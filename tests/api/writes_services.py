"""Writes of the services API for the generic cases (tests/api/test_every_endpoint.py).

Service requests accept no POST on the collection, PATCH or DELETE (the public intake creates them; their steps are
transitions, tested in tests/api/test_services_api.py), so only categories and points are declared."""

from __future__ import annotations

import itertools

from tests.api.harness import Write

_serial = itertools.count(1)


def _category(home) -> dict:
    n = next(_serial)
    return {"code": f"api-category-{n}", "name": f"接口类别{n}", "guidance": "请写明需要的帮助。", "sla_hours": 48,
            "required_fields": ["location_detail"], "routing": "category_org", "default_org": home.committee.pk}


def _point(org, region) -> dict:
    return {"name": f"接口驿站{next(_serial)}", "kind": "station", "address": "测试路2号", "latitude": "39.901000",
            "longitude": "116.401000", "region": region.pk, "operator_org": org.pk, "opening_hours": "每天 08:00–22:00",
            "has_charging": True}


WRITES = {
    # district-wide settings: the grant sits at the root, so "the other district" is inside it (no create_away)
    "api-service-category": Write(
        create=_category,
        update=lambda home, obj: {"sla_hours": 24, "enabled": False},
        grant_at="root",
    ),
    "api-service-point": Write(
        create=lambda home: _point(home.branch, home.region),
        create_away=lambda home, away: _point(away.branch, away.region),
        update=lambda home, obj: {"name": "改名后的驿站", "status": "paused"},
    ),
}
