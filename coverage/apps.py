from django.apps import AppConfig


class CoverageConfig(AppConfig):
    """Coverage figures, gaps, the home page, snapshots and their reports (above the domain apps)."""

    name = "coverage"
    verbose_name = "覆盖统计"

    def ready(self) -> None:
        from coverage import navigation  # noqa: F401 - menu entries
