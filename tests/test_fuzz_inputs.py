"""Hostile numbers, dates and periods in every query parameter and form field outside the activities app
(activities/compliance have their own): orgs, workplaces and gaps, members (list, member forms, advance,
extend, transfers), services (staff queue, service points, the public /s/ pages), reminder rule forms,
reports, inbox and security paging, and the API (filters, cursor, detail keys).

For each parameter every value of HOSTILE is tried (deterministic), then hypothesis mixes random values
into several parameters at once. The answer is never a 500, and a POST that is not accepted (no redirect)
writes nothing: the row counts of the domain tables and the edited row stay as they were.

Enumerated from the urls, filtersets and forms (orgs/filtersets.py, members/filtersets.py,
services/filtersets.py, */forms.py, *_forms.py and the views reading request.GET).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.actions.transfers import transfer_request
from members.models import Member, Stage
from notifications.models import ReminderRule
from services.models import ServiceCategory
from tests.factories import MemberFactory
from tests.members.test_imports import make_id

pytestmark = pytest.mark.django_db

HOSTILE = [
    "", " ", "0", "-1", "-0", "+1", "1.5", "1e3", "99999999999999999999999999999999", "-99999999999999999999",
    "9223372036854775808", "18446744073709551616", "2147483648", "1" * 400, "²", "١", "١٢٣", "٣٢", "𝟏", "¹²",
    "9999-12-31", "0001-01-01", "10000-01-01", "0000-00-00", "2026-02-30", "2026-13-01", "2026-1-1", "2026/01/01",
    "2026-01-01T00:00:00", "٢٠٢٦-٠١-٠١", "NaN", "nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "0x10", "1_000",
    "null", "None", "true", "[]", "{}", "a" * 3000, "\x00", "%00", "' OR 1=1 --", "../../etc/passwd", "2026-Q5",
    "2026-00", "9999-99",
]
#: Tried one by one on every number/date/key parameter (HOSTILE as a whole feeds the random mixes).
CORE = ["", "-1", "1.5", "99999999999999999999999999999999", "9223372036854775808", "²", "١", "𝟏", "9999-12-31",
        "0001-01-01", "10000-01-01", "2026-02-30", "٢٠٢٦-٠١-٠١", "NaN", "inf", "1e309", "-1e309", "0x10", "a" * 3000,
        "\x00", "2026-Q5"]
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.text(max_size=20),
)

#: Rows whose number must not change on a refused POST (attempt logs such as PublicHit/SecurityEvent may).
COUNTED_APPS = ("orgs", "members", "services", "portal")
NOT_COUNTED = {"PublicHit", "SecurityEvent", "WorkerHeartbeat"}


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in COUNTED_APPS for model in apps.get_app_config(app).get_models()
        if model.__name__ not in NOT_COUNTED
    }


# ================================================================ GET: query parameters
def _staff_gets(world) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (url, parameters). The numeric/date/key parameters come first; CHOICE_PARAMS only join the mixes."""
    return {
        "org_tree": (reverse("orgs:tree"), ("dissolved", "page")),
        "workplaces": (reverse("coverage:workplace_list"), ("page", "region", "org", "industry", "kind", "coverage",
                                                         "has_trade_union", "status", "q")),
        "gaps": (reverse("coverage:gaps"), ("org",)),
        "members": (reverse("members:member_list"), ("page", "workplace", "org", "stage", "flag", "role", "relation_kind",
                                                      "occupation", "q")),
        "reveal_log": (reverse("members:reveal_log"), ("page",)),
        "transfers": (reverse("members:transfer_list"), ("page",)),
        "transfer_inbox": (reverse("members:transfer_inbox"), ("page",)),
        "transfer_outbox": (reverse("members:transfer_outbox"), ("page",)),
        "rosters": (reverse("members:roster_list"), ("page",)),
        "requests": (reverse("services:request_list"), ("page", "submitted_from", "submitted_to", "category", "org",
                                                         "assignee", "status", "overdue", "escalated", "priority", "q")),
        "points": (reverse("services:point_list"), ("page", "region", "operator_org", "kind", "status", "amenity")),
        "circle": (reverse("services:point_circle"), ("page", "outside")),
        "reports": (reverse("coverage:snapshot_list"), ("page", "org")),
        "inbox": (reverse("notifications:inbox"), ("page", "show")),
        "security": (reverse("orgs:security_event_list"), ("page", "kind")),
        "rule_add": (reverse("notifications:reminder_rule_add"), ("kind",)),
        "api_orgs": ("/api/v1/orgs/", ("cursor", "kind", "status", "industry", "formation_mode", "page")),
        "api_workplaces": ("/api/v1/workplaces/", ("cursor", "region", "org", "industry", "kind", "coverage",
                                                  "has_trade_union", "status", "q", "page")),
    }


CHOICE_PARAMS = {"industry", "kind", "coverage", "status", "stage", "flag", "role", "relation_kind", "occupation", "overdue",
                 "escalated", "priority", "amenity", "show", "formation_mode", "q", "code"}
PUBLIC_GETS = {
    "nearest_points": ("/s/points/", ("street", "workplace", "lat", "lon", "q")),
    "intake": ("/s/", ("page",)),
    "track": ("/s/track/", ("code",)),
}
STAFF_GET_NAMES = ["org_tree", "workplaces", "gaps", "members", "reveal_log", "transfers", "transfer_inbox", "transfer_outbox",
                   "rosters", "requests", "points", "circle", "reports", "inbox", "security", "rule_add", "api_orgs",
                   "api_workplaces"]

#: Known 500s in code other engineers own right now (see the report): strict, so a fix shows up.
KNOWN_GET_BUGS: dict[str, str] = {}


def _get_case(name: str):
    if name in KNOWN_GET_BUGS:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GET_BUGS[name]))
    return name


def _assert_get(client, url: str, params: dict, *, accept=None) -> None:
    response = client.get(url, params, HTTP_ACCEPT=accept) if accept else client.get(url, params)
    assert response.status_code < 500, (url, params, response.status_code)


@pytest.mark.parametrize("name", [_get_case(n) for n in STAFF_GET_NAMES])
def test_staff_query_parameters_never_500(client, world, name):
    url, params = _staff_gets(world)[name]
    client.force_login(world.district_user)
    for param in params:
        if param in CHOICE_PARAMS:
            continue
        for value in CORE:
            _assert_get(client, url, {param: value})
    if name == "requests":  # a period: both ends hostile
        for start, end in (("9999-12-31", "0001-01-01"), ("0001-01-01", "9999-12-31"), ("2026-12-31", "2026-01-01")):
            _assert_get(client, url, {"submitted_from": start, "submitted_to": end})


@pytest.mark.parametrize("name", list(PUBLIC_GETS))
def test_public_query_parameters_never_500(client, world, name):
    url, params = PUBLIC_GETS[name]
    for param in params:
        for value in CORE:
            _assert_get(client, url, {param: value})
    if name == "nearest_points":
        for lat, lon in (("NaN", "NaN"), ("inf", "-inf"), ("90", "180"), ("-90", "-180"), ("1e309", "0"), ("١", "٣")):
            _assert_get(client, url, {"lat": lat, "lon": lon})


@SETTINGS
@given(data=st.data())
def test_random_mixes_of_query_parameters_never_500(client, world, data):
    gets = {**{n: g for n, g in _staff_gets(world).items() if n not in KNOWN_GET_BUGS}, **PUBLIC_GETS}
    name = data.draw(st.sampled_from(sorted(gets)))
    url, params = gets[name]
    chosen = data.draw(st.lists(st.sampled_from(params), min_size=1, max_size=len(params), unique=True))
    query = {param: data.draw(hostile) for param in chosen}
    client.force_login(world.district_user)
    _assert_get(client, url, query)


# ================================================================ GET: keys in the path
PATH_KEYS = ["0", "1", "2147483648", "9223372036854775807", "9223372036854775808", "18446744073709551616", "9" * 40]


def _path_urls(world) -> list[str]:
    return ["/orgs/{}/", "/orgs/{}/children/", "/orgs/workplaces/{}/", "/members/{}/", "/members/transfers/{}/",
            "/members/roster/{}/", "/members/import/{}/", "/reminders/{}/", "/reports/{}/", "/services/points/{}/",
            "/services/requests/categories/{}/"]


def test_huge_keys_in_paths_are_404_not_500(client, world):
    client.force_login(world.district_user)
    for pattern in _path_urls(world):
        for key in PATH_KEYS:
            response = client.get(pattern.format(key))
            assert response.status_code < 500, (pattern, key)
    for key in PATH_KEYS:  # the inbox's open is a POST
        before = _counts()
        assert client.post(f"/inbox/{key}/open/").status_code < 500, key
        assert _counts() == before


def test_hostile_api_detail_keys_never_500(client, world):
    client.force_login(world.district_user)
    for value in [*CORE, *PATH_KEYS]:
        key = quote(value.replace("/", "").replace(".", ""), safe="") or "x"
        for pattern in ("/api/v1/orgs/{}/", "/api/v1/workplaces/{}/", "/api/v1/orgs/{}/coverage/"):
            response = client.get(pattern.format(key))
            assert response.status_code < 500, (pattern, value)


# ================================================================ POST: form fields
def _member_data(world, **changes) -> dict:
    data = {"name": "模糊测试", "id_number": make_id(777), "phone": "", "ethnicity": "汉族", "occupation": "other",
            "stage": Stage.FULL, "relation_kind": "held", "training_hours": "0", "org": world.jb.pk,
            "applied_on": "2020-01-01", "full_on": "2022-01-01"}
    data.update(changes)
    return data


def _post_cases(world) -> dict:
    """name -> (url, base data, fuzzed fields, the row that an edit would change or None)."""
    rule = ReminderRule.objects.get(name="预备期满前30天提醒")
    rule_data = {"name": rule.name, "offset": rule.offset, "offset_unit": rule.offset_unit, "repeat_every_days": 0,
                 "repeat_limit": 0, "recipients": list(rule.recipients), "channels": list(rule.channels),
                 "subject_template": rule.subject_template, "body_template": rule.body_template,
                 "effective_from": "2026-01-01", "enabled": "on"}
    member = Member.objects.filter(org=world.jb, stage=Stage.FULL).order_by("pk").first()
    probationary = Member.objects.filter(org=world.jb, stage=Stage.PROBATIONARY).order_by("pk").first()
    applicant = Member.objects.filter(org=world.jb, stage=Stage.APPLICANT).order_by("pk").first()
    if applicant is None:
        applicant = MemberFactory(org=world.jb, stage=Stage.APPLICANT, applied_on=dt.date(2020, 1, 1))
    category = ServiceCategory.objects.order_by("pk").first()
    today = world.today.isoformat()
    return {
        "rule_edit": (reverse("notifications:reminder_rule_edit", args=[rule.pk]), rule_data,
                      ("offset", "repeat_every_days", "repeat_limit", "effective_from"), rule),
        "rule_add": (reverse("notifications:reminder_rule_add") + "?kind=probation_ending", {**rule_data, "name": "新规则"},
                     ("offset", "repeat_every_days", "repeat_limit", "effective_from"), None),
        "org_create": (reverse("orgs:org_create", args=[world.express.pk]),
                       {"kind": "branch", "name": "模糊测试支部", "code": "FUZZ-1", "reason": "测试", "formation_mode": "single"},
                       ("established_on", "committee_elected_on"), None),
        "org_structure": (reverse("orgs:org_structure", args=[world.jb.pk]),
                          {"formation_mode": world.jb.formation_mode or "joint", "happened_on": today, "document_number": "文1", "reason": "测试",
                           "established_on": "2020-01-01"},
                          ("happened_on", "established_on", "committee_elected_on"), world.jb),
        "org_move": (reverse("orgs:org_move", args=[world.group.pk]),
                     {"new_parent": world.br_a.pk, "happened_on": today, "reason": "测试"}, ("happened_on",), world.group),
        "org_dissolve": (reverse("orgs:org_dissolve", args=[world.group.pk]), {"reason": "测试"}, ("happened_on",), world.group),
        "workplace_create": (reverse("orgs:workplace_create"),
                             {"name": "模糊测试单位", "kind": "station", "industry": "express", "region": world.east.pk,
                              "responsible_org": world.express.pk, "gig_worker_count": "1", "is_active": "on",
                              "latitude": "39.9", "longitude": "116.4"},
                             ("latitude", "longitude", "gig_worker_count"), None),
        "workplace_edit": (reverse("orgs:workplace_edit", args=[world.wp_a.pk]),
                           {"name": world.wp_a.name, "kind": world.wp_a.kind, "industry": world.wp_a.industry,
                            "region": world.wp_a.region_id, "responsible_org": world.wp_a.responsible_org_id,
                            "gig_worker_count": "40", "is_active": "on"},  # no location: see the xfail below
                           ("latitude", "longitude", "gig_worker_count"), world.wp_a),
        "assignment_create": (reverse("orgs:assignment_create", args=[world.wp_a.pk]),
                              {"instructor": world.lao_li.pk, "role": "instructor", "started_on": today},
                              ("started_on", "ended_on"), None),
        "assignment_end": (reverse("orgs:assignment_end", args=[world.asg_d.pk]), {}, ("ended_on",), world.asg_d),
        "member_create": (reverse("members:member_create"), _member_data(world),
                          ("birth_date", "applied_on", "activist_on", "candidate_on", "training_hours", "admitted_on",
                           "full_on", "mobile_card_valid_until", "lost_contact_since"), None),
        "member_edit": (reverse("members:member_edit", args=[member.pk]),
                        _member_data(world, name=member.name, id_number="", stage=member.stage),
                        ("birth_date", "applied_on", "full_on", "training_hours", "mobile_card_valid_until",
                         "lost_contact_since"), member),
        "member_advance": (reverse("members:member_advance", args=[applicant.pk]), {"to_stage": Stage.ACTIVIST},
                           ("on", "training_hours"), applicant),
        "member_extend": (reverse("members:member_extend_probation", args=[probationary.pk]), {"reason": "支部大会决议"},
                          ("months",), probationary),
        "transfer_request": (reverse("members:transfer_request", args=[member.pk]),
                             {"kind": "internal", "to_org": world.br_f.pk, "reason": "调动"}, ("dues_paid_until",), member),
        "category_edit": (reverse("services:category_edit", args=[category.pk]),
                          {"name": category.name, "guidance": category.guidance, "routing": category.routing,
                           "default_org": "", "enabled": "on"}, ("sla_hours",), category),
        "point_create": (reverse("services:point_create"),
                         {"name": "模糊驿站", "kind": "station", "status": "open", "address": "西大街8号",
                          "region": world.west.pk, "operator_org": world.jb.pk, "opening_hours": "全天",
                          "latitude": "39.86", "longitude": "116.40"}, ("latitude", "longitude"), None),
        "snapshot_request": (reverse("coverage:snapshot_list"), {}, ("org",), None),
    }


POST_NAMES = ["rule_edit", "rule_add", "org_create", "org_structure", "org_move", "org_dissolve", "workplace_create",
              "workplace_edit", "assignment_create", "assignment_end", "member_create", "member_edit", "member_advance",
              "member_extend", "transfer_request", "category_edit", "point_create", "snapshot_request"]
KNOWN_POST_BUGS: dict[str, str] = {}


def _row(obj):
    if obj is None:
        return None
    return list(type(obj)._default_manager.filter(pk=obj.pk).values())


def _assert_post(client, url, data, row) -> bool:
    """Post; a refused post (not a redirect) changed nothing. True when the post was accepted."""
    before, before_row = _counts(), _row(row)
    response = client.post(url, data)
    assert response.status_code < 500, (url, data, response.status_code)
    if response.status_code == 302:
        return True
    assert _counts() == before, (url, data)
    assert _row(row) == before_row, (url, data)
    return False


def _post_case(name: str):
    if name in KNOWN_POST_BUGS:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_POST_BUGS[name]))
    return name


@pytest.mark.parametrize("name", [_post_case(n) for n in POST_NAMES])
def test_hostile_form_fields_never_500_and_refused_posts_write_nothing(client, world, name):
    url, base, fields, row = _post_cases(world)[name]
    client.force_login(world.district_user)
    for field in fields:
        for value in CORE:
            if value in ("", " ") and name in ("org_dissolve", "org_move", "member_advance"):
                continue  # a required date left empty is covered by the forms' own tests; keep the row in place
            _assert_post(client, url, {**base, field: value}, row)


def test_giving_a_workplace_a_location_is_not_a_500(client, world):
    """Found by this file: the location's Decimals in the workplace history were not JSON (fixed in orgs.actions)."""
    url = reverse("orgs:workplace_edit", args=[world.wp_a.pk])
    base = {"name": world.wp_a.name, "kind": world.wp_a.kind, "industry": world.wp_a.industry, "region": world.wp_a.region_id,
            "responsible_org": world.wp_a.responsible_org_id, "gig_worker_count": "40", "is_active": "on"}
    client.force_login(world.district_user)
    assert _assert_post(client, url, {**base, "latitude": "39.9", "longitude": "116.4"}, world.wp_a)


def test_hostile_transfer_version_never_500(client, world):
    member = MemberFactory(org=world.jb)
    transfer = transfer_request(actor=world.secretary, member=member, kind="internal", to_org=world.br_f, reason="调动",
                                dues_paid_until=world.today)
    client.force_login(world.district_user)
    url = reverse("members:transfer_act", args=[transfer.pk])
    for value in CORE:
        _assert_post(client, url, {"step": "approve", "version": value}, transfer)


@SETTINGS
@given(data=st.data())
def test_random_form_values_never_500(client, world, data):
    cases = _post_cases(world)
    name = data.draw(st.sampled_from([n for n in POST_NAMES if n not in KNOWN_POST_BUGS and n not in
                                      ("org_dissolve", "org_move", "member_advance")]))
    url, base, fields, row = cases[name]
    chosen = data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=len(fields), unique=True))
    client.force_login(world.district_user)
    _assert_post(client, url, {**base, **{field: data.draw(hostile) for field in chosen}}, row)


# ================================================================ POST: public intake
def test_public_intake_hostile_location_fields_never_500(client, world):
    url = reverse("services:public_intake_form", kwargs={"code": "wage_arrears"})
    base = {"description": "工资被拖欠三个月", "requester_name": "张师傅", "phone": "13800138000", "member_answer": "unknown",
            "region": "", "workplace": "", "place": "东大街12号", "latitude": "", "longitude": "", "consent": "on",
            "website": "", "employer": "某平台", "amount_owed": "3000", "owed_since": "2026-01-01"}
    for field in ("latitude", "longitude", "region", "workplace", "owed_since", "amount_owed"):
        for value in CORE:
            client.cookies.clear()
            _assert_post(client, url, {**base, field: value}, None)


