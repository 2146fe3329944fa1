"""The compliance board, its export and exemption pages (activities/board_views.py)."""

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
