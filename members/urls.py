"""URL patterns of the members app; each views module owns its `urlpatterns` list."""

from members.views import imports, registry, transfers

app_name = "members"
urlpatterns = registry.urlpatterns + transfers.urlpatterns + imports.urlpatterns
