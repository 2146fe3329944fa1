"""Service points: the registry (scope, validation, filters), the circle page, the figures on org pages
and in the API, and the public nearest-points page. Uses the hand example of test_reach.py (P1–P4 on the
meridian 116.4° E; distance = |Δlatitude| × 111,195.0797 m)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from core.exceptions import DomainError
from services.actions.points import service_point_create, service_point_update
from services.models import PointKind, PointStatus, ServicePoint, WorkplaceReach
from tests.factories import WorkplaceFactory, set_rule
from tests.services.factories import make_point
from tests.services.test_reach import LON, build_circle

pytestmark = pytest.mark.django_db


@pytest.fixture
def circle(world):
    return build_circle(world)


def point_data(world, **overrides) -> dict:
    data = {
        "name": "新驿站", "kind": PointKind.STATION, "status": PointStatus.OPEN, "address": "西大街8号",
        "latitude": Decimal("39.860000"), "longitude": LON, "region": world.west, "operator_org": world.jb,
        "opening_hours": "每天 08:00–22:00", "phone": "010-12345678", "has_rest": True, "has_water": True,
        "has_charging": True,
    }
    data.update(overrides)
    return data


def form_post(world, **overrides) -> dict:
    data = point_data(world, **overrides)
    post = {k: v for k, v in data.items() if not isinstance(v, bool)}
    post.update({k: "on" for k, v in data.items() if v is True})
    post["region"] = data["region"].pk
    post["operator_org"] = data["operator_org"].pk
    return post


# ---------------------------------------------------------------- actions: scope, validation, refresh
def test_create_refreshes_the_circle(world, circle, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        point = service_point_create(actor=world.district_user, **point_data(world))
    # The new point sits exactly on wp_d (39.860000): 4,448 m became 0 m.
    row = WorkplaceReach.objects.get(workplace=world.wp_d)
    assert (row.nearest_point, row.distance_m) == (point, 0)


def test_closing_a_point_moves_its_workplaces_to_the_next_one(world, circle, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        service_point_update(actor=world.district_user, point=circle["P1"], status=PointStatus.CLOSED)
    # wp_a now goes to P2: 39.950000 − 39.905000 = 0.045° → 5,003.78 m.
    row = WorkplaceReach.objects.get(workplace=world.wp_a)
    assert (row.nearest_point, row.distance_m) == (circle["P2"], 5004)


def test_moving_a_point_refreshes_distances(world, circle, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        service_point_update(actor=world.secretary, point=circle["P2"], latitude=Decimal("39.931000"))
    assert WorkplaceReach.objects.get(workplace=world.wp_b).distance_m == 111  # 0.001° from wp_b


def test_secretary_edits_own_points_only_and_cannot_create(world, circle):
    service_point_update(actor=world.secretary, point=circle["P2"], opening_hours="24小时")
    assert ServicePoint.objects.get(pk=circle["P2"].pk).opening_hours == "24小时"
    with pytest.raises(DomainError, match="您无权修改该服务阵地"):
        service_point_update(actor=world.secretary, point=circle["P3"], opening_hours="24小时")
    with pytest.raises(DomainError, match="运营党组织不在您的管理范围内"):
        service_point_create(actor=world.secretary, **point_data(world))  # secretaries may not add points
    with pytest.raises(DomainError, match="运营党组织不在您的管理范围内"):
        service_point_update(actor=world.secretary, point=circle["P2"], operator_org=world.food)
    with pytest.raises(DomainError):
        service_point_update(actor=world.viewer, point=circle["P1"], opening_hours="24小时")
    assert ServicePoint.objects.get(pk=circle["P3"].pk).opening_hours == "每天 08:00–22:00"


def test_coordinates_out_of_range_are_refused_in_chinese_and_nothing_is_saved(world):
    with pytest.raises(DomainError) as exc:
        service_point_create(actor=world.district_user, **point_data(world, latitude=Decimal("95")))
    assert (exc.value.field, str(exc.value.message)) == ("latitude", "纬度应在 -90 到 90 之间。")
    point = make_point(org=world.jb, region=world.east, lat="39.9", lon="116.4")
    with pytest.raises(DomainError, match="经度应在 -180 到 180 之间"):
        service_point_update(actor=world.district_user, point=point, longitude=Decimal("-181"))
    assert ServicePoint.objects.count() == 1
    assert ServicePoint.objects.get().longitude == Decimal("116.400000")


# ---------------------------------------------------------------- staff pages
def test_create_page_saves_and_shows_the_point(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.district_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("services:point_create"), form_post(world))
    point = ServicePoint.objects.get(name="新驿站")
    assert response.status_code == 302 and response.url == reverse("services:point_detail", args=[point.pk])
    page = client.get(response.url).content.decode()
    assert "新驿站" in page and "充电" in page and world.jb.name in page


def test_create_page_shows_coordinate_errors_in_chinese(client, world):
    client.force_login(world.district_user)
    response = client.post(reverse("services:point_create"), form_post(world, latitude="95", longitude="200"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "纬度应在 -90 到 90 之间。" in html and "经度应在 -180 到 180 之间。" in html
    assert not ServicePoint.objects.exists()


def test_edit_page_scope(client, world, circle):
    client.force_login(world.secretary)
    assert client.get(reverse("services:point_edit", args=[circle["P2"].pk])).status_code == 200
    assert client.get(reverse("services:point_edit", args=[circle["P3"].pk])).status_code == 404  # FOOD's point
    assert client.get(reverse("services:point_detail", args=[circle["P3"].pk])).status_code == 404
    assert client.get(reverse("services:point_create")).status_code == 404  # no service_point.add
    response = client.post(reverse("services:point_edit", args=[circle["P2"].pk]),
                           form_post(world, name="P2", latitude="39.950000", opening_hours="24小时"))
    assert response.status_code == 302
    assert ServicePoint.objects.get(pk=circle["P2"].pk).opening_hours == "24小时"
    # The operator choices are the orgs where the secretary may change points: jb's subtree only.
    html = client.get(reverse("services:point_edit", args=[circle["P2"].pk])).content.decode()
    assert world.jb.name in html and world.food.name not in html
    client.force_login(world.viewer)
    assert client.get(reverse("services:point_detail", args=[circle["P3"].pk])).status_code == 200
    assert client.get(reverse("services:point_edit", args=[circle["P3"].pk])).status_code == 404
    assert client.post(reverse("services:point_edit", args=[circle["P3"].pk]), form_post(world)).status_code == 404


def test_detail_lists_the_workplaces_it_serves(client, world, circle):
    client.force_login(world.district_user)
    html = client.get(reverse("services:point_detail", args=[circle["P1"].pk])).content.decode()
    for name in ("A顺丰东一站", "C韵达西分拣中心", "D圆通加盟公司", "F美团东街站"):
        assert name in html
    assert "B中通东街网点" not in html  # served by P2
    assert "4448 m" in html and "超出服务圈" in html


def _names(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


def test_point_list_filters(client, world, circle):
    make_point(name="党群中心", org=world.food, region=world.west, lat="39.8", lon="116.3", kind=PointKind.PARTY_CENTER,
               has_microwave=True)
    client.force_login(world.district_user)
    url = reverse("services:point_list")
    assert _names(client.get(url)) == ["P1", "P2", "P3", "P4", "党群中心"]
    assert _names(client.get(url, {"kind": PointKind.PARTY_CENTER})) == ["党群中心"]
    assert _names(client.get(url, {"status": PointStatus.PAUSED})) == ["P3"]
    assert _names(client.get(url, {"region": world.west.pk})) == ["P3", "党群中心"]
    assert _names(client.get(url, {"region": world.district.pk})) == ["P1", "P2", "P3", "P4", "党群中心"]
    assert _names(client.get(url, {"operator_org": world.express.pk})) == ["P1", "P2"]
    assert _names(client.get(url, {"amenity": "has_microwave"})) == ["党群中心"]
    assert _names(client.get(url, {"kind": "bogus"})) == []
    client.force_login(world.secretary)
    assert _names(client.get(url)) == ["P2"]


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url_name,params", [
    ("services:point_list", None),
    ("services:point_list", {"status": "open", "amenity": "has_water"}),
    ("services:point_circle", None),
    ("services:point_circle", {"outside": "on"}),
    ("coverage:gaps", None),
])
def test_query_count_constant_as_rows_grow(client, world, circle, url_name, params):
    from services.actions.points import reach_refresh

    client.force_login(world.district_user)
    url = reverse(url_name)

    def grow(n):
        for i in range(n):
            make_point(org=world.br_a, region=world.east, lat=Decimal("39.7") - Decimal(i) / 100, lon=LON)
            WorkplaceFactory(responsible_org=world.express, region=world.east,
                             latitude=Decimal("39.6") - Decimal(i) / 100, longitude=LON)
        reach_refresh()

    grow(2)
    small = _count(client, url, params)
    grow(20)
    large = _count(client, url, params)
    assert small == large, f"{url_name}: {small} queries with few rows, {large} with many"


def test_circle_page_figures_and_outside_filter(client, world, circle):
    client.force_login(world.district_user)
    response = client.get(reverse("services:point_circle"))
    summary = response.context["summary"]
    # within 3 km: a 556, b 2224, c 3000 (edge), f 300 → 4 of 7 (57.1 %); gig 100 of 145 (69.0 %).
    assert (summary.workplaces, summary.within_reach, summary.reach_rate) == (7, 4, 57.1)
    assert (summary.gig_workers, summary.gig_workers_within_reach, summary.gig_reach_rate) == (145, 100, 69.0)
    html = response.content.decode()
    assert 'data-figure="reach_rate">57.1%' in html
    outside = client.get(reverse("services:point_circle"), {"outside": "on"})
    assert [w.name for w in outside.context["page"].object_list] == ["D圆通加盟公司", "E快递平台区办", "G饿了么西街站"]
    assert "未填写坐标" in outside.content.decode()
    # The rule is read at request time: 1 km leaves a (556 m) and f (300 m).
    set_rule("service_reach_km", Decimal("1"))
    summary = client.get(reverse("services:point_circle")).context["summary"]
    assert (summary.within_reach, summary.gig_workers_within_reach) == (2, 70)
    # The secretary sees jb's subtree: b (2224 m) and c (3000 m), both inside 3 km.
    set_rule("service_reach_km", Decimal("3"))
    client.force_login(world.secretary)
    summary = client.get(reverse("services:point_circle")).context["summary"]
    assert (summary.workplaces, summary.within_reach, summary.gig_workers_within_reach) == (2, 2, 30)


def test_circle_export(client, world, circle):
    client.force_login(world.district_user)
    response = client.get(reverse("services:point_circle"), {"outside": "on", "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "单位名称"
    assert [(r[0], r[4], r[5], r[6]) for r in rows[1:]] == [
        ("D圆通加盟公司", "P1", 4448, "否"), ("E快递平台区办", None, None, "否"), ("G饿了么西街站", None, None, "否"),
    ]


# ---------------------------------------------------------------- org pages and the API
def test_org_page_gaps_page_and_api_show_the_circle(client, world, circle):
    client.force_login(world.district_user)
    html = client.get(reverse("coverage:org_detail", args=[world.root.pk])).content.decode()
    assert "15分钟服务圈覆盖单位" in html and 'data-figure="within_reach">4<' in html and "57.1%" in html
    gaps = client.get(reverse("coverage:gaps")).content.decode()
    section = gaps.split('data-gap="outside_circle"')[1].split("</ul>")[0]
    # Most gig workers first: g 25 (no coordinates), d 15 (P1, 4448 m), e 5 (no coordinates).
    assert section.index("G饿了么西街站") < section.index("D圆通加盟公司") < section.index("E快递平台区办")
    assert "P1 4448 米" in section
    body = client.get(f"/api/v1/orgs/{world.root.pk}/coverage/").json()
    assert (body["org"]["within_reach"], body["org"]["gig_workers_within_reach"]) == (4, 100)
    assert (body["org"]["reach_rate"], body["org"]["gig_reach_rate"]) == (57.1, 69.0)
    assert {c["label"]: c["within_reach"] for c in body["children"]} == {world.express.name: 3, world.food.name: 2}


# ---------------------------------------------------------------- public page
def _public(client, params=None):
    response = client.get(reverse("services:public_nearest_points"), params or {})
    assert response.status_code == 200
    return response


def _listed(response) -> list[tuple[int, str, int, bool]]:
    return [(i.number, i.point.name, i.distance_m, i.within_reach) for i in response.context["nearby"]]


def test_public_page_from_the_browser_location(client, world, circle):
    response = _public(client, {"lat": "39.905000", "lon": "116.400000"})
    # P1: 0.005° → 556 m; P2: 0.045° → 5,004 m; P3 (paused) and P4 (closed) are not listed.
    assert _listed(response) == [(1, "P1", 556, True), (2, "P2", 5004, False)]
    html = response.content.decode()
    assert "<svg" in html and "data-reach-circle" in html and 'data-dot="1"' in html and 'data-dot="2"' in html
    assert "556 米" in html and "5.0 公里" in html and "15分钟内可达" in html


def test_public_page_from_a_workplace_and_a_street(client, world, circle):
    # wp_b (39.930000): P2 0.02° → 2,224 m; P1 0.03° → 3,336 m.
    assert _listed(_public(client, {"workplace": world.wp_b.pk})) == [(1, "P2", 2224, True), (2, "P1", 3336, False)]
    # West street: the mean of wp_c (39.873020) and wp_d (39.860000) = 39.866510 (g has no coordinates,
    # P3 is paused); P1: 0.03349° → 3,723.92 m; P2: 0.08349° → 9,283.68 m.
    assert _listed(_public(client, {"street": world.west.pk})) == [(1, "P1", 3724, False), (2, "P2", 9284, False)]
    # A workplace is found by name; one match is the origin straight away.
    assert _listed(_public(client, {"q": "中通"}))[0] == (1, "P2", 2224, True)


def test_public_workplace_search_offers_names_only(client, world, circle):
    # "站" is in A顺丰东一站, F美团东街站 and G饿了么西街站; G has no coordinates, so two candidates.
    response = _public(client, {"q": "站"})
    assert response.context["origin"] is None
    assert response.context["candidates"] == [(world.wp_a.pk, "A顺丰东一站"), (world.wp_f.pk, "F美团东街站")]
    html = response.content.decode()
    assert f"?workplace={world.wp_a.pk}" in html and world.express.name not in html
    assert _listed(_public(client, {"workplace": world.wp_a.pk}))[0] == (1, "P1", 556, True)
    # Without coordinates, closed, or unknown: a friendly message, no list.
    assert "没有找到名称含“饿了么”" in _public(client, {"q": "饿了么"}).content.decode()
    for pk in (world.wp_g.pk, world.wp_h.pk, 999999):
        response = _public(client, {"workplace": pk})
        assert "没有找到该单位" in response.content.decode() and response.context["nearby"] == []


def test_public_page_limits_to_twenty(client, world, circle):
    for i in range(25):
        make_point(org=world.br_a, region=world.east, lat=Decimal("39.800000") - Decimal(i) / 1000, lon=LON)
    listed = _listed(_public(client, {"lat": "39.905", "lon": "116.4"}))
    assert len(listed) == 20 and [n for n, *_ in listed] == list(range(1, 21))
    assert [d for *_, d, _w in listed] == sorted(d for *_, d, _w in listed)


@pytest.mark.parametrize("params,message", [
    ({"lat": "200", "lon": "116.4"}, "纬度应在 -90 到 90 之间。"),
    ({"lat": "39.9", "lon": "-500"}, "经度应在 -180 到 180 之间。"),
    ({"lat": "abc", "lon": "116.4"}, "位置信息无效"),
    ({"lat": "nan", "lon": "116.4"}, "位置信息无效"),
    ({"lat": "39.9"}, "位置信息不完整"),
    ({"street": "999999"}, "请从列表中选择街道"),
    ({"workplace": "x"}, "没有找到该单位"),
])
def test_public_page_invalid_origin_gives_a_friendly_message(client, world, circle, params, message):
    response = _public(client, params)
    assert message in response.content.decode()
    assert response.context["nearby"] == []


def test_public_page_shows_no_internal_data(client, world, circle):
    from tests.services.factories import make_request

    make_request(org=world.br_a, description="内部诉求内容")
    html = _public(client, {"lat": "39.905", "lon": "116.4"}).content.decode()
    # Random tokens (CSRF, CSP nonce) can contain "P3" by chance: take them out before looking for point codes.
    html = re.sub(r'(value|nonce)="[^"]*"', "", html)
    for internal in (world.br_a.name, world.jb.name, "运营党组织", "内部诉求内容", "13800138000", "P3", "P4"):
        assert internal not in html
