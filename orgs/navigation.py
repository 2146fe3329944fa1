"""Menu context from the role grants: the user's roles and which menu entries to show (no extra query:
grants are cached on the user)."""

from core.navigation import optional_url, register_context
from orgs.models import Role
from orgs.scoping import has_perm, user_roles


@register_context
def role_menu(request) -> dict:
    user = request.user
    labels = dict(Role.choices)
    return {
        "nav_roles": [str(labels[r]) for r in Role.values if r in user_roles(user)],
        "nav_can": {"members": has_perm(user, "member.view"), "transfers": has_perm(user, "transfer.view"),
                    "activities": has_perm(user, "activity.view"),
                    "service_requests": has_perm(user, "service_request.view"),
                    "service_points": has_perm(user, "service_point.view"),
                    "reminder_rules": has_perm(user, "reminder_rule.view"),
                    "rules": has_perm(user, "rule.view"),
                    "audit": has_perm(user, "audit.view"),
                    "users": has_perm(user, "user.view")},
        "nav_snapshots_url": optional_url("coverage:snapshot_list") if has_perm(user, "snapshot.view") else None,
    }
