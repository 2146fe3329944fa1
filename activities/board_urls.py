"""URLs of the compliance board and exemptions, mounted at /compliance/ by portal/urls.py."""

from django.urls import path

from activities import board_views

app_name = "compliance"

board_urlpatterns = [
    path("", board_views.compliance_board, name="compliance_board"),
    path("export/", board_views.compliance_export, name="compliance_export"),
    path("exemptions/", board_views.exemption_list, name="exemption_list"),
    path("exemptions/new/", board_views.exemption_create, name="exemption_create"),
]
urlpatterns = board_urlpatterns
