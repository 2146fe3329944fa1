from pathlib import Path

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The foundation: users, rule rows, crypto, exceptions, xlsx, the task decorator, the outbox, generic views.

    The label stays "portal": the models here (User, Rule, WorkerHeartbeat, OutboxMessage) kept the tables and
    the migration history they had when the foundation lived in the project package (before step 7), so no
    database and no AUTH_USER_MODEL ("portal.User") changed. Python code imports `core`; only labels say
    "portal" (migrations, content types, AUTH_USER_MODEL)."""

    name = "core"
    label = "portal"
    verbose_name = "基础"

    def ready(self) -> None:
        from django.conf import settings

        from core.broker import ensure_filesystem_broker_dirs

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        # whitenoise warns at start-up when STATIC_ROOT is missing (before the first collectstatic)
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        ensure_filesystem_broker_dirs()
        import core.api.schema  # noqa: F401 - registers the token scheme with drf-spectacular
