"""The generic API test cases' vocabulary (tests/api/test_every_endpoint.py), in the spirit of NetBox's API tests.

Every route under /api/v1/ is found from the URLconf. For a viewset on core.api.ScopedViewSet the harness derives
the read cases itself (401 without credentials, 403 for a role lacking `<resource>.view`, 404 for an object in
another district, the own object listed and retrieved, the same query count for a list at two data sizes) from
`tests/view_cases.py`'s builders. Writes need a payload: each app declares them in `tests/api/writes_<app>.py`
as `WRITES = {"api-<basename>": Write(...)}`; a viewset that accepts POST/PATCH/DELETE without a declared write
fails the matrix instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from tests.view_cases import Side


@dataclass
class Write:
    """How to exercise a viewset's writes for the generic cases.

    create(home) -> payload for POST on the collection creating an object inside `home` (201);
    create_away(home, away) -> a payload naming something in the other district (400 or 404, nothing created);
    update(home, obj) -> payload for PATCH on `obj` (an object built inside `home`) (200);
    destroy: DELETE of an object built inside `home` answers 204 (or the action's refusal, 400/409);
    grant_at: "committee" (default) or "root" (district-wide settings) or "branch" where the user's grant sits;
    role: the role to act as (default: the broadest role holding the write's permission).
    """

    create: Callable[[Side], dict] | None = None
    create_away: Callable[[Side, Side], dict] | None = None
    update: Callable[[Side, object], dict] | None = None
    destroy: bool = False
    role: str | None = None
    grant_at: str = "committee"
    notes: dict = field(default_factory=dict)


def all_writes() -> dict[str, Write]:
    found: dict[str, Write] = {}
    for path in sorted(Path(__file__).parent.glob("writes_*.py")):
        module = import_module(f"tests.api.{path.stem}")
        for name, write in getattr(module, "WRITES", {}).items():
            assert name not in found, f"{name} declared twice (tests/api/{path.name})"
            found[name] = write
    return found
