"""The notification inbox: only one's own notifications, newest first, the unread filter and highlight,
opening one (marked read, then its page; never another site), marking all read, 404 for someone else's,
the unread badge in the navigation of every page (one COUNT), and constant query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core import navigation as context_processors  # the menu context (was portal.context_processors)
from notifications.actions.inbox import notifications_create
from notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db
INBOX = reverse("notifications:inbox")


def _notify(user, title="提醒", body="", url="", *, minutes_ago=0, read=False) -> Notification:
    (row,) = notifications_create(user_ids=[user.pk], title=title, body=body, url=url, kind=NotificationKind.REMINDER)
    changes = {"created_at": timezone.now() - dt.timedelta(minutes=minutes_ago)}
    if read:
        changes["read_at"] = timezone.now()
    Notification.objects.filter(pk=row.pk).update(**changes)
    return Notification.objects.get(pk=row.pk)


def _titles(response) -> list[str]:
    return [n.title for n in response.context["page"].object_list]


def _open(client, notification):
    return client.post(reverse("notifications:inbox_open", args=[notification.pk]))


# ---------------------------------------------------------------- the list
def test_inbox_shows_only_my_notifications_newest_first(client, world):
    _notify(world.secretary, "较早的提醒", minutes_ago=60)
    _notify(world.secretary, "最新的提醒", minutes_ago=1)
    _notify(world.district_user, "别人的提醒")
    client.force_login(world.secretary)
    response = client.get(INBOX)
    assert response.status_code == 200
    assert _titles(response) == ["最新的提醒", "较早的提醒"]
    assert "别人的提醒" not in response.content.decode()


def test_unread_filter_and_highlight(client, world):
    unread = _notify(world.secretary, "未读的提醒")
    read = _notify(world.secretary, "已读的提醒", minutes_ago=5, read=True)
    client.force_login(world.secretary)
    html = client.get(INBOX).content.decode()
    assert f'data-notification="{unread.pk}" data-unread' in html
    assert f'data-notification="{read.pk}" data-unread' not in html and f'data-notification="{read.pk}"' in html
    assert _titles(client.get(INBOX, {"show": "unread"})) == ["未读的提醒"]


def test_body_is_escaped_and_keeps_line_breaks(client, world):
    _notify(world.secretary, "标题<b>粗</b>", body="第一行\n<script>alert(1)</script>")
    client.force_login(world.secretary)
    html = client.get(INBOX).content.decode()
    assert "第一行<br>&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html and "标题&lt;b&gt;粗&lt;/b&gt;" in html


def test_time_is_shown_in_local_time(client, world):
    n = _notify(world.secretary, "时间")
    Notification.objects.filter(pk=n.pk).update(created_at=dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC))
    client.force_login(world.secretary)
    assert "2026-03-01 09:30" in client.get(INBOX).content.decode()


def test_inbox_is_paginated_by_25(client, world):
    for i in range(30):
        _notify(world.secretary, f"提醒{i}", minutes_ago=i)
    client.force_login(world.secretary)
    first = client.get(INBOX)
    assert len(first.context["page"].object_list) == 25 and first.context["total"] == 30
    # keyset pages: the second page is the "next" link's cursor
    assert _titles(client.get(INBOX, {"cursor": first.context["page"].next_cursor})) == [f"提醒{i}" for i in range(25, 30)]


def test_login_required(client, world):
    response = client.get(INBOX)
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---------------------------------------------------------------- open, mark all, someone else's
def test_open_marks_read_and_goes_to_its_page(client, world):
    n = _notify(world.secretary, "转接提醒", url="/members/transfers/")
    client.force_login(world.secretary)
    response = _open(client, n)
    assert response.status_code == 302 and response["Location"] == "/members/transfers/"
    n.refresh_from_db()
    assert n.read_at is not None


@pytest.mark.parametrize("url", ["https://evil.example/phish", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""])
def test_open_never_follows_an_outside_url(client, world, url):
    n = _notify(world.secretary, "可疑链接", url=url)
    client.force_login(world.secretary)
    response = _open(client, n)
    assert response.status_code == 302 and response["Location"] == INBOX
    n.refresh_from_db()
    assert n.read_at is not None


def test_open_is_post_only(client, world):
    n = _notify(world.secretary, url="/")
    client.force_login(world.secretary)
    assert client.get(reverse("notifications:inbox_open", args=[n.pk])).status_code == 405
    n.refresh_from_db()
    assert n.read_at is None


def test_someone_elses_notification_is_404_and_stays_unread(client, world):
    theirs = _notify(world.district_user, "别人的", url="/")
    client.force_login(world.secretary)
    assert _open(client, theirs).status_code == 404
    assert client.post(reverse("notifications:inbox_open", args=[999999])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_only_touches_my_notifications(client, world):
    mine = [_notify(world.secretary, f"我的{i}") for i in range(3)]
    theirs = _notify(world.district_user, "别人的")
    client.force_login(world.secretary)
    response = client.post(reverse("notifications:inbox_mark_all_read"), follow=True)
    assert response.redirect_chain[-1][0] == INBOX
    assert "已将 3 条通知标为已读" in response.content.decode()
    assert not Notification.objects.filter(pk__in=[n.pk for n in mine], read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert _titles(client.get(INBOX, {"show": "unread"})) == []


# ---------------------------------------------------------------- the badge in the navigation
def _badge(html: str) -> str | None:
    marker = 'data-unread="'
    if marker not in html:
        return None
    return html.split(marker, 1)[1].split('"', 1)[0]


def test_unread_badge_in_the_navigation_of_any_page(client, world):
    for i in range(4):
        _notify(world.secretary, f"提醒{i}")
    _notify(world.secretary, "已读", read=True)
    _notify(world.district_user, "别人的")
    client.force_login(world.secretary)
    for url in (reverse("home"), reverse("orgs:tree"), INBOX):
        html = client.get(url).content.decode()
        assert _badge(html) == "4", url
        assert "条未读通知" in html  # for screen readers
    # the badge sits outside the collapsing menu, so a phone sees it without opening the menu
    html = client.get(reverse("home")).content.decode()
    assert html.index("data-nav-inbox") < html.index('id="mainnav"')


def test_no_badge_without_unread_and_none_for_anonymous(client, world):
    _notify(world.secretary, "已读", read=True)
    client.force_login(world.secretary)
    html = client.get(reverse("home")).content.decode()
    assert "data-nav-inbox" in html and _badge(html) is None
    client.logout()
    assert "data-nav-inbox" not in client.get(reverse("login")).content.decode()


def test_badge_costs_one_count_query_per_page(client, world):
    _notify(world.secretary, "提醒")
    client.force_login(world.secretary)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("orgs:tree")).status_code == 200
    counts = [q["sql"] for q in ctx.captured_queries if "portal_notification" in q["sql"]]
    assert len(counts) == 1 and "COUNT(" in counts[0].upper()


def test_badge_follows_opening(client, world):
    a = _notify(world.secretary, "一", url="/")
    _notify(world.secretary, "二")
    client.force_login(world.secretary)
    assert _badge(client.get(INBOX).content.decode()) == "2"
    _open(client, a)
    assert _badge(client.get(INBOX).content.decode()) == "1"


def test_nav_items_for_reminder_rules_follow_permissions(client, world):
    client.force_login(world.district_user)
    assert reverse("notifications:reminder_rule_list") in client.get(reverse("home")).content.decode()
    client.force_login(world.secretary)
    assert reverse("notifications:reminder_rule_list") not in client.get(reverse("home")).content.decode()


def test_optional_snapshot_menu_item_does_not_break_pages(client, world, monkeypatch):
    client.force_login(world.viewer)
    html = client.get(reverse("home")).content.decode()
    assert "覆盖报表" in html  # viewers have snapshot.view and the page is wired
    client.force_login(world.secretary)
    assert "覆盖报表" not in client.get(reverse("home")).content.decode()

    def missing(name, *args, **kwargs):
        raise NoReverseMatch(name)

    monkeypatch.setattr(context_processors, "reverse", missing)
    client.force_login(world.viewer)
    response = client.get(reverse("home"))
    assert response.status_code == 200 and "覆盖报表" not in response.content.decode()


# ---------------------------------------------------------------- query counts
def _count(client, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(INBOX, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [None, {"show": "unread"}])
def test_inbox_query_count_constant_as_notifications_grow(client, world, params):
    client.force_login(world.secretary)
    for i in range(3):
        _notify(world.secretary, f"提醒{i}", read=bool(i % 2))
    small = _count(client, params)
    for i in range(40):
        _notify(world.secretary, f"更多{i}", body="正文\n第二行", url="/", read=bool(i % 2))
    assert _count(client, params) == small
