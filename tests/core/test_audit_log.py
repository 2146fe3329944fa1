"""The audit log page (/audit/): scoped to the viewer's "audit.view" grants, filtered by who/what/when/org,
paged by keyset without duplicates, exported with the same filters, read-only, constant queries."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo

import openpyxl
import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.audit import SYSTEM, audit_record, diff
from core.models import AuditEntry
from orgs.models import Role
from orgs.selectors import audit as audit_selectors
from tests.factories import UserFactory, grant

URL = reverse("orgs:audit_list")
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def log(world):
    """The world with an empty audit log (building the world may have written rows) and a few rows of our own."""
    AuditEntry.objects.all().delete()
    w = world
    rows = {
        "jb": audit_record(actor=w.district_user, action="org.update", obj=w.jb, changes={"name": ["旧名称", "新名称"]}),
        "br_a": audit_record(actor=w.secretary, action="member.update", obj=w.br_a,
                             changes=diff({"phone": "13800000000", "note": ""}, {"phone": "13900000000", "note": "x"})),
        "food": audit_record(actor=w.district_user, action="workplace.update", obj=w.wp_f, org=w.br_f,
                             changes={"gig_worker_count": [30, 31]}),
        "none": audit_record(actor=SYSTEM, action="rule.update", object_type="portal.rule", object_id="7",
                             object_repr="规则", changes={"note": "夜间任务"}),
    }
    return rows


def _ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-entry="(\d+)"', response.content.decode())]


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# ---------------------------------------------------------------- who may see what
def test_district_staff_at_the_root_see_every_row(client, world, log):
    client.force_login(world.district_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert set(_ids(response)) == {row.pk for row in log.values()}
    html = response.content.decode()
    assert "组织名称: 旧名称 → 新名称" in html  # the field's verbose name, before → after
    assert "13800000000" not in html and "13900000000" not in html  # masked when written
    assert "phone: *** → ***" in html and "说明: — → x" in html  # a note without a field label
    assert 'href="/audit/"' in html and "操作日志" in html  # the menu entry


def test_superuser_sees_every_row(client, world, log):
    client.force_login(world.superuser)
    assert set(_ids(client.get(URL))) == {row.pk for row in log.values()}


def test_district_user_granted_at_a_sub_node_sees_only_that_subtree(client, world, log):
    express_staff = UserFactory(username="express_staff")
    grant(express_staff, world.express, Role.DISTRICT)
    client.force_login(express_staff)
    assert set(_ids(client.get(URL))) == {log["jb"].pk, log["br_a"].pk}  # not food's, not the row without an org
    # the subtree filter cannot reach outside the grant: out of scope is 404, like a missing org
    assert client.get(URL, {"org": world.root.pk}).status_code == 404
    assert client.get(URL, {"org": world.food.pk}).status_code == 404
    assert set(_ids(client.get(URL, {"org": world.jb.pk}))) == {log["jb"].pk}


@pytest.mark.parametrize("who", ["secretary", "viewer", "instructor", "nobody"])
def test_other_roles_get_404_and_no_menu_entry(client, world, log, who):
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 404
    assert 'href="/audit/"' not in client.get(reverse("home")).content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, world, log):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_is_read_only(client, world, log):
    client.force_login(world.district_user)
    assert client.post(URL, {"id": log["jb"].pk}).status_code == 405
    html = client.get(URL).content.decode()
    content = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'method="post"' not in content  # no form that could change a row (logout and language are outside)
    assert AuditEntry.objects.count() == len(log)


# ---------------------------------------------------------------- filters
def test_filter_by_who_matches_username_and_display_name(client, world, log):
    world.secretary.display_name = "张书记"
    world.secretary.save()
    client.force_login(world.district_user)
    assert set(_ids(client.get(URL, {"who": "secret"}))) == {log["br_a"].pk}  # username
    assert set(_ids(client.get(URL, {"who": "张书"}))) == {log["br_a"].pk}  # display name
    assert set(_ids(client.get(URL, {"who": "system"}))) == {log["none"].pk}  # the label of background work
    assert _ids(client.get(URL, {"who": "无此人"})) == []


def test_filter_by_what_takes_a_resource_prefix_or_an_exact_action(client, world, log):
    audit_record(actor=world.district_user, action="org.move", obj=world.br_a)
    audit_record(actor=world.district_user, action="organization.update", obj=world.br_a)  # not under "org."
    client.force_login(world.district_user)
    response = client.get(URL, {"what": "org."})
    assert len(_ids(response)) == 2 and set(AuditEntry.objects.filter(pk__in=_ids(response)).values_list("action", flat=True)) == {"org.update", "org.move"}
    assert _ids(client.get(URL, {"what": "org.update"})) == [log["jb"].pk]
    html = client.get(URL, {"what": "org.update"}).content.decode()
    assert '<option value="org.update" selected>' in html  # an exact action stays selected
    assert '<option value="member.">' in html  # the known resources are offered


def test_filter_by_local_dates(client, world, log):
    client.force_login(world.district_user)
    late = dt.datetime(2024, 3, 10, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC: still 10 March in the district
    early = dt.datetime(2024, 3, 11, 0, 10, tzinfo=SHANGHAI)  # 10 March 16:10 UTC, but 11 March locally
    with time_machine.travel(late, tick=False):
        on_tenth = audit_record(actor=world.district_user, action="org.update", obj=world.jb)
    with time_machine.travel(early, tick=False):
        on_eleventh = audit_record(actor=world.district_user, action="org.update", obj=world.jb)
    assert _ids(client.get(URL, {"date_from": "2024-03-10", "date_to": "2024-03-10"})) == [on_tenth.pk]
    assert _ids(client.get(URL, {"date_from": "2024-03-11", "date_to": "2024-03-11"})) == [on_eleventh.pk]
    assert _ids(client.get(URL, {"date_to": "2024-03-11"})) == [on_eleventh.pk, on_tenth.pk]
    assert set(_ids(client.get(URL, {"date_from": "2024-03-12"}))) == {row.pk for row in log.values()}
    assert "2024-03-10 23:30:00" in client.get(URL, {"date_to": "2024-03-10"}).content.decode()  # shown in local time


def test_filter_by_org_subtree(client, world, log):
    client.force_login(world.district_user)
    assert set(_ids(client.get(URL, {"org": world.express.pk}))) == {log["jb"].pk, log["br_a"].pk}
    assert set(_ids(client.get(URL, {"org": world.food.pk}))) == {log["food"].pk}
    assert set(_ids(client.get(URL, {"org": world.root.pk}))) == {log["jb"].pk, log["br_a"].pk, log["food"].pk}
    assert client.get(URL, {"org": 999_999}).status_code == 404


@pytest.mark.parametrize("params", [
    {"date_from": "2024-13-40"},
    {"date_from": "0001-01-01"},
    {"date_to": "9999-12-31"},
    {"date_from": "2024-03-12", "date_to": "2024-03-01"},
    {"what": "DROP TABLE; --"},
    {"what": "x" * 500},
    {"org": "abc"},
    {"org": "-1"},
    {"org": "99999999999999999999999"},
    {"cursor": "not-a-cursor"},
    {"cursor": "1-99999999999999999999"},
    {"who": "x" * 500},
    {"org": "\x00"},
])
def test_bad_filter_values_give_a_message_not_an_error(client, world, log, params):
    client.force_login(world.district_user)
    response = client.get(URL, params)
    assert response.status_code == 200
    assert any("筛选条件有误" in m for m in _messages(response))
    export = client.get(URL, {**params, "format": "xlsx"})
    assert export.status_code == 302 and export["Location"].startswith(URL)  # nothing exported but what was asked for
    assert any("未导出" in m for m in _messages(export))


# ---------------------------------------------------------------- export
def test_export_has_the_filtered_rows_formula_escaped(client, world, log):
    audit_record(actor=world.district_user, action="org.update", obj=world.jb, object_repr="=HYPERLINK(\"x\")")
    client.force_login(world.district_user)
    response = client.get(URL, {"org": world.express.pk, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("时间", "操作人", "来源地址", "操作")
    assert sorted(r[3] for r in rows[1:]) == ["member.update", "org.update", "org.update"]
    assert "'=HYPERLINK(\"x\")" in [r[4] for r in rows[1:]]
    assert "组织名称: 旧名称 → 新名称" in [r[7] for r in rows[1:]]
    assert not any("13800000000" in str(cell) for r in rows for cell in r)


def test_export_refuses_more_rows_than_the_cap(client, world, log, monkeypatch):
    monkeypatch.setattr(audit_selectors, "EXPORT_LIMIT", 3)
    client.force_login(world.district_user)
    response = client.get(URL, {"format": "xlsx"})
    assert response.status_code == 302
    assert any("超过 3 条" in m for m in _messages(response))
    assert client.get(URL, {"org": world.express.pk, "format": "xlsx"}).status_code == 200  # two rows: under the cap


# ---------------------------------------------------------------- keyset paging and queries
def test_keyset_pages_follow_on_without_duplicates(client, world, log):
    AuditEntry.objects.all().delete()
    at = dt.datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI)
    made = []
    for i in range(120):
        # many rows share a timestamp: the id breaks the tie
        with time_machine.travel(at + dt.timedelta(seconds=i // 7), tick=False):
            made.append(audit_record(actor=world.district_user, action="org.update", obj=world.jb).pk)
    client.force_login(world.district_user)
    seen, params, pages = [], {"what": "org."}, 0
    while True:
        response = client.get(URL, params)
        ids = _ids(response)
        assert len(ids) <= audit_selectors.PAGE_SIZE
        seen += ids
        pages += 1
        older = re.search(r'href="\?([^"]*)" data-older', response.content.decode())
        if not older:
            break
        query = older.group(1).replace("&amp;", "&")
        assert "what=org." in query  # the filters travel with the cursor
        params = dict(pair.split("=", 1) for pair in query.split("&"))
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    entries = AuditEntry.objects.in_bulk(seen)
    keys = [(entries[pk].created_at, pk) for pk in seen]
    assert keys == sorted(keys, reverse=True)  # newest first across pages
    assert 'data-newest' in response.content.decode()


def test_cursor_round_trips_exactly():
    entry = AuditEntry(pk=42, created_at=dt.datetime(2024, 5, 1, 1, 2, 3, 456789, tzinfo=dt.UTC))
    assert audit_selectors.decode_cursor(audit_selectors.encode_cursor(entry)) == (entry.created_at, 42)
    assert audit_selectors.decode_cursor("1-") is None and audit_selectors.decode_cursor("") is None


def test_page_queries_do_not_grow_with_rows(client, world, log):
    client.force_login(world.district_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL, {"who": "district", "what": "org."}).status_code == 200
        return len(ctx.captured_queries)

    AuditEntry.objects.all().delete()
    for _ in range(5):
        audit_record(actor=world.district_user, action="org.update", obj=world.jb, changes={"name": ["a", "b"]})
    small = count()
    for _ in range(55):
        audit_record(actor=world.district_user, action="org.update", obj=world.br_a, changes={"name": ["a", "b"]})
    assert count() == small
    assert not any("COUNT(" in q["sql"].upper() for q in connection.queries[-small:] if "portal_auditentry" in q["sql"])
