"""URLs of bulk onboarding under /users/import/ (names "onboarding:*")."""

from django.urls import path

from orgs.views import onboarding as views

app_name = "onboarding"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("template/", views.template, name="template"),
    path("preview/", views.preview, name="preview"),
    path("confirm/", views.confirm, name="confirm"),
    path("done/", views.done, name="done"),
    path("links/", views.links, name="links"),
]
