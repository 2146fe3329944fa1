"""The 15-minute service circle: distances, the grid search, WorkplaceReach rows and the figures.

The hand example (`circle_world`) puts every point and workplace on the meridian 116.4° E, so each
distance is |Δlatitude| × 111,195.0797 m (R = 6,371,008.8 m; R·π/180 = 111,195.0797 m per degree)::

    point   latitude    status   operator
    P1      39.900000   open     br_a
    P2      39.950000   open     jb
    P3      39.880000   paused   food       (would be nearest to wp_c if it counted)
    P4      39.904000   closed   br_f       (would be nearest to wp_a if it counted)

    wp   latitude    nearest  Δlat      metres                  rounded  within 3 km  within 1 km
    a    39.905000   P1       0.005000  555.975                 556      yes          yes
    b    39.930000   P2       0.020000  2,223.902 (P1: 3,336)  2224     yes          no
    c    39.873020   P1       0.026980  3,000.043               3000     yes (edge)   no
    d    39.860000   P1       0.040000  4,447.803               4448     no           no
    f    39.897300   P1       0.002700  300.227                 300      yes          yes
    e, g             no coordinates: no row;  h (closed workplace) has coordinates: no row.

Figures (active workplaces a–g; gig workers a 40, b 20, c 10, d 15, e 5, f 30, g 25 = 145):
whole district 4 of 7 within reach (57.1 %), gig workers 100 of 145 (69.0 %).
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coverage.selectors.figures import coverage_by_child, coverage_by_industry, coverage_by_street, coverage_for_org
from orgs.actions import workplace_update
from orgs.models import Workplace
from services.actions.points import reach_refresh
from services.models import PointStatus, WorkplaceReach
from services.reach import EARTH_RADIUS_M, PointGrid, haversine_m, nearest_brute_force
from tests.factories import WorkplaceFactory, set_rule
from tests.services.factories import make_point

pytestmark = pytest.mark.django_db

LON = Decimal("116.400000")
M_PER_DEG = 111_195.0797  # 6,371,008.8 × π / 180

WORKPLACE_LATITUDES = {
    "wp_a": "39.905000", "wp_b": "39.930000", "wp_c": "39.873020", "wp_d": "39.860000", "wp_f": "39.897300",
    "wp_h": "39.905000",
}
EXPECTED = {  # workplace -> (point name, rounded metres)
    "wp_a": ("P1", 556), "wp_b": ("P2", 2224), "wp_c": ("P1", 3000), "wp_d": ("P1", 4448), "wp_f": ("P1", 300),
}


def build_circle(world) -> dict:
    """The hand example above, on top of the shared `world`; returns the points by name."""
    points = {
        "P1": make_point(name="P1", org=world.br_a, region=world.east, lat="39.900000", lon=LON),
        "P2": make_point(name="P2", org=world.jb, region=world.east, lat="39.950000", lon=LON),
        "P3": make_point(name="P3", org=world.food, region=world.west, lat="39.880000", lon=LON, status=PointStatus.PAUSED),
        "P4": make_point(name="P4", org=world.br_f, region=world.east, lat="39.904000", lon=LON, status=PointStatus.CLOSED),
    }
    for name, lat in WORKPLACE_LATITUDES.items():
        Workplace.objects.filter(pk=getattr(world, name).pk).update(latitude=Decimal(lat), longitude=LON)
    reach_refresh()
    return points


@pytest.fixture
def circle(world):
    return build_circle(world)


# ---------------------------------------------------------------- geometry
def test_haversine_along_a_meridian_is_radius_times_angle():
    # 0.01° of latitude = 6,371,008.8 × 0.01 × π / 180 = 1,111.950797 m
    assert haversine_m(39.90, 116.40, 39.91, 116.40) == pytest.approx(1111.950797, abs=1e-3)
    assert haversine_m(39.91, 116.40, 39.90, 116.40) == pytest.approx(1111.950797, abs=1e-3)
    assert haversine_m(39.9, 116.4, 39.9, 116.4) == 0


def test_haversine_known_city_pair():
    # Beijing Tiananmen (39.9042 N, 116.4074 E) – Shanghai People's Square (31.2304 N, 121.4737 E):
    # Δφ = 8.6738°, Δλ = 5.0663°; a = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2) = 0.0057185 + 0.76712 × 0.85509 × 0.0019534
    # = 0.0069999; d = 2R·asin(√a) = 2 × 6,371,008.8 × 0.0837632 = 1,067.3 km.
    assert haversine_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_312, abs=50)
    # A quarter of a great circle: pole to equator = R·π/2.
    assert haversine_m(90, 0, 0, 0) == pytest.approx(EARTH_RADIUS_M * math.pi / 2, rel=1e-9)


def test_grid_equals_brute_force_on_random_city():
    rng = random.Random(20261201)
    points = [(i, 39.75 + rng.random() * 0.35, 116.15 + rng.random() * 0.5) for i in range(300)]
    grid = PointGrid(points, cell_m=3000)
    for _ in range(2000):
        lat, lon = 39.7 + rng.random() * 0.45, 116.1 + rng.random() * 0.6
        got, want = grid.nearest(lat, lon), nearest_brute_force(points, lat, lon)
        assert got[0] == want[0]
        assert got[1] == pytest.approx(want[1])


def test_grid_finds_a_far_away_point_and_handles_no_points():
    # The only point is in Shanghai; the query in Beijing is ~356 cells of 3 km away.
    grid = PointGrid([("sh", 31.2304, 121.4737)], cell_m=3000)
    key, metres = grid.nearest(39.9042, 116.4074)
    assert key == "sh" and metres == pytest.approx(1_067_312, abs=50)
    # Sparse points far apart: the ring search still returns the true nearest.
    rng = random.Random(5)
    points = [(i, rng.uniform(-60, 60), rng.uniform(-179, 179)) for i in range(40)]
    grid = PointGrid(points, cell_m=3000)
    for _ in range(200):
        lat, lon = rng.uniform(-70, 70), rng.uniform(-180, 180)
        assert grid.nearest(lat, lon)[0] == nearest_brute_force(points, lat, lon)[0]
    assert PointGrid([], cell_m=3000).nearest(39.9, 116.4) is None
    assert nearest_brute_force([], 39.9, 116.4) is None


# ---------------------------------------------------------------- WorkplaceReach rows
def test_hand_example_nearest_points_and_distances(world, circle):
    rows = {row.workplace_id: row for row in WorkplaceReach.objects.select_related("nearest_point")}
    got = {name: (rows[getattr(world, name).pk].nearest_point.name, rows[getattr(world, name).pk].distance_m)
           for name in EXPECTED}
    assert got == EXPECTED
    # No coordinates (e, g) and a closed workplace (h, though it has coordinates): no row.
    assert set(rows) == {getattr(world, name).pk for name in EXPECTED}


def test_paused_and_closed_points_are_ignored(world, circle):
    # P4 (closed) is 111 m from wp_a and P3 (paused) 776 m from wp_c; neither is chosen.
    assert WorkplaceReach.objects.get(workplace=world.wp_a).nearest_point == circle["P1"]
    assert WorkplaceReach.objects.get(workplace=world.wp_c).nearest_point == circle["P1"]
    # Opening P3 makes it the nearest for wp_c: 39.880000 − 39.873020 = 0.00698° → 776.14 m.
    type(circle["P3"]).objects.filter(pk=circle["P3"].pk).update(status=PointStatus.OPEN)
    reach_refresh()
    row = WorkplaceReach.objects.get(workplace=world.wp_c)
    assert (row.nearest_point, row.distance_m) == (circle["P3"], 776)


def test_no_open_points_clears_the_circle(world, circle):
    type(circle["P1"]).objects.update(status=PointStatus.CLOSED)
    assert reach_refresh() == 0
    assert not WorkplaceReach.objects.exists()


def test_refresh_of_some_workplaces_leaves_the_others(world, circle):
    Workplace.objects.filter(pk=world.wp_d.pk).update(latitude=None, longitude=None)
    Workplace.objects.filter(pk=world.wp_b.pk).update(latitude=Decimal("39.949000"))
    assert reach_refresh(workplace_ids=[world.wp_d.pk, world.wp_b.pk]) == 1
    assert not WorkplaceReach.objects.filter(workplace=world.wp_d).exists()
    assert WorkplaceReach.objects.get(workplace=world.wp_b).distance_m == 111  # 0.001° = 111.195 m
    assert WorkplaceReach.objects.filter(workplace=world.wp_a).exists()


def test_refresh_query_count_does_not_grow_with_workplaces(world, circle):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            reach_refresh()
        return len(ctx.captured_queries)

    small = count()
    for i in range(40):
        WorkplaceFactory(responsible_org=world.express, region=world.east, latitude=Decimal("39.9") + Decimal(i) / 1000,
                         longitude=LON)
    assert count() == small
    assert WorkplaceReach.objects.count() == len(EXPECTED) + 40


def test_workplace_update_hook_refreshes_the_row(world, circle, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        workplace_update(actor=world.district_user, workplace=world.wp_d, latitude=Decimal("39.951000"))
    row = WorkplaceReach.objects.get(workplace=world.wp_d)
    assert (row.nearest_point, row.distance_m) == (circle["P2"], 111)  # 0.001° from P2
    with django_capture_on_commit_callbacks(execute=True):
        workplace_update(actor=world.district_user, workplace=world.wp_d, is_active=False)
    assert not WorkplaceReach.objects.filter(workplace=world.wp_d).exists()


# ---------------------------------------------------------------- figures
def circle_figures(f) -> tuple:
    return f.workplaces, f.within_reach, f.gig_workers, f.gig_workers_within_reach, f.reach_rate, f.gig_reach_rate


def test_figures_follow_the_rule_without_recomputation(world, circle):
    user = world.district_user
    # within 3 km: a, b, c (at the edge: 3000 m ≤ 3000 m), f; gig 40 + 20 + 10 + 30 = 100 of 145.
    assert circle_figures(coverage_for_org(user=user, org=world.root)) == (7, 4, 145, 100, 57.1, 69.0)
    set_rule("service_reach_km", Decimal("1"))
    # within 1 km: a (556 m), f (300 m); gig 70 of 145 = 48.3 %; 2 of 7 = 28.6 %.
    assert circle_figures(coverage_for_org(user=user, org=world.root)) == (7, 2, 145, 70, 28.6, 48.3)


def test_circle_figures_by_org_child_industry_and_street_agree(world, circle):
    user = world.district_user
    # express subtree a b c d e: a, b, c within; gig 70 of 90. food subtree c f g: c, f; gig 40 of 65.
    assert circle_figures(coverage_for_org(user=user, org=world.express)) == (5, 3, 90, 70, 60.0, 77.8)
    assert circle_figures(coverage_for_org(user=user, org=world.food)) == (3, 2, 65, 40, 66.7, 61.5)
    children = {row.label: circle_figures(row) for row in coverage_by_child(user=user, org=world.root)}
    assert children == {
        world.express.name: circle_figures(coverage_for_org(user=user, org=world.express)),
        world.food.name: circle_figures(coverage_for_org(user=user, org=world.food)),
    }
    # industry express: a b c d e (c is an express sorting centre) → 3; food delivery: f g → 1.
    industry = {row.key: (row.within_reach, row.gig_workers_within_reach) for row in coverage_by_industry(user=user)}
    assert industry == {"express": (3, 70), "food_delivery": (1, 30)}
    # streets: east a b f → 3 (gig 90); west c d g → 1 (gig 10); district level e → 0.
    streets = {row.label: (row.workplaces, row.within_reach, row.gig_workers_within_reach) for row in coverage_by_street(user=user)}
    assert streets == {"东街道": (3, 3, 90), "西街道": (3, 1, 10), "区直属": (1, 0, 0)}
    whole = coverage_for_org(user=user, org=world.root)
    for rows in (coverage_by_industry(user=user), coverage_by_street(user=user)):
        assert sum(row.within_reach for row in rows) == whole.within_reach
        assert sum(row.gig_workers_within_reach for row in rows) == whole.gig_workers_within_reach


def test_rates_are_none_without_workplaces(world):
    from orgs.selectors import CoverageFigures

    empty = CoverageFigures()
    assert (empty.reach_rate, empty.gig_reach_rate) == (None, None)
