from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("healthz/", views.healthz, name="healthz"),
    # Unnamed on purpose (public, JSON, not a page): the web container's healthcheck in docker-compose.yml.
    path("healthz/live/", views.healthz_live),
]
