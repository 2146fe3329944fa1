"""Reads for service points and the 15-minute circle.

Staff reads start from `restrict(user, action)` and keep a constant number of queries (related rows
joined). Public reads (the nearest-points page) show only open points and public fields: name, kind,
address, hours, amenities and the public service phone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr
from django.utils.translation import gettext as _

from orgs.models import Organization, Region, RegionKind, Workplace
from orgs.selectors import CoverageFigures, figure_rules, orgs_where
from services.models import AMENITIES, PointStatus, ServicePoint
from services.reach import haversine_m

#: The public page lists at most this many points.
PUBLIC_LIMIT = 20


def reach_m() -> int:
    """The reach distance in metres (rule row service_reach_km)."""
    return figure_rules()[1]


# ---------------------------------------------------------------- staff registry
def point_list(*, user, filters: dict | None = None) -> QuerySet[ServicePoint]:
    """Points the user may see, filtered by cleaned PointFilterForm data (kind, status, region
    subtree, operator org subtree, amenity)."""
    qs = ServicePoint.objects.restrict(user, "view").select_related("region", "operator_org")
    filters = filters or {}
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("region"):
        qs = qs.filter(region__path__startswith=filters["region"].path)
    if filters.get("operator_org"):
        qs = qs.filter(operator_org__path__startswith=filters["operator_org"].path)
    if filters.get("amenity") in AMENITIES:
        qs = qs.filter(**{filters["amenity"]: True})
    return qs.order_by("name", "id")


def point_detail_queryset() -> QuerySet[ServicePoint]:
    return ServicePoint.objects.select_related("region", "operator_org")


def point_served_workplaces(*, user, point: ServicePoint) -> QuerySet[Workplace]:
    """Visible workplaces whose nearest open point is `point`, nearest first."""
    return (
        Workplace.objects.restrict(user, "view").filter(is_active=True, reach__nearest_point=point)
        .select_related("reach", "region").order_by("reach__distance_m", "name")
    )


def point_may_change(*, user, point: ServicePoint) -> bool:
    """May `user` edit `point` (service_point.change over its operator org)? One query."""
    return ServicePoint.objects.restrict(user, "change").filter(pk=point.pk).exists()


def point_operator_orgs(*, user, perm: str) -> QuerySet[Organization]:
    """Orgs the user may pick as a point's operator (service_point.add / .change there)."""
    return orgs_where(user=user, perm=perm).order_by("path")


def point_filter_orgs(*, user) -> QuerySet[Organization]:
    return Organization.objects.restrict(user, "view").filter(status="active").order_by("path")


def region_choices() -> QuerySet[Region]:
    return Region.objects.order_by("path")


# ---------------------------------------------------------------- the circle (staff)
def circle_workplaces(*, user, outside_only: bool = False, org: Organization | None = None) -> QuerySet[Workplace]:
    """Active visible workplaces with their nearest open point and distance (`reach`, or none).
    Outside only: no nearest point recorded (no coordinates or no open point) or beyond the rule."""
    qs = Workplace.objects.restrict(user, "view").filter(is_active=True)
    if org is not None:
        qs = qs.filter(Workplace.in_subtrees_q([org.path]))
    if outside_only:
        qs = outside_circle(qs)
    return qs.select_related("region", "responsible_org", "reach__nearest_point").order_by("name", "id")


def outside_circle(workplaces: QuerySet[Workplace]) -> QuerySet[Workplace]:
    """The workplaces outside the circle: no nearest point recorded, or beyond the reach rule."""
    return workplaces.filter(Q(reach__isnull=True) | Q(reach__distance_m__gt=reach_m()))


def circle_summary(*, user, org: Organization | None = None) -> CoverageFigures:
    """Workplaces and gig workers in the circle, over the active workplaces the user sees (one
    aggregate query plus the rule row)."""
    limit = reach_m()
    qs = Workplace.objects.restrict(user, "view").filter(is_active=True)
    if org is not None:
        qs = qs.filter(Workplace.in_subtrees_q([org.path]))
    within = Q(reach__distance_m__lte=limit)
    row = qs.aggregate(
        n=Count("pk"), n_within=Count("pk", filter=within),
        gig=Coalesce(Sum("gig_worker_count"), 0), gig_within=Coalesce(Sum("gig_worker_count", filter=within), 0),
    )
    return CoverageFigures(
        workplaces=row["n"], within_reach=row["n_within"], gig_workers=row["gig"],
        gig_workers_within_reach=row["gig_within"], extra={"reach_m": limit},
    )


# ---------------------------------------------------------------- public: nearest points
@dataclass
class NearbyPoint:
    number: int
    point: ServicePoint
    distance_m: int
    within_reach: bool
    # position on the SVG layout (viewBox -100..100)
    x: float = 0.0
    y: float = 0.0

    @property
    def distance_label(self) -> str:
        if self.distance_m < 1000:
            return _("%(m)d 米") % {"m": self.distance_m}
        return _("%(km).1f 公里") % {"km": self.distance_m / 1000}


@dataclass
class Origin:
    latitude: float
    longitude: float
    label: str


def public_streets() -> list[tuple[int, str, float, float]]:
    """Streets with a centroid: (id, name, lat, lon), the centroid being the mean of the coordinates
    of the street's workplaces (active, with coordinates) and open points. Streets with neither are
    left out. Three queries."""
    streets = list(Region.objects.filter(kind=RegionKind.STREET).order_by("path").values_list("pk", "name", "path"))
    if not streets:
        return []
    lengths = {len(path) for _pk, _name, path in streets}
    sums: dict[str, list[float]] = {}

    def add(rows):
        for key, lat, lon, n in rows:
            acc = sums.setdefault(key, [0.0, 0.0, 0])
            acc[0] += float(lat or 0)
            acc[1] += float(lon or 0)
            acc[2] += n

    wp = Workplace.objects.filter(is_active=True, latitude__isnull=False, longitude__isnull=False)
    pts = ServicePoint.objects.filter(status=PointStatus.OPEN)
    for length in lengths:  # streets sit at one depth in practice: one pass each
        for qs in (wp, pts):
            add(qs.order_by().annotate(key=Substr("region__path", 1, length)).values("key")
                .annotate(slat=Sum("latitude"), slon=Sum("longitude"), n=Count("pk"))
                .values_list("key", "slat", "slon", "n"))
    result = []
    for pk, name, path in streets:
        acc = sums.get(path)
        if acc and acc[2]:
            result.append((pk, name, acc[0] / acc[2], acc[1] / acc[2]))
    return result


#: At most this many workplaces are offered when a name search matches several.
PUBLIC_MATCHES = 10


def public_workplace_matches(text: str, *, limit: int = PUBLIC_MATCHES) -> list[tuple[int, str]]:
    """Active workplaces with coordinates whose name contains `text`: (id, name) only, exact name
    first. A search, not a drop-down: a city has thousands of workplaces."""
    text = text.strip()
    if not text:
        return []
    qs = Workplace.objects.filter(is_active=True, latitude__isnull=False, longitude__isnull=False, name__icontains=text)
    exact = list(qs.filter(name=text).order_by("id").values_list("pk", "name")[:1])
    if exact:
        return exact
    return list(qs.order_by("name", "id").values_list("pk", "name")[:limit])


def public_workplace_origin(pk: int) -> Origin | None:
    row = (
        Workplace.objects.filter(pk=pk, is_active=True, latitude__isnull=False, longitude__isnull=False)
        .values_list("name", "latitude", "longitude").first()
    )
    return Origin(float(row[1]), float(row[2]), row[0]) if row else None


def nearest_open_points(*, latitude: float, longitude: float, limit: int = PUBLIC_LIMIT) -> tuple[list[NearbyPoint], int]:
    """The open points nearest to the origin, nearest first, at most `limit`, each numbered and
    placed on a small layout (origin at the centre, scaled so the farthest listed point or the reach
    circle fits); returns (points, reach in metres). Two queries."""
    limit_m = reach_m()
    points = list(ServicePoint.objects.filter(status=PointStatus.OPEN).order_by("name", "id"))
    measured = sorted(
        ((haversine_m(latitude, longitude, p.latitude, p.longitude), p.pk, p) for p in points),
        key=lambda item: (item[0], item[1]),
    )[:limit]
    result = [
        NearbyPoint(number=i, point=p, distance_m=round(d), within_reach=round(d) <= limit_m)
        for i, (d, _pk, p) in enumerate(measured, start=1)
    ]
    _place(result, latitude, longitude, limit_m)
    return result, limit_m


def layout_scale(items: list[NearbyPoint], reach: int) -> float:
    """Metres per layout unit: the farthest listed point or the reach circle fits in radius 90."""
    farthest = max([reach] + [item.distance_m for item in items])
    return max(farthest, 1) / 90


def _place(items: list[NearbyPoint], lat: float, lon: float, reach: int) -> None:
    scale = layout_scale(items, reach)
    for item in items:
        # Equirectangular offsets: fine for a sketch of a few kilometres.
        dx = (float(item.point.longitude) - lon) * math.cos(math.radians(lat)) * 111_195.08
        dy = (float(item.point.latitude) - lat) * 111_195.08
        item.x = round(dx / scale, 1)
        item.y = round(-dy / scale, 1)  # SVG y grows downwards


__all__ = [
    "PUBLIC_LIMIT", "NearbyPoint", "Origin", "circle_summary", "circle_workplaces", "nearest_open_points",
    "outside_circle", "point_detail_queryset", "point_may_change", "point_filter_orgs", "point_list", "point_operator_orgs", "point_served_workplaces",
    "PUBLIC_MATCHES", "public_streets", "public_workplace_matches", "public_workplace_origin", "reach_m", "region_choices",
]
