from django.urls import path

from orgs import views

app_name = "orgs"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("<int:pk>/children/", views.tree_children, name="tree_children"),
    path("<int:parent_pk>/new/", views.org_create, name="org_create"),
    path("<int:pk>/edit/", views.org_edit, name="org_edit"),
    path("<int:pk>/structure/", views.org_structure, name="org_structure"),
    path("<int:pk>/move/", views.org_move, name="org_move"),
    path("<int:pk>/dissolve/", views.org_dissolve, name="org_dissolve"),
    path("workplaces/new/", views.workplace_create, name="workplace_create"),
    path("workplaces/<int:pk>/edit/", views.workplace_edit, name="workplace_edit"),
    path("workplaces/<int:pk>/assign/", views.assignment_create, name="assignment_create"),
    path("assignments/<int:pk>/end/", views.assignment_end, name="assignment_end"),
]
