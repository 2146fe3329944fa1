"""The one audit log: `audit_record` (called by every write action, inside its transaction) and the request
context it reads the address from.

`AuditContextMiddleware` puts the request's client address (core.http.client_address, the trusted-proxy
rule) in a context variable for the length of the request; background work has none (address "").
A request authenticated with an API token (core.api.auth) also binds the token's prefix (`bind_api_token`), so
every row its actions write names the token (`AuditEntry.token_key`); the middleware clears it per request.
Actions pass the actor explicitly; a task passes `core.audit.SYSTEM` (see `actor_label`).

Masking: a value is never copied for a field whose name ends with `_encrypted` or `_index`, nor for the
names in `PERSONAL_FIELDS` (shown as a mask), so the log cannot leak what the registry protects.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
from collections.abc import Iterable
from typing import Any

from django.db import models

from core.http import client_address

_address: contextvars.ContextVar[str] = contextvars.ContextVar("audit_address", default="")
_token_key: contextvars.ContextVar[str] = contextvars.ContextVar("audit_token_key", default="")

PERSONAL_FIELDS = frozenset({"id_number", "phone", "requester_phone", "password"})
MASK = "***"


class _System:
    """The explicit actor of background work (beat tasks, sweeps, the demo loader, data fixes): it may do
    what a superuser may, is never a user row (pk None: foreign keys to the actor stay empty, see `user_or_none`)
    and is written as "system" in the audit log. `actor=None` is never accepted in its place."""

    pk = None
    id = None
    is_authenticated = True
    is_active = True
    is_superuser = True
    is_staff = False
    username = "system"
    display_name = "system"

    def has_perm(self, perm, obj=None) -> bool:
        return True

    def __str__(self) -> str:
        return "system"

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


def user_or_none(actor):
    """The actor as a value for a foreign key to User: the user, or None for SYSTEM."""
    return None if actor is None or actor is SYSTEM else actor


def require_actor(actor) -> None:
    """Actions call this first: a missing actor is a programming error, never "allowed"."""
    if actor is None:
        raise ValueError("this action needs an actor (a user, or core.audit.SYSTEM for background work)")


def bind_api_token(token_key: str) -> None:
    """The current request is authenticated with the API token of this prefix: name it in every audit row the
    request writes. Called by the token authentication; AuditContextMiddleware clears it after the request."""
    _token_key.set(token_key or "")


def current_token_key() -> str:
    return _token_key.get()


class AuditContextMiddleware:
    """Remember the client address of the current request (and, once authenticated, its API token) for the audit
    rows its actions write. Both start empty for each request, so a token never outlives its request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        address = _address.set(client_address(request))
        token_key = _token_key.set("")
        try:
            return self.get_response(request)
        finally:
            _token_key.reset(token_key)
            _address.reset(address)


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a field value (model instances by pk, dates ISO, decimals as strings)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _hidden(name: str) -> bool:
    return name.endswith("_encrypted") or name.endswith("_index")


def field_values(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The concrete field values of `obj` (FKs by id), for a before/after comparison. Hidden fields left out."""
    names = fields if fields is not None else [f.attname for f in obj._meta.concrete_fields]
    return {name: _plain(getattr(obj, name, None)) for name in names if not _hidden(name)}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [before, after]} for the fields that changed; personal fields masked."""
    changed = {}
    for name in sorted(set(before) | set(after)):
        if _hidden(name):
            continue
        old, new = before.get(name), after.get(name)
        if old != new:
            changed[name] = [MASK, MASK] if name in PERSONAL_FIELDS else [old, new]
    return changed


def actor_label(actor) -> str:
    if actor is None:
        return ""
    if actor is SYSTEM:
        return "system"
    return (getattr(actor, "display_name", "") or getattr(actor, "username", "") or str(actor))[:150]


def audit_record(*, actor, action: str, obj: models.Model | None = None, changes: dict | None = None, org=None,
                 object_type: str = "", object_id: str = "", object_repr: str = "", org_path: str = ""):
    """Write one audit row in the caller's transaction. `actor` is a user or SYSTEM (None is refused: a write
    without an actor is a bug). `org` (anything with a `path`) places the row in the tree for the subtree
    filter; by default the object's own org (`obj.org`), or the object itself when it is an org; `org_path`
    gives the path itself (for objects of the foundation, which knows no orgs). The request's API token, if
    any, is recorded as `token_key`."""
    from core.models import AuditEntry

    if actor is None:
        raise ValueError("audit_record needs an actor (a user, or core.audit.SYSTEM for background work)")
    if org is None and obj is not None:
        org = obj if hasattr(obj, "path") and hasattr(obj, "depth") else getattr(obj, "org", None)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk or "")
        object_repr = object_repr or str(obj)
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        address=_address.get(),
        action=action[:60],
        object_type=object_type[:60],
        object_id=str(object_id)[:40],
        object_repr=str(object_repr)[:200],
        org_path=(getattr(org, "path", "") or org_path or "")[:255],
        changes=_plain(changes or {}),
        token_key=_token_key.get()[:16],
    )
