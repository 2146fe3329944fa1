"""Architecture rules from STYLE.md, enforced so that they stay true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROOT = Path(__file__).resolve().parent.parent
# The apps in layer order: each may import only apps of a lower rank (its own app aside). Peers (same rank) do not
# import each other. `portal` is the project package (settings, root urls, Celery app, wsgi): no app imports it.
LAYERS: dict[str, int] = {
    "core": 0,
    "orgs": 1,
    "members": 2,
    "activities": 3, "services": 3,
    "coverage": 4,
    "notifications": 5,
    "demo": 6,
}
APPS = list(LAYERS)
THIN_MODULES = ("*views.py", "views/*.py", "*forms.py", "*tasks.py", "admin.py", "filtersets.py", "api/views.py", "api/serializers.py")


def _app_files(name: str) -> list[Path]:
    found = {p for app in APPS for p in (ROOT / app).glob(f"**/{name}") if "migrations" not in p.parts}
    return sorted(found)


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an app file imports, at module level or inside a function, with absolute names
    (relative imports resolved against the file's package), plus `importlib.import_module("...")` strings."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]  # `from orgs import actions`
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def _layer_files() -> list[Path]:
    return sorted(p for app in LAYERS for p in (ROOT / app).rglob("*.py"))


@pytest.mark.parametrize("path", _layer_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_flow_one_way_down_the_layers(path):
    """core < orgs < members < activities, services < coverage < notifications < demo: a module imports only its own
    app and apps below it, never `portal` (the project package), at module level or inside a function.
    Migrations included (a data migration that imported an upper layer would tie the schema to it)."""
    app = path.relative_to(ROOT).parts[0]
    rank = LAYERS[app]
    offenders = []
    for line, module in _imported_modules(path):
        top = module.split(".")[0]
        if top == app:
            continue
        if top == "portal":
            offenders.append(f"{line}: {module} (the project package)")
        elif top in LAYERS and LAYERS[top] >= rank:
            offenders.append(f"{line}: {module} ({top} is {'a peer' if LAYERS[top] == rank else 'above'} {app})")
    assert offenders == [], f"{path.relative_to(ROOT)} imports against the layer order"


def test_every_app_is_in_the_layer_order():
    """A new app must take its place in LAYERS (and INSTALLED_APPS), or the layering test would not see it."""
    from django.apps import apps

    ours = {config.name for config in apps.get_app_configs() if (ROOT / config.name.split(".")[0]).is_dir()}
    assert ours == set(LAYERS)


def test_the_layer_test_sees_imports_inside_functions_and_relative_ones(tmp_path):
    sample = ROOT / "orgs" / "_layer_probe.py"
    sample.write_text("def f():\n    from members.models import Member\n    from . import models\n    import coverage.selectors\n")
    try:
        modules = {m for _, m in _imported_modules(sample)}
    finally:
        sample.unlink()
    assert {"members.models", "orgs.models", "coverage.selectors"} <= modules


def test_no_module_is_named_services_py():
    offenders = [p for p in ROOT.rglob("services.py") if ".venv" not in p.parts and "node_modules" not in p.parts]
    assert offenders == []


@pytest.mark.parametrize("path", [p for name in THIN_MODULES for p in _app_files(name)], ids=str)
def test_thin_layers_do_not_write_models(path):
    """Views, forms, tasks, admin and filtersets call actions; they never save domain models themselves."""
    tree = ast.parse(path.read_text())
    writes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"save", "delete", "bulk_create", "bulk_update", "update_or_create", "get_or_create"}:
                writes.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
            if node.func.attr in {"create", "update"} and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "objects":
                writes.append(f"{path.name}:{node.lineno} objects.{node.func.attr}()")
    assert writes == []


@pytest.mark.parametrize("path", _app_files("*views.py") + _app_files("views/*.py"), ids=str)
def test_views_reach_models_only_through_the_scoping_choke_point(path):
    """In a view, `Model.objects` appears only inside restrict()/get_scoped_or_404() or as a generic view's
    `queryset = ...` (which the generic views restrict before any row is read); reads go through selectors."""
    offenders = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.match(r"\s+queryset = [A-Z]\w*\.objects\b", line):
            continue
        if re.search(r"\b[A-Z]\w*\.objects\b", line) and "get_scoped_or_404(" not in line and ".restrict(" not in line:
            offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def _all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _all_patterns(entry, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + entry.name, entry


PUBLIC = {"login", "logout", "healthz", "set_language", "orgs:password_set"}
#: Pages for gig workers without an account (services/urls.py, names services:public_*): the only other pages open to anonymous users.
PUBLIC_NAMESPACE = "services:public_"


@pytest.mark.django_db
def test_every_portal_page_requires_login(client):
    checked = 0
    for name, pattern in _all_patterns():
        if name.startswith("admin:") or name in PUBLIC or name.startswith(PUBLIC_NAMESPACE):
            continue
        kwargs = {key: ("json" if key == "format" else "1") for key in pattern.pattern.regex.groupindex}
        url = reverse(name, kwargs=kwargs)
        response = client.get(url)
        if name.startswith("api-"):
            assert response.status_code in (401, 403), f"{name} {url} -> {response.status_code}"
        else:
            assert response.status_code == 302 and "/login/" in response["Location"], f"{name} {url} -> {response.status_code}"
        checked += 1
    assert checked >= 10


@pytest.mark.django_db
def test_anonymous_pages_are_only_the_public_service_pages(client):
    """Every page an anonymous visitor can open is a public service page (no login redirect, no error)."""
    opened = []
    for name, pattern in _all_patterns():
        if name.startswith("admin:") or name in PUBLIC:
            continue
        if pattern.pattern.regex.groupindex:
            continue  # pages that need a code or an id are covered by the public page tests
        response = client.get(reverse(name))
        if response.status_code == 200:
            opened.append(name)
    assert opened and all(name.startswith(PUBLIC_NAMESPACE) for name in opened), opened


# ---------------------------------------------------------------- every write action leaves an audit row
#: (module, function) pairs that take an `actor` (or sit in an actions module) but are not writes needing an
#: AuditEntry of their own: checks and reads, and the functions that ARE a log. Say why for each new entry.
EXEMPT: set[tuple[str, str]] = {
    # the security-event log itself (orgs.models.SecurityEvent): recording an event is the record
    ("orgs/actions/security.py", "security_event_record"),
    ("orgs/actions/security.py", "rate_limited_event"),
    ("members/actions/registry.py", "duplicate_refusals_record"),  # writes a security event, changes nothing else
    # checks: they answer whether the actor may do something and change nothing
    ("members/actions/transfers.py", "transfer_sides"),
    ("members/actions/transfers.py", "transfer_available_steps"),
    ("coverage/actions/snapshots.py", "may_request_snapshot"),
    ("services/actions/handling.py", "can_change_request"),
    ("services/actions/handling.py", "reroute_allowed"),
    # reads of an upload before anything is written (onboarding_confirm writes and audits)
    ("orgs/actions/onboarding.py", "onboarding_parse"),
    ("orgs/actions/onboarding.py", "onboarding_validate"),
    ("orgs/actions/onboarding.py", "onboarding_link_rows"),  # links derive from the account's state; nothing stored
    # a history row written by the request actions that audit (never called by a view)
    ("services/actions/common.py", "timeline_add"),
}


def _action_modules() -> list[Path]:
    """`<app>/actions/*.py`, `<app>/actions.py` (and `<app>/*_actions.py`) of every app above core."""
    patterns = ("actions/*.py", "actions.py", "*_actions.py")
    return sorted({p for app in LAYERS if app != "core" for pattern in patterns for p in (ROOT / app).glob(pattern)})


def _takes_actor(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The signature has an `actor` parameter that can be passed by keyword (keyword-only or ordinary)."""
    return any(arg.arg == "actor" for arg in node.args.kwonlyargs + node.args.args)


def _unaudited_actions(path: Path) -> list[str]:
    """Public module-level functions of `path` taking `actor` whose body calls `audit_record` neither directly
    (`audit_record(...)`, an `import ... as` alias of it, `audit.audit_record(...)`) nor through module-level
    functions of the same module that do (followed through the module's own calls, e.g. activity_add_file ->
    activity_add_files -> _store_files -> _store_file; calls into other modules are not followed)."""
    tree = ast.parse(path.read_text())
    audit_names = {"audit_record"} | {
        alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        for alias in node.names if alias.name == "audit_record" and alias.asname
    }
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}

    def calls(function) -> list[ast.expr]:
        return [node.func for stmt in function.body for node in ast.walk(stmt) if isinstance(node, ast.Call)]

    def audits(name: str, seen: frozenset[str] = frozenset()) -> bool:
        found = calls(functions[name])
        if any((isinstance(f, ast.Name) and f.id in audit_names) or (isinstance(f, ast.Attribute) and f.attr == "audit_record")
               for f in found):
            return True
        return any(isinstance(f, ast.Name) and f.id in functions and f.id not in seen and audits(f.id, seen | {name})
                   for f in found)

    return [name for name, function in functions.items()
            if not name.startswith("_") and _takes_actor(function) and not audits(name)]


def test_every_write_action_records_an_audit_row(tmp_path):
    """Every public action taking an `actor` writes an AuditEntry (core.audit.audit_record) in its body or in a
    helper of its module, so that no write leaves no trace on the audit page. Checks, reads and logs: EXEMPT."""
    probe = tmp_path / "probe_actions.py"
    probe.write_text(
        "from core.audit import audit_record, audit_record as record\n"
        "from core import audit\n"
        "def direct(*, actor, obj):\n    audit_record(actor=actor, action='x.y', obj=obj)\n"
        "def aliased(*, actor):\n    record(actor=actor, action='x.y')\n"
        "def dotted(*, actor):\n    audit.audit_record(actor=actor, action='x.y')\n"
        "def _helper(actor):\n    audit_record(actor=actor, action='x.y')\n"
        "def via_helper(*, actor):\n    return _helper(actor)\n"
        "def _deeper(actor):\n    return _helper(actor)\n"
        "def two_levels(*, actor):\n    return _deeper(actor)\n"
        "def _loop_a(actor):\n    return _loop_b(actor)\n"
        "def _loop_b(actor):\n    return _loop_a(actor)\n"
        "def loops(*, actor):\n    return _loop_a(actor)\n"
        "def elsewhere(*, actor):\n    return other.audit_helper(actor=actor)\n"
        "def forgets(*, actor, obj):\n    obj.save()\n"
        "def positional(actor, obj):\n    obj.save()\n"
        "def no_actor(*, obj):\n    obj.save()\n"
        "def _private(*, actor):\n    pass\n"
        "def only_mentions(*, actor):\n    return audit_record\n"
    )
    assert _unaudited_actions(probe) == ["loops", "elsewhere", "forgets", "positional", "only_mentions"]

    modules = _action_modules()
    assert ROOT / "orgs" / "actions" / "__init__.py" in modules and ROOT / "activities" / "actions" / "records.py" in modules
    stale = [f"{module}: {name}" for module, name in sorted(EXEMPT)
             if not (ROOT / module).is_file() or name not in {
                 n.name for n in ast.parse((ROOT / module).read_text()).body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}]
    assert stale == [], "EXEMPT names functions that no longer exist"
    offenders = [f"{path.relative_to(ROOT)}: {name}" for path in modules for name in _unaudited_actions(path)
                 if (str(path.relative_to(ROOT)), name) not in EXEMPT]
    assert offenders == [], "these actions write no audit row (core.audit.audit_record); audit them or add them to EXEMPT:\n" + "\n".join(offenders)
