"""Django admin for superusers: accounts (with the reveal permission), role grants, rule values, the security
log (read-only) and django-axes' lock list. Everyone else gets the portal's 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from core.models import Rule
from orgs.models import SecurityEvent, SecurityEventKind

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:portal_user_changelist",
    "admin:orgs_rolegrant_changelist",
    "admin:portal_rule_changelist",
    "admin:orgs_securityevent_changelist",
    "admin:axes_accessattempt_changelist",
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_superuser_opens_each_changelist(client, world, name):
    SecurityEvent.objects.create(kind=SecurityEventKind.RATE_LIMITED, user=world.district_user, details={"limit": 10})
    client.force_login(world.superuser)
    response = client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["admin:index", *CHANGELISTS])
def test_everyone_else_gets_404(client, world, name):
    for user in (world.district_user, world.viewer):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 404


def test_superuser_changes_a_rule_value_but_not_its_key(client, world):
    client.force_login(world.superuser)
    rule = Rule.objects.get(key="login_failure_limit")
    url = reverse("admin:portal_rule_change", args=[rule.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"key": "hacked", "label": rule.label, "value": "7", "description": rule.description})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.value == Decimal("7") and rule.key == "login_failure_limit"


def test_a_negative_rule_value_is_refused(client, world):
    client.force_login(world.superuser)
    rule = Rule.objects.get(key="login_failure_limit")
    response = client.post(reverse("admin:portal_rule_change", args=[rule.pk]),
                           {"label": rule.label, "value": "-1", "description": rule.description})
    assert response.status_code == 200  # the form again, with the error
    rule.refresh_from_db()
    assert rule.value == Decimal("5")


def test_rules_cannot_be_added_or_deleted_in_admin(client, world):
    client.force_login(world.superuser)
    rule = Rule.objects.get(key="login_failure_limit")
    assert client.get(reverse("admin:portal_rule_add")).status_code == 403
    assert client.post(reverse("admin:portal_rule_delete", args=[rule.pk]), {"post": "yes"}).status_code == 403
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_security_events_are_read_only(client, world):
    event = SecurityEvent.objects.create(kind=SecurityEventKind.ROSTER_UPLOAD, user=world.district_user)
    client.force_login(world.superuser)
    url = reverse("admin:orgs_securityevent_change", args=[event.pk])
    assert client.get(url).status_code == 200  # view only
    client.post(url, {"kind": SecurityEventKind.RATE_LIMITED, "address": "1.1.1.1"})
    event.refresh_from_db()
    assert event.kind == SecurityEventKind.ROSTER_UPLOAD and event.address == ""
    assert client.post(reverse("admin:orgs_securityevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:orgs_securityevent_add")).status_code == 403


def test_superuser_can_grant_the_reveal_permission_on_the_user_page(client, world):
    client.force_login(world.superuser)
    response = client.get(reverse("admin:portal_user_change", args=[world.district_user.pk]))
    assert response.status_code == 200
    reveal = Permission.objects.get(codename="reveal_personal_data", content_type__app_label="members")
    choices = response.context["adminform"].form.fields["user_permissions"].queryset
    assert reveal in choices
    assert "display_name" in response.context["adminform"].form.fields
