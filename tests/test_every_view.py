"""Every page, generated from the URLconf (in the spirit of NetBox's generic view tests):

- each named page is a class on the generic views (core.views.generic.PortalView);
- (a) a logged-in account without any grant gets 404 from every non-public page (GET, and POST where it
  answers POST): a page you may not use does not exist for you;
- (b) an account whose role lacks the page's `perm` gets 404;
- (c) a page about one object answers 404 for an object in another district, to an account holding the
  permission in its own district, and opens (200, 302, 400 or 405) for one inside it.

The objects come from tests/view_cases.py (a model without a builder fails here, so a new page cannot skip
the out-of-scope case).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from orgs.models import Role
from tests import view_cases as cases
from tests.factories import UserFactory, grant

#: pages still written as functions (other work in progress converts them); the lead empties this set. A name
#: here that is already a class fails too, so the set only shrinks.
NOT_YET_CLASS_BASED: set[str] = set()

PATTERNS = cases.matrix_patterns()
PAGES = {name: cases.view_class_of(p) for name, p in PATTERNS.items() if cases.is_portal_page(cases.view_class_of(p))}
PRIVATE = sorted(name for name, view in PAGES.items() if not view.public)
NOT_FOUND_OK = {200, 302, 400, 405}


def _object_pages() -> list[str]:
    return sorted(name for name in PRIVATE
                  if cases.route_kwargs(PATTERNS[name]) or cases.object_model(name, PAGES[name]) is not None)


def _url(name: str, kwargs: dict) -> str:
    return reverse(name, kwargs=kwargs)


def _request(client, view_class, url: str, method: str):
    return client.get(url) if method == "get" else client.post(url, {})


# ---------------------------------------------------------------- every page is a class
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_the_page_is_a_portal_view_class(name):
    view_class = cases.view_class_of(PATTERNS[name])
    is_page = cases.is_portal_page(view_class)
    if name in NOT_YET_CLASS_BASED:
        assert not is_page, f"{name} is a class now: remove it from NOT_YET_CLASS_BASED"
        pytest.xfail(f"{name} is still a function view (NOT_YET_CLASS_BASED)")
    assert is_page, f"{name} must be a class on core.views.generic (PortalView subclass), got {PATTERNS[name].callback!r}"


def test_the_not_yet_set_names_only_real_pages():
    assert NOT_YET_CLASS_BASED <= set(PATTERNS), NOT_YET_CLASS_BASED - set(PATTERNS)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_page_permission_is_one_some_role_holds(name):
    """A misspelt `perm` would make the page 404 for everybody but superusers."""
    perm = PAGES[name].perm
    assert perm is None or perm in cases.KNOWN_PERMS, f"{name}: unknown perm {perm!r}"
    if PAGES[name].public:
        assert perm is None, f"{name} is public but asks for {perm!r}"


# ---------------------------------------------------------------- (a) and (b)
@pytest.fixture
def home(db):
    return cases.build_sides()[0]


@pytest.mark.parametrize("name", PRIVATE)
def test_a_logged_in_account_without_grants_gets_404(client, db, name):
    view_class, pattern = PAGES[name], PATTERNS[name]
    if view_class.perm is None:
        pytest.skip(f"{name} is open to every logged-in account (perm None)")
    client.force_login(UserFactory())
    url = _url(name, cases.dummy_kwargs(pattern))
    for method in cases.methods(view_class):
        response = _request(client, view_class, url, method)
        assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}"


@pytest.mark.parametrize("name", PRIVATE)
def test_an_account_whose_role_lacks_the_permission_gets_404(client, home, name):
    view_class, pattern = PAGES[name], PATTERNS[name]
    perm = view_class.perm
    role = cases.role_lacking(perm) if perm else None
    if role is None:
        pytest.skip(f"{name}: every role holds {perm!r}" if perm else f"{name}: open to every logged-in account")
    account = UserFactory()
    grant(account, home.committee, role)
    client.force_login(account)
    url = _url(name, cases.dummy_kwargs(pattern))
    for method in cases.methods(view_class):
        response = _request(client, view_class, url, method)
        assert response.status_code == 404, f"{role} lacks {perm}: {method.upper()} {url} -> {response.status_code}"


# ---------------------------------------------------------------- (c) objects in and out of the subtree
@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


@pytest.mark.parametrize("name", _object_pages())
def test_an_object_outside_the_subtree_is_404_and_inside_it_opens(client, db, media, name):
    view_class, pattern = PAGES[name], PATTERNS[name]
    model = cases.object_model(name, view_class)
    if model is None:
        raise cases.MatrixGap(f"{name} takes URL arguments {cases.route_kwargs(pattern)} but the matrix does not know "
                              f"its object: set `queryset` on the view or add it to view_cases.OBJECT_MODELS")
    perms = [p for p in (view_class.perm,) if p]
    resource = getattr(model, "scope_resource", None)
    action = getattr(view_class, "object_action", "view")
    if resource:
        perms.append(f"{resource}.{action}")
    role = cases.role_holding(*perms) or Role.DISTRICT
    staff = UserFactory()
    home, away = cases.build_sides(staff=staff)
    # district-wide settings are changed by grants at the root; everything else from the home subtree
    grant(staff, home.root if model in cases.UNSCOPED else home.committee, role)
    client.force_login(staff)
    method = cases.methods(view_class)[0]

    if model not in cases.UNSCOPED:
        outside = cases.build(model, away)
        url = _url(name, cases.object_kwargs(name, pattern, view_class, outside))
        response = _request(client, view_class, url, method)
        assert response.status_code == 404, f"{role} at home: {method.upper()} {url} (another district) -> {response.status_code}"

    inside = cases.build(model, home)
    url = _url(name, cases.object_kwargs(name, pattern, view_class, inside))
    response = _request(client, view_class, url, method)
    assert response.status_code in NOT_FOUND_OK, f"{role} at home: {method.upper()} {url} (own district) -> {response.status_code}"
    if response.status_code == 302:
        assert "/login/" not in response["Location"], f"{method.upper()} {url} sent a logged-in account to the login page"


# ---------------------------------------------------------------- the matrix refuses to skip a page
def test_a_model_without_a_builder_fails_the_matrix(db):
    from orgs.models import SecurityEvent

    home, _away = cases.build_sides()
    with pytest.raises(cases.MatrixGap, match="no builder for SecurityEvent"):
        cases.build(SecurityEvent, home)


def test_an_unknown_url_argument_fails_the_matrix(db):
    from django.urls import path

    from core.views.generic import ScopedDetailView
    from orgs.models import Organization

    class Page(ScopedDetailView):
        queryset = Organization.objects.all()

    pattern = path("x/<int:pk>/<int:mystery_pk>/", Page.as_view(), name="x")
    home, _away = cases.build_sides()
    with pytest.raises(cases.MatrixGap, match="mystery_pk"):
        cases.object_kwargs("x", pattern, Page, home.branch)
    assert cases.object_kwargs("x", path("x/<int:pk>/", Page.as_view()), Page, home.branch) == {"pk": home.branch.pk}
