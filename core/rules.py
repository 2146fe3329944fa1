"""Reading rule rows (DOMAIN.md *rule rows*). Seeded by data migrations; edited by district staff."""

from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured

from core.models import Rule


def rule_values(*keys: str) -> dict[str, Decimal]:
    """Current values for `keys`, in one query."""
    found = dict(Rule.objects.filter(key__in=keys).values_list("key", "value"))
    missing = [key for key in keys if key not in found]
    if missing:
        raise ImproperlyConfigured(f"Rule rows missing: {', '.join(missing)} (run migrate)")
    return found


def rule_int(key: str) -> int:
    return int(rule_values(key)[key])
