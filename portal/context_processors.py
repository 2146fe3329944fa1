from portal.models import Role
from portal.scoping import user_roles


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    labels = dict(Role.choices)
    return {"nav_roles": [str(labels[r]) for r in Role.values if r in user_roles(user)]}
