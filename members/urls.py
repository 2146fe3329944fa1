"""Every page of the members app (namespace "members"), under /members/: the registry, transfers of
organizational relation, import and roster comparison."""

from django.urls import path

from members.views import imports, registry, transfers

app_name = "members"

urlpatterns = [
    path("members/", registry.member_list, name="member_list"),
    path("members/new/", registry.member_create, name="member_create"),
    path("members/reveal-log/", registry.reveal_log, name="reveal_log"),
    path("members/<int:pk>/", registry.member_detail, name="member_detail"),
    path("members/<int:pk>/edit/", registry.member_edit, name="member_edit"),
    path("members/<int:pk>/advance/", registry.member_advance, name="member_advance"),
    path("members/<int:pk>/extend-probation/", registry.member_extend_probation, name="member_extend_probation"),
    path("members/<int:pk>/reveal/", registry.member_reveal, name="member_reveal"),
    path("members/transfers/", transfers.transfer_list, name="transfer_list"),
    path("members/transfers/inbox/", transfers.transfer_inbox, name="transfer_inbox"),
    path("members/transfers/outbox/", transfers.transfer_outbox, name="transfer_outbox"),
    path("members/transfers/<int:pk>/", transfers.transfer_detail, name="transfer_detail"),
    path("members/transfers/<int:pk>/act/", transfers.transfer_act, name="transfer_act"),
    path("members/<int:member_pk>/transfer/", transfers.transfer_request, name="transfer_request"),
    path("members/import/", imports.import_start, name="import_start"),
    path("members/import/template/", imports.import_template, name="import_template"),
    path("members/import/<int:pk>/", imports.import_preview, name="import_preview"),
    path("members/import/<int:pk>/confirm/", imports.import_confirm, name="import_confirm"),
    path("members/import/<int:pk>/errors/", imports.import_errors, name="import_errors"),
    path("members/roster/", imports.roster_list, name="roster_list"),
    path("members/roster/new/", imports.roster_start, name="roster_start"),
    path("members/roster/<int:pk>/", imports.roster_detail, name="roster_detail"),
    path("members/roster/<int:pk>/progress/", imports.roster_progress, name="roster_progress"),
    path("members/roster/<int:pk>/headcounts/confirm/", imports.roster_headcounts_confirm, name="roster_headcounts_confirm"),
]
