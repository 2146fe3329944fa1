from portal.models import Role
from portal.scoping import has_perm, user_roles


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    labels = dict(Role.choices)
    return {
        "nav_roles": [str(labels[r]) for r in Role.values if r in user_roles(user)],
        # Menu items shown only to users who may use them (grants are cached on the user: no extra query).
        "nav_can": {"members": has_perm(user, "member.view"), "transfers": has_perm(user, "transfer.view"),
                    "activities": has_perm(user, "activity.view"),
                    "service_requests": has_perm(user, "service_request.view"),
                    "service_points": has_perm(user, "service_point.view")},
    }
