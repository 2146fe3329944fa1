"""Intake without an account: routing, validation, abuse limits, tracking codes, the encrypted phone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import RequestFactory, override_settings
from django.utils import timezone

from core.crypto import blind_index, decrypt
from core.exceptions import DomainError
from orgs.actions import org_dissolve
from orgs.models import OrgKind
from services import throttle
from services.actions.intake import (
    CODE_ALPHABET,
    RateLimited,
    new_tracking_code,
    public_hits_purge,
    request_submit,
    route_request,
)
from services.models import EntryKind, PublicHit, PublicHitKind, RequestStatus, Routing, ServiceRequest, TimelineEntry
from tests.factories import WorkplaceFactory, make_branch, make_committee, make_org, make_region, reload, set_rule
from tests.services.factories import category

NOON = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def submit(*, code="other", phone="13912345678", address="10.0.0.1", now=NOON, **overrides):
    kwargs = {
        "category": category(code), "description": "小区门禁不让外卖骑手进入，送餐经常超时被罚款。",
        "requester_name": "王师傅", "phone": phone, "member_answer": "unknown", "extra": {}, "client_address": address,
        "now": now,
    }
    kwargs.update(overrides)
    return request_submit(**kwargs)


def set_category(code, **fields):
    cat = category(code)
    for name, value in fields.items():
        setattr(cat, name, value)
    cat.save()
    return cat


# ---------------------------------------------------------------- routing
def test_routing_prefers_the_single_branch_covering_the_workplace(world):
    # wp_b is covered by the joint branch only; add a 单独组建 branch covering it too: that one wins.
    own = make_branch("中通自建党支部", parent=world.express, code="EXP-Z", workplaces=[world.wp_b])
    assert route_request(category=category("other"), workplace=world.wp_b) == own
    assert route_request(category=category("other"), workplace=world.wp_a) == world.br_a


def test_routing_takes_a_joint_or_area_branch_when_no_single_branch_covers(world):
    assert route_request(category=category("other"), workplace=world.wp_c) == world.jb
    assert route_request(category=category("other"), workplace=world.wp_f) == world.br_f  # 区域联建 branch


def test_routing_takes_a_general_branch_last(world):
    general = make_org("快递党总支", parent=world.express, kind=OrgKind.GENERAL_BRANCH, code="EXP-G", workplaces=[world.wp_d, world.wp_b])
    assert route_request(category=category("other"), workplace=world.wp_d) == general
    assert route_request(category=category("other"), workplace=world.wp_b) == world.jb


def test_routing_skips_a_dissolved_covering_branch_and_falls_back_to_category_org(world):
    set_category("other", default_org=world.food)
    # wp_g is only linked to the dissolved br_dead.
    assert route_request(category=category("other"), workplace=world.wp_g) == world.food


def test_routing_without_workplace_uses_category_org(world):
    set_category("medical", default_org=world.express)
    assert route_request(category=category("medical"), region=world.east) == world.express


def test_routing_ignores_a_dissolved_category_org(world):
    set_category("medical", default_org=world.br_dead)
    assert route_request(category=category("medical"), region=world.west) == world.root


def test_routing_goes_to_the_closest_regional_committee(world):
    east_committee = make_committee("东街道区域党委", parent=world.root, kind=OrgKind.REGIONAL_COMMITTEE, code="REG-E",
                                    region=world.east)
    district_committee = make_committee("示范区区域党委", parent=world.root, kind=OrgKind.REGIONAL_COMMITTEE, code="REG-D",
                                        region=world.district)
    # Request from 东一社区 (under 东街道): the street's committee is closer than the district's.
    assert route_request(category=category("other"), region=world.east_one) == east_committee
    assert route_request(category=category("other"), region=world.west) == district_committee
    # A workplace without a covering branch: its region decides.
    assert route_request(category=category("other"), workplace=world.wp_d) == district_committee


def test_routing_falls_back_to_the_workplace_responsible_org_then_the_root(world):
    # wp_d (西街道) has no covering branch, no category org, no regional committee.
    assert route_request(category=category("other"), workplace=world.wp_d) == world.express
    assert route_request(category=category("other")) == world.root
    assert route_request(category=category("other"), region=world.east) == world.root


def test_routing_skips_a_dissolved_responsible_org(world):
    committee = make_committee("临时行业党委", parent=world.root, code="TMP")
    wp = WorkplaceFactory(name="临时单位", responsible_org=committee, region=world.west)
    org_dissolve(actor=world.district_user, org=committee, reason="撤销", happened_on=world.today)
    assert route_request(category=category("other"), workplace=reload(wp)) == world.root


def test_category_org_routing_skips_the_covering_branch(world):
    set_category("legal_aid", default_org=world.food)
    assert category("legal_aid").routing == Routing.CATEGORY_ORG
    assert route_request(category=category("legal_aid"), workplace=world.wp_a) == world.food


def test_category_org_routing_without_category_org_falls_back_past_the_branch(world):
    # No default org for 心理疏导: not the branch (confidential), but the workplace's responsible committee.
    assert route_request(category=category("counseling"), workplace=world.wp_a) == world.express


# ---------------------------------------------------------------- submit
def test_submit_stores_the_request_routed_with_due_time_and_public_entry(world):
    req = submit(workplace=world.wp_a, place="", latitude="39.9", longitude="116.4")
    assert req.status == RequestStatus.SUBMITTED
    assert req.responsible_org == world.br_a
    assert req.region == world.east_one  # taken from the workplace
    assert req.submitted_at == NOON
    assert req.due_at == NOON + dt.timedelta(hours=72)
    assert req.latitude == Decimal("39.900000")
    entry = TimelineEntry.objects.get(request=req)
    assert entry.public and entry.by_requester and entry.kind == EntryKind.SUBMITTED
    assert entry.body == "诉求已提交，由顺丰站点党支部承办"
    assert PublicHit.objects.filter(kind=PublicHitKind.INTAKE_ADDRESS).count() == 1
    assert PublicHit.objects.filter(kind=PublicHitKind.INTAKE_PHONE).count() == 1


def test_submit_keeps_required_extra_fields_normalized(world):
    req = submit(code="wage_arrears", extra={"employer": "某配送公司", "amount_owed": "3,500.5", "owed_since": "2026-3",
                                             "ignored": "x"})
    assert req.extra == {"employer": "某配送公司", "amount_owed": "3500.50", "owed_since": "2026-03"}


def test_phone_is_normalized_and_stored_encrypted_only(world):
    req = submit(phone="+86 139-1234-5678")
    req.refresh_from_db()
    assert decrypt(req.requester_phone_encrypted) == "13912345678"
    assert req.requester_phone_index == blind_index("13912345678", purpose="requester_phone")
    found = []
    with connection.cursor() as cursor:
        for table in ("services_servicerequest", "services_timelineentry", "services_publichit"):
            columns = [col.name for col in connection.introspection.get_table_description(cursor, table)]
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (fixed table names)
            for row in cursor.fetchall():
                found += [(table, c) for c, v in zip(columns, row, strict=True) if "13912345678" in str(v) or "10.0.0.1" in str(v)]
    assert found == []


REFUSALS = [
    ({"description": "太短了"}, "description"),
    ({"description": "长" * 2001}, "description"),
    ({"requester_name": "  "}, "requester_name"),
    ({"requester_name": "名" * 51}, "requester_name"),
    ({"phone": "12345678901"}, "phone"),
    ({"phone": "1391234567"}, "phone"),
    ({"member_answer": "maybe"}, "member_answer"),
    ({"place": "地" * 201}, "place"),
    ({"latitude": "39.9"}, "latitude"),
    ({"latitude": "91", "longitude": "116"}, "latitude"),
    ({"latitude": "39", "longitude": "181"}, "longitude"),
    ({"latitude": "abc", "longitude": "116"}, "latitude"),
]


@pytest.mark.parametrize(("overrides", "field"), REFUSALS)
def test_invalid_input_is_refused_on_its_field_and_writes_nothing(world, overrides, field):
    with pytest.raises(DomainError) as caught:
        submit(**overrides)
    assert caught.value.field == field
    assert str(caught.value.message)
    assert ServiceRequest.objects.count() == 0
    assert PublicHit.objects.count() == 0


EXTRA_REFUSALS = [
    ({"amount_owed": "3000", "owed_since": "2026-01"}, "employer"),
    ({"employer": "某公司", "owed_since": "2026-01"}, "amount_owed"),
    ({"employer": "某公司", "amount_owed": "-5", "owed_since": "2026-01"}, "amount_owed"),
    ({"employer": "某公司", "amount_owed": "0", "owed_since": "2026-01"}, "amount_owed"),
    ({"employer": "某公司", "amount_owed": "10000000.01", "owed_since": "2026-01"}, "amount_owed"),
    ({"employer": "某公司", "amount_owed": "12.345", "owed_since": "2026-01"}, "amount_owed"),
    ({"employer": "某公司", "amount_owed": "三千", "owed_since": "2026-01"}, "amount_owed"),
    ({"employer": "某公司", "amount_owed": "3000", "owed_since": "2026-07"}, "owed_since"),  # after June 2026
    ({"employer": "某公司", "amount_owed": "3000", "owed_since": "2026-13"}, "owed_since"),
    ({"employer": "某公司", "amount_owed": "3000", "owed_since": "去年"}, "owed_since"),
    ({"employer": "某" * 101, "amount_owed": "3000", "owed_since": "2026-01"}, "employer"),
]


@pytest.mark.parametrize(("extra", "field"), EXTRA_REFUSALS)
def test_required_extra_fields_are_checked(world, extra, field):
    with pytest.raises(DomainError) as caught:
        submit(code="wage_arrears", extra=extra)
    assert caught.value.field == field
    assert ServiceRequest.objects.count() == 0 and PublicHit.objects.count() == 0


def test_largest_amount_and_current_month_are_accepted(world):
    req = submit(code="wage_arrears", extra={"employer": "某公司", "amount_owed": "10000000", "owed_since": "2026-06"})
    assert req.extra["amount_owed"] == "10000000.00"


def test_disabled_category_and_closed_workplace_are_refused(world):
    with pytest.raises(DomainError):
        submit(workplace=world.wp_h)  # 停业
    set_category("other", enabled=False)
    with pytest.raises(DomainError):
        submit()
    assert ServiceRequest.objects.count() == 0


# ---------------------------------------------------------------- abuse limits
def test_address_limit_five_per_rolling_hour(world):
    for i in range(5):
        submit(phone=f"1390000000{i}", now=NOON + dt.timedelta(minutes=i))
    with pytest.raises(RateLimited) as caught:
        submit(phone="13900000009", now=NOON + dt.timedelta(minutes=30))
    assert "12:00" not in caught.value.message and "13:00" in caught.value.message  # the first hit leaves the window
    assert "12345" in caught.value.message
    assert ServiceRequest.objects.count() == 5
    assert PublicHit.objects.filter(kind=PublicHitKind.INTAKE_ADDRESS).count() == 5  # refusals are not counted
    # Another address is not affected.
    submit(phone="13900000009", address="10.0.0.2", now=NOON + dt.timedelta(minutes=30))
    # An hour after the first submission the window has room again.
    submit(phone="13900000008", now=NOON + dt.timedelta(hours=1, seconds=1))


def test_address_limit_follows_the_rule_row(world):
    set_rule("intake_per_address_per_hour", 2)
    submit(phone="13900000001")
    submit(phone="13900000002")
    with pytest.raises(RateLimited):
        submit(phone="13900000003")


def test_phone_limit_three_per_day_across_addresses(world):
    for i in range(3):
        submit(address=f"10.0.1.{i}", now=NOON + dt.timedelta(hours=i))
    with pytest.raises(RateLimited) as caught:
        submit(address="10.0.1.9", now=NOON + dt.timedelta(hours=20))
    assert "06-16 12:00" in caught.value.message
    # Same number written differently is the same phone.
    with pytest.raises(RateLimited):
        submit(phone="139 1234 5678", address="10.0.1.8", now=NOON + dt.timedelta(hours=20))
    submit(address="10.0.1.9", now=NOON + dt.timedelta(hours=24, seconds=1))
    assert ServiceRequest.objects.count() == 4


def test_rate_limit_with_the_real_clock(world):
    with time_machine.travel(NOON, tick=False):
        for i in range(5):
            submit(phone=f"1370000000{i}", now=None)
        with pytest.raises(RateLimited):
            submit(phone="13700000009", now=None)
    with time_machine.travel(NOON + dt.timedelta(minutes=61), tick=False):
        assert submit(phone="13700000009", now=None).submitted_at == timezone.now()


def test_hits_are_keyed_by_hashes_and_purged(world):
    with time_machine.travel(NOON, tick=False):
        submit()
    keys = set(PublicHit.objects.values_list("key", flat=True))
    assert keys == {throttle.address_key("10.0.0.1"), throttle.phone_key("13912345678")}
    with time_machine.travel(NOON + dt.timedelta(hours=47), tick=False):
        assert public_hits_purge() == 0
    with time_machine.travel(NOON + dt.timedelta(hours=49), tick=False):
        assert public_hits_purge() == 2
    assert PublicHit.objects.count() == 0


# ---------------------------------------------------------------- client address
def test_client_address_ignores_forwarded_for_without_trusted_proxies():
    request = RequestFactory().get("/s/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert throttle.client_address(request) == "10.9.9.9"


@override_settings(PORTAL_TRUSTED_PROXY_COUNT=1)
def test_client_address_takes_the_entry_the_trusted_proxy_added():
    request = RequestFactory().get("/s/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    assert throttle.client_address(request) == "1.2.3.4"


@override_settings(PORTAL_TRUSTED_PROXY_COUNT=2)
def test_client_address_behind_two_proxies_and_short_header():
    request = RequestFactory().get("/s/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4, 10.0.0.5")
    assert throttle.client_address(request) == "1.2.3.4"
    short = RequestFactory().get("/s/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert throttle.client_address(short) == "10.9.9.9"


# ---------------------------------------------------------------- tracking codes
def test_tracking_codes_are_twelve_unambiguous_characters_and_distinct(db):
    codes = [new_tracking_code() for _ in range(1000)]
    assert len(set(codes)) == 1000
    assert all(len(code) == 12 and set(code) <= set(CODE_ALPHABET) for code in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)


def test_submitted_request_has_a_displayable_code(world):
    req = submit()
    assert len(req.tracking_code) == 12
    assert req.display_code == f"{req.tracking_code[:4]}-{req.tracking_code[4:8]}-{req.tracking_code[8:]}"


def test_region_given_on_the_form_is_kept(world):
    street = make_region("南街道", parent=world.district)
    req = submit(region=street)
    assert req.region == street and req.responsible_org == world.root
