"""Pages with coverage figures. Paths stay under /orgs/ (users' bookmarks), names are in the "coverage" namespace."""

from django.urls import path

from coverage.views import orgs

app_name = "coverage"
urlpatterns = [
    path("orgs/<int:pk>/", orgs.org_detail, name="org_detail"),
    path("orgs/workplaces/", orgs.workplace_list, name="workplace_list"),
    path("orgs/workplaces/<int:pk>/", orgs.workplace_detail, name="workplace_detail"),
    path("orgs/gaps/", orgs.gaps, name="gaps"),
]
