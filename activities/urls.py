"""Every page of the activities app (namespace "activities"): meeting records under /activities/, the
compliance board and exemptions under /compliance/."""

from django.urls import path

from activities.views import compliance, records

app_name = "activities"

urlpatterns = [
    path("activities/", records.ActivityListView.as_view(), name="activity_list"),
    path("activities/new/", records.ActivityCreateView.as_view(), name="activity_create"),
    path("activities/calendar/", records.ActivityCalendarView.as_view(), name="activity_calendar"),
    path("activities/<int:pk>/", records.ActivityDetailView.as_view(), name="activity_detail"),
    path("activities/<int:pk>/edit/", records.ActivityEditView.as_view(), name="activity_edit"),
    path("activities/<int:pk>/return/", records.ActivityReturnView.as_view(), name="activity_return"),
    path("activities/<int:pk>/files/", records.ActivityUploadView.as_view(), name="activity_upload"),
    path("activities/files/<int:pk>/", records.ActivityFileView.as_view(), name="activity_file"),
    path("activities/files/<int:pk>/delete/", records.ActivityFileRemoveView.as_view(), name="activity_file_remove"),
    path("compliance/", compliance.ComplianceBoardView.as_view(), name="compliance_board"),
    path("compliance/export/", compliance.ComplianceExportView.as_view(), name="compliance_export"),
    path("compliance/exemptions/", compliance.ExemptionListView.as_view(), name="exemption_list"),
    path("compliance/exemptions/new/", compliance.ExemptionCreateView.as_view(), name="exemption_create"),
]
