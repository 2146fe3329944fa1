"""API tokens (core.models.ApiToken, core.api.auth, core.api.throttling): hashed storage, who a token is, the
refusals (401 with the Token challenge), last use written once a minute or at a new address, audit attribution,
and the per-token limits (429 with Retry-After).

Most requests go to the tiny test-only views below (`pytest.mark.urls` on this module); the real, write-free
/api/v1/orgs/ shows a token seeing exactly its account's scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.auth import ApiTokenAuthentication
from core.api.throttling import TokenRateThrottle
from core.audit import SYSTEM, audit_record
from core.models import ApiToken, AuditEntry
from orgs.actions.tokens import api_token_issue
from tests.factories import ApiTokenFactory

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- test-only endpoints
class WhoAmI(APIView):
    """A read: who the request is, and whether its token is statistics-only."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return Response({"username": request.user.username, "token": token.token_key if token else None,
                         "stats_only": token.is_stats_only if token else None})


class Write(APIView):
    """A write, audited like an action's: its row must name the request's token."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        entry = audit_record(actor=request.user, action="test.write", object_type="test.thing", object_id="1")
        return Response({"entry": entry.pk}, status=201)


class Open(APIView):
    """Open to anonymous callers, so the anonymous rate applies."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/test/whoami/", WhoAmI.as_view()),
    path("api/v1/test/write/", Write.as_view()),
    path("api/v1/test/open/", Open.as_view()),
]
URLS = pytest.mark.urls(__name__)


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    """Throttle history lives in the cache: each test starts (and leaves) with none."""
    cache.clear()
    yield
    cache.clear()


def auth(token) -> dict:
    plaintext = token if isinstance(token, str) else token.plaintext
    return {"HTTP_AUTHORIZATION": f"Token {plaintext}"}


def rates(**values):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": values})


# ---------------------------------------------------------------- the model
def test_states_and_flags():
    now = timezone.now()
    active = ApiTokenFactory(expiry=now + dt.timedelta(hours=1))
    expired = ApiTokenFactory(expiry=now - dt.timedelta(seconds=1))
    revoked = ApiTokenFactory(revoked_at=now)
    stats = ApiTokenFactory(scope=ApiToken.Scope.STATS)
    assert [t.state for t in (active, expired, revoked)] == ["active", "expired", "revoked"]
    assert (active.is_active_now, expired.is_active_now, revoked.is_active_now) == (True, False, False)
    assert stats.is_stats_only and not active.is_stats_only
    assert active.get_state_display() == "有效" and expired.get_state_display() == "已过期"
    assert active.digest not in str(active) and active.token_key in str(active)


def test_the_token_is_stored_hashed_and_only_its_prefix_is_kept(world):
    """Issue a token through the action, then read every column of every table: the token appears nowhere; the
    row holds knox's SHA-512 digest and the 15-character prefix."""
    token, plaintext = api_token_issue(actor=SYSTEM, user=world.secretary, name="驾驶舱", scope=ApiToken.Scope.FULL,
                                       expires_on=timezone.localdate() + dt.timedelta(days=30))
    assert len(plaintext) == 64
    token.refresh_from_db()
    assert token.digest == hash_token(plaintext) and token.token_key == plaintext[:15]
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [col.name for col in connection.introspection.get_table_description(cursor, table)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608 (introspected names)
            for row in cursor.fetchall():
                found += [(table, column) for column, value in zip(columns, row, strict=True) if plaintext in str(value)]
    assert found == []
    # knox's own model is swapped out, and its migrations are not run: no unused table
    assert "knox_authtoken" not in connection.introspection.table_names()


def test_a_token_without_expiry_is_refused_by_the_database():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ApiTokenFactory(expiry=None)


# ---------------------------------------------------------------- authentication
@URLS
def test_a_token_authenticates_as_its_account(client, world):
    token = ApiTokenFactory(user=world.secretary, scope=ApiToken.Scope.STATS)
    response = client.get("/api/v1/test/whoami/", **auth(token))
    assert response.status_code == 200
    assert response.json() == {"username": world.secretary.username, "token": token.token_key, "stats_only": True}


@URLS
def test_without_credentials_the_answer_is_401_with_the_token_challenge(client):
    response = client.get("/api/v1/test/whoami/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


@URLS
@pytest.mark.parametrize("case", ["unknown", "expired", "revoked", "inactive", "bare", "spaces", "not_ascii"])
def test_refused_tokens_are_401_and_kept(client, world, case):
    token = ApiTokenFactory(user=world.secretary)
    header = f"Token {token.plaintext}"
    expected = "令牌无效。"
    if case == "unknown":
        header = f"Token {token.plaintext[:15]}{'0' * 49}"  # the right prefix, the wrong rest
    elif case == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
        expected = "令牌已过期。"
    elif case == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        expected = "令牌已撤销。"
    elif case == "inactive":
        type(world.secretary).objects.filter(pk=world.secretary.pk).update(is_active=False)
        expected = "令牌所属账号已停用。"
    elif case == "bare":
        header, expected = "Token", "令牌格式错误：未提供令牌。"
    elif case == "spaces":
        header, expected = f"Token {token.plaintext} extra", "令牌格式错误：令牌中不能含有空格。"
    elif case == "not_ascii":
        header = "Token 令牌"
    response = client.get("/api/v1/test/whoami/", HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["message"] == expected
    assert ApiToken.objects.filter(pk=token.pk).exists()  # never deleted (knox deletes expired ones)
    assert not AuditEntry.objects.filter(action="api_token.use").exists()
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None


@URLS
def test_a_session_still_authenticates_the_api(client, world):
    client.force_login(world.secretary)
    assert client.get("/api/v1/test/whoami/").json()["token"] is None


def test_the_real_api_answers_a_token_within_its_accounts_scope(client, world):
    """/api/v1/orgs/ (write-free): the secretary's token sees the secretary's subtree only."""
    token = ApiTokenFactory(user=world.secretary)
    assert client.get("/api/v1/orgs/").status_code == 401
    response = client.get("/api/v1/orgs/", **auth(token))
    assert response.status_code == 200
    names = {org["name"] for org in response.json()["results"]}
    assert names and world.jb.name in names and world.br_f.name not in names and world.root.name not in names


def test_authenticate_header_is_the_token_keyword():
    assert ApiTokenAuthentication().authenticate_header(None) == "Token"


# ---------------------------------------------------------------- last use and audit attribution
@URLS
def test_last_use_is_written_once_a_minute_and_at_each_new_address(client, world):
    token = ApiTokenFactory(user=world.secretary)
    uses = AuditEntry.objects.filter(action="api_token.use")

    assert client.get("/api/v1/test/whoami/", REMOTE_ADDR="10.0.0.1", **auth(token)).status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and token.last_used_address == "10.0.0.1"
    entry = uses.get()
    assert (entry.actor_id, entry.token_key, entry.object_id) == (world.secretary.pk, token.token_key, token.token_key)
    assert entry.changes == {"path": "/api/v1/test/whoami/", "method": "GET"} and entry.address == "10.0.0.1"

    # within the minute, same address: nothing written
    assert client.get("/api/v1/test/whoami/", REMOTE_ADDR="10.0.0.1", **auth(token)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first and uses.count() == 1

    # a new address: written at once
    assert client.get("/api/v1/test/whoami/", REMOTE_ADDR="10.0.0.2", **auth(token)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_address == "10.0.0.2" and uses.count() == 2

    # a minute later, same address: written again
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(seconds=61))
    assert client.get("/api/v1/test/whoami/", REMOTE_ADDR="10.0.0.2", **auth(token)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first and uses.count() == 3


@URLS
def test_the_last_use_is_one_conditional_update(client, world):
    """No read-modify-write: the condition sits in the UPDATE, so of two requests at once only one writes."""
    token = ApiTokenFactory(user=world.secretary)
    for _request in range(2):  # the second, within the minute from the same address, matches no row
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/test/whoami/", REMOTE_ADDR="10.0.0.9", **auth(token)).status_code == 200
        sql = [q["sql"] for q in queries.captured_queries if "portal_apitoken" in q["sql"]]
        updates = [s for s in sql if s.startswith("UPDATE")]
        assert len(updates) == 1 and "last_used_at" in updates[0]
        assert not any("FOR UPDATE" in s for s in sql)
    assert ApiToken.objects.filter(pk=token.pk, last_used_address="10.0.0.9").exists()
    assert AuditEntry.objects.filter(action="api_token.use").count() == 1


@URLS
def test_every_write_made_with_a_token_names_it_in_the_audit_log(client, world):
    token = ApiTokenFactory(user=world.secretary)
    response = client.post("/api/v1/test/write/", **auth(token))
    assert response.status_code == 201
    entry = AuditEntry.objects.get(pk=response.json()["entry"])
    assert (entry.action, entry.actor_id, entry.token_key) == ("test.write", world.secretary.pk, token.token_key)

    # the same write through a session names no token, and nothing carries over past the request
    client.force_login(world.secretary)
    session_entry = AuditEntry.objects.get(pk=client.post("/api/v1/test/write/").json()["entry"])
    assert session_entry.token_key == ""
    assert audit_record(actor=SYSTEM, action="test.after", object_type="test.thing").token_key == ""


# ---------------------------------------------------------------- throttling
@URLS
def test_over_the_limit_a_token_gets_429_with_retry_after(client, world):
    one, other = ApiTokenFactory(user=world.secretary), ApiTokenFactory(user=world.secretary)
    with rates(api="2/min", api_anon="1/min"):
        assert [client.get("/api/v1/test/whoami/", **auth(one)).status_code for _ in range(2)] == [200, 200]
        refused = client.get("/api/v1/test/whoami/", **auth(one))
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 60
        assert refused.json()["code"] == "throttled"
        # the budget is per token: the same account's other token, and its session, still pass
        assert client.get("/api/v1/test/whoami/", **auth(other)).status_code == 200
        client.force_login(world.secretary)
        assert client.get("/api/v1/test/whoami/").status_code == 200


@URLS
def test_anonymous_callers_have_the_tighter_rate_per_address(client):
    with rates(api="5/min", api_anon="1/min"):
        assert client.get("/api/v1/test/open/", REMOTE_ADDR="10.1.1.1").status_code == 200
        refused = client.get("/api/v1/test/open/", REMOTE_ADDR="10.1.1.1")
        assert refused.status_code == 429 and "Retry-After" in refused
        assert client.get("/api/v1/test/open/", REMOTE_ADDR="10.1.1.2").status_code == 200


@URLS
def test_the_rate_follows_the_settings(client, world):
    token = ApiTokenFactory(user=world.secretary)
    with rates(api="1/min", api_anon="1/min"):
        assert client.get("/api/v1/test/whoami/", **auth(token)).status_code == 200
        assert client.get("/api/v1/test/whoami/", **auth(token)).status_code == 429
    cache.clear()
    with rates(api="3/min", api_anon="1/min"):
        assert [client.get("/api/v1/test/whoami/", **auth(token)).status_code for _ in range(3)] == [200] * 3


def test_the_default_rates_and_classes_are_configured():
    framework = settings.REST_FRAMEWORK
    assert framework["DEFAULT_AUTHENTICATION_CLASSES"][0] == "core.api.auth.ApiTokenAuthentication"
    assert "core.api.throttling.TokenRateThrottle" in framework["DEFAULT_THROTTLE_CLASSES"]
    assert set(framework["DEFAULT_THROTTLE_RATES"]) >= {"api", "api_anon"}
    throttle = TokenRateThrottle()
    assert throttle.parse_rate(framework["DEFAULT_THROTTLE_RATES"]["api"])[0] > throttle.parse_rate(
        framework["DEFAULT_THROTTLE_RATES"]["api_anon"])[0]
