"""Every page of the services app (namespace "services"): staff pages for service requests under
/services/requests/ and service points under /services/points/; the public pages for gig workers without
an account under /s/ (names "public_*", listed in tests/test_architecture.py PUBLIC)."""

from django.urls import path

from services import point_views, public_point_views, public_views, request_views

app_name = "services"

urlpatterns = [
    # service requests (staff)
    path("services/requests/", request_views.request_list, name="request_list"),
    # before "<str:code>/": "categories" would otherwise be read as a tracking code
    path("services/requests/categories/", request_views.category_list, name="category_list"),
    path("services/requests/categories/<int:pk>/", request_views.category_edit, name="category_edit"),
    path("services/requests/categories/<int:pk>/templates/", request_views.category_template,
         name="category_template_add"),
    path("services/requests/categories/<int:pk>/templates/<int:template_pk>/", request_views.category_template,
         name="category_template_edit"),
    path("services/requests/<str:code>/", request_views.request_detail, name="request_detail"),
    path("services/requests/<str:code>/reveal/", request_views.request_reveal, name="request_reveal"),
    *[
        path(f"services/requests/<str:code>/{step}/", request_views.request_act, {"step": step}, name=f"request_{step}")
        for step in request_views.STEPS
    ],
    # service points (staff)
    path("services/points/", point_views.point_list, name="point_list"),
    path("services/points/new/", point_views.point_create, name="point_create"),
    path("services/points/circle/", point_views.point_circle, name="point_circle"),
    path("services/points/<int:pk>/", point_views.point_detail, name="point_detail"),
    path("services/points/<int:pk>/edit/", point_views.point_edit, name="point_edit"),
    # public pages (no account)
    path("s/", public_views.intake, name="public_intake"),
    path("s/new/<slug:code>/", public_views.intake_form, name="public_intake_form"),
    path("s/submitted/", public_views.submitted, name="public_submitted"),
    path("s/track/", public_views.track, name="public_track"),
    path("s/track/<str:code>/", public_views.track_detail, name="public_track_detail"),
    path("s/track/<str:code>/confirm/", public_views.track_confirm, name="public_track_confirm"),
    path("s/track/<str:code>/reopen/", public_views.track_reopen, name="public_track_reopen"),
    path("s/points/", public_point_views.nearest_points, name="public_nearest_points"),
]
