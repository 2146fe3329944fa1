"""The compliance board, its export and exemption pages (activities/views/compliance.py)."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from activities.models import Activity, ActivityKind, ComplianceRule, Exemption
from tests.factories import UserFactory, make_branch, reload

TZ = ZoneInfo("Asia/Shanghai")
BOARD = reverse("activities:compliance_board")
Q1 = {"period_type": "quarter", "period": "2026-Q1"}


def held(org, kind, *moments, group=None):
    user = UserFactory()
    Activity.objects.bulk_create(
        [Activity(org=org, party_group=group, kind=kind, starts_at=m, topic="t", created_by=user) for m in moments]
    )


@pytest.fixture
def board_world(world):
    ComplianceRule.objects.exclude(kind__in=[ActivityKind.THEME_DAY, ActivityKind.GROUP_MEETING]).update(enabled=False)
    type(world.root).objects.filter(pk__in=[world.br_a.pk, world.jb.pk, world.br_f.pk, world.group.pk]).update(
        established_on=dt.date(2020, 1, 1)
    )
    months = [dt.datetime(2026, m, 8, 9, tzinfo=TZ) for m in (1, 2, 3)]
    held(world.br_a, ActivityKind.THEME_DAY, *months)  # fully compliant
    held(world.jb, ActivityKind.THEME_DAY, *months)
    held(world.jb, ActivityKind.GROUP_MEETING, *months[:2], group=world.group)  # group behind in March
    return world.refresh()


def test_board_renders_and_lists_who_is_behind(client, board_world):
    w = board_world
    client.force_login(w.district_user)
    response = client.get(BOARD, Q1)
    assert response.status_code == 200
    html = response.content.decode()
    report = response.context["report"]
    behind = {b.org.name for b in report.behind()}
    assert behind == {"快递联合党支部", "美团站点党支部"}
    assert "第一党小组" in html and "2026年3月" in html
    assert report.root_totals.expected == 3 + 6 + 3
    assert report.root_totals.met == 3 + 5 + 0
    assert response.context["previous"].period.key == "2025-Q4"


def test_board_filters_by_subtree_and_period(client, board_world):
    w = board_world
    client.force_login(w.district_user)
    response = client.get(BOARD, {**Q1, "org": w.express.pk})
    assert {b.org.name for b in response.context["report"].branches} == {"顺丰站点党支部", "快递联合党支部"}
    response = client.get(BOARD, {"period_type": "month", "period": "2026-02", "org": w.express.pk})
    assert response.context["report"].behind() == []
    assert response.context["report"].root_totals.rate == 100.0


def test_secretary_sees_only_own_branch(client, board_world):
    w = board_world
    client.force_login(w.secretary)
    response = client.get(BOARD, Q1)
    assert response.status_code == 200
    assert [b.org.name for b in response.context["report"].branches] == ["快递联合党支部"]
    assert client.get(BOARD, {**Q1, "org": w.br_a.pk}).status_code == 404
    assert client.get(BOARD, {**Q1, "org": w.root.pk}).status_code == 404
    assert client.get(reverse("activities:exemption_create")).status_code == 404


def test_viewer_without_activity_scope_gets_404(client, board_world):
    client.force_login(board_world.viewer)
    assert client.get(BOARD).status_code == 404
    assert client.get(reverse("activities:exemption_list")).status_code == 404


def test_exemptions_of_other_orgs_are_not_listed(client, board_world):
    w = board_world
    Exemption.objects.create(org=w.br_a, rule=None, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 3, 31),
                             reason="站点搬迁", approved_by=w.district_user)
    client.force_login(w.secretary)
    response = client.get(reverse("activities:exemption_list"))
    assert response.status_code == 200 and "站点搬迁" not in response.content.decode()
    assert client.get(reverse("activities:exemption_create"), {"org": w.br_a.pk}).status_code == 404
    client.force_login(w.district_user)
    assert "站点搬迁" in client.get(reverse("activities:exemption_list")).content.decode()


def test_district_creates_an_exemption_and_the_board_honours_it(client, board_world):
    w = board_world
    client.force_login(w.district_user)
    url = reverse("activities:exemption_create")
    assert client.get(url, {"org": w.br_f.pk}).status_code == 200
    bad = client.post(url, {"org": w.br_f.pk, "starts_on": "2026-03-31", "ends_on": "2026-01-01", "reason": "x"})
    assert bad.status_code == 200 and not Exemption.objects.exists()
    response = client.post(url, {"org": w.br_f.pk, "starts_on": "2026-01-01", "ends_on": "2026-03-31", "reason": "新建站点"})
    assert response.status_code == 302
    exemption = Exemption.objects.get()
    assert exemption.approved_by == w.district_user and exemption.rule is None
    report = client.get(BOARD, Q1).context["report"]
    assert {b.org.name for b in report.behind()} == {"快递联合党支部"}


def test_export_xlsx_contents(client, board_world):
    w = board_world
    client.force_login(w.district_user)
    response = client.get(reverse("activities:compliance_export"), Q1)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("党组织", "组织类别", "期间", "应开展次数")
    by_name = {r[0]: r for r in rows[1:]}
    # the dissolved branch was founded after Q1 began (the fixture creates it today): listed, nothing expected
    assert set(by_name) == {"顺丰站点党支部", "快递联合党支部", "美团站点党支部", "已撤销党支部"}
    assert by_name["已撤销党支部"][3] == 0
    assert by_name["顺丰站点党支部"][3:7] == (3, 3, 3, 100)
    assert by_name["快递联合党支部"][3:6] == (6, 5, 5)
    assert "第一党小组" in by_name["快递联合党支部"][7]


def test_board_query_count_constant_as_branches_grow(client, board_world):
    w = board_world
    client.force_login(w.district_user)
    client.get(BOARD, Q1)
    with CaptureQueriesContext(connection) as small:
        assert client.get(BOARD, Q1).status_code == 200
    for i in range(10):
        br = make_branch(parent=reload(w.express), established_on=dt.date(2020, 1, 1), has_committee=bool(i % 2))
        held(br, ActivityKind.THEME_DAY, dt.datetime(2026, 1, 8, tzinfo=TZ))
    with CaptureQueriesContext(connection) as large:
        response = client.get(BOARD, Q1)
    assert len(response.context["report"].branches) == 14
    assert len(small) == len(large)


def test_board_query_count_is_pinned(client, board_world):
    client.force_login(board_world.district_user)
    client.get(BOARD, Q1)
    with CaptureQueriesContext(connection) as ctx:
        client.get(BOARD, Q1)
    # session, user, grants, root, 2 × (orgs, rules, exemptions, counts), roots list, template, unread count, and
    # the sane date range of the period (rule rows date_min_year/date_future_margin_years): 18
    assert len(ctx) <= 18, [q["sql"][:80] for q in ctx.captured_queries]


# ---------------------------------------------------------------- city scale: a bounded page, drill-down, exact totals
def _branches(parent, n, *, held_in=()):
    made = []
    for _ in range(n):
        br = make_branch(parent=reload(parent), established_on=dt.date(2020, 1, 1))
        made.append(br)
    if held_in:
        user = UserFactory()
        Activity.objects.bulk_create([Activity(org=br, kind=ActivityKind.THEME_DAY, starts_at=m, topic="t", created_by=user)
                                      for br in made for m in held_in])
    return made


def _child_rows(html: str) -> int:
    return html.count("data-child=")


def _next_link(html: str) -> str | None:
    import re
    from html import unescape

    found = re.search(r'rel="next" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def test_board_shows_at_most_a_page_of_rows_for_a_root_with_120_branches(client, board_world):
    w = board_world
    _branches(w.express, 120)  # 122 direct children of the express committee, all behind in Q1
    client.force_login(w.district_user)
    response = client.get(BOARD, {**Q1, "org": w.express.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert _child_rows(html) == 50
    board = response.context["board"]
    assert len(board.behind) == 50 and board.behind_more == 121 - 50  # br_a is compliant
    assert "data-behind-more" in html
    # the figures cover the whole subtree, not the page
    assert response.context["report"].root_totals.branches == 122
    seen, url, pages = _child_rows(html), _next_link(html), 1
    while url:
        page = client.get(BOARD + url).content.decode()
        assert _child_rows(page) <= 50
        seen += _child_rows(page)
        url, pages = _next_link(page), pages + 1
    assert seen == 122 and pages == 3


def test_board_drill_down_shows_a_childs_children_with_exact_totals(client, board_world):
    w = board_world
    months = [dt.datetime(2026, m, 8, 9, tzinfo=TZ) for m in (1, 2, 3)]
    _branches(w.food, 3, held_in=months)
    client.force_login(w.district_user)
    html = client.get(BOARD, Q1).content.decode()
    link = f"?period_type=quarter&amp;period=2026-Q1&amp;org={w.food.pk}"
    assert link in html  # each child row drills down, keeping the period
    response = client.get(BOARD, {**Q1, "org": w.food.pk})
    html = response.content.decode()
    names = {o.name for o, _t in response.context["page"].object_list}
    assert {"美团站点党支部", "已撤销党支部"} <= names and len(names) == 5
    assert "顺丰站点党支部" not in names and "data-breadcrumb" in html and "区委两新工委" in html
    # the food row on the root's page equals the food subtree's own figures
    root_rows = dict(client.get(BOARD, Q1).context["page"].object_list)
    food_row = next(t for o, t in root_rows.items() if o.pk == w.food.pk)
    own = response.context["report"].root_totals
    assert (food_row.branches, food_row.behind, food_row.expected, food_row.met) == (own.branches, own.behind, own.expected, own.met)
    assert (own.expected, own.met) == (3 + 3 * 3, 3 * 3)  # 美团 held nothing; the three new branches held all three months


def test_board_query_count_is_the_same_for_10_and_120_branches(client, board_world):
    w = board_world
    months = [dt.datetime(2026, 1, 8, tzinfo=TZ)]
    client.force_login(w.district_user)
    _branches(w.express, 10, held_in=months)
    client.get(BOARD, {**Q1, "org": w.express.pk})
    with CaptureQueriesContext(connection) as small:
        assert client.get(BOARD, {**Q1, "org": w.express.pk}).status_code == 200
    _branches(w.express, 110, held_in=months)
    with CaptureQueriesContext(connection) as large:
        response = client.get(BOARD, {**Q1, "org": w.express.pk})
    assert response.context["report"].root_totals.branches == 122
    assert len(small) == len(large)


def test_board_pager_answers_the_htmx_partial(client, board_world):
    w = board_world
    _branches(w.express, 60)
    client.force_login(w.district_user)
    html = client.get(BOARD, {**Q1, "org": w.express.pk}).content.decode()
    response = client.get(BOARD + _next_link(html), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-body")
    partial = response.content.decode()
    assert response.status_code == 200 and "<html" not in partial and _child_rows(partial) == 12


def test_board_export_is_refused_above_the_limit(client, board_world, monkeypatch):
    from activities.selectors import compliance

    client.force_login(board_world.district_user)
    monkeypatch.setattr(compliance, "BOARD_EXPORT_LIMIT", 3)
    response = client.get(reverse("activities:compliance_export"), Q1)
    assert response.status_code == 302 and response["Location"].startswith(BOARD)
    assert "未导出" in client.get(response["Location"]).content.decode()
    response = client.get(reverse("activities:compliance_export"), {**Q1, "org": board_world.express.pk})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
