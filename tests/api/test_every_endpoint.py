"""Every API endpoint, generated from the URLconf (NetBox's generic API tests are the model).

For each viewset on core.api.ScopedViewSet (objects from tests/view_cases.py BUILDERS):
- without credentials: 401 with the `Token` challenge, in the one error shape;
- a role lacking `<resource>.view`: 403; a role holding it in its own district: the own object is listed and
  retrieved, one in another district is not listed and its detail (and every detail action) is 404;
- the list costs the same number of queries with 2 and 8 objects;
- writes declared in tests/api/writes_<app>.py: create (201, then retrievable), create naming the other district
  (400/404, nothing created), update (200), delete where allowed; an accepting viewset without a declared
  write fails here instead of being skipped.
Every other route (statistics, schema, docs) answers 401 without credentials.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, get_resolver, reverse

from core.api.viewsets import ScopedViewSet
from orgs.models import Role
from tests import view_cases as cases
from tests.api.harness import all_writes
from tests.factories import UserFactory, grant

WRITES = all_writes()


def _api_patterns() -> dict[str, URLPattern]:
    found = {}
    for name, pattern in cases.url_patterns(get_resolver()):
        if name.startswith("api-") and not name.startswith("api-root"):
            found.setdefault(name, pattern)
    return found


PATTERNS = _api_patterns()


def _viewset(pattern):
    cls = getattr(pattern.callback, "cls", None)
    return cls if isinstance(cls, type) and issubclass(cls, ScopedViewSet) else None


VIEWSETS = {name[: -len("-list")]: _viewset(p) for name, p in PATTERNS.items() if name.endswith("-list") and _viewset(p)}
DETAIL_ACTIONS = {
    name: p for name, p in PATTERNS.items()
    if _viewset(p) and "pk" in p.pattern.regex.groupindex and not name.endswith("-detail")
}


def _path(pattern: URLPattern, **kwargs) -> str:
    """The URL of a route (reverse by its name, the arguments filled in)."""
    return reverse(pattern.name, kwargs={k: v for k, v in kwargs.items() if k in pattern.pattern.regex.groupindex})


def _perm(viewset, action: str) -> str | None:
    view = viewset()
    view.action = action
    return view.required_perm(None)


def _scoped_model(viewset):
    return viewset.model


def _side_user(model, role, grant_at="committee"):
    staff = UserFactory()
    home, away = cases.build_sides(staff=staff)
    org = home.root if (model in cases.UNSCOPED or grant_at == "root") else getattr(home, grant_at)
    if role:
        grant(staff, org, role)
    return staff, home, away


def _ids(response) -> set:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return {row["id"] for row in rows}


# ---------------------------------------------------------------- the set of endpoints
def test_the_api_has_its_resources():
    assert len(VIEWSETS) >= 15, sorted(VIEWSETS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_api_route_is_a_scoped_viewset_or_declared(name):
    pattern = PATTERNS[name]
    view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    from core.api.docs import RedocView, SchemaView, SwaggerView
    from core.api.viewsets import PortalAPIMixin

    assert view_class is not None and (
        issubclass(view_class, (ScopedViewSet, PortalAPIMixin)) or view_class in (SchemaView, SwaggerView, RedocView)
    ), f"{name}: {view_class!r} is not on core.api (ScopedViewSet / PortalAPIMixin)"


# ---------------------------------------------------------------- 401
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_without_credentials_every_route_answers_401(client, db, name):
    pattern = PATTERNS[name]
    url = _path(pattern, **{k: 1 for k in pattern.pattern.regex.groupindex if k != "format"})
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if response.status_code == 405:
            continue
        assert response.status_code == 401, f"{method.upper()} {url} -> {response.status_code}"
        assert response["WWW-Authenticate"].startswith("Token")
        if response.get("Content-Type", "").startswith("application/json"):
            assert set(response.json()) == {"code", "message", "fields"}
            assert response.json()["code"] == "not_authenticated"


# ---------------------------------------------------------------- 403 / 404 / own
@pytest.mark.parametrize("basename", sorted(VIEWSETS))
def test_a_role_without_the_permission_gets_403(client, db, basename):
    viewset = VIEWSETS[basename]
    perm = _perm(viewset, "list")
    if perm is None:
        pytest.skip(f"{basename}: every logged-in account has its own (no role needed)")
    role = cases.role_lacking(perm)
    if role is None:
        pytest.skip(f"{basename}: every role holds {perm}")
    staff, _home, _away = _side_user(viewset.model, role)
    client.force_login(staff)
    response = client.get(_path(PATTERNS[f"{basename}-list"]))
    assert response.status_code == 403, f"{role} lacks {perm}: {response.status_code}"
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("basename", sorted(VIEWSETS))
def test_own_object_listed_and_retrieved_other_district_404(client, db, settings, tmp_path, basename):
    settings.MEDIA_ROOT = tmp_path / "media"
    viewset = VIEWSETS[basename]
    model = _scoped_model(viewset)
    perm = _perm(viewset, "list")
    role = cases.role_holding(perm) if perm else Role.VIEWER
    staff, home, away = _side_user(model, role)
    client.force_login(staff)
    own = cases.build(model, home)
    list_url = _path(PATTERNS[f"{basename}-list"])
    detail = PATTERNS.get(f"{basename}-detail")
    listed = _ids(client.get(list_url, {"per_page": 100}))
    assert own.pk in listed, f"{basename}: own object {own.pk} not in the list"
    if detail is not None:
        assert client.get(_path(detail, pk=own.pk)).status_code == 200
    if model in cases.UNSCOPED:
        return
    other = cases.build(model, away)
    assert other.pk not in _ids(client.get(list_url, {"per_page": 100}))
    if detail is not None:
        response = client.get(_path(detail, pk=other.pk))
        assert response.status_code == 404, f"{basename}: other district's object -> {response.status_code}"
        assert response.json()["code"] == "not_found"
    for name, pattern in DETAIL_ACTIONS.items():
        if name.startswith(f"{basename}-") and _viewset(pattern) is viewset:
            for method in ("get", "post"):
                response = getattr(client, method)(_path(pattern, pk=other.pk), content_type="application/json")
                assert response.status_code in (404, 405), f"{method.upper()} {name} on another district's object -> {response.status_code}"


@pytest.mark.parametrize("basename", sorted(VIEWSETS))
def test_list_query_count_constant_as_rows_grow(client, db, settings, tmp_path, basename):
    settings.MEDIA_ROOT = tmp_path / "media"
    viewset = VIEWSETS[basename]
    model = _scoped_model(viewset)
    perm = _perm(viewset, "list")
    role = cases.role_holding(perm) if perm else Role.VIEWER
    staff, home, _away = _side_user(model, role)
    client.force_login(staff)
    url = _path(PATTERNS[f"{basename}-list"])

    def count(n):
        for _ in range(n):
            cases.build(model, home)
        client.get(url)  # warm (session, grants cache)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"per_page": 100})
        assert response.status_code == 200
        return len(ctx.captured_queries), len(_ids(response))

    small, rows_small = count(2)
    large, rows_large = count(6)
    assert rows_large > rows_small, f"{basename}: the list did not grow ({rows_small} -> {rows_large})"
    assert large == small, f"{basename}: {small} queries at {rows_small} rows, {large} at {rows_large}"


# ---------------------------------------------------------------- writes
def _accepts(viewset, action: str) -> bool:
    return hasattr(viewset, action)


@pytest.mark.parametrize("basename", sorted(VIEWSETS))
def test_every_accepting_viewset_declares_its_writes(basename):
    viewset = VIEWSETS[basename]
    accepts = [a for a in ("create", "partial_update", "destroy") if _accepts(viewset, a)]
    if not accepts:
        return
    write = WRITES.get(f"api-{basename.removeprefix('api-')}") or WRITES.get(basename)
    assert write is not None, f"{basename} accepts {accepts}: declare its Write in tests/api/writes_<app>.py"
    if "create" in accepts:
        assert write.create is not None, f"{basename}: POST accepted, Write.create missing"
    if "partial_update" in accepts:
        assert write.update is not None, f"{basename}: PATCH accepted, Write.update missing"
    if "destroy" in accepts:
        assert write.destroy, f"{basename}: DELETE accepted, Write.destroy not set"


def _write_user(basename, action):
    viewset = VIEWSETS[basename]
    write = WRITES[basename]
    perm = _perm(viewset, action)
    role = write.role or (cases.role_holding(perm) if perm else Role.VIEWER)
    return viewset, write, _side_user(viewset.model, role, write.grant_at)


CREATES = sorted(b for b in VIEWSETS if b in WRITES and WRITES[b].create)
UPDATES = sorted(b for b in VIEWSETS if b in WRITES and WRITES[b].update)
DESTROYS = sorted(b for b in VIEWSETS if b in WRITES and WRITES[b].destroy)


@pytest.mark.parametrize("basename", CREATES)
def test_create(client, db, settings, tmp_path, basename):
    settings.MEDIA_ROOT = tmp_path / "media"
    viewset, write, (staff, home, away) = _write_user(basename, "create")
    client.force_login(staff)
    url = _path(PATTERNS[f"{basename}-list"])
    before = viewset.model._default_manager.count()
    response = client.post(url, write.create(home), content_type="application/json")
    assert response.status_code in (201, 202), f"{basename}: POST -> {response.status_code} {response.content[:400]!r}"
    created = response.json()
    assert viewset.model._default_manager.count() == before + 1
    detail = PATTERNS.get(f"{basename}-detail")
    if detail is not None:
        assert client.get(_path(detail, pk=created["id"])).status_code == 200
    if write.create_away is not None:
        count = viewset.model._default_manager.count()
        response = client.post(url, write.create_away(home, away), content_type="application/json")
        assert response.status_code in (400, 404), f"{basename}: POST naming the other district -> {response.status_code}"
        assert set(response.json()) == {"code", "message", "fields"}
        assert viewset.model._default_manager.count() == count


@pytest.mark.parametrize("basename", UPDATES)
def test_update(client, db, settings, tmp_path, basename):
    settings.MEDIA_ROOT = tmp_path / "media"
    viewset, write, (staff, home, away) = _write_user(basename, "partial_update")
    client.force_login(staff)
    obj = cases.build(viewset.model, home)
    detail = PATTERNS[f"{basename}-detail"]
    response = client.patch(_path(detail, pk=obj.pk), write.update(home, obj), content_type="application/json")
    assert response.status_code == 200, f"{basename}: PATCH -> {response.status_code} {response.content[:400]!r}"
    if viewset.model not in cases.UNSCOPED:
        other = cases.build(viewset.model, away)
        response = client.patch(_path(detail, pk=other.pk), write.update(home, other), content_type="application/json")
        assert response.status_code == 404, f"{basename}: PATCH on the other district's object -> {response.status_code}"


@pytest.mark.parametrize("basename", DESTROYS)
def test_destroy(client, db, settings, tmp_path, basename):
    settings.MEDIA_ROOT = tmp_path / "media"
    viewset, write, (staff, home, away) = _write_user(basename, "destroy")
    client.force_login(staff)
    detail = PATTERNS[f"{basename}-detail"]
    if viewset.model not in cases.UNSCOPED:
        other = cases.build(viewset.model, away)
        assert client.delete(_path(detail, pk=other.pk)).status_code == 404
    obj = cases.build(viewset.model, home)
    response = client.delete(_path(detail, pk=obj.pk))
    assert response.status_code == 204, f"{basename}: DELETE -> {response.status_code} {response.content[:300]!r}"
