"""Keyset pages (core.pagination) over real rows: every row exactly once, bad cursors start over, one query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.utils import timezone

from core.models import AuditEntry
from core.pagination import _SALT, decode_cursor, encode_cursor, keyset_page
from orgs.models import Organization
from tests.factories import make_org, make_root

ORDERINGS = [
    ("-created_at", "-pk"),
    ("created_at", "pk"),
    ("action", "-created_at", "pk"),
    ("-action", "created_at", "-pk"),
    ("action", "object_repr", "-pk"),
]


@pytest.fixture
def entries(db):
    """60 audit rows with heavy ties: 3 actions, 7 timestamps (microseconds included), 4 object names."""
    base = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    rows = [
        AuditEntry(
            action=("org.update", "member.create", "transfer.approve")[i % 3],
            # several rows share a timestamp; the stamps differ below the millisecond
            created_at=base + dt.timedelta(microseconds=137 * (i % 7)),
            object_type="orgs.organization", object_id=str(i), object_repr=f"对象{i % 4}",
        )
        for i in range(60)
    ]
    AuditEntry.objects.bulk_create(rows)
    return AuditEntry.objects.all()


def walk(qs, ordering, size):
    """Follow next cursors from the first page to the last; the rows seen, in order, and the page count."""
    seen, cursor, pages = [], "", 0
    while True:
        page = keyset_page(qs, ordering=ordering, cursor=cursor, size=size)
        pages += 1
        assert page.first == (cursor == "")
        assert len(page) <= size
        seen += [row.pk for row in page]
        if not page.has_next:
            return seen, pages
        cursor = page.next_cursor
        assert pages < 1000, "the walk does not end"


@pytest.mark.parametrize("ordering", ORDERINGS, ids="|".join)
@pytest.mark.parametrize("size", [1, 7, 60, 100])
def test_walking_all_pages_shows_every_row_exactly_once_in_order(entries, ordering, size):
    seen, pages = walk(entries, ordering, size)
    expected = list(entries.order_by(*ordering).values_list("pk", flat=True))
    assert seen == expected  # every row once, none skipped, in the ordering's order
    assert pages == max(1, -(-len(expected) // size))


def test_walking_orgs_by_name_with_ties(db):
    root = make_root("区", code="PG-ROOT")
    for i in range(23):
        make_org(f"支部{i % 5}", parent=root, code=f"PG-{i:03d}")
    qs = Organization.objects.all()
    for ordering in (("name", "-pk"), ("-depth", "name", "pk"), ("-name", "-path", "pk")):
        seen, _pages = walk(qs, ordering, 4)
        assert seen == list(qs.order_by(*ordering).values_list("pk", flat=True)), ordering


def test_the_last_page_has_no_next_cursor_and_an_empty_list_is_one_page(entries):
    page = keyset_page(entries.none(), ordering=("-pk",), cursor="", size=10)
    assert list(page) == [] and page.next_cursor == "" and page.first
    page = keyset_page(entries, ordering=("-pk",), cursor="", size=60)
    assert len(page) == 60 and page.next_cursor == ""


def _second_page_cursor(entries, ordering=("-created_at", "-pk")):
    return keyset_page(entries, ordering=ordering, cursor="", size=5).next_cursor


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"),  # tampered signature
    lambda c: "x" + c[1:],  # tampered payload
    lambda c: "garbage",
    lambda c: "a:b:c",
    lambda c: "%00%ff",
    lambda c: c * 10,  # far too long
    lambda c: signing.dumps([1], salt=_SALT),  # signed, but the wrong number of values
    lambda c: signing.dumps(["not a date", 3], salt=_SALT),  # signed, values the fields refuse
    lambda c: signing.dumps({"pk": 1}, salt=_SALT),  # signed, not a list
    lambda c: signing.dumps(["2020-01-01T00:00:00+00:00", 3], salt="another.salt"),  # another signer
], ids=["signature", "payload", "garbage", "colons", "bytes", "too-long", "wrong-length", "wrong-type", "not-a-list",
        "other-salt"])
def test_a_bad_cursor_starts_again_at_the_first_page(entries, mangle):
    ordering = ("-created_at", "-pk")
    first = keyset_page(entries, ordering=ordering, cursor="", size=5)
    page = keyset_page(entries, ordering=ordering, cursor=mangle(_second_page_cursor(entries)), size=5)
    assert page.first
    assert [r.pk for r in page] == [r.pk for r in first]


def test_a_cursor_for_another_ordering_is_refused_or_harmless(entries):
    """A cursor made for a 2-key ordering handed to a 3-key list (another page's link) restarts the list."""
    cursor = _second_page_cursor(entries, ("-created_at", "-pk"))
    assert decode_cursor(cursor, AuditEntry, ("action", "-created_at", "pk")) is None


def test_a_cursor_round_trips_datetimes_to_the_microsecond(entries):
    """The cursor must hold the exact value: a rounded timestamp would skip or repeat rows sharing a millisecond."""
    row = entries.order_by("-created_at", "-pk").first()
    ordering = ("-created_at", "-pk")
    assert decode_cursor(encode_cursor(row, ordering), AuditEntry, ordering) == [row.created_at, row.pk]


@pytest.mark.parametrize("asked, shown", [(0, 1), (-5, 1), (3, 3)])
def test_the_page_size_is_at_least_one(entries, asked, shown):
    assert len(keyset_page(entries, ordering=("-pk",), size=asked)) == shown


def test_a_deep_page_costs_the_same_one_query_as_the_first(entries, django_assert_num_queries):
    ordering = ("action", "-created_at", "pk")
    with django_assert_num_queries(1):
        page = keyset_page(entries, ordering=ordering, cursor="", size=5)
    cursor = page.next_cursor
    for _ in range(8):  # 9 pages deep
        cursor = keyset_page(entries, ordering=ordering, cursor=cursor, size=5).next_cursor
    with django_assert_num_queries(1):
        deep = keyset_page(entries, ordering=ordering, cursor=cursor, size=5)
    assert not deep.first and len(deep) == 5
