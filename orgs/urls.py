"""Every page of the orgs app (namespace "orgs"), mounted at the site root: the tree and org forms under
/orgs/, users and roles under /users/ (bulk onboarding /users/import/), rule rows /rules/, the audit log
/audit/ and the security log /security/."""

from django.urls import path

from orgs import views
from orgs.views import audit, onboarding, picker, rules, security, users

app_name = "orgs"

urlpatterns = [
    # the tree and the forms on one org (its detail page with figures is coverage:org_detail)
    path("orgs/", views.tree, name="tree"),
    path("orgs/pick/", picker.OrgPickView.as_view(), name="org_pick"),
    path("orgs/<int:pk>/children/", views.tree_children, name="tree_children"),
    path("orgs/<int:parent_pk>/new/", views.org_create, name="org_create"),
    path("orgs/<int:pk>/edit/", views.org_edit, name="org_edit"),
    path("orgs/<int:pk>/structure/", views.org_structure, name="org_structure"),
    path("orgs/<int:pk>/move/", views.org_move, name="org_move"),
    path("orgs/<int:pk>/dissolve/", views.org_dissolve, name="org_dissolve"),
    path("orgs/workplaces/new/", views.workplace_create, name="workplace_create"),
    path("orgs/workplaces/<int:pk>/edit/", views.workplace_edit, name="workplace_edit"),
    path("orgs/workplaces/<int:pk>/assign/", views.assignment_create, name="assignment_create"),
    path("orgs/assignments/<int:pk>/end/", views.assignment_end, name="assignment_end"),
    # users and roles
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<int:pk>/", users.user_detail, name="user_detail"),
    path("users/<int:pk>/grants/new/", users.grant_add, name="grant_add"),
    path("users/<int:pk>/grants/<int:grant_pk>/revoke/", users.grant_revoke, name="grant_revoke"),
    path("users/<int:pk>/deactivate/", users.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", users.user_reactivate, name="user_reactivate"),
    path("users/<int:pk>/reveal/", users.user_reveal_right, name="user_reveal_right"),
    path("users/<int:pk>/password-link/", users.user_password_link, name="user_password_link"),
    # Public (no login): the page a one-time set-password link opens (tests/test_architecture.py PUBLIC).
    path("users/password/set/<uidb64>/<token>/", users.password_set, name="password_set"),
    # bulk onboarding
    path("users/import/", onboarding.upload, name="onboarding_upload"),
    path("users/import/template/", onboarding.template, name="onboarding_template"),
    path("users/import/preview/", onboarding.preview, name="onboarding_preview"),
    path("users/import/confirm/", onboarding.confirm, name="onboarding_confirm"),
    path("users/import/done/", onboarding.done, name="onboarding_done"),
    path("users/import/links/", onboarding.links, name="onboarding_links"),
    # rule rows, audit log, security log
    path("rules/", rules.rule_list, name="rule_list"),
    path("rules/<int:pk>/edit/", rules.rule_edit, name="rule_edit"),
    path("audit/", audit.entry_list, name="audit_list"),
    path("security/", security.event_list, name="security_event_list"),
]
