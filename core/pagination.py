"""Keyset (cursor) pagination: a page is "the next N rows after this row" in a fixed, total ordering.

No OFFSET (deep pages cost what the first page costs) and no COUNT (one query per page). The cursor holds the
ordering values of the last row shown, signed so that a client cannot hand-craft one; a bad or stale cursor
starts again at the first page. The ordering must end with a unique, non-null field (the primary key), and
its fields must be non-null (NULL compares as unknown, which would skip rows).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q, QuerySet

_SALT = "core.pagination.keyset"


class _Encoder(DjangoJSONEncoder):
    """Exact values: DjangoJSONEncoder rounds times to the millisecond, and a rounded cursor would skip or repeat
    the rows that share that millisecond."""

    def default(self, o):
        if isinstance(o, (dt.datetime, dt.time)):
            return o.isoformat()
        return super().default(o)


class _Serializer:
    """signing.dumps takes a serializer class (not a JSON encoder): JSON through `_Encoder`."""

    def dumps(self, obj) -> bytes:
        return json.dumps(obj, separators=(",", ":"), cls=_Encoder).encode("latin-1")

    def loads(self, data: bytes):
        return json.loads(data.decode("latin-1"))


@dataclass
class KeysetPage:
    """One page: `object_list`, the cursor of the next page ("" on the last), whether this is the first."""

    object_list: list
    next_cursor: str = ""
    first: bool = True
    size: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def _split(ordering: tuple[str, ...]) -> list[tuple[str, bool]]:
    """[(field path, descending)], e.g. ("-created_at", "id") -> [("created_at", True), ("id", False)]."""
    return [(name.lstrip("-"), name.startswith("-")) for name in ordering]


def _value(obj, path: str):
    parts = path.split("__")
    for part in parts[:-1]:
        obj = getattr(obj, part)
    last = parts[-1]
    # a foreign key orders by its id: read the id, not the related object
    return getattr(obj, f"{last}_id") if hasattr(obj, f"{last}_id") else getattr(obj, last)


def _field(model, path: str):
    parts = path.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    # "pk" is an alias, not a field name (get_field refuses it): orderings end with it
    f = model._meta.pk if parts[-1] == "pk" else model._meta.get_field(parts[-1])
    return f.target_field if f.is_relation else f


def encode_cursor(obj, ordering: tuple[str, ...]) -> str:
    values = [_value(obj, path) for path, _desc in _split(ordering)]
    return signing.dumps(values, salt=_SALT, serializer=_Serializer, compress=True)


def decode_cursor(value: str, model, ordering: tuple[str, ...]) -> list | None:
    """The ordering values held by `value`, converted back to Python; None for anything else."""
    if not value or len(value) > 500:
        return None
    try:
        raw = signing.loads(value, salt=_SALT, serializer=_Serializer)
    except signing.BadSignature:
        return None
    keys = _split(ordering)
    if not isinstance(raw, list) or len(raw) != len(keys):
        return None
    try:
        return [_field(model, path).to_python(item) for (path, _desc), item in zip(keys, raw, strict=True)]
    except Exception:  # noqa: BLE001 - any value the field refuses is a bad cursor
        return None


def after_q(ordering: tuple[str, ...], values: list) -> Q:
    """Rows strictly after `values` in `ordering`: (a > x) | (a = x & b > y) | ... (flipped for descending)."""
    keys = _split(ordering)
    q = Q(pk__in=[])
    for i, (path, desc) in enumerate(keys):
        step = Q(**{f"{path}__{'lt' if desc else 'gt'}": values[i]})
        for j in range(i):
            step &= Q(**{keys[j][0]: values[j]})
        q |= step
    return q


def order_by(qs: QuerySet, ordering: tuple[str, ...]) -> QuerySet:
    return qs.order_by(*[F(p).desc() if d else F(p).asc() for p, d in _split(ordering)])


def keyset_page(qs: QuerySet, *, ordering: tuple[str, ...], cursor: str = "", size: int = 50) -> KeysetPage:
    """The page of `qs` after `cursor` (the first page when it is empty or invalid), in one query."""
    size = max(1, int(size))
    values = decode_cursor(cursor, qs.model, ordering) if cursor else None
    if values is not None:
        qs = qs.filter(after_q(ordering, values))
    rows = list(order_by(qs, ordering)[: size + 1])
    shown = rows[:size]
    next_cursor = encode_cursor(shown[-1], ordering) if len(rows) > size else ""
    return KeysetPage(object_list=shown, next_cursor=next_cursor, first=values is None, size=size)
