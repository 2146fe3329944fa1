from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = "组织生活"

    def ready(self) -> None:
        from activities import navigation  # noqa: F401 - menu entries
        from activities.member_flags import no_life_flag
        from members.selectors.registry import register_flag_annotation

        register_flag_annotation("flag_no_life", no_life_flag)
