"""Public nearest-points page, mounted at /s/points/ (name "public:nearest_points")."""

from django.urls import path

from services import public_point_views

urlpatterns = [
    path("", public_point_views.nearest_points, name="nearest_points"),
]
