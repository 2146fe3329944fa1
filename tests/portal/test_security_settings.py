"""The two deployment shapes: production refuses weak or development keys and ALLOWED_HOSTS=*; the embedded
default (`make run`, no variables) runs with DEBUG off, so pages show the portal's own 404, never Django's
technical page that lists every URL pattern.

Each case starts Django in a fresh interpreter with only the variables it names (settings are read once,
at import), like a process manager starting the portal.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
# Variables the settings read: none may leak in from the shell that runs the tests.
SETTINGS_VARIABLES = {
    "PORTAL_ENV", "DJANGO_DEBUG", "SECRET_KEY", "BLIND_INDEX_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS",
    "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_CACHE_URL", "PORTAL_HTTPS", "EMAIL_HOST", "EMAIL_BACKEND",
}

STRONG = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "BLIND_INDEX_KEY": secrets.token_urlsafe(48),
    "FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
    "ALLOWED_HOSTS": "portal.example.internal,127.0.0.1",
}


def start_django(tmp_path, env: dict[str, str], code: str = "") -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    clean.update(DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_VAR_DIR=str(tmp_path), **env)
    script = "import django; django.setup()\n" + code
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_starts_with_strong_keys(tmp_path):
    result = start_django(tmp_path, STRONG, "from django.conf import settings; print(settings.DEBUG, settings.PORTAL_ENV)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "production"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": secrets.token_urlsafe(20)}, "SECRET_KEY is too weak"),
        ({"SECRET_KEY": "embedded-development-only-secret-key-not-for-production-use"}, "SECRET_KEY is a development"),
        ({"SECRET_KEY": "CHANGE_ME"}, "SECRET_KEY is a development or placeholder"),
        ({"BLIND_INDEX_KEY": secrets.token_urlsafe(16)}, "BLIND_INDEX_KEY is too weak"),
        ({"BLIND_INDEX_KEY": "embedded-dev-only-blind-index-key"}, "BLIND_INDEX_KEY is a development"),
        ({"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "FIELD_ENCRYPTION_KEYS entry 1 is not a Fernet key"),
        ({"FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},ZW1iZWRkZWQtZGV2LW9ubHkta2V5LWZvci1wb3J0YWw="},
         "FIELD_ENCRYPTION_KEYS entry 2 is the development key"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must not contain '*'"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
        ({"DJANGO_DEBUG": "1"}, "DJANGO_DEBUG must be off"),
    ],
    ids=lambda value: value if isinstance(value, str) else ",".join(value),
)
def test_production_refuses_to_start_with_a_weak_setting(tmp_path, change, reason):
    env = {**STRONG, **change}
    if "ALLOWED_HOSTS" in change and not change["ALLOWED_HOSTS"]:
        env.pop("ALLOWED_HOSTS")
    result = start_django(tmp_path, env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "PORTAL_ENV=production refuses to start" in result.stderr
    assert reason in result.stderr
    for value in change.values():  # the message names the problem, never the secret itself
        if len(value) > 12:
            assert value not in result.stderr.replace(reason, "")


def test_an_old_env_file_with_only_django_debug_0_is_still_production(tmp_path):
    result = start_django(tmp_path, {"DJANGO_DEBUG": "0"})
    assert result.returncode != 0 and "PORTAL_ENV=production refuses to start" in result.stderr


def test_embedded_default_is_not_debug_and_shows_the_portals_404(tmp_path):
    """`make run` on a fresh machine: no variables at all. An unknown URL answers with the portal's page."""
    code = (
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "response = Client().get('/no-such-page/')\n"
        "print(settings.DEBUG, settings.PORTAL_ENV, response.status_code)\n"
        "print(response.content.decode())\n"
    )
    result = start_django(tmp_path, {}, code)
    assert result.returncode == 0, result.stderr
    first, _, page = result.stdout.partition("\n")
    assert first.split() == ["False", "embedded", "404"]
    assert "页面不存在" in page
    assert "URLconf" not in page and "Using the URLconf" not in page


def test_embedded_shape_keeps_the_development_keys_and_serves_static_from_the_finders(tmp_path):
    code = (
        "from django.conf import settings\n"
        "print(bool(settings.SECRET_KEY), settings.BLIND_INDEX_KEY == 'embedded-dev-only-blind-index-key',"
        " settings.WHITENOISE_USE_FINDERS, 'Manifest' in settings.STORAGES['staticfiles']['BACKEND'])\n"
    )
    result = start_django(tmp_path, {}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "False"]
