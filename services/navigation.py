"""The services app's menu entries."""

from django.utils.translation import gettext_lazy as _

from core.navigation import MenuItem, register_menu

register_menu(
    MenuItem("service_requests", _("服务诉求"), "services:request_list", "service_request.view", order=80),
    MenuItem("service_points", _("服务阵地"), "services:point_list", "service_point.view", order=90),
)
