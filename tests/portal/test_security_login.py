"""Brute-force protection (django-axes): the login page and admin's lock an account, and separately a client
address, after rule login_failure_limit failures, for rule login_lockout_minutes, with a clear message."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, set_rule
from tests.factories import UserFactory as _UserFactory

pytestmark = pytest.mark.django_db

LOCKED = re.compile(r"登录失败次数过多，账号已锁定，请在 (\d+) 分钟后再试（(\d\d):(\d\d) 解锁）")


WRONG = "wrong-password-123"


def attempt(client, username, password=WRONG, *, address="10.0.0.1", url=None, **extra):
    return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Every attempt checks a password: a cheap hasher keeps these tests quick (the lock logic is the same).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def UserFactory(**kwargs):  # noqa: N802 - reads like the factory it wraps
    return _UserFactory(password=make_password(PASSWORD), **kwargs)


@pytest.fixture
def user(db):
    return UserFactory(username="zhangsan")


def test_account_locked_after_the_rule_number_of_failures_with_minutes_and_unlock_time(client, user):
    for _ in range(4):
        response = attempt(client, "zhangsan")
        assert response.status_code == 200 and not LOCKED.search(response.content.decode())
    before = timezone.localtime()
    response = attempt(client, "zhangsan")  # the 5th failure locks
    after = timezone.localtime()
    assert response.status_code == 429
    found = LOCKED.search(response.content.decode())
    assert found, response.content.decode()
    assert found.group(1) == "15"
    unlock = (int(found.group(2)), int(found.group(3)))
    candidates = {((before + dt.timedelta(minutes=15)).hour, (before + dt.timedelta(minutes=15)).minute),
                  ((after + dt.timedelta(minutes=15)).hour, (after + dt.timedelta(minutes=15)).minute)}
    assert unlock in candidates
    assert 'name="username"' in response.content.decode()  # the login page itself, not a bare text
    assert response["Retry-After"] == str(15 * 60)

    # even the right password is refused while locked
    response = attempt(client, "zhangsan", PASSWORD)
    assert response.status_code == 429 and LOCKED.search(response.content.decode())
    assert not signed_in(client)


def test_limit_and_lock_time_come_from_the_rule_rows(client, user):
    set_rule("login_failure_limit", 3)
    set_rule("login_lockout_minutes", 30)
    attempt(client, "zhangsan")
    attempt(client, "zhangsan")
    response = attempt(client, "zhangsan")
    assert response.status_code == 429
    assert LOCKED.search(response.content.decode()).group(1) == "30"


def test_account_lock_holds_from_another_address(client, user):
    for number in range(5):
        attempt(client, "zhangsan", address=f"10.0.1.{number}")
    response = attempt(client, "zhangsan", PASSWORD, address="10.0.9.9")
    assert response.status_code == 429 and not signed_in(client)


def test_address_lock_holds_for_another_account_but_not_for_another_address(client, user):
    other = UserFactory(username="lisi")
    for number in range(5):  # one failure each for five made-up names, all from one address
        attempt(client, f"guess{number}", address="10.0.2.2")
    response = attempt(client, other.username, PASSWORD, address="10.0.2.2")
    assert response.status_code == 429 and not signed_in(client)

    response = attempt(client, other.username, PASSWORD, address="10.0.3.3")
    assert response.status_code == 302 and signed_in(client)


def test_a_success_clears_the_failures(client, user):
    for _ in range(4):
        attempt(client, "zhangsan")
    assert attempt(client, "zhangsan", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert attempt(client, "zhangsan").status_code == 200
    assert attempt(client, "zhangsan", PASSWORD).status_code == 302


def test_lock_ends_after_the_lock_time(client, user):
    for _ in range(5):
        attempt(client, "zhangsan")
    assert attempt(client, "zhangsan", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert attempt(client, "zhangsan", PASSWORD).status_code == 302


def test_admin_login_is_covered_too(client):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    url = reverse("admin:login")
    for _ in range(5):
        attempt(client, "root", url=url)
    response = attempt(client, "root", PASSWORD, url=url)
    assert response.status_code == 429
    assert LOCKED.search(response.content.decode())
    assert not signed_in(client)


def test_behind_a_trusted_proxy_the_forwarded_address_is_locked(client, user, settings):
    """The address is the one services/throttle.py trusts (core.http.client_address), not the proxy's."""
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    other = UserFactory(username="lisi")
    for number in range(5):
        attempt(client, f"guess{number}", address="192.168.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert AccessAttempt.objects.filter(ip_address="1.2.3.4").count() == 5
    # another client behind the same proxy is not locked
    response = attempt(client, other.username, PASSWORD, address="192.168.0.1", HTTP_X_FORWARDED_FOR="5.6.7.8")
    assert response.status_code == 302


def test_client_login_in_tests_passes_a_request(client, user):
    """django-axes needs the request to check a lock; Client.login passes none unless given one."""
    assert client.login(request=HttpRequest(), username="zhangsan", password=PASSWORD)


def test_login_address_for_axes_is_an_ip_or_none():
    from django.test import RequestFactory

    from core.http import login_client_address

    request = RequestFactory().get("/")
    assert login_client_address(request) == "127.0.0.1"
    del request.META["REMOTE_ADDR"]
    assert login_client_address(request) is None
    request.META["REMOTE_ADDR"] = "not-an-address"
    assert login_client_address(request) is None
