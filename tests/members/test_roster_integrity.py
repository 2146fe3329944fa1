"""Roster comparison integrity: headcounts are proposed and applied once on confirmation (with history),
findings and counts cover only members the uploader may see (an out-of-scope match looks like no match),
narrower viewers do not see wider counts, and uploads are rate-limited and logged."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.audit import SYSTEM
from core.exceptions import ConflictError, RateLimitedError
from members.actions.imports import roster_comparison_run, roster_headcounts_apply
from members.actions.registry import member_create
from members.models import RelationKind, RosterComparison, RosterFinding, Stage
from orgs.models import SecurityEvent, SecurityEventKind, Workplace, WorkplaceEvent, WorkplaceEventKind
from tests.factories import fresh, set_rule
from tests.members.test_roster import figures, make_id, start, xlsx_bytes


def finished(world, rows, *, actor=None, org=None) -> RosterComparison:
    comparison = start(world, xlsx_bytes(rows), actor=actor, org=org)
    roster_comparison_run(comparison_id=comparison.pk)
    comparison.refresh_from_db()
    return comparison


# ---------------------------------------------------------------- headcounts: preview, confirm once, history
def test_headcounts_are_proposed_then_applied_once_on_confirmation_with_history(client, world):
    rows = [(f"名单{i}", make_id(10_000 + i), world.wp_b.name) for i in range(3)] + [
        (f"名单c{i}", make_id(10_100 + i), world.wp_c.name) for i in range(12)
    ]
    comparison = finished(world, rows, actor=world.secretary, org=world.jb)
    # Nothing is written by the comparison itself.
    assert Workplace.objects.get(pk=world.wp_b.pk).gig_worker_count == 20
    assert Workplace.objects.get(pk=world.wp_c.pk).gig_worker_count == 10
    assert not WorkplaceEvent.objects.filter(kind=WorkplaceEventKind.HEADCOUNT).exists()

    client.force_login(world.secretary)
    url = reverse("members:roster_detail", args=[comparison.pk])
    page = client.get(url).content.decode()
    assert f'data-workplace="{world.wp_b.pk}"' in page and f'data-workplace="{world.wp_c.pk}"' in page
    assert "data-difference>-17<" in page and "data-difference>+2<" in page
    assert "data-total-current>30<" in page and "data-total-proposed>15<" in page and "data-total-difference>-15<" in page
    assert "data-confirm-headcounts" in page

    response = client.post(reverse("members:roster_headcounts_confirm", args=[comparison.pk]), follow=True)
    assert "已更新 2 个单位的从业人数" in response.content.decode()
    assert Workplace.objects.get(pk=world.wp_b.pk).gig_worker_count == 3
    assert Workplace.objects.get(pk=world.wp_c.pk).gig_worker_count == 12
    events = WorkplaceEvent.objects.filter(kind=WorkplaceEventKind.HEADCOUNT).order_by("workplace_id")
    assert [(e.workplace_id, e.details, e.source, e.actor_id) for e in events] == [
        (world.wp_b.pk, {"gig_worker_count": [20, 3]}, f"花名册比对 #{comparison.pk}", world.secretary.pk),
        (world.wp_c.pk, {"gig_worker_count": [10, 12]}, f"花名册比对 #{comparison.pk}", world.secretary.pk),
    ]

    # A second confirmation is a clear conflict, not a second write.
    page = client.post(reverse("members:roster_headcounts_confirm", args=[comparison.pk]), follow=True).content.decode()
    assert "不能重复确认" in page and "data-confirm-headcounts" not in page and "data-applied" in page
    with pytest.raises(ConflictError, match="不能重复确认"):
        roster_headcounts_apply(actor=fresh(world.district_user), comparison=comparison)
    assert WorkplaceEvent.objects.filter(kind=WorkplaceEventKind.HEADCOUNT).count() == 2


def test_only_users_who_may_see_the_comparison_and_change_its_workplaces_can_confirm(client, world):
    # District staff compare at the express committee: wp_a (br_a) and wp_b (jb) are on the roster.
    rows = [("名单甲", make_id(11_001), world.wp_a.name), ("名单乙", make_id(11_002), world.wp_b.name)]
    comparison = finished(world, rows, org=world.express)
    # The joint-branch secretary may not open it (another org's comparison): 404, nothing written.
    client.force_login(world.secretary)
    assert client.post(reverse("members:roster_headcounts_confirm", args=[comparison.pk])).status_code == 404
    from core.exceptions import DomainError

    with pytest.raises(DomainError, match="您无权确认"):
        roster_headcounts_apply(actor=fresh(world.viewer), comparison=comparison)
    assert Workplace.objects.get(pk=world.wp_a.pk).gig_worker_count == 40
    assert Workplace.objects.get(pk=world.wp_b.pk).gig_worker_count == 20
    assert not WorkplaceEvent.objects.filter(kind=WorkplaceEventKind.HEADCOUNT).exists()


def test_headcount_page_keeps_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    def page_queries(n: int) -> int:
        from tests.factories import WorkplaceFactory

        stations = [WorkplaceFactory(name=f"站点{n}-{i}", responsible_org=world.express, gig_worker_count=1) for i in range(n)]
        rows = [(f"名单{n}-{i}", make_id(20_000 + n * 100 + i), s.name) for i, s in enumerate(stations) for _r in range(2)]
        comparison = finished(world, rows, org=world.express)
        client.force_login(world.district_user)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("members:roster_detail", args=[comparison.pk])).status_code == 200
        return len(ctx.captured_queries)

    assert page_queries(2) == page_queries(12)


# ---------------------------------------------------------------- the membership oracle
def test_for_a_secretary_a_row_matching_an_out_of_scope_member_looks_like_a_row_matching_nobody(client, world):
    outsider = member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(30_001), name="外单位口袋党员", stage=Stage.FULL,
                             relation_kind=RelationKind.POCKET, workplace=world.wp_b)
    member_create(actor=SYSTEM, org=world.food, id_number=make_id(30_002), name="外单位正式党员", stage=Stage.FULL)
    outsider_rows = [("名单某甲", make_id(30_001), world.wp_b.name), ("名单某乙", make_id(30_002), world.wp_c.name)]
    stranger_rows = [("名单某丙", make_id(39_001), world.wp_b.name), ("名单某丁", make_id(39_002), world.wp_c.name)]

    def seen_by_secretary(rows):
        comparison = finished(world, rows, actor=world.secretary, org=world.jb)
        client.force_login(world.secretary)
        page = client.get(reverse("members:roster_detail", args=[comparison.pk])).content.decode()
        findings = set(RosterFinding.objects.filter(comparison=comparison).values_list("member_id", "workplace_id", "kind"))
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page.split("<main", 1)[-1])
        body = body.replace(f"/roster/{comparison.pk}/", "/roster/#/")
        body = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "T", body)
        return figures(comparison), findings, body

    with_outsiders = seen_by_secretary(outsider_rows)
    with_strangers = seen_by_secretary(stranger_rows)
    assert with_outsiders[0]["matched"] == 0
    assert with_outsiders[0] == with_strangers[0]
    assert with_outsiders[1] == with_strangers[1]
    assert with_outsiders[2] == with_strangers[2]
    assert outsider.name not in with_outsiders[2]

    # District staff at the root still see the full picture for the same roster.
    full = finished(world, outsider_rows, org=world.jb)
    assert full.matched == 2 and full.relation_nowhere == 1
    assert RosterFinding.objects.filter(comparison=full, member=outsider).exists()
    client.force_login(world.district_user)
    page = client.get(reverse("members:roster_detail", args=[full.pk])).content.decode()
    assert outsider.name in page and "data-matched>2<" in page


def test_a_narrower_viewer_does_not_see_the_counts_of_a_wider_comparison(client, world):
    member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(31_001), name="外单位流动党员", stage=Stage.FULL,
                  relation_kind=RelationKind.POCKET)
    own = member_create(actor=SYSTEM, org=world.jb, id_number=make_id(31_002), name="本支部口袋党员", stage=Stage.FULL,
                        relation_kind=RelationKind.POCKET)
    rows = [("名单某甲", make_id(31_001), world.wp_b.name), ("名单某乙", make_id(31_002), world.wp_b.name)]
    comparison = finished(world, rows, org=world.jb)  # by district staff: covers the whole district
    assert comparison.matched == 2
    client.force_login(world.secretary)
    page = client.get(reverse("members:roster_detail", args=[comparison.pk])).content.decode()
    assert "data-matched" not in page and "data-nowhere" not in page and "匹配统计不予显示" in page
    assert own.name in page and "外单位流动党员" not in page
    assert 'data-group="nowhere">1<' in page  # only what the secretary may see is counted
    listing = client.get(reverse("members:roster_list")).content.decode()
    assert 'data-label="匹配到的党员">—<' in listing
    client.force_login(world.district_user)
    page = client.get(reverse("members:roster_detail", args=[comparison.pk])).content.decode()
    assert "data-matched>2<" in page and 'data-group="nowhere">2<' in page


# ---------------------------------------------------------------- uploads: rate limit and log
def test_roster_uploads_are_rate_limited_per_user_and_logged(client, world):
    set_rule("roster_uploads_per_user_per_day", 2)
    rows = [("名单某甲", make_id(40_001), world.wp_b.name)]
    first = start(world, xlsx_bytes(rows), actor=world.secretary, org=world.jb)
    second = start(world, xlsx_bytes(rows * 3), actor=world.secretary, org=world.jb)
    logged = SecurityEvent.objects.filter(kind=SecurityEventKind.ROSTER_UPLOAD, user=world.secretary).order_by("id")
    assert [(e.org_id, e.details) for e in logged] == [
        (world.jb.pk, {"comparison": first.pk, "rows": 1}), (world.jb.pk, {"comparison": second.pk, "rows": 3}),
    ]

    client.force_login(world.secretary)
    response = client.post(reverse("members:roster_start"), {
        "org": world.jb.pk, "platform": "某平台", "file": SimpleUploadedFile("roster.xlsx", xlsx_bytes(rows)),
    })
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "操作过于频繁" in response.content.decode()
    assert RosterComparison.objects.count() == 2  # nothing written
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.RATE_LIMITED, user=world.secretary).count() == 1
    with pytest.raises(RateLimitedError):
        start(world, xlsx_bytes(rows), actor=world.secretary, org=world.jb)
    assert RosterComparison.objects.count() == 2
    # Another user has their own allowance.
    start(world, xlsx_bytes(rows), org=world.jb)
    assert RosterComparison.objects.count() == 3


def test_a_refused_file_does_not_use_up_an_upload(world):
    set_rule("roster_uploads_per_user_per_day", 1)
    from core.exceptions import DomainError

    with pytest.raises(DomainError, match="缺少必需的列"):
        start(world, xlsx_bytes([("某人", make_id(1))], headers=["姓名", "身份证号"]), actor=world.secretary, org=world.jb)
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.ROSTER_UPLOAD).exists()
    start(world, xlsx_bytes([("名单某甲", make_id(40_002), world.wp_b.name)]), actor=world.secretary, org=world.jb)
