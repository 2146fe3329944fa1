"""URL patterns of the activities app (mounted at /activities/)."""

from activities import views

app_name = "activities"
urlpatterns = views.urlpatterns
