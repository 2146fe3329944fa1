"""Public pages for gig workers without an account, mounted at /s/ (namespace "public")."""

from django.urls import include, path

from services import public_views

app_name = "public"

urlpatterns = [
    path("", public_views.intake, name="intake"),
    path("track/", public_views.track, name="track"),
    path("points/", include("services.public_point_urls")),
]
