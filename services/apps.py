from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "服务诉求与服务阵地"

    def ready(self) -> None:
        from services import (
            navigation,  # noqa: F401 - menu entries
            receivers,  # noqa: F401 - reactions to orgs' signals
        )
