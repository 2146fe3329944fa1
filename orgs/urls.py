"""Every page of the orgs app (namespace "orgs"), mounted at the site root: the tree and org forms under
/orgs/, users and roles under /users/ (bulk onboarding /users/import/), REST clients' API tokens /api-tokens/,
rule rows /rules/, the audit log /audit/ and the security log /security/."""

from django.urls import path

from orgs.views import audit, onboarding, orgs, picker, rules, security, tokens, tree, users, workplaces

app_name = "orgs"

urlpatterns = [
    # the tree and the forms on one org (its detail page with figures is coverage:org_detail)
    path("orgs/", tree.TreeView.as_view(), name="tree"),
    path("orgs/pick/", picker.OrgPickView.as_view(), name="org_pick"),
    path("orgs/pick/workplaces/", picker.WorkplacePickView.as_view(), name="workplace_pick"),
    path("orgs/<int:pk>/children/", tree.TreeChildrenView.as_view(), name="tree_children"),
    path("orgs/<int:parent_pk>/new/", orgs.OrgCreateView.as_view(), name="org_create"),
    path("orgs/<int:pk>/edit/", orgs.OrgEditView.as_view(), name="org_edit"),
    path("orgs/<int:pk>/structure/", orgs.OrgStructureView.as_view(), name="org_structure"),
    path("orgs/<int:pk>/move/", orgs.OrgMoveView.as_view(), name="org_move"),
    path("orgs/<int:pk>/dissolve/", orgs.OrgDissolveView.as_view(), name="org_dissolve"),
    path("orgs/workplaces/new/", workplaces.WorkplaceCreateView.as_view(), name="workplace_create"),
    path("orgs/workplaces/<int:pk>/edit/", workplaces.WorkplaceEditView.as_view(), name="workplace_edit"),
    path("orgs/workplaces/<int:pk>/assign/", workplaces.AssignmentCreateView.as_view(), name="assignment_create"),
    path("orgs/assignments/<int:pk>/end/", workplaces.AssignmentEndView.as_view(), name="assignment_end"),
    # users and roles
    path("users/", users.UserListView.as_view(), name="user_list"),
    path("users/new/", users.UserCreateView.as_view(), name="user_create"),
    path("users/<int:pk>/", users.UserDetailView.as_view(), name="user_detail"),
    path("users/<int:pk>/grants/new/", users.GrantAddView.as_view(), name="grant_add"),
    path("users/<int:pk>/grants/<int:grant_pk>/revoke/", users.GrantRevokeView.as_view(), name="grant_revoke"),
    path("users/<int:pk>/deactivate/", users.UserDeactivateView.as_view(), name="user_deactivate"),
    path("users/<int:pk>/reactivate/", users.UserReactivateView.as_view(), name="user_reactivate"),
    path("users/<int:pk>/reveal/", users.UserRevealRightView.as_view(), name="user_reveal_right"),
    path("users/<int:pk>/password-link/", users.UserPasswordLinkView.as_view(), name="user_password_link"),
    # Public (no login): the page a one-time set-password link opens (tests/test_architecture.py PUBLIC).
    path("users/password/set/<uidb64>/<token>/", users.PasswordSetView.as_view(), name="password_set"),
    # bulk onboarding
    path("users/import/", onboarding.UploadView.as_view(), name="onboarding_upload"),
    path("users/import/template/", onboarding.TemplateDownloadView.as_view(), name="onboarding_template"),
    path("users/import/preview/", onboarding.PreviewView.as_view(), name="onboarding_preview"),
    path("users/import/confirm/", onboarding.ConfirmView.as_view(), name="onboarding_confirm"),
    path("users/import/done/", onboarding.DoneView.as_view(), name="onboarding_done"),
    path("users/import/links/", onboarding.LinksView.as_view(), name="onboarding_links"),
    # API tokens of REST clients
    path("api-tokens/", tokens.ApiTokenListView.as_view(), name="api_token_list"),
    path("api-tokens/new/", tokens.ApiTokenIssueView.as_view(), name="api_token_issue"),
    path("api-tokens/<str:token_key>/revoke/", tokens.ApiTokenRevokeView.as_view(), name="api_token_revoke"),
    # rule rows, audit log, security log
    path("rules/", rules.RuleListView.as_view(), name="rule_list"),
    path("rules/<int:pk>/edit/", rules.RuleEditView.as_view(), name="rule_edit"),
    path("audit/", audit.AuditListView.as_view(), name="audit_list"),
    path("security/", security.SecurityEventListView.as_view(), name="security_event_list"),
]
