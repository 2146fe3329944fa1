"""URLs of the accounts pages under /users/ (names "users:*"), and the public set-password page."""

from django.urls import path

from orgs.views import users as views

app_name = "users"

urlpatterns = [
    path("", views.user_list, name="user_list"),
    path("new/", views.user_create, name="user_create"),
    path("<int:pk>/", views.user_detail, name="user_detail"),
    path("<int:pk>/grants/new/", views.grant_add, name="grant_add"),
    path("<int:pk>/grants/<int:grant_pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("<int:pk>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("<int:pk>/reveal/", views.user_reveal_right, name="user_reveal_right"),
    path("<int:pk>/password-link/", views.user_password_link, name="user_password_link"),
    # Public (no login): the page a one-time set-password link opens (tests/test_architecture.py PUBLIC).
    path("password/set/<uidb64>/<token>/", views.password_set, name="password_set"),
]
