"""Fixtures for the real-browser journeys: Playwright (sync API) driving Debian's Chromium against `live_server`.

Why DJANGO_ALLOW_ASYNC_UNSAFE is set here
-----------------------------------------
Playwright's sync API keeps an asyncio event loop *running* in the main thread from
`sync_playwright().start()` until `.stop()` (it switches between the test and the loop with greenlets).
Django's `async_unsafe` guard sees that running loop and raises SynchronousOnlyOperation on every ORM
call made from the main thread: the fixtures that build test data, the assertions that read the database
and pytest-django's flush after each transactional test. Nothing here is really asynchronous - the live
server answers requests in its own thread - so the guard is a false alarm. The variable is set only while
Playwright runs (the module-scoped `_playwright` fixture) and restored afterwards, so the rest of the suite
keeps the guard.

A second consequence: while that loop counts as running, Django treats the main thread as an async context
and hands it a separate set of database connections (ConnectionHandler is an asgiref Local with
thread_critical=True). They reach the same test database, but they lack the `_test_serialized_contents`
that `serialized_rollback` restores from (without them the Rule rows seeded by data migrations would stay
wiped after the first test's flush). So `_playwright` copies the serialized contents onto them after starting,
and closes them before stopping, so that none is left open when the test database is dropped.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from tests.browser import CHROMIUM_ARGS, PASSWORD, chromium_executable

SHOTS_DIR = Path(os.environ.get("BROWSER_SHOTS_DIR", "/tmp/shots"))  # noqa: S108 - screenshots for people to look at
VIEWPORTS = {"mobile": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 800}}
DEFAULT_TIMEOUT_MS = 10_000


# ---------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def _playwright(django_db_setup):
    from django.db import connections

    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    serialized = {conn.alias: conn._test_serialized_contents
                  for conn in connections.all() if hasattr(conn, "_test_serialized_contents")}
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see the module docstring
    playwright = sync_api.sync_playwright().start()
    # From here on the main thread gets the "async" connections (module docstring).
    for alias, contents in serialized.items():
        connections[alias]._test_serialized_contents = contents
    try:
        yield playwright
    finally:
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(_playwright):
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium at CHROMIUM_PATH or /usr/bin/chromium")
    # launch() gives every run a fresh temporary profile (user data dir), removed on close.
    browser = _playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# ---------------------------------------------------------------- every write a journey makes is audited
#: our apps' labels: a write to one of their models inside a request must come with an AuditEntry
AUDITED_APPS = {"portal", "orgs", "members", "activities", "services", "coverage", "notifications"}
#: the logs themselves and machine bookkeeping (not writes a person makes)
NOT_AUDITED_MODELS = {"portal.auditentry", "orgs.securityevent", "portal.workerheartbeat", "portal.outboxmessage",
                      "services.publichit"}  # the public pages' abuse counter


class _WriteWatch:
    """Groups the model writes of each request (by thread: the live server answers in its own thread) and
    notes the requests that wrote our apps' rows without an AuditEntry."""

    def __init__(self):
        import threading

        self._local = threading.local()
        self.unaudited: list[str] = []
        self.entry_ids: list[int] = []

    def request_started(self, sender=None, environ=None, **kwargs):
        self._local.bucket = {"path": (environ or {}).get("PATH_INFO", "?"), "method": (environ or {}).get("REQUEST_METHOD", "?"),
                              "writes": [], "audited": False}

    def request_finished(self, sender=None, **kwargs):
        bucket = getattr(self._local, "bucket", None)
        self._local.bucket = None
        if bucket and bucket["writes"] and not bucket["audited"]:
            self.unaudited.append(f"{bucket['method']} {bucket['path']}: {sorted(set(bucket['writes']))}")

    def write(self, sender, instance=None, update_fields=None, **kwargs):
        bucket = getattr(self._local, "bucket", None)
        if bucket is None:
            return  # test set-up, not a request
        label = sender._meta.label_lower
        if label == "portal.auditentry":
            bucket["audited"] = True
            self.entry_ids.append(instance.pk)
            return
        if sender._meta.app_label not in AUDITED_APPS or label in NOT_AUDITED_MODELS:
            return
        if label == "portal.user" and update_fields and set(update_fields) <= {"last_login"}:
            return  # the login itself (the security log records logins)
        bucket["writes"].append(label)


@pytest.fixture
def audit_watch():
    """Fails a journey when a request wrote our apps' rows without an audit row, or when an audit row it
    wrote is not on the audit page (/audit/, read as a superuser, newest first, following "older" pages)."""
    from django.core.signals import request_finished, request_started
    from django.db.models.signals import m2m_changed, post_delete, post_save

    watch = _WriteWatch()
    request_started.connect(watch.request_started, weak=False)
    request_finished.connect(watch.request_finished, weak=False)
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(watch.write, weak=False)
    try:
        yield watch
    finally:
        request_started.disconnect(watch.request_started)
        request_finished.disconnect(watch.request_finished)
        for signal in (post_save, post_delete, m2m_changed):
            signal.disconnect(watch.write)
    assert not watch.unaudited, "writes without an audit row:\n" + "\n".join(watch.unaudited)
    if watch.entry_ids:
        _assert_on_the_audit_page(watch.entry_ids)


def _assert_on_the_audit_page(entry_ids: list[int]) -> None:
    import re

    from django.test import Client
    from django.urls import reverse

    from tests.factories import UserFactory

    reader = UserFactory(username="audit-reader", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(reader)
    wanted, seen = set(entry_ids), set()
    url = reverse("orgs:audit_list")
    for _page in range(200):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        html = response.content.decode()
        seen |= {int(pk) for pk in re.findall(r'data-entry="(\d+)"', html)}
        if wanted <= seen:
            return
        older = re.search(r'<a[^>]*href="([^"]*cursor=[^"]+)"[^>]*(?:data-older|rel="next")', html) or re.search(
            r'<a[^>]*(?:data-older|rel="next")[^>]*href="([^"]*cursor=[^"]+)"', html)
        if not older:
            break
        url = reverse("orgs:audit_list") + older.group(1).replace("&amp;", "&")
    assert wanted <= seen, f"audit rows not on the audit page: {sorted(wanted - seen)}"


@pytest.fixture
def open_page(browser, live_server, audit_watch):
    """`open_page("mobile" | "desktop", user=None)`: a page in a fresh context (own cookies) on the live server,
    signed in as `user` when given.

    The context asks for Simplified Chinese (Accept-Language: zh-CN) like the portal's users' browsers;
    otherwise LocaleMiddleware would pick English for an en-US browser once an English catalogue exists.
    At teardown the test fails if a page threw an uncaught JavaScript error or a static file did not load.
    """
    contexts, problems = [], []

    def _open(viewport: str = "desktop", *, user=None):
        context = browser.new_context(
            base_url=live_server.url, viewport=VIEWPORTS[viewport], locale="zh-CN",
            timezone_id="Asia/Shanghai", accept_downloads=True,
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        if user is not None:  # already signed in (the login form itself is tested by the journeys that use it)
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": _session_key(user), "url": live_server.url}])
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"JavaScript error on {page.url}: {exc}"))
        page.on("response", lambda r: problems.append(f"{r.status} for {r.url}")
                if r.status >= 400 and "/static/" in r.url else None)
        # A navigation that starts while the previous page's assets still load aborts them
        # (net::ERR_ABORTED): that is the test moving on, not a broken asset.
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})")
                if "/static/" in r.url and "ERR_ABORTED" not in (r.failure or "") else None)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not problems, "browser problems:\n" + "\n".join(problems)


def _session_key(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    return SHOTS_DIR


# ---------------------------------------------------------------- data
@functools.cache
def _password_hash() -> str:
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)  # once per session: PBKDF2 at Django's default cost takes most of a second


@pytest.fixture
def journey(transactional_db):
    """A small district, committed (the live server reads it from another thread/connection)::

        区委两新工委 root [ROOT]
        ├── 快递行业党委 express [EXP]
        │   ├── 甲网点党支部 branch_a [EXP-A]   covers 甲网点
        │   └── 乙网点党支部 branch_b [EXP-B]   covers 乙网点
        └── 外卖配送行业党委 food [FOOD]         (no branches)

    Workplaces (all active, in 东街道): 甲网点, 乙网点 org-covered; 戊商圈 work-only (an instructor);
    丙站点, 丁站点 uncovered (空白点). Users: district@root, secretary@branch_a (password PASSWORD).
    """
    from orgs.models import Industry, Role, WorkplaceKind
    from tests.factories import (
        AssignmentFactory,
        InstructorFactory,
        MemberFactory,
        UserFactory,
        WorkplaceFactory,
        grant,
        make_branch,
        make_committee,
        make_region,
        make_root,
        reload,
    )

    district = make_region("示范区", code="110199")
    street = make_region("东街道", parent=district, code="110199001")
    root = make_root("区委两新工委", code="ROOT", region=district)
    express = make_committee("快递行业党委", parent=root, code="EXP", industry=Industry.EXPRESS)
    food = make_committee("外卖配送行业党委", parent=root, code="FOOD", industry=Industry.FOOD_DELIVERY)

    def wp(name, resp, **kw):
        return WorkplaceFactory(name=name, region=street, responsible_org=resp, **kw)

    wa = wp("甲网点", express, gig_worker_count=40)
    wb = wp("乙网点", express, gig_worker_count=20)
    wc = wp("丙站点", food, industry=Industry.FOOD_DELIVERY, gig_worker_count=30)
    wd = wp("丁站点", food, industry=Industry.FOOD_DELIVERY, gig_worker_count=15)
    we = wp("戊商圈", food, industry=Industry.FOOD_DELIVERY, kind=WorkplaceKind.BUSINESS_DISTRICT, gig_worker_count=8)
    branch_a = make_branch("甲网点党支部", parent=express, code="EXP-A", workplaces=[wa])
    branch_b = make_branch("乙网点党支部", parent=express, code="EXP-B", workplaces=[wb])
    AssignmentFactory(instructor=InstructorFactory(name="老李", org=food), workplace=we)
    MemberFactory.create_batch(3, org=branch_a, workplace=wa)

    district_user = UserFactory(username="district", password=_password_hash())
    grant(district_user, root, Role.DISTRICT)
    secretary = UserFactory(username="secretary", password=_password_hash())
    grant(secretary, branch_a, Role.SECRETARY)

    return SimpleNamespace(
        district=district, street=street,
        root=reload(root), express=reload(express), food=reload(food), branch_a=reload(branch_a), branch_b=reload(branch_b),
        wa=wa, wb=wb, wc=wc, wd=wd, we=we,
        district_user=district_user, secretary=secretary, password=PASSWORD,
    )


# ---------------------------------------------------------------- the English catalogue
@pytest.fixture(scope="session")
def english_catalogue():
    """Compile locale/en/LC_MESSAGES/django.mo when it is missing or older than the .po.

    Returns the .po path, or None when there is no .po yet. Fails (not skips) when the catalogue cannot be
    compiled: without a .mo the portal has no English UI either.
    """
    from django.conf import settings
    from django.core.management import CommandError, call_command
    from django.utils.translation.reloader import translation_file_changed

    base = Path(settings.BASE_DIR)
    po = base / "locale" / "en" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if not po.exists():
        return None
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        try:
            with contextlib.chdir(base):  # compilemessages also walks the current directory for locale/ folders
                call_command("compilemessages", locale=["en"], ignore_patterns=[".venv", "node_modules"],
                             stdout=io.StringIO(), stderr=io.StringIO())
        except CommandError as exc:  # e.g. GNU gettext's msgfmt is not installed
            pytest.fail(f"cannot compile {po}: {exc}")
        # Drop the catalogues Django (and the live server thread, same process) may have cached.
        translation_file_changed(sender=None, file_path=mo)
    return po
