"""Staff request pages under /services/requests/ (names "services:request_*", "services:category_*")."""

from django.urls import path

from services import request_views as views

urlpatterns = [
    path("", views.request_list, name="request_list"),
    # before "<str:code>/": "categories" would otherwise be read as a tracking code
    path("categories/", views.category_list, name="category_list"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("categories/<int:pk>/templates/", views.category_template, name="category_template_add"),
    path("categories/<int:pk>/templates/<int:template_pk>/", views.category_template, name="category_template_edit"),
    path("<str:code>/", views.request_detail, name="request_detail"),
    path("<str:code>/reveal/", views.request_reveal, name="request_reveal"),
    *[
        path(f"<str:code>/{step}/", views.request_act, {"step": step}, name=f"request_{step}")
        for step in views.STEPS
    ],
]
