from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("healthz/", views.healthz, name="healthz"),
]
