"""The activities app's menu entries."""

from django.utils.translation import gettext_lazy as _

from core.navigation import MenuItem, register_menu

register_menu(
    MenuItem("activities", _("组织生活"), "activities:activity_list", "activity.view", order=70),
    MenuItem("compliance", _("三会一课落实"), "activities:compliance_board", "activity.view", order=75),
)
