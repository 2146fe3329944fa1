"""Geometry of the 15-minute service circle: great-circle distances and the nearest point.

Pure functions, no database. `PointGrid` answers "which point is nearest to here" without
comparing every workplace with every point: the points are bucketed into a grid of cells about
the reach size; a query searches rings of cells outward from its own cell and stops as soon as
the best distance found is provably no larger than the distance to any cell not yet searched.
The proof needs no assumption about cell sizes, so the answer always equals brute force.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8
#: Metres per degree of latitude along a meridian.
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in decimal degrees."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = phi2 - phi1
    dlmb = math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _meridian_distance_m(lat: float, dlon_deg: float) -> float:
    """A lower bound on the distance from (lat, lon) to any point whose longitude differs by at
    least `dlon_deg` (≤ 180): every such path crosses the half-meridian at that offset, and the
    distance to a half-meridian is the cross-track distance (or the pole's, beyond 90°)."""
    if dlon_deg <= 0:
        return 0.0
    s = math.cos(math.radians(lat)) * math.sin(math.radians(min(dlon_deg, 90.0)))
    return EARTH_RADIUS_M * math.asin(max(0.0, min(1.0, s)))


Site = tuple[Hashable, float, float]


class PointGrid:
    """Nearest-point search over a fixed set of points `(key, lat, lon)`.

    `cell_m` is the cell edge in metres (the reach distance is a good choice: most workplaces then
    find their answer in the 3×3 cells around them). Longitude cells are widened by 1/cos(latitude)
    at the points' mean latitude so cells are roughly square on the ground.
    """

    def __init__(self, points: Iterable[Site], *, cell_m: float = 3000.0):
        self.points: list[tuple[Hashable, float, float]] = [(key, float(lat), float(lon)) for key, lat, lon in points]
        self.cells: dict[tuple[int, int], list[tuple[Hashable, float, float]]] = defaultdict(list)
        if not self.points:
            self.dlat = self.dlon = 1.0
            return
        mean_lat = sum(lat for _key, lat, _lon in self.points) / len(self.points)
        self.dlat = max(cell_m, 1.0) / METRES_PER_DEGREE
        self.dlon = min(360.0, self.dlat / max(math.cos(math.radians(mean_lat)), 0.01))
        for point in self.points:
            self.cells[self._cell(point[1], point[2])].append(point)
        rows = [i for i, _j in self.cells]
        cols = [j for _i, j in self.cells]
        self.row_range = (min(rows), max(rows))
        self.col_range = (min(cols), max(cols))

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.dlat), math.floor(lon / self.dlon)

    def _ring(self, ci: int, cj: int, r: int):
        if r == 0:
            yield ci, cj
            return
        for j in range(cj - r, cj + r + 1):
            yield ci - r, j
            yield ci + r, j
        for i in range(ci - r + 1, ci + r):
            yield i, cj - r
            yield i, cj + r

    def _unsearched_bound_m(self, lat: float, lon: float, ci: int, cj: int, r: int) -> float:
        """Lower bound on the distance from (lat, lon) to any point outside the searched block
        of cells (rings 0..r): such a point lies beyond one of the block's four edges."""
        lat_lo, lat_hi = (ci - r) * self.dlat, (ci + r + 1) * self.dlat
        lon_lo, lon_hi = (cj - r) * self.dlon, (cj + r + 1) * self.dlon
        by_lat = min(lat - lat_lo, lat_hi - lat) * METRES_PER_DEGREE
        by_lon = min(_meridian_distance_m(lat, lon - lon_lo), _meridian_distance_m(lat, lon_hi - lon))
        return min(by_lat, by_lon)

    def _covers_all(self, ci: int, cj: int, r: int) -> bool:
        return (ci - r <= self.row_range[0] and ci + r >= self.row_range[1]
                and cj - r <= self.col_range[0] and cj + r >= self.col_range[1])

    def nearest(self, lat: float, lon: float) -> tuple[Hashable, float] | None:
        """(key, metres) of the nearest point, or None when there are no points. Ties go to the
        smaller key, as in `nearest_brute_force`."""
        if not self.points:
            return None
        lat, lon = float(lat), float(lon)
        ci, cj = self._cell(lat, lon)
        best: tuple[float, Hashable] | None = None
        r = 0
        while True:
            for cell in self._ring(ci, cj, r):
                for key, plat, plon in self.cells.get(cell, ()):
                    candidate = (haversine_m(lat, lon, plat, plon), key)
                    if best is None or candidate < best:
                        best = candidate
            if self._covers_all(ci, cj, r):
                break
            if best is not None and best[0] < self._unsearched_bound_m(lat, lon, ci, cj, r):
                break
            r += 1
            # Far from every point (or the bound is weak near a pole / the antimeridian): once the
            # next ring holds more cells than there are points, comparing with all points is cheaper.
            if 8 * r > len(self.points):
                return nearest_brute_force(self.points, lat, lon)
        return best[1], best[0]


def nearest_brute_force(points: Iterable[Site], lat: float, lon: float) -> tuple[Hashable, float] | None:
    """The reference answer: compare with every point (ties go to the smaller key)."""
    best = None
    for key, plat, plon in points:
        candidate = (haversine_m(lat, lon, plat, plon), key)
        if best is None or candidate < best:
            best = candidate
    return None if best is None else (best[1], best[0])


__all__ = ["EARTH_RADIUS_M", "METRES_PER_DEGREE", "PointGrid", "haversine_m", "nearest_brute_force"]
