"""Staff pages for services, mounted at /services/ (namespace "services")."""

from django.urls import include, path

app_name = "services"

urlpatterns = [
    path("requests/", include("services.request_urls")),
    path("points/", include("services.point_urls")),
]
