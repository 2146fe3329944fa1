"""Rule-row pages (/rules/): who may see and change them, value checks, the audit rows and the history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.exceptions import DomainError
from core.models import AuditEntry, Rule
from orgs.actions.rules import rule_update
from orgs.models import Role
from orgs.selectors.rules import is_integer_rule
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db


def rule(key: str) -> Rule:
    return Rule.objects.get(key=key)


def edit_url(key: str) -> str:
    return reverse("orgs:rule_edit", args=[rule(key).pk])


@pytest.fixture
def branch_district(world):
    """District staff whose grant is below the root (the express committee): may view, may not change."""
    user = UserFactory(username="express_district")
    grant(user, world.express, Role.DISTRICT)
    return user


# ---------------------------------------------------------------- who may
def test_list_shows_every_rule_with_its_effective_value(client, world):
    client.force_login(world.district_user)
    response = client.get(reverse("orgs:rule_list"))
    assert response.status_code == 200
    rows = {row.rule.key: row for row in response.context["rows"]}
    assert set(rows) == set(Rule.objects.values_list("key", flat=True))
    assert rows["own_branch_min_full_members"].value == "3"
    body = response.content.decode()
    assert 'data-value="3"' in body and "单独组建党支部所需正式党员数" in body
    assert response.context["can_change"] is True
    assert edit_url("branch_max_members") in body


@pytest.mark.parametrize("who", ["secretary", "instructor", "viewer", "nobody"])
def test_others_get_404(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get(reverse("orgs:rule_list")).status_code == 404
    assert client.get(edit_url("probation_months")).status_code == 404
    response = client.post(edit_url("probation_months"), {"value": "6", "reason": "x"})
    assert response.status_code == 404
    assert rule("probation_months").value == Decimal("12")


def test_district_staff_below_the_root_may_view_but_not_change(client, world, branch_district):
    client.force_login(branch_district)
    response = client.get(reverse("orgs:rule_list"))
    assert response.status_code == 200 and response.context["can_change"] is False
    assert edit_url("probation_months") not in response.content.decode()
    assert client.get(edit_url("probation_months")).status_code == 404
    assert client.post(edit_url("probation_months"), {"value": "6", "reason": "x"}).status_code == 404
    with pytest.raises(DomainError):
        rule_update(actor=branch_district, rule=rule("probation_months"), value=Decimal("6"), reason="x")
    assert rule("probation_months").value == Decimal("12")
    assert not AuditEntry.objects.filter(action="rule.update").exists()


def test_missing_rule_is_404(client, world):
    client.force_login(world.district_user)
    assert client.get(reverse("orgs:rule_edit", args=[999999])).status_code == 404


def test_nav_shows_the_rules_entry_to_district_staff_only(client, world):
    client.force_login(world.district_user)
    assert reverse("orgs:rule_list") in client.get(reverse("home")).content.decode()
    client.force_login(world.secretary)
    assert reverse("orgs:rule_list") not in client.get(reverse("home")).content.decode()


# ---------------------------------------------------------------- editing
def test_edit_saves_the_value_and_writes_an_audit_row(client, world):
    client.force_login(world.district_user)
    assert client.get(edit_url("branch_max_members")).status_code == 200
    response = client.post(edit_url("branch_max_members"), {"value": "60", "reason": "区委组织部2026年第3号文件"})
    assert response.status_code == 302 and response["Location"] == reverse("orgs:rule_list")
    assert rule("branch_max_members").value == Decimal("60")
    entry = AuditEntry.objects.get(action="rule.update")
    assert entry.object_type == "portal.rule" and entry.object_id == str(rule("branch_max_members").pk)
    assert entry.actor_id == world.district_user.pk
    assert entry.changes == {"value": ["50.00", "60.00"], "reason": "区委组织部2026年第3号文件"}
    page = client.get(reverse("orgs:rule_list"))
    row = next(r for r in page.context["rows"] if r.rule.key == "branch_max_members")
    assert row.value == "60" and row.last_change.pk == entry.pk
    assert "区委组织部2026年第3号文件" in page.content.decode()


def test_a_decimal_rule_takes_a_fraction(client, world):
    assert not is_integer_rule(rule("service_reach_km"))
    client.force_login(world.district_user)
    response = client.post(edit_url("service_reach_km"), {"value": "2.5", "reason": "城区步行范围"})
    assert response.status_code == 302
    assert rule("service_reach_km").value == Decimal("2.5")


@pytest.mark.parametrize(("key", "data", "field", "message"), [
    ("probation_months", {"value": "-1", "reason": "x"}, "value", "取值不能为负数。"),
    ("probation_months", {"value": "6.5", "reason": "x"}, "value", "该规则以整数计（月），请输入整数。"),
    ("branch_max_members", {"value": "40.25", "reason": "x"}, "value", "该规则以整数计（人），请输入整数。"),
    ("service_reach_km", {"value": "-0.5", "reason": "x"}, "value", "取值不能为负数。"),
    ("service_reach_km", {"value": "abc", "reason": "x"}, "value", "输入一个数字。"),
    ("service_reach_km", {"value": "1.234", "reason": "x"}, "value", "2"),  # Django: at most 2 decimal places
    ("probation_months", {"value": "6", "reason": "   "}, "reason", "请填写修改原因。"),
    ("probation_months", {"value": "12", "reason": "x"}, "value", "新取值与当前取值相同，无需修改。"),
])
def test_validation_messages(client, world, key, data, field, message):
    before = rule(key).value
    client.force_login(world.district_user)
    response = client.post(edit_url(key), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and any(message in e for e in errors[field]), errors
    assert rule(key).value == before
    assert not AuditEntry.objects.filter(action="rule.update").exists()


def test_integer_rule_detection():
    assert is_integer_rule(Rule(key="probation_months", value=Decimal("12")))
    assert is_integer_rule(Rule(key="login_failure_limit", value=Decimal("5")))
    assert not is_integer_rule(Rule(key="probation_months", value=Decimal("1.5")))  # a fraction already: keep decimals
    assert not is_integer_rule(Rule(key="service_reach_km", value=Decimal("3")))


# ---------------------------------------------------------------- history
def test_history_shows_the_last_five_changes_in_constant_queries(client, world):
    client.force_login(world.district_user)
    target = rule("transfer_ageing_alert_days")

    def list_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("orgs:rule_list")).status_code == 200
        return len(ctx)

    rule_update(actor=world.district_user, rule=target, value=Decimal("31"), reason="第1次")
    few = list_queries()
    for n in range(2, 8):
        rule_update(actor=world.district_user, rule=target, value=Decimal(30 + n), reason=f"第{n}次")
    rule_update(actor=world.superuser, rule=rule("probation_months"), value=Decimal("6"), reason="试行")
    many = list_queries()
    assert few == many, f"{few} queries with one change, {many} with eight"

    response = client.get(reverse("orgs:rule_list"))
    rows = {r.rule.key: r for r in response.context["rows"]}
    history = rows["transfer_ageing_alert_days"].history
    assert [e.changes["reason"] for e in history] == ["第7次", "第6次", "第5次", "第4次", "第3次"]
    assert rows["transfer_ageing_alert_days"].value == "37"
    assert rows["probation_months"].last_change.actor_label == world.superuser.display_name
    assert rows["branch_max_members"].history == []

    edit = client.get(reverse("orgs:rule_edit", args=[target.pk]))
    assert [e.changes["reason"] for e in edit.context["row"].history] == ["第7次", "第6次", "第5次", "第4次", "第3次"]
    assert "36.00 → 37.00" in edit.content.decode()
