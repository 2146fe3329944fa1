"""The permission matrix: which role may do which action on which resource.

A grant at an org node gives these actions on everything in the node's subtree.
Resources are named by each scoped model's `scope_resource`.
Revealing a member's full ID number or phone is a separate Django permission
(members.reveal_personal_data) on top of `member.view` scope, and every reveal is logged.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT = "district", _("区委组织部工作人员")
    SECRETARY = "secretary", _("支部书记")
    INSTRUCTOR = "instructor", _("党建指导员")
    VIEWER = "viewer", _("统计查看")


VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
STATS = "stats"  # aggregated figures only

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.DISTRICT: frozenset(
        {
            "org.view", "org.add", "org.change", "org.delete",
            "workplace.view", "workplace.add", "workplace.change",
            "assignment.view", "assignment.add", "assignment.change",
            "member.view", "member.add", "member.change",
            "transfer.view", "transfer.add", "transfer.change",
            "member_import.view", "member_import.add",
            "roster.view", "roster.add",
            "reveal_log.view", "security_event.view", "audit.view",
            "activity.view", "activity.add", "activity.change", "activity.review",
            "exemption.view", "exemption.add",
            "service_request.view", "service_request.change", "service_request.reveal",
            "service_point.view", "service_point.add", "service_point.change",
            "service_category.change",
            "stats.view",
            "reminder_rule.view", "reminder_rule.change",
            "snapshot.view", "snapshot.add",
            "user.view", "user.add", "user.change",
            "api_token.view", "api_token.add", "api_token.change",  # REST clients' tokens (/api-tokens/)
            "rule.view", "rule.change",
        }
    ),
    Role.SECRETARY: frozenset(
        {
            "org.view", "org.change",
            "workplace.view", "workplace.change",
            "assignment.view",
            "member.view", "member.add", "member.change",
            "transfer.view", "transfer.add", "transfer.change",
            "member_import.view", "member_import.add",
            "roster.view", "roster.add",
            "activity.view", "activity.add", "activity.change",
            "exemption.view",
            "service_request.view", "service_request.change", "service_request.reveal",
            "service_point.view", "service_point.change",
            "stats.view",
        }
    ),
    Role.INSTRUCTOR: frozenset(
        {
            "activity.view",
            "org.view",
            "workplace.view",
            "assignment.view",
            "service_request.view",
            "service_point.view",
            "stats.view",
        }
    ),
    Role.VIEWER: frozenset({"org.view", "workplace.view", "service_point.view", "stats.view", "snapshot.view"}),
}


def role_allows(role: str, perm: str) -> bool:
    return perm in ROLE_ACTIONS.get(role, frozenset())
