from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "组织体系"

    def ready(self) -> None:
        from core.access import install_policy
        from orgs import navigation  # noqa: F401 - registers the menu entries
        from orgs.scoping import has_perm
        from orgs.selectors import tokens  # noqa: F401 - installs the API tokens' scope (core.models.install_token_scope)

        install_policy(has_perm=has_perm)
