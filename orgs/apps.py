from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "组织体系"

    def ready(self) -> None:
        from orgs import navigation  # noqa: F401 - registers the menu context
