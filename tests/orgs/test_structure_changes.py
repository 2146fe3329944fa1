"""Who may change the facts that decide what is expected of an org: only the level above, with a document
number and a reason, written to the org's history. A secretary edits names and contact fields only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from core.exceptions import DomainError
from orgs.actions import org_dissolve, org_update
from orgs.models import FormationMode, OrgEvent, OrgEventKind, Role
from orgs.selectors import can_change_org_structure
from tests.factories import UserFactory, grant, reload


def _edit_url(org):
    return reverse("orgs:org_edit", args=[org.pk])


@pytest.mark.parametrize(
    "changes",
    [
        {"established_on": dt.date(2001, 1, 1)},
        {"has_committee": True, "committee_elected_on": dt.date(2025, 1, 5)},
        {"formation_mode": FormationMode.AREA},
    ],
)
def test_secretary_cannot_change_structural_facts_of_own_branch(world, changes):
    before = reload(world.jb)
    with pytest.raises(DomainError, match="由上级党组织变更"):
        org_update(actor=world.secretary, org=world.jb, document_number="文1", reason="想改", **changes)
    after = reload(world.jb)
    assert (after.established_on, after.has_committee, after.formation_mode) == (
        before.established_on, before.has_committee, before.formation_mode,
    )


def test_secretary_cannot_change_coverage_or_dissolve(world):
    with pytest.raises(DomainError, match="由上级党组织变更"):
        org_update(actor=world.secretary, org=world.jb, workplaces=[world.wp_b])
    assert reload(world.jb).workplaces.count() == 2
    assert not can_change_org_structure(user=world.secretary, org=world.jb)


def test_secretary_still_edits_name_and_contact(world):
    org = org_update(actor=world.secretary, org=world.jb, name="快递联合党支部（东）", secretary_name="李四")
    assert (org.name, org.secretary_name) == ("快递联合党支部（东）", "李四")


def test_level_above_changes_with_document_and_reason_and_history(world):
    old = reload(world.br_a).established_on
    new = dt.date(2020, 6, 1)
    with pytest.raises(DomainError, match="须填写文号"):
        org_update(actor=world.district_user, org=world.br_a, established_on=new, reason="更正")
    with pytest.raises(DomainError, match="须填写原因"):
        org_update(actor=world.district_user, org=world.br_a, established_on=new, document_number="文2")
    assert reload(world.br_a).established_on == old
    org = org_update(actor=world.district_user, org=world.br_a, established_on=new, document_number="文2", reason="更正成立日期")
    assert org.established_on == new
    event = OrgEvent.objects.filter(org=org, kind=OrgEventKind.UPDATED).latest("id")
    assert event.details == {"established_on": [old.isoformat(), new.isoformat()]}
    assert (event.document_number, event.reason, event.actor) == ("文2", "更正成立日期", world.district_user)


def test_a_role_at_the_parent_committee_is_the_level_above(world):
    committee_secretary = UserFactory(username="express-secretary")
    grant(committee_secretary, world.express, Role.SECRETARY)
    assert can_change_org_structure(user=committee_secretary, org=world.jb)
    assert not can_change_org_structure(user=committee_secretary, org=world.express)  # its own level
    org = org_update(actor=committee_secretary, org=world.jb, has_committee=True, committee_elected_on=dt.date(2025, 3, 1),
                     document_number="快党〔2025〕3号", reason="选举产生支委会")
    assert org.has_committee


def test_root_facts_are_district_staff_only(world):
    assert can_change_org_structure(user=world.district_user, org=world.root)
    assert not can_change_org_structure(user=world.viewer, org=world.root)


def test_district_staff_granted_at_the_branch_itself_is_not_the_level_above(world):
    local = UserFactory(username="local-district")
    grant(local, world.br_a, Role.DISTRICT)
    with pytest.raises(DomainError, match="由上级党组织撤销"):
        org_dissolve(actor=local, org=world.br_a, reason="试图撤销")


def test_edit_page_hides_structural_fields_from_the_secretary(client, world):
    client.force_login(world.secretary)
    html = client.get(_edit_url(world.jb)).content.decode()
    assert "data-structure-locked" in html
    assert 'name="established_on"' not in html and 'name="has_committee"' not in html and 'name="workplaces"' not in html
    # a hand-made POST with the structural fields changes nothing of them
    before = reload(world.jb)
    response = client.post(_edit_url(world.jb), {
        "name": before.name, "code": before.code, "industry": before.industry, "secretary_name": "王五",
        "established_on": "2001-01-01", "has_committee": "on", "committee_elected_on": "2025-01-01",
        "formation_mode": FormationMode.SINGLE, "reason": "",
    })
    assert response.status_code == 302
    after = reload(world.jb)
    assert after.secretary_name == "王五"
    assert (after.established_on, after.has_committee, after.formation_mode) == (
        before.established_on, before.has_committee, before.formation_mode,
    )


def _structure_url(org):
    return reverse("orgs:org_structure", args=[org.pk])


def test_structure_page_is_not_there_for_the_secretary_of_the_org(client, world):
    client.force_login(world.secretary)
    before = reload(world.jb)
    assert client.get(_structure_url(world.jb)).status_code == 404
    response = client.post(_structure_url(world.jb), {
        "formation_mode": FormationMode.AREA, "established_on": "2001-01-01", "happened_on": "2025-01-01",
        "document_number": "文1", "reason": "自己改",
    })
    assert response.status_code == 404
    assert reload(world.jb).established_on == before.established_on
    # the edit page shows the facts read-only and no link to the structure page
    html = client.get(_edit_url(world.jb)).content.decode()
    assert "由上级党组织变更" in html and _structure_url(world.jb) not in html
    assert _structure_url(world.jb) not in client.get(reverse("coverage:org_detail", args=[world.jb.pk])).content.decode()
    # the org one level below (the Party group) is the secretary's to change
    assert client.get(_structure_url(world.group)).status_code == 200


def test_structure_page_for_district_staff_requires_document_and_reason(client, world):
    client.force_login(world.district_user)
    org = reload(world.br_a)
    assert 'name="established_on"' not in client.get(_edit_url(org)).content.decode()
    assert _structure_url(org) in client.get(reverse("coverage:org_detail", args=[org.pk])).content.decode()
    html = client.get(_structure_url(org)).content.decode()
    assert 'name="established_on"' in html and 'name="document_number"' in html
    data = {
        "formation_mode": org.formation_mode, "established_on": "2019-01-01", "happened_on": "2025-02-01",
        "workplaces": [w.pk for w in org.workplaces.all()], "document_number": "", "reason": "  ",
    }
    response = client.post(_structure_url(org), data)
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"document_number", "reason"}
    assert reload(org).established_on == org.established_on
    response = client.post(_structure_url(org), {**data, "document_number": "文3", "reason": "更正成立日期"})
    assert response.status_code == 302 and reload(org).established_on == dt.date(2019, 1, 1)
    event = OrgEvent.objects.filter(org=org, kind=OrgEventKind.UPDATED).latest("id")
    assert event.details == {"established_on": [org.established_on.isoformat(), "2019-01-01"]}
    assert (event.document_number, event.reason, event.happened_on) == ("文3", "更正成立日期", dt.date(2025, 2, 1))


def test_committee_secretary_changes_branch_structure_on_the_page(client, world):
    committee_secretary = UserFactory(username="express-secretary")
    grant(committee_secretary, world.express, Role.SECRETARY)
    client.force_login(committee_secretary)
    org = reload(world.jb)
    response = client.post(_structure_url(org), {
        "formation_mode": org.formation_mode, "established_on": org.established_on.isoformat(),
        "has_committee": "on", "committee_elected_on": "2025-03-01", "happened_on": "2025-03-01",
        "workplaces": [w.pk for w in org.workplaces.all()], "document_number": "快党〔2025〕3号", "reason": "选举产生支委会",
    })
    assert response.status_code == 302
    assert (reload(org).has_committee, reload(org).committee_elected_on) == (True, dt.date(2025, 3, 1))
    # but not its own committee's facts
    assert client.get(_structure_url(world.express)).status_code == 404


def test_kind_and_parent_are_not_changed_by_an_edit(world):
    for actor in (world.secretary, world.district_user):
        with pytest.raises(DomainError, match="组织类别不能直接修改"):
            org_update(actor=actor, org=world.jb, kind="branch", document_number="文1", reason="改类别")
        with pytest.raises(DomainError, match="调整隶属关系"):
            org_update(actor=actor, org=world.jb, parent=world.food, document_number="文1", reason="改隶属")
    assert reload(world.jb).kind == "joint_branch"


def test_secretary_cannot_move_own_branch(client, world):
    from orgs.actions import org_move

    with pytest.raises(DomainError):
        org_move(actor=world.secretary, org=world.jb, new_parent=world.food, reason="调走")
    assert reload(world.jb).path.startswith(world.express.path)
    client.force_login(world.secretary)
    assert client.get(reverse("orgs:org_move", args=[world.jb.pk])).status_code == 404


def test_orgs_api_never_changes_structure_by_a_plain_write(client, world):
    """Structural facts change only through the `restructure` transition (document number and reason)."""
    client.force_login(world.district_user)
    detail = f"/api/v1/orgs/{world.br_a.pk}/"
    assert client.get(detail).status_code == 200
    assert client.patch(detail, {"established_on": "2001-01-01"}, content_type="application/json").status_code == 400
    for method in (client.put, client.delete):
        assert method(detail, {"established_on": "2001-01-01"}, content_type="application/json").status_code == 405
    assert client.post("/api/v1/orgs/", {"name": "x"}, content_type="application/json").status_code == 400
    assert reload(world.br_a).established_on != dt.date(2001, 1, 1)


def test_workplace_page_shows_headcount_history_with_constant_queries(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orgs.actions import workplace_headcounts_apply

    url = reverse("coverage:workplace_detail", args=[world.wp_a.pk])
    client.force_login(world.district_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    workplace_headcounts_apply(actor=world.district_user, changes={world.wp_a.pk: 41}, source="花名册比对 #1")
    small = queries()
    html = client.get(url).content.decode()
    assert 'data-event="headcount"' in html and "40 → 41" in html and "花名册比对 #1" in html
    for n in range(42, 52):
        workplace_headcounts_apply(actor=world.district_user, changes={world.wp_a.pk: n}, source=f"花名册比对 #{n}")
    assert queries() == small


def test_headcounts_apply_is_all_or_nothing_and_scoped(world):
    from orgs.actions import workplace_headcounts_apply
    from orgs.models import WorkplaceEvent

    with pytest.raises(DomainError, match="不在您可修改的范围内"):
        workplace_headcounts_apply(actor=world.secretary, changes={world.wp_b.pk: 99, world.wp_f.pk: 99}, source="x")
    assert (reload(world.wp_b).gig_worker_count, reload(world.wp_f).gig_worker_count) == (20, 30)
    assert not WorkplaceEvent.objects.exists()
    with pytest.raises(DomainError, match="非负整数"):
        workplace_headcounts_apply(actor=world.district_user, changes={world.wp_b.pk: -1}, source="x")
    changed = workplace_headcounts_apply(actor=world.secretary, changes={world.wp_b.pk: 21, world.wp_c.pk: 10}, source="y")
    assert [w.pk for w in changed] == [world.wp_b.pk]  # wp_c unchanged: no event
    assert WorkplaceEvent.objects.get().details == {"gig_worker_count": [20, 21]}


def test_workplace_page_names_edited_fields_in_its_history(client, world):
    from orgs.actions import workplace_update

    workplace_update(actor=world.district_user, workplace=world.wp_a, has_trade_union=True, source="单位编辑")
    client.force_login(world.district_user)
    html = client.get(reverse("coverage:workplace_detail", args=[world.wp_a.pk])).content.decode()
    assert 'data-event="updated"' in html and "已建工会：否 → 是" in html and "单位编辑" in html


def test_workplace_coordinate_edit_is_recorded_in_history(world):
    from decimal import Decimal

    from orgs.actions import workplace_update
    from orgs.models import WorkplaceEvent

    workplace_update(actor=world.district_user, workplace=world.wp_a, latitude=Decimal("31.230400"), longitude=Decimal("121.473700"))
    event = WorkplaceEvent.objects.get(workplace=world.wp_a)
    assert event.details["latitude"][1] == "31.230400"
