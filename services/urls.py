"""Every page of the services app (namespace "services"): staff pages for service requests under
/services/requests/ and service points under /services/points/; the public pages for gig workers without
an account under /s/ (names "public_*", listed in tests/test_architecture.py PUBLIC)."""

from django.urls import path

from services.views import points, public, requests

app_name = "services"

urlpatterns = [
    # service requests (staff)
    path("services/requests/", requests.RequestListView.as_view(), name="request_list"),
    # before "<str:code>/": "categories" would otherwise be read as a tracking code
    path("services/requests/categories/", requests.CategoryListView.as_view(), name="category_list"),
    path("services/requests/categories/<int:pk>/", requests.CategoryEditView.as_view(), name="category_edit"),
    path("services/requests/categories/<int:pk>/templates/", requests.CategoryTemplateView.as_view(),
         name="category_template_add"),
    path("services/requests/categories/<int:pk>/templates/<int:template_pk>/", requests.CategoryTemplateView.as_view(),
         name="category_template_edit"),
    path("services/requests/<str:code>/", requests.RequestDetailView.as_view(), name="request_detail"),
    path("services/requests/<str:code>/reveal/", requests.RequestRevealView.as_view(), name="request_reveal"),
    *[
        path(f"services/requests/<str:code>/{step}/", requests.RequestStepView.as_view(), {"step": step},
             name=f"request_{step}")
        for step in requests.STEPS
    ],
    # service points (staff)
    path("services/points/", points.PointListView.as_view(), name="point_list"),
    path("services/points/new/", points.PointCreateView.as_view(), name="point_create"),
    path("services/points/circle/", points.PointCircleView.as_view(), name="point_circle"),
    path("services/points/<int:pk>/", points.PointDetailView.as_view(), name="point_detail"),
    path("services/points/<int:pk>/edit/", points.PointEditView.as_view(), name="point_edit"),
    # public pages (no account)
    path("s/", public.IntakeView.as_view(), name="public_intake"),
    path("s/new/<slug:code>/", public.IntakeFormView.as_view(), name="public_intake_form"),
    path("s/submitted/", public.SubmittedView.as_view(), name="public_submitted"),
    path("s/track/", public.TrackView.as_view(), name="public_track"),
    path("s/track/<str:code>/", public.TrackDetailView.as_view(), name="public_track_detail"),
    path("s/track/<str:code>/confirm/", public.TrackConfirmView.as_view(), name="public_track_confirm"),
    path("s/track/<str:code>/reopen/", public.TrackReopenView.as_view(), name="public_track_reopen"),
    path("s/points/", public.NearestPointsView.as_view(), name="public_nearest_points"),
]
