"""The statistics endpoints (coverage/api/stats.py), mounted at /api/v1/ by portal/urls.py."""

from django.urls import path

from coverage.api import stats

urlpatterns = [
    path("stats/coverage/", stats.CoverageStatsView.as_view(), name="api-stats-coverage"),
    path("stats/coverage/trend/", stats.CoverageTrendView.as_view(), name="api-stats-coverage-trend"),
    path("stats/compliance/", stats.ComplianceStatsView.as_view(), name="api-stats-compliance"),
    path("stats/services/", stats.ServiceStatsView.as_view(), name="api-stats-services"),
    path("stats/members/", stats.MemberStatsView.as_view(), name="api-stats-members"),
]
