"""Service points and the 15-minute circle: create/update a point, recompute WorkplaceReach.

`reach_refresh` materializes, for each active workplace with coordinates, its nearest OPEN point
and the rounded straight-line distance. Whether a workplace is within reach is decided at read
time against the rule row `service_reach_km`, so editing the rule needs no recomputation. A point
change refreshes every workplace after commit; a workplace change refreshes that workplace
(hook in orgs.actions).

Audit: creating and editing a point writes one row ("service_point.create", "service_point.update", or
"service_point.close" when the edit closes it) with the actor, which is required (None raises ValueError).
WorkplaceReach is a materialized cache of the points: `reach_refresh` writes no audit row.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record, diff, field_values, require_actor
from core.exceptions import DomainError
from core.rules import rule_values
from orgs.models import Organization, Workplace
from services.models import PointStatus, ServicePoint, WorkplaceReach
from services.reach import PointGrid

#: Fields a form may set on a point.
POINT_FIELDS = (
    "name", "kind", "address", "latitude", "longitude", "region", "operator_org", "opening_hours", "phone",
    "has_rest", "has_water", "has_charging", "has_microwave", "has_toilet", "has_medicine_box", "has_wifi",
    "other_amenities", "status",
)

#: Rows per INSERT … ON CONFLICT statement (the backend may lower it: SQLite allows 999 parameters).
UPSERT_BATCH = 5000


def reach_metres() -> int:
    """The reach distance in metres (rule row service_reach_km)."""
    return round(float(rule_values("service_reach_km")["service_reach_km"]) * 1000)


@transaction.atomic
def reach_refresh(*, workplace_ids: list[int] | None = None) -> int:
    """Recompute the nearest open point of the given workplaces (all when None); returns the number
    of rows written (a cache of the points: no audit row). Rows of workplaces that are inactive, have no coordinates, or have no open point
    to go to are deleted. A fixed number of statements (bulk upsert) whatever the number of rows,
    apart from the backend's parameter limit per statement."""
    now = timezone.now()
    points = list(ServicePoint.objects.filter(status=PointStatus.OPEN).values_list("pk", "latitude", "longitude"))
    eligible = Workplace.objects.filter(is_active=True, latitude__isnull=False, longitude__isnull=False)
    existing = WorkplaceReach.objects.all()
    if workplace_ids is not None:
        eligible = eligible.filter(pk__in=list(workplace_ids))
        existing = existing.filter(workplace_id__in=list(workplace_ids))
    if not points:
        existing.delete()
        return 0
    existing.exclude(workplace_id__in=eligible.values("pk")).delete()
    grid = PointGrid(points, cell_m=max(reach_metres(), 500))
    rows = []
    for pk, lat, lon in eligible.values_list("pk", "latitude", "longitude").iterator(chunk_size=5000):
        point_id, distance = grid.nearest(lat, lon)
        rows.append(WorkplaceReach(workplace_id=pk, nearest_point_id=point_id, distance_m=round(distance), computed_at=now))
    if rows:
        WorkplaceReach.objects.bulk_create(
            rows, batch_size=UPSERT_BATCH, update_conflicts=True, unique_fields=["workplace"],
            update_fields=["nearest_point", "distance_m", "computed_at"],
        )
    return len(rows)


def _audit_values(point: ServicePoint) -> dict:
    return field_values(point, [name if name not in ("region", "operator_org") else f"{name}_id" for name in POINT_FIELDS])


def _refresh_all_on_commit() -> None:
    transaction.on_commit(lambda: reach_refresh())


def _full_clean(obj) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


def _point_values(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(POINT_FIELDS)
    if unknown:
        raise DomainError(_("不能修改字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    return data


def _require_operator(actor, perm: str, org: Organization | None) -> None:
    """The actor holds `perm` at the operator org or above it."""
    from orgs.selectors import orgs_where

    if org is None or not orgs_where(user=actor, perm=perm).filter(pk=org.pk).exists():
        raise DomainError(_("所选运营党组织不在您的管理范围内。"), field="operator_org")


@transaction.atomic
def service_point_create(*, actor, **data: Any) -> ServicePoint:
    """Register a point (service_point.add at its operator org); the circle is refreshed after commit."""
    require_actor(actor)
    data = _point_values(data)
    _require_operator(actor, "service_point.add", data.get("operator_org"))
    point = ServicePoint(**data)
    _full_clean(point)
    point.save()
    audit_record(actor=actor, action="service_point.create", obj=point, org=point.operator_org,
                 changes=diff({}, _audit_values(point)))
    _refresh_all_on_commit()
    return point


@transaction.atomic
def service_point_update(*, actor, point: ServicePoint, **changes: Any) -> ServicePoint:
    """Edit a point, including pausing or closing it (service_point.change on the point, and at the
    new operator org when it moves); the circle is refreshed after commit."""
    require_actor(actor)
    changes = _point_values(changes)
    if not ServicePoint.objects.restrict(actor, "change").filter(pk=point.pk).exists():
        raise DomainError(_("您无权修改该服务阵地。"))
    point = ServicePoint.objects.select_for_update().get(pk=point.pk)
    before = _audit_values(point)
    if "operator_org" in changes and changes["operator_org"] != point.operator_org:
        _require_operator(actor, "service_point.change", changes["operator_org"])
    for name, value in changes.items():
        setattr(point, name, value)
    _full_clean(point)
    point.save()
    closed = before["status"] != PointStatus.CLOSED and point.status == PointStatus.CLOSED
    audit_record(actor=actor, action="service_point.close" if closed else "service_point.update", obj=point,
                 org=point.operator_org, changes=diff(before, _audit_values(point)))
    _refresh_all_on_commit()
    return point


__all__ = ["POINT_FIELDS", "reach_metres", "reach_refresh", "service_point_create", "service_point_update"]
