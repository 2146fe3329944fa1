"""Public pages for gig workers without an account, mounted at /s/ (namespace "public")."""

from django.urls import include, path

from services import public_views

app_name = "public"

urlpatterns = [
    path("", public_views.intake, name="intake"),
    path("new/<slug:code>/", public_views.intake_form, name="intake_form"),
    path("submitted/", public_views.submitted, name="submitted"),
    path("track/", public_views.track, name="track"),
    path("track/<str:code>/", public_views.track_detail, name="track_detail"),
    path("track/<str:code>/confirm/", public_views.track_confirm, name="track_confirm"),
    path("track/<str:code>/reopen/", public_views.track_reopen, name="track_reopen"),
    path("points/", include("services.public_point_urls")),
]
