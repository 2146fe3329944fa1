"""The portal's own error pages: 404 for unknown URLs and out-of-scope objects, a friendly 500 for a failing view.

The embedded default's DEBUG setting itself is tested in test_security_settings.py (a fresh process); here
DEBUG is pinned off the way both shapes run.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def test_unknown_url_shows_the_portals_404_page(client, world):
    client.force_login(world.district_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page and "返回覆盖概览" in page
    assert "URLconf" not in page and "urlpatterns" not in page.lower()
    assert "Content-Security-Policy" in response.headers


def test_out_of_scope_object_shows_the_same_404_page(client, world):
    client.force_login(world.secretary)  # secretary of the joint branch: the food committee is out of scope
    response = client.get(reverse("coverage:org_detail", args=[world.food.pk]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page and "不在您的管理范围内" in page
    assert world.food.name not in page


def test_a_failing_view_shows_the_friendly_500_page(world, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("selector exploded with secret details")

    monkeypatch.setattr("coverage.views.home.org_selectors.org_scope_roots", broken)
    client = Client(raise_request_exception=False)
    client.force_login(world.district_user)
    response = client.get(reverse("home"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "系统暂时出现问题" in page and "请稍后重试" in page
    assert "Traceback" not in page and "secret details" not in page and "RuntimeError" not in page
    assert 'style="' not in page  # the page keeps to the Content-Security-Policy
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "/static/css/portal.css" in page
