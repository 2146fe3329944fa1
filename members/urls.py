"""URL patterns of the members app; each views module owns its `urlpatterns` list."""

from importlib import import_module

app_name = "members"
urlpatterns: list = []
for _module in ("registry", "transfers", "imports"):
    try:
        urlpatterns += import_module(f"members.views.{_module}").urlpatterns
    except ModuleNotFoundError as exc:  # an area not built yet
        if exc.name != f"members.views.{_module}":
            raise
