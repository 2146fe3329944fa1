"""Issuing and revoking API tokens (/api-tokens/): district staff only; the token shown once on the answer to the
issuing POST; the list shows only prefixes; a token only for accounts wholly inside the issuer's scope.

Scope in `world` (tests/conftest.py): `staff` is district staff at the express committee (br_a, jb and the
group below it); the secretary (jb) and the instructor (express) are inside it; the viewer (root) and the food
secretary are not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from knox.crypto import hash_token

from core.audit import SYSTEM
from core.dates import add_months
from core.exceptions import DomainError
from core.models import ApiToken, AuditEntry
from orgs.actions.tokens import api_token_issue, api_token_revoke
from orgs.models import Role
from tests.factories import ApiTokenFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

LIST = reverse("orgs:api_token_list")
ISSUE = reverse("orgs:api_token_issue")


def revoke_url(token) -> str:
    return reverse("orgs:api_token_revoke", args=[token.token_key])


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(world):
    account = UserFactory(username="express-staff")
    grant(account, world.express, Role.DISTRICT)
    return account


@pytest.fixture
def food_secretary(world):
    account = UserFactory(username="food-secretary")
    grant(account, world.br_f, Role.SECRETARY)
    return account


def form(username, *, name="市级驾驶舱", scope="stats", expires_on=None) -> dict:
    expires_on = expires_on or timezone.localdate() + dt.timedelta(days=90)
    return {"username": username, "name": name, "scope": scope, "expires_on": expires_on.isoformat()}


def in_future(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


# ---------------------------------------------------------------- issuing
def test_the_token_is_shown_once_on_the_answer_to_the_post(client, world, staff):
    client.force_login(staff)
    assert client.get(ISSUE).status_code == 200
    response = client.post(ISSUE, form("secretary", scope="full"))
    assert response.status_code == 200
    token = ApiToken.objects.get()
    page = response.content.decode()
    plaintext = next(word.split('"')[0] for word in page.split('value="')[1:] if word.startswith(token.token_key))
    assert len(plaintext) == 64 and hash_token(plaintext) == token.digest
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert (token.user, token.issued_by, token.scope, token.name) == (world.secretary, staff, "full", "市级驾驶舱")
    assert token.expiry == timezone.make_aware(dt.datetime.combine(in_future(91), dt.time.min))  # through the 90th day
    assert token.org_path == world.jb.path
    # not in a message kept in the session, not in the URL, not in the audit row
    assert "_messages" not in client.session
    assert plaintext not in response.wsgi_request.get_full_path()
    entry = AuditEntry.objects.get(action="api_token.issue")
    assert entry.object_id == token.token_key and entry.org_path == world.jb.path and entry.actor == staff
    assert plaintext not in str(entry.changes) and token.digest not in str(entry.changes)
    # the next page (the list) shows the prefix only
    listed = client.get(LIST).content.decode()
    assert token.token_key in listed and plaintext not in listed and token.digest not in listed
    # and the token works, as the secretary
    api = client.__class__()
    assert api.get("/api/v1/orgs/", HTTP_AUTHORIZATION=f"Token {plaintext}").status_code == 200


@pytest.mark.parametrize(("who", "reason"), [
    ("viewer", "a grant at the root, above the issuer"),
    ("food-secretary", "a grant in another subtree"),
    ("nobody", "no grant at all"),
    ("admin", "a superuser"),
    ("ghost", "no such account"),
])
def test_only_accounts_wholly_inside_the_issuers_scope_get_a_token(client, world, staff, food_secretary, who, reason):
    client.force_login(staff)
    response = client.post(ISSUE, form(who))
    assert response.status_code == 200, reason
    assert response.context["form"].errors["username"] == ["您的管理范围内没有这个用户名的账号。"]
    assert not ApiToken.objects.exists()


def test_an_account_with_a_grant_outside_the_scope_is_refused(client, world, staff):
    """Visible (a grant at jb) but also holding a role in food: the token would reach beyond the issuer."""
    grant(world.secretary, world.br_f, Role.SECRETARY)
    client.force_login(staff)
    response = client.post(ISSUE, form("secretary"))
    assert "username" in response.context["form"].errors
    assert not ApiToken.objects.exists()
    with pytest.raises(DomainError):
        api_token_issue(actor=staff, user=world.secretary, name="x", scope="full", expires_on=in_future(5))


def test_an_inactive_account_gets_no_token(world, staff):
    type(world.secretary).objects.filter(pk=world.secretary.pk).update(is_active=False)
    world.secretary.refresh_from_db()
    with pytest.raises(DomainError):
        api_token_issue(actor=staff, user=world.secretary, name="x", scope="full", expires_on=in_future(5))


@pytest.mark.parametrize(("expires_on", "ok"), [
    (lambda today: today, False),
    (lambda today: today + dt.timedelta(days=1), True),
    (lambda today: add_months(today, 12), True),
    (lambda today: add_months(today, 12) + dt.timedelta(days=1), False),
])
def test_the_expiry_lies_between_tomorrow_and_one_year(client, world, staff, expires_on, ok):
    client.force_login(staff)
    response = client.post(ISSUE, form("secretary", expires_on=expires_on(timezone.localdate())))
    assert ApiToken.objects.exists() is ok
    if not ok:
        assert "expires_on" in response.context["form"].errors


def test_a_name_and_a_known_scope_are_required(client, world, staff):
    client.force_login(staff)
    response = client.post(ISSUE, form("secretary", name="  "))
    assert "name" in response.context["form"].errors
    response = client.post(ISSUE, form("secretary", scope="everything"))
    assert "scope" in response.context["form"].errors
    assert not ApiToken.objects.exists()
    with pytest.raises(DomainError):
        api_token_issue(actor=staff, user=world.secretary, name="x", scope="everything", expires_on=in_future(5))


def test_only_district_staff_issue(world):
    with pytest.raises(DomainError):
        api_token_issue(actor=world.secretary, user=world.secretary, name="x", scope="full", expires_on=in_future(5))
    with pytest.raises(ValueError):
        api_token_issue(actor=None, user=world.secretary, name="x", scope="full", expires_on=in_future(5))


# ---------------------------------------------------------------- the list
def test_the_list_shows_prefixes_of_tokens_in_scope_with_their_state_and_last_use(client, world, staff, food_secretary):
    mine = ApiTokenFactory(user=world.secretary, issued_by=staff, last_used_at=timezone.now(), last_used_address="10.2.3.4")
    expired = ApiTokenFactory(user=world.instructor, expiry=timezone.now() - dt.timedelta(days=1))
    revoked = ApiTokenFactory(user=world.secretary, revoked_at=timezone.now())
    elsewhere = ApiTokenFactory(user=food_secretary)
    client.force_login(staff)
    response = client.get(LIST)
    page = response.content.decode()
    assert {t.token_key for t in response.context["rows"]} == {mine.token_key, expired.token_key, revoked.token_key}
    assert elsewhere.token_key not in page
    for token in (mine, expired, revoked):
        assert token.plaintext not in page and token.digest not in page
    assert f'data-token="{mine.token_key}"' in page and "10.2.3.4" in page and str(staff) in page
    states = {t.token_key: t.state for t in response.context["rows"]}
    assert states == {mine.token_key: "active", expired.token_key: "expired", revoked.token_key: "revoked"}
    assert revoke_url(mine) in page and revoke_url(revoked) not in page
    # the root's district staff see every token
    client.force_login(world.district_user)
    assert len(client.get(LIST).context["rows"]) == 4


def test_the_list_costs_the_same_queries_at_any_size(client, world, staff):
    client.force_login(staff)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries.captured_queries)

    ApiTokenFactory(user=world.secretary, issued_by=staff)
    small = count()
    for _ in range(12):
        ApiTokenFactory(user=world.instructor, issued_by=staff, revoked_by=staff, revoked_at=timezone.now())
    assert count() == small


def test_the_menu_offers_the_page_to_district_staff_only(client, world, staff):
    client.force_login(staff)
    assert f'href="{LIST}"' in client.get(LIST).content.decode()
    client.force_login(world.secretary)
    assert f'href="{LIST}"' not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("url", [LIST, ISSUE])
def test_other_roles_get_404(client, world, url):
    for account in (world.secretary, world.instructor, world.viewer, world.nobody):
        client.force_login(account)
        assert client.get(url).status_code == 404
        assert client.post(url, form("secretary")).status_code == 404
    assert not ApiToken.objects.exists()


# ---------------------------------------------------------------- revoking
def test_revoke_stops_the_token_and_keeps_it_listed(client, world, staff):
    token = ApiTokenFactory(user=world.secretary)
    api = client.__class__()
    assert api.get("/api/v1/orgs/", HTTP_AUTHORIZATION=f"Token {token.plaintext}").status_code == 200
    client.force_login(staff)
    assert client.get(revoke_url(token)).status_code == 405  # POST only
    response = client.post(revoke_url(token))
    assert response.status_code == 302 and response["Location"] == LIST
    token.refresh_from_db()
    assert token.state == "revoked" and token.revoked_by == staff and token.revoked_at is not None
    entry = AuditEntry.objects.get(action="api_token.revoke")
    assert entry.object_id == token.token_key and entry.actor == staff
    assert api.get("/api/v1/orgs/", HTTP_AUTHORIZATION=f"Token {token.plaintext}").status_code == 401
    listed = client.get(LIST)
    assert [t.state for t in listed.context["rows"]] == ["revoked"]
    # a second revoke is refused with a message, and changes nothing
    client.post(revoke_url(token))
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1
    with pytest.raises(DomainError):
        api_token_revoke(actor=staff, token=token)


def test_a_token_outside_the_scope_is_404_to_revoke(client, world, staff, food_secretary):
    elsewhere = ApiTokenFactory(user=food_secretary)
    above = ApiTokenFactory(user=world.viewer)
    client.force_login(staff)
    for token in (elsewhere, above):
        assert client.post(revoke_url(token)).status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None
        with pytest.raises(DomainError):
            api_token_revoke(actor=staff, token=token)
    assert client.post(reverse("orgs:api_token_revoke", args=["nosuchprefix000"])).status_code == 404


def test_a_token_whose_account_reaches_beyond_the_scope_is_listed_but_not_revocable(client, world, staff):
    token = ApiTokenFactory(user=world.secretary)
    grant(world.secretary, world.br_f, Role.SECRETARY)
    client.force_login(staff)
    page = client.get(LIST).content.decode()
    assert token.token_key in page and revoke_url(token) not in page
    assert client.post(revoke_url(token)).status_code == 404
    # the root's district staff may
    api_token_revoke(actor=world.district_user, token=token)
    token.refresh_from_db()
    assert token.revoked_by == world.district_user


def test_the_system_actor_may_issue_and_revoke(world):
    token, plaintext = api_token_issue(actor=SYSTEM, user=world.viewer, name="大屏", scope="stats", expires_on=in_future(30))
    assert token.issued_by is None and hash_token(plaintext) == token.digest
    assert api_token_revoke(actor=SYSTEM, token=token).state == "revoked"
