"""Settings for every environment, chosen by environment variables.

Two shapes, named by PORTAL_ENV:

- embedded (the default; `make run`, the tests): SQLite in WAL mode unless DATABASE_URL says otherwise,
  Celery on kombu's filesystem transport, development keys when none are given, static files served
  straight from the source folders. DEBUG is off here too, so a visitor sees the portal's own 404/500
  pages; a developer may opt in with DJANGO_DEBUG=1.
- production (PORTAL_ENV=production; docker-compose.yml sets it): DEBUG is always off and the process
  refuses to start without strong SECRET_KEY, FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY (never the
  development ones) and without an explicit ALLOWED_HOSTS (no "*"). See README.md.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Before PORTAL_ENV, DJANGO_DEBUG=0 was the production switch: an old .env that says only that stays strict.
_legacy_production = os.environ.get("DJANGO_DEBUG", "").strip().lower() in {"0", "false", "no", "off"}
PORTAL_ENV = os.environ.get("PORTAL_ENV", "").strip().lower() or ("production" if _legacy_production else "embedded")
if PORTAL_ENV not in {"embedded", "production"}:
    raise ImproperlyConfigured(f"PORTAL_ENV must be 'embedded' or 'production', not {PORTAL_ENV!r}")
PRODUCTION = PORTAL_ENV == "production"

# The development keys: accepted only in the embedded shape (refused by the production checks below).
DEV_SECRET_KEY = "embedded-development-only-secret-key-not-for-production-use"  # noqa: S105 - embedded only
DEV_FIELD_ENCRYPTION_KEY = "ZW1iZWRkZWQtZGV2LW9ubHkta2V5LWZvci1wb3J0YWw="
DEV_BLIND_INDEX_KEY = "embedded-dev-only-blind-index-key"
SECRET_KEY_MIN_LENGTH = 50
BLIND_INDEX_KEY_MIN_LENGTH = 32


def production_problems(*, debug: bool, secret_key: str, blind_index_key: str, field_keys: list[str],
                        allowed_hosts: list[str], allowed_hosts_set: bool) -> list[str]:
    """Why these values must not serve production (empty when they may)."""
    from cryptography.fernet import Fernet

    problems = []
    if debug:
        problems.append("DJANGO_DEBUG must be off (the technical error pages list settings and code)")
    if not secret_key:
        problems.append("SECRET_KEY is not set")
    elif secret_key == DEV_SECRET_KEY or secret_key.startswith("django-insecure-") or "CHANGE_ME" in secret_key:
        problems.append("SECRET_KEY is a development or placeholder value")
    elif len(secret_key) < SECRET_KEY_MIN_LENGTH or len(set(secret_key)) < 5:
        problems.append(f"SECRET_KEY is too weak (at least {SECRET_KEY_MIN_LENGTH} random characters)")
    if not blind_index_key:
        problems.append("BLIND_INDEX_KEY is not set")
    elif blind_index_key == DEV_BLIND_INDEX_KEY or "CHANGE_ME" in blind_index_key:
        problems.append("BLIND_INDEX_KEY is a development or placeholder value")
    elif len(blind_index_key) < BLIND_INDEX_KEY_MIN_LENGTH or len(set(blind_index_key)) < 5:
        problems.append(f"BLIND_INDEX_KEY is too weak (at least {BLIND_INDEX_KEY_MIN_LENGTH} random characters)")
    elif blind_index_key == secret_key:
        problems.append("BLIND_INDEX_KEY must differ from SECRET_KEY")
    if not field_keys:
        problems.append("FIELD_ENCRYPTION_KEYS is not set")
    for number, key in enumerate(field_keys, start=1):
        if key == DEV_FIELD_ENCRYPTION_KEY:
            problems.append(f"FIELD_ENCRYPTION_KEYS entry {number} is the development key")
            continue
        try:
            Fernet(key.encode())
        except ValueError:
            problems.append(f"FIELD_ENCRYPTION_KEYS entry {number} is not a Fernet key (32 url-safe base64-encoded bytes)")
    if not allowed_hosts_set or not allowed_hosts:
        problems.append("ALLOWED_HOSTS is not set (the host names the portal is reached by)")
    elif any(host == "*" for host in allowed_hosts):
        problems.append("ALLOWED_HOSTS must not contain '*' (list the host names)")
    return problems


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Comma-separated Fernet keys, newest first; older keys still decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1],testserver")
if PRODUCTION:
    _problems = production_problems(
        debug=DEBUG, secret_key=SECRET_KEY, blind_index_key=BLIND_INDEX_KEY, field_keys=FIELD_ENCRYPTION_KEYS,
        allowed_hosts=ALLOWED_HOSTS, allowed_hosts_set="ALLOWED_HOSTS" in os.environ,
    )
    if _problems:
        raise ImproperlyConfigured(
            "PORTAL_ENV=production refuses to start:\n  - " + "\n  - ".join(_problems)
            + "\n(generate keys as shown in .env.example; for a development machine leave PORTAL_ENV unset)"
        )
else:
    # Embedded development keys (never used in production: refused above).
    SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY
    FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [DEV_FIELD_ENCRYPTION_KEY]
    BLIND_INDEX_KEY = BLIND_INDEX_KEY or DEV_BLIND_INDEX_KEY

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.forms",  # the built-in widget templates, for FORM_RENDERER below
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",  # its token model's code (core.models.ApiToken); its own model is swapped out and its migrations unused
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "treebeard",
    "axes",
    "csp",
    # Our apps, in layer order (each imports only those above it in this list; tests/test_architecture.py).
    "core",  # label "portal": see core/apps.py
    "orgs",
    "members",
    "activities",
    "services",
    "coverage",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.SessionLifetimeMiddleware",
    "core.middleware.AdminSuperuserOnlyMiddleware",
    "core.audit.AuditContextMiddleware",
    # Last, as django-axes asks: turns a lockout flagged during authentication into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.navigation.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite (WAL) by default; PostgreSQL with DATABASE_URL=postgres://...
_default_sqlite = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_sqlite),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web process read while the worker writes.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses locked-out logins before any backend checks a password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Widgets render with the project's templates too (core.forms.SearchSelect: templates/core/widgets/).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Sessions and cookies (ASVS 3.x) ---------------------------------------
# Idle timeout 30 min (the cookie is renewed on every request); absolute 12 h in SessionLifetimeMiddleware.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_SECONDS = int(os.environ.get("SESSION_ABSOLUTE_SECONDS", str(12 * 3600)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Intranet deployments often run plain HTTP behind a gateway; HTTPS is opt-in.
_https = env_bool("PORTAL_HTTPS", False)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and env_bool("PORTAL_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("PORTAL_HSTS_SECONDS", "31536000" if _https else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = False
if env_bool("PORTAL_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Public pages count abuse limits per client address. Behind N trusted reverse proxies the client is
# the Nth entry from the right of X-Forwarded-For; with 0 (no proxy) REMOTE_ADDR is used and the header
# is ignored, so a client cannot forge its address.
PORTAL_TRUSTED_PROXY_COUNT = int(os.environ.get("PORTAL_TRUSTED_PROXY_COUNT", "0"))

# --- Login lockout (django-axes), for the portal's login page and admin's ----------------------------------
# Locked per account and, separately, per client address after rule login_failure_limit failures, for rule
# login_lockout_minutes (each further failure while locked restarts the period); a success clears the count.
# Superusers unlock early in admin (Axes: access attempts) or with `manage.py axes_reset`.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = "core.http.login_failure_limit"
AXES_COOLOFF_TIME = "core.http.login_lockout_period"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.http.login_client_address"
AXES_LOCKOUT_CALLABLE = "core.views.auth.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# No row per successful login (it would keep every user's addresses forever); failure rows expire with the lock.
AXES_DISABLE_ACCESS_LOG = True
# Keep the request bodies out of the attempt rows (only the username, address and time are needed).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "csrfmiddlewaretoken"]

# --- Content-Security-Policy (django-csp), enforced on every response ---------------------------------
# Only our own assets, no inline script or style (templates carry no <script> bodies, style="" or on*=;
# tests/portal/test_security_csp.py scans them). Views that serve uploaded files set their own, stricter
# policy ("default-src 'none'; sandbox"), which the middleware leaves alone.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

if not _https:
    # Plain-HTTP intranet: say so explicitly instead of failing `check --deploy` quietly.
    SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]

# --- Internationalization --------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# Our own assets in static/; third-party assets are installed by npm (package-lock.json)
# into node_modules/ and served from their dist folders, never from a CDN.
_npm = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", _npm / "bootstrap" / "dist"),
    ("vendor/htmx", _npm / "htmx.org" / "dist"),
    ("vendor/echarts", _npm / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if not PRODUCTION:
    # Embedded: runserver does not serve static files (whitenoise.runserver_nostatic, and DEBUG is off), so
    # WhiteNoise serves them straight from the finders (static/ and node_modules), re-read on change: no
    # collectstatic step. Production serves the collected, hashed files (the image runs collectstatic).
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
# Uploaded files are private: outside the static path, served only by scope-checked views.
MEDIA_ROOT = Path(os.environ.get("PORTAL_MEDIA_ROOT", VAR_DIR / "private-media"))
MEDIA_URL = "/media-not-served/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Personal-data encryption ---------------------------------------------
# FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY are read and checked at the top of this module.

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    # The token first: its "Token" challenge makes a request without credentials a 401 (WWW-Authenticate: Token).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Per token (else per account, else per client address); a 429 carries Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.TokenRateThrottle"],
    # per token (else per account, else per address); API_THROTTLE_RATE raises it for a contract test run
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("API_THROTTLE_RATE", "600/min"), "api_anon": "60/min"},
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PortalCursorPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],  # no browsable API (inline scripts, CSP)
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.PortalAutoSchema",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "URL_FORMAT_OVERRIDE": "format",  # ?format=csv on the statistics endpoints
}

# API tokens: django-rest-knox's hashed token model, as core.models.ApiToken (core/api/auth.py authenticates).
# No TTL here: the issuing action (orgs.actions.tokens) sets each token's expiry (at most one year); no refresh.
KNOX_TOKEN_MODEL = "portal.ApiToken"  # noqa: S105 - a model label, not a secret
REST_KNOX = {"TOKEN_TTL": None, "AUTO_REFRESH": False, "AUTH_HEADER_PREFIX": "Token", "TOKEN_LIMIT_PER_USER": None}
# knox's own migrations would create its swapped-out AuthToken's table (they do not mark it swappable): skip them.
MIGRATION_MODULES = {"knox": None}

# OpenAPI 3 from the code (drf-spectacular); Swagger UI and Redoc from the sidecar package: no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "新就业群体党建工作平台 API",
    "DESCRIPTION": (
        "Coverage statistics and every resource of the portal, scoped by the caller's grants in the org tree. "
        "Authenticate with `Authorization: Token <token>` (tokens are issued by district staff at /api-tokens/). "
        "Errors: `{code, message, fields}`; out of scope is 404. Statistics: JSON or CSV (`?format=csv`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SnapshotKindEnum": "coverage.models.SnapshotKind",
        "SnapshotStatusEnum": "coverage.models.SnapshotStatus",
        "ServicePointKindEnum": "services.models.PointKind",
        "ServicePointStatusEnum": "services.models.PointStatus",
        "ServiceRequestStatusEnum": "services.models.RequestStatus",
        "ActivityKindEnum": "activities.models.ActivityKind",
        "ActivityStatusEnum": "activities.models.ActivityStatus",
        "AttendanceStatusEnum": "activities.models.AttendanceStatus",
        "ActivityEventKindEnum": "activities.models.ActivityEventKind",
        "ComplianceStatusEnum": "activities.api.serializers.ComplianceStatus",
        "WorkplaceKindEnum": "orgs.models.WorkplaceKind",
        "OrgKindEnum": "orgs.models.OrgKind",
        "RoleEnum": "orgs.permissions.Role",
        "AssignmentRoleEnum": "orgs.models.AssignmentRole",
        "ReminderKindEnum": "notifications.models.ReminderKind",
        "StageEnum": "members.models.Stage",
        "TransferKindEnum": "members.models.TransferKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
    ],
}

# --- Celery -----------------------------------------------------------------
# Embedded: kombu's filesystem transport (a real worker, no server). Production: redis://
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
_celery_fs = VAR_DIR / "celery"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_celery_fs / "queue"),
        "data_folder_out": str(_celery_fs / "queue"),
        "processed_folder": str(_celery_fs / "processed"),
        "control_folder": str(_celery_fs / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": 3600, "socket_connect_timeout": 2}  # a publish fails fast when Redis is gone
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = False

# --- Cache -----------------------------------------------------------------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("REDIS_CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_CACHE_URL"]}}

# --- Logging (no personal data is ever passed to loggers) -------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

PORTAL_DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the documented demo password, used only by load_demo

# Task modules beyond each app's tasks.py (autodiscovery only imports <app>.tasks).
# In Asia/Shanghai (CELERY_TIMEZONE). Exactly one beat runs in production. Every task here is idempotent,
# so a missed or doubled beat tick is harmless.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "portal.heartbeat", "schedule": 60.0, "kwargs": {"name": "worker"}},
    "outbox-deliver": {"task": "portal.outbox_deliver", "schedule": 60.0, "options": {"expires": 55}},
    "transfers-expire": {"task": "members.transfers_expire", "schedule": crontab(hour=1, minute=5)},
    "reminders-daily": {"task": "portal.reminders_sweep_all", "schedule": crontab(hour=7, minute=30)},
    "snapshots-monthly": {"task": "portal.snapshots_monthly", "schedule": crontab(day_of_month=1, hour=2, minute=30)},
    "requests-escalate": {"task": "services.requests_escalate_overdue", "schedule": crontab(minute="*/15")},
    "requests-autoclose": {"task": "services.requests_autoclose_resolved", "schedule": crontab(hour=3, minute=10)},
    "public-hits-purge": {"task": "services.public_hits_purge", "schedule": crontab(minute=20)},
    "reach-refresh": {"task": "services.reach_refresh", "schedule": crontab(hour=2, minute=10)},
    "uploads-purge": {"task": "members.uploads_purge", "schedule": crontab(hour=3, minute=40)},
}

# --- Email (reminders) --------------------------------------------------------
# Embedded: messages are written as files under var/mail (nothing leaves the machine). Production: SMTP on
# the intranet, configured by EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD / EMAIL_USE_TLS.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if os.environ.get("EMAIL_HOST") else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_TIMEOUT = 20
# The portal's address as users reach it, for the links in reminder e-mails (paths only when empty).
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "党建工作平台 <noreply@portal.invalid>")
