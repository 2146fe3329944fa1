"""Every page of the activities app (namespace "activities"): meeting records under /activities/, the
compliance board and exemptions under /compliance/."""

from django.urls import path

from activities import board_views, views

app_name = "activities"

urlpatterns = [
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/calendar/", views.activity_calendar, name="activity_calendar"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("activities/<int:pk>/return/", views.activity_return, name="activity_return"),
    path("activities/<int:pk>/files/", views.activity_upload, name="activity_upload"),
    path("activities/files/<int:pk>/", views.activity_file, name="activity_file"),
    path("activities/files/<int:pk>/delete/", views.activity_file_remove, name="activity_file_remove"),
    path("compliance/", board_views.compliance_board, name="compliance_board"),
    path("compliance/export/", board_views.compliance_export, name="compliance_export"),
    path("compliance/exemptions/", board_views.exemption_list, name="exemption_list"),
    path("compliance/exemptions/new/", board_views.exemption_create, name="exemption_create"),
]
