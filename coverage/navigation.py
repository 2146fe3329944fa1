"""The coverage app's menu entries."""

from django.utils.translation import gettext_lazy as _

from core.navigation import MenuItem, register_menu

register_menu(
    MenuItem("home", _("覆盖概览"), "home", order=10),
    MenuItem("workplaces", _("覆盖单位"), "coverage:workplace_list", "workplace.view", order=30),
    MenuItem("gaps", _("空白点"), "coverage:gaps", "workplace.view", order=40),
    MenuItem("snapshots", _("覆盖报表"), "coverage:snapshot_list", "snapshot.view", order=100),
)
