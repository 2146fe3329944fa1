"""The permission policy the foundation asks, installed by the layer that knows grants (orgs).

core sits below orgs, so the generic views cannot import orgs.scoping; orgs installs its `has_perm`
here when it loads (orgs/apps.py). Until then (and for a bare foundation) nobody may do anything: an
unconfigured policy never means "allowed". Querysets are scoped by their own `restrict(user, action)`
method (orgs.scoping.ScopedQuerySet), which the generic views call by duck typing.
"""

from __future__ import annotations

from collections.abc import Callable

Policy = Callable[[object, str], bool]


def _deny(user, perm: str) -> bool:
    return False


_policy: dict[str, Policy] = {"has_perm": _deny}


def install_policy(*, has_perm: Policy) -> None:
    _policy["has_perm"] = has_perm


def has_perm(user, perm: str) -> bool:
    """May `user` do `perm` somewhere (a grant allowing it at some node)? The menu's and pages' gate."""
    return bool(_policy["has_perm"](user, perm))
