from django.urls import path

from core.views import auth, health

urlpatterns = [
    path("login/", auth.PortalLoginView.as_view(), name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("healthz/", health.healthz, name="healthz"),
    # Unnamed on purpose (public, JSON, not a page): the web container's healthcheck in docker-compose.yml.
    path("healthz/live/", health.healthz_live),
]
