"""Staff pages for service points, mounted at /services/points/ (names "services:point_*")."""

from django.urls import path

from services import point_views

urlpatterns = [
    path("", point_views.point_list, name="point_list"),
    path("new/", point_views.point_create, name="point_create"),
    path("circle/", point_views.point_circle, name="point_circle"),
    path("<int:pk>/", point_views.point_detail, name="point_detail"),
    path("<int:pk>/edit/", point_views.point_edit, name="point_edit"),
]
