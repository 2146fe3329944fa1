"""The members app's menu entries."""

from django.utils.translation import gettext_lazy as _

from core.navigation import MenuItem, register_menu

register_menu(
    MenuItem("members", _("党员"), "members:member_list", "member.view", order=50),
    MenuItem("transfers", _("组织关系转接"), "members:transfer_inbox", "transfer.view", order=60),
)
