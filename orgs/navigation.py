"""The orgs app's menu entries and the user's roles in the navigation (no extra query: grants are cached on
the user)."""

from django.utils.translation import gettext_lazy as _

from core.navigation import MenuItem, register_context, register_menu
from orgs.models import Role
from orgs.scoping import user_roles
from orgs.selectors import tokens as _tokens  # noqa: F401 - installs the API tokens' scope (ApiToken.objects.restrict)

register_menu(
    MenuItem("tree", _("组织体系"), "orgs:tree", order=20),
    MenuItem("rules", _("规则参数"), "orgs:rule_list", "rule.view", order=120, group="manage"),
    MenuItem("audit", _("操作日志"), "orgs:audit_list", "audit.view", order=130, group="manage"),
    MenuItem("users", _("用户与角色"), "orgs:user_list", "user.view", order=140, group="manage"),
    MenuItem("api_tokens", _("API 令牌"), "orgs:api_token_list", "api_token.view", order=150, group="manage"),
)


@register_context
def role_menu(request) -> dict:
    labels = dict(Role.choices)
    return {"nav_roles": [str(labels[r]) for r in Role.values if r in user_roles(request.user)]}
