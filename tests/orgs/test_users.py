"""Accounts and roles managed in the portal (/users/): actions, scope (404 outside), audit rows, the one-time
set-password link, refusals, and a constant query count on the list."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.audit import SYSTEM
from core.exceptions import DomainError
from core.models import AuditEntry, User
from orgs.actions.users import (
    grant_add,
    grant_revoke,
    user_create,
    user_deactivate,
    user_password_link,
    user_reactivate,
    user_reveal_right_set,
)
from orgs.models import Role, RoleGrant
from orgs.selectors.users import users_for
from tests.factories import PASSWORD, UserFactory, fresh, grant

NEW_PASSWORD = "lantern-river-2049"


@pytest.fixture
def exp_staff(world):
    """District staff at the express committee only (their subtree: express, br_a, jb, group)."""
    user = UserFactory(username="exp_staff")
    grant(user, world.express, Role.DISTRICT)
    return fresh(user)


def _audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def _set_password_through(client, path: str, password: str = NEW_PASSWORD):
    """Open a link like a person (GET moves the token into the session), then submit the form."""
    opened = client.get(path)
    assert opened.status_code == 302, opened.status_code
    return client.post(opened["Location"], {"new_password1": password, "new_password2": password})


def _logs_in(client, username: str, password: str) -> bool:
    """Through the login page (django-axes needs a request)."""
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


# ---------------------------------------------------------------- scope and the permission matrix
def test_only_district_staff_hold_the_user_permissions():
    from orgs.permissions import ROLE_ACTIONS

    for perm in ("user.view", "user.add", "user.change"):
        assert [role for role, perms in ROLE_ACTIONS.items() if perm in perms] == [Role.DISTRICT]


def test_users_for_lists_accounts_with_a_grant_inside_the_subtree(world, exp_staff):
    assert set(users_for(actor=exp_staff).values_list("username", flat=True)) == {"exp_staff", "secretary", "instructor"}
    everyone = set(users_for(actor=fresh(world.district_user)).values_list("username", flat=True))
    assert {"district", "secretary", "instructor", "viewer", "inactive", "exp_staff"} <= everyone
    assert "nobody" not in everyone and "admin" not in everyone
    assert not users_for(actor=fresh(world.secretary)).exists()
    assert set(users_for(actor=exp_staff, search="SECRE").values_list("username", flat=True)) == {"secretary"}


@pytest.mark.parametrize("who", ["secretary", "instructor", "viewer", "nobody"])
def test_users_pages_are_404_without_the_permission(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get(reverse("orgs:user_list")).status_code == 404
    assert client.get(reverse("orgs:user_create")).status_code == 404
    assert client.get(reverse("orgs:user_detail", args=[world.secretary.pk])).status_code == 404


def test_out_of_scope_accounts_are_404_on_every_page(client, world, exp_staff):
    client.force_login(exp_staff)
    viewer = world.viewer  # holds a grant at the root only: outside express
    grant_pk = RoleGrant.objects.get(user=viewer).pk
    assert client.get(reverse("orgs:user_detail", args=[viewer.pk])).status_code == 404
    assert client.get(reverse("orgs:user_detail", args=[999999])).status_code == 404
    assert client.get(reverse("orgs:grant_add", args=[viewer.pk])).status_code == 404
    for name in ("user_deactivate", "user_reactivate", "user_reveal_right", "user_password_link"):
        assert client.post(reverse(f"orgs:{name}", args=[viewer.pk]), {"allowed": "1"}).status_code == 404, name
    assert client.post(reverse("orgs:grant_revoke", args=[viewer.pk, grant_pk])).status_code == 404
    viewer.refresh_from_db()
    assert viewer.is_active and RoleGrant.objects.filter(pk=grant_pk).exists()
    # a grant outside the subtree of an account in scope is 404 too
    district_grant = RoleGrant.objects.create(user=world.secretary, org=world.food, role=Role.VIEWER)
    assert client.post(reverse("orgs:grant_revoke", args=[world.secretary.pk, district_grant.pk])).status_code == 404
    assert RoleGrant.objects.filter(pk=district_grant.pk).exists()


def test_list_and_detail_pages(client, world, exp_staff):
    client.force_login(exp_staff)
    page = client.get(reverse("orgs:user_list"))
    assert page.status_code == 200
    assert {u.username for u in page.context["page"].object_list} == {"exp_staff", "secretary", "instructor"}
    assert client.get(reverse("orgs:user_list"), {"q": "instr"}).context["total"] == 1  # keyset pages: the total the filters select
    grant(world.secretary, world.food, Role.VIEWER)  # outside express: counted, not named
    detail = client.get(reverse("orgs:user_detail", args=[world.secretary.pk]))
    assert detail.status_code == 200
    assert [g.org.code for g in detail.context["grants"]] == ["EXP-J"]
    assert detail.context["outside"] == 1
    assert detail.context["can_change_account"] is False
    assert "外卖配送行业党委" not in detail.content.decode()


# ---------------------------------------------------------------- create, and the one-time link
def test_create_account_with_a_one_time_link(client, world, exp_staff):
    link = user_create(actor=exp_staff, username="new_sec", display_name="新书记", email="", org=world.br_a, role=Role.SECRETARY)
    account = User.objects.get(username="new_sec")
    assert link.user == account and not account.has_usable_password() and account.is_active
    assert list(account.grants.values_list("org__code", "role")) == [("EXP-A", Role.SECRETARY)]
    [row] = _audit("user.create")
    assert row.actor == exp_staff and row.object_id == str(account.pk) and row.org_path == world.br_a.path
    assert row.changes["role"] == [None, "secretary"]
    token = link.path.rstrip("/").split("/")[-1]
    assert token not in str(row.changes)

    response = _set_password_through(client, link.path)
    assert response.status_code == 302 and response["Location"] == reverse("login")
    account.refresh_from_db()
    assert account.check_password(NEW_PASSWORD)
    [set_row] = _audit("user.password_set")
    assert set_row.actor == account and NEW_PASSWORD not in str(set_row.changes) and token not in str(set_row.changes)
    assert _logs_in(client, "new_sec", NEW_PASSWORD)
    client.logout()

    # the same link again: a clear message, not an error page
    again = client.get(link.path)
    assert again.status_code == 200 and again.context["valid"] is False
    assert "该链接无效、已过期或已使用过" in again.content.decode()


def test_a_link_sets_a_password_once_even_when_submitted_twice(client, world):
    link = user_create(actor=SYSTEM, username="twice", display_name="两次", org=world.br_a, role=Role.VIEWER)
    opened = client.get(link.path)
    form_url = opened["Location"]
    first = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert first.status_code == 302
    second = client.post(form_url, {"new_password1": "another-pass-word-77", "new_password2": "another-pass-word-77"})
    assert second.status_code == 200 and second.context["valid"] is False
    assert fresh(link.user).check_password(NEW_PASSWORD)
    assert len(_audit("user.password_set")) == 1


def test_wrong_or_garbled_links_show_a_message(client, world):
    uid = urlsafe_base64_encode(force_bytes(world.secretary.pk))
    for uidb64, token in ((uid, "abc-123"), ("!!", "abc-123"), ("MTIzNDU2Nzg5", "x-y"), (uid, "set-password")):
        response = client.get(reverse("orgs:password_set", kwargs={"uidb64": uidb64, "token": token}))
        assert response.status_code == 200 and response.context["valid"] is False, (uidb64, token)


def test_weak_password_is_refused_on_the_form(client, world):
    link = user_create(actor=SYSTEM, username="weak", display_name="弱", org=world.br_a, role=Role.VIEWER)
    form_url = client.get(link.path)["Location"]
    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200 and response.context["form"].errors
    assert not fresh(link.user).has_usable_password()


def test_create_through_the_page_shows_the_link_once(client, world, exp_staff):
    client.force_login(exp_staff)
    form = client.get(reverse("orgs:user_create"))
    codes = {org.code for org in form.context["form"].fields["org"].queryset}
    assert codes == {"EXP", "EXP-A", "EXP-J", "EXP-J-G"}
    response = client.post(reverse("orgs:user_create"), {
        "username": "page_user", "display_name": "页面用户", "email": "p@example.com", "org": world.jb.pk, "role": Role.INSTRUCTOR,
    })
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "data-password-link" in body and "/users/password/set/" in body
    assert User.objects.filter(username="page_user", email="p@example.com").exists()
    # an org outside the subtree is not a choice
    refused = client.post(reverse("orgs:user_create"), {
        "username": "other", "display_name": "外", "org": world.food.pk, "role": Role.VIEWER,
    })
    assert refused.status_code == 200 and "org" in refused.context["form"].errors
    assert not User.objects.filter(username="other").exists()


@pytest.mark.parametrize(("username", "field"), [("Secretary", "username"), ("bad name!", "username"), ("", "username")])
def test_create_refuses_taken_or_invalid_usernames(world, exp_staff, username, field):
    with pytest.raises(DomainError) as caught:
        user_create(actor=exp_staff, username=username, display_name="x", org=world.br_a, role=Role.VIEWER)
    assert caught.value.field == field
    assert not _audit("user.create")


def test_create_refuses_out_of_scope_org_and_non_district_actors(world, exp_staff):
    with pytest.raises(DomainError):
        user_create(actor=exp_staff, username="u1", display_name="x", org=world.food, role=Role.VIEWER)
    with pytest.raises(DomainError):
        user_create(actor=fresh(world.secretary), username="u2", display_name="x", org=world.jb, role=Role.VIEWER)
    with pytest.raises(DomainError):
        user_create(actor=exp_staff, username="u3", display_name="x", org=world.br_a, role="king")
    with pytest.raises(DomainError):
        user_create(actor=fresh(world.district_user), username="u4", display_name="x", org=world.br_dead, role=Role.VIEWER)
    with pytest.raises(ValueError):
        user_create(actor=None, username="u5", display_name="x", org=world.br_a, role=Role.VIEWER)
    assert not User.objects.filter(username__in=["u1", "u2", "u3", "u4", "u5"]).exists()


def test_a_new_link_invalidates_the_old_link_and_password(client, world, exp_staff):
    first = user_create(actor=exp_staff, username="relink", display_name="重发", org=world.br_a, role=Role.VIEWER)
    _set_password_through(client, first.path)
    second = user_password_link(actor=exp_staff, user=first.user)
    account = fresh(first.user)
    assert not account.has_usable_password()  # the old password no longer works
    third = user_password_link(actor=exp_staff, user=account)
    assert client.get(second.path).context["valid"] is False  # superseded by the third
    assert _set_password_through(client, third.path).status_code == 302
    assert [r.changes for r in _audit("user.password_link")] == [{"note": "set-password link issued"}] * 2


def test_password_link_page_and_refusals(client, world, exp_staff):
    client.force_login(exp_staff)
    response = client.post(reverse("orgs:user_password_link", args=[world.secretary.pk]))
    assert response.status_code == 200 and "data-password-link" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    user_deactivate(actor=exp_staff, user=world.secretary)
    with pytest.raises(DomainError):
        user_password_link(actor=exp_staff, user=world.secretary)
    grant(world.instructor, world.root, Role.VIEWER)  # now also above express
    with pytest.raises(DomainError):
        user_password_link(actor=exp_staff, user=world.instructor)


# ---------------------------------------------------------------- grants
def test_grant_add_and_revoke(world, exp_staff):
    row = grant_add(actor=exp_staff, user=world.secretary, org=world.br_a, role=Role.VIEWER)
    assert row.org == world.br_a and row.role == Role.VIEWER
    [added] = _audit("role_grant.add")
    assert added.actor == exp_staff and added.org_path == world.br_a.path and added.changes["role"] == [None, "viewer"]
    with pytest.raises(DomainError) as duplicate:
        grant_add(actor=exp_staff, user=world.secretary, org=world.br_a, role=Role.VIEWER)
    assert duplicate.value.field == "role"
    grant_revoke(actor=exp_staff, grant=row)
    assert not RoleGrant.objects.filter(pk=row.pk).exists()
    [revoked] = _audit("role_grant.revoke")
    assert revoked.changes == {"user": [world.secretary.pk, None], "org": [world.br_a.pk, None], "role": ["viewer", None]}


def test_grant_add_refusals(world, exp_staff):
    with pytest.raises(DomainError):  # a node outside the subtree
        grant_add(actor=exp_staff, user=world.secretary, org=world.food, role=Role.VIEWER)
    with pytest.raises(DomainError):  # an account outside the subtree
        grant_add(actor=exp_staff, user=world.viewer, org=world.br_a, role=Role.VIEWER)
    with pytest.raises(DomainError):  # an account without any grant is nobody's to see
        grant_add(actor=exp_staff, user=world.nobody, org=world.br_a, role=Role.VIEWER)
    with pytest.raises(DomainError):  # not district staff
        grant_add(actor=fresh(world.secretary), user=world.secretary, org=world.group, role=Role.SECRETARY)
    assert not _audit("role_grant.add")


def test_grant_revoke_refusals(world, exp_staff):
    only = RoleGrant.objects.get(user=world.secretary)
    with pytest.raises(DomainError, match="唯一的授权"):
        grant_revoke(actor=exp_staff, grant=only)
    own = RoleGrant.objects.get(user=exp_staff)
    grant(exp_staff, world.br_a, Role.VIEWER)  # not their last grant, but their last district grant
    with pytest.raises(DomainError, match="您自己最后一项"):
        grant_revoke(actor=fresh(exp_staff), grant=own)
    viewer_grant = RoleGrant.objects.get(user=world.viewer)
    grant(world.viewer, world.br_a, Role.VIEWER)
    with pytest.raises(DomainError):  # the root grant lies above the actor
        grant_revoke(actor=exp_staff, grant=viewer_grant)
    assert RoleGrant.objects.filter(pk__in=[only.pk, own.pk, viewer_grant.pk]).count() == 3
    assert not _audit("role_grant.revoke")


def test_own_district_grant_may_go_while_another_remains(world):
    staff = UserFactory(username="two_hats")
    first = grant(staff, world.express, Role.DISTRICT)
    grant(staff, world.food, Role.DISTRICT)
    grant_revoke(actor=fresh(staff), grant=first)
    assert list(RoleGrant.objects.filter(user=staff).values_list("org__code", flat=True)) == ["FOOD"]


def test_grant_pages(client, world, exp_staff):
    client.force_login(exp_staff)
    url = reverse("orgs:grant_add", args=[world.secretary.pk])
    assert client.post(url, {"org": world.br_a.pk, "role": Role.VIEWER}).status_code == 302
    extra = RoleGrant.objects.get(user=world.secretary, org=world.br_a)
    response = client.post(reverse("orgs:grant_revoke", args=[world.secretary.pk, extra.pk]), follow=True)
    assert "已撤销该授权。" in response.content.decode()
    only = RoleGrant.objects.get(user=world.secretary)
    refused = client.post(reverse("orgs:grant_revoke", args=[world.secretary.pk, only.pk]), follow=True)
    assert refused.status_code == 200 and "唯一的授权" in refused.content.decode()
    assert client.get(reverse("orgs:grant_revoke", args=[world.secretary.pk, only.pk])).status_code == 405


# ---------------------------------------------------------------- deactivate, reactivate
def test_deactivate_and_reactivate(client, world, exp_staff):
    user_deactivate(actor=exp_staff, user=world.secretary)
    assert not fresh(world.secretary).is_active
    assert not _logs_in(client, "secretary", PASSWORD)
    user_reactivate(actor=exp_staff, user=world.secretary)
    assert fresh(world.secretary).is_active
    assert [r.changes for r in _audit("user.deactivate")] == [{"is_active": [True, False]}]
    assert [r.changes for r in _audit("user.reactivate")] == [{"is_active": [False, True]}]
    with pytest.raises(DomainError):
        user_reactivate(actor=exp_staff, user=world.secretary)


def test_deactivate_refusals(client, world, exp_staff):
    with pytest.raises(DomainError, match="不能停用自己"):
        user_deactivate(actor=exp_staff, user=exp_staff)
    grant(world.instructor, world.root, Role.VIEWER)  # also holds a role above the actor
    with pytest.raises(DomainError, match="管理范围以外"):
        user_deactivate(actor=exp_staff, user=world.instructor)
    with pytest.raises(DomainError):
        user_deactivate(actor=fresh(world.secretary), user=world.secretary)
    superuser = world.superuser
    grant(superuser, world.br_a, Role.VIEWER)
    with pytest.raises(DomainError):
        user_deactivate(actor=exp_staff, user=superuser)
    assert fresh(world.instructor).is_active and fresh(superuser).is_active and not _audit("user.deactivate")
    # the district staff at the root may
    user_deactivate(actor=fresh(world.district_user), user=world.instructor)
    client.force_login(exp_staff)
    response = client.post(reverse("orgs:user_deactivate", args=[exp_staff.pk]), follow=True)
    assert "不能停用自己的账号。" in response.content.decode()


# ---------------------------------------------------------------- the reveal right
def test_reveal_right_toggle(client, world, exp_staff):
    assert not fresh(world.secretary).has_perm("members.reveal_personal_data")
    user_reveal_right_set(actor=exp_staff, user=world.secretary, allowed=True)
    assert fresh(world.secretary).has_perm("members.reveal_personal_data")
    user_reveal_right_set(actor=exp_staff, user=world.secretary, allowed=True)  # no change, no row
    client.force_login(exp_staff)
    detail = client.get(reverse("orgs:user_detail", args=[world.secretary.pk]))
    assert 'data-may-reveal="1"' in detail.content.decode()
    client.post(reverse("orgs:user_reveal_right", args=[world.secretary.pk]), {"allowed": "0"})
    assert not fresh(world.secretary).has_perm("members.reveal_personal_data")
    assert [r.changes for r in _audit("user.reveal_right")] == [{"may_reveal": [False, True]}, {"may_reveal": [True, False]}]
    with pytest.raises(DomainError):
        user_reveal_right_set(actor=fresh(world.secretary), user=world.secretary, allowed=True)
    with pytest.raises(DomainError):
        user_reveal_right_set(actor=exp_staff, user=world.viewer, allowed=True)


def test_links_are_built_with_the_default_token_generator(world):
    link = user_create(actor=SYSTEM, username="tok", display_name="令牌", org=world.br_a, role=Role.VIEWER)
    token = link.path.rstrip("/").split("/")[-1]
    assert default_token_generator.check_token(link.user, token)


# ---------------------------------------------------------------- the list keeps a constant number of queries
def test_user_list_query_count_is_constant(client, world):
    client.force_login(world.district_user)
    url = reverse("orgs:user_list")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    client.get(url)  # warm caches (content types, rules)
    small = count()
    for n in range(12):
        extra = UserFactory(username=f"bulk{n}")
        grant(extra, world.br_a if n % 2 else world.jb, Role.VIEWER)
        grant(extra, world.express, Role.INSTRUCTOR)
    assert count() == small
