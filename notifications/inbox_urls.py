"""URLs of the inbox pages under /inbox/ (names "inbox:*")."""

from django.urls import path

from notifications.views import inbox as views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("<int:pk>/open/", views.notification_open, name="open"),
]
