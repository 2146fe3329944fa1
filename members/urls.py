"""Every page of the members app (namespace "members"), under /members/: the registry, transfers of
organizational relation, import and roster comparison."""

from django.urls import path

from members.views import imports, registry, transfers

app_name = "members"

urlpatterns = [
    path("members/", registry.MemberListView.as_view(), name="member_list"),
    path("members/new/", registry.MemberCreateView.as_view(), name="member_create"),
    path("members/reveal-log/", registry.RevealLogView.as_view(), name="reveal_log"),
    path("members/<int:pk>/", registry.MemberDetailView.as_view(), name="member_detail"),
    path("members/<int:pk>/edit/", registry.MemberEditView.as_view(), name="member_edit"),
    path("members/<int:pk>/advance/", registry.MemberAdvanceView.as_view(), name="member_advance"),
    path("members/<int:pk>/extend-probation/", registry.MemberExtendProbationView.as_view(), name="member_extend_probation"),
    path("members/<int:pk>/reveal/", registry.MemberRevealView.as_view(), name="member_reveal"),
    path("members/transfers/", transfers.TransferOpenListView.as_view(), name="transfer_list"),
    path("members/transfers/inbox/", transfers.TransferInboxView.as_view(), name="transfer_inbox"),
    path("members/transfers/outbox/", transfers.TransferOutboxView.as_view(), name="transfer_outbox"),
    path("members/transfers/receiving-orgs/", transfers.ReceivingOrgPickView.as_view(), name="receiving_org_pick"),
    path("members/transfers/<int:pk>/", transfers.TransferDetailView.as_view(), name="transfer_detail"),
    path("members/transfers/<int:pk>/act/", transfers.TransferActView.as_view(), name="transfer_act"),
    path("members/<int:member_pk>/transfer/", transfers.TransferRequestView.as_view(), name="transfer_request"),
    path("members/import/", imports.ImportStartView.as_view(), name="import_start"),
    path("members/import/template/", imports.ImportTemplateView.as_view(), name="import_template"),
    path("members/import/<int:pk>/", imports.ImportPreviewView.as_view(), name="import_preview"),
    path("members/import/<int:pk>/confirm/", imports.ImportConfirmView.as_view(), name="import_confirm"),
    path("members/import/<int:pk>/errors/", imports.ImportErrorsView.as_view(), name="import_errors"),
    path("members/roster/", imports.RosterListView.as_view(), name="roster_list"),
    path("members/roster/new/", imports.RosterStartView.as_view(), name="roster_start"),
    path("members/roster/<int:pk>/", imports.RosterDetailView.as_view(), name="roster_detail"),
    path("members/roster/<int:pk>/progress/", imports.RosterProgressView.as_view(), name="roster_progress"),
    path("members/roster/<int:pk>/headcounts/confirm/", imports.RosterHeadcountsConfirmView.as_view(),
         name="roster_headcounts_confirm"),
]
