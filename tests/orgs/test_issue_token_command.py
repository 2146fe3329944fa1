"""`manage.py issue_api_token`: the shell path to a token, with the page's rules."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.models import ApiToken, AuditEntry
from orgs.models import Role
from tests.factories import UserFactory, grant, make_branch, make_root

pytestmark = pytest.mark.django_db


def test_prints_a_working_token_once_and_stores_only_its_digest(client):
    root = make_root()
    staff = UserFactory(username="staff")
    grant(staff, root, Role.DISTRICT)
    out = io.StringIO()
    call_command("issue_api_token", "staff", name="驾驶舱", scope="stats", days=7, stdout=out, stderr=io.StringIO())
    plaintext = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert len(plaintext) == 64 and token.token_key == plaintext[:15] and plaintext not in token.digest
    assert token.is_stats_only
    assert AuditEntry.objects.filter(action="api_token.issue").count() == 1
    assert client.get("/api/v1/stats/coverage/", HTTP_AUTHORIZATION=f"Token {plaintext}").status_code == 200
    assert client.get("/api/v1/orgs/", HTTP_AUTHORIZATION=f"Token {plaintext}").status_code == 403


def test_refuses_an_issuer_who_may_not_issue():
    root = make_root()
    branch = make_branch(parent=root)
    secretary = UserFactory(username="sec")
    grant(secretary, branch, Role.SECRETARY)
    with pytest.raises(CommandError):
        call_command("issue_api_token", "sec", name="x", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()
