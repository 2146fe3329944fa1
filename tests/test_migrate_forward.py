"""A database created and filled by `load_demo` on the baseline commit migrates forward with the current code
with every row and every encrypted value intact.

The test extracts the baseline source tree (`git archive`), builds a demo database there (migrate + load_demo,
on SQLite files of its own, whatever DATABASE_URL the suite runs with), dumps it with the baseline code, copies
it, migrates the copy with the current code and dumps it again. Everything is keyed by table name (db_table),
never by model label: models move between apps, their tables stay.

The dump (DUMP_SCRIPT, run in a subprocess inside each tree) records, per table, the row count and a SHA-256
over the rows in primary-key order (the baseline's columns only, so columns added later do not count), and per
`*_encrypted` column a SHA-256 over the decrypted values and how many are non-empty.

No Celery broker or worker is needed: in the embedded shape load_demo's on-demand coverage snapshot goes through
the outbox to kombu's filesystem transport, whose folders (like the e-mail files of the reminder sweep) live
under PORTAL_VAR_DIR, which points into tmp_path.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# The last commit before step 7's model moves (main before the restructuring into core/, coverage/,
# notifications/ and demo/).
BASELINE_COMMIT = "e36e1bca24d7eebf0ad353fd294d36514722d8d5"

# Tables whose content the current code's migrations may change: their row counts are still compared, their
# digests are not. Add a table here only when a migration intentionally alters its rows, and say which one.
ALLOWED_CHANGED_CONTENT = frozenset({
    "django_content_type",  # app_label of moved models (models keep their tables, their labels change)
    "auth_permission",  # names/codenames follow the content types
})

# Models added since the baseline: post_migrate gives each one content type and four permissions, so those two
# tables grow by exactly this much. A moved model whose content type did not follow it would grow them more.
NEW_MODELS = ("portal.auditentry", "portal.apitoken")
EXPECTED_GROWTH = {"django_content_type": len(NEW_MODELS), "auth_permission": 4 * len(NEW_MODELS)}

# Encrypted columns that must hold data after load_demo, so that the comparison cannot pass vacuously.
REQUIRED_ENCRYPTED = (
    "members_member.id_number_encrypted",
    "members_member.phone_encrypted",
    "services_servicerequest.requester_phone_encrypted",
)
MEMBERS_TABLE = "members_member"

# Run with `python -c DUMP_SCRIPT <output.json> [<baseline columns.json>]` inside a source tree (cwd).
DUMP_SCRIPT = r'''
import datetime as dt
import decimal
import hashlib
import json
import os
import sys
from pathlib import Path

root = Path.cwd().resolve()
sys.path.insert(0, str(root))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
import django

django.setup()
from django.apps import apps
from django.db import connection

import portal

assert Path(portal.__file__).resolve().is_relative_to(root), f"portal imported from {portal.__file__}, not {root}"


def project_decrypt():
    for name in ("core.crypto", "portal.crypto"):
        try:
            module = __import__(name, fromlist=["decrypt"])
        except ImportError:
            continue
        if Path(module.__file__).resolve().is_relative_to(root):
            return module.decrypt
    raise SystemExit("no decrypt function (core.crypto, portal.crypto) in " + str(root))


def plain(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return {type(value).__name__: str(value)}
    raise TypeError(f"cannot digest {type(value).__name__}")


def line(values):
    return json.dumps(list(values), default=plain, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


output = Path(sys.argv[1])
given = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else None
qn = connection.ops.quote_name
decrypt = project_decrypt()
result = {"tables": {}, "encrypted": {}}
with connection.cursor() as cursor:
    for table in connection.introspection.table_names(cursor):
        if table == "django_migrations":
            continue
        if given is None:
            columns = [info.name for info in connection.introspection.get_table_description(cursor, table)]
            order = connection.introspection.get_primary_key_columns(cursor, table) or columns
        elif table in given:
            columns, order = given[table]["columns"], given[table]["order"]
        else:
            columns = order = None  # a table the baseline did not have: counted, not digested
        cursor.execute(f"SELECT COUNT(*) FROM {qn(table)}")
        entry = {"count": cursor.fetchone()[0], "columns": columns, "order": order, "sha256": None}
        if columns:
            digest = hashlib.sha256()
            cursor.execute(
                f"SELECT {', '.join(map(qn, columns))} FROM {qn(table)} ORDER BY {', '.join(map(qn, order))}"
            )
            while rows := cursor.fetchmany(1000):
                for row in rows:
                    digest.update(line(row))
            entry["sha256"] = digest.hexdigest()
        result["tables"][table] = entry

    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        for field in meta.local_concrete_fields:
            if not field.name.endswith("_encrypted"):
                continue
            key = f"{meta.db_table}.{field.column}"
            cursor.execute(
                f"SELECT {qn(field.column)} FROM {qn(meta.db_table)} ORDER BY {qn(meta.pk.column)}"
            )
            digest, non_empty = hashlib.sha256(), 0
            while rows := cursor.fetchmany(1000):
                for (token,) in rows:
                    value = decrypt(token) if token else ""
                    non_empty += bool(value)
                    digest.update(line([value]))
            result["encrypted"][key] = {"sha256": digest.hexdigest(), "non_empty": non_empty, "model": meta.label}
output.write_text(json.dumps(result, indent=1, sort_keys=True))
'''

# Run with `python -c SANITY_SCRIPT <members table>` in the current tree: a read through the current ORM.
SANITY_SCRIPT = r'''
import json
import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
import django

django.setup()
from django.apps import apps

try:
    from core.crypto import decrypt
except ImportError:
    from portal.crypto import decrypt
from members.validators import validate_id_number

table = sys.argv[1]
(member_model,) = [model for model in apps.get_models() if model._meta.db_table == table and not model._meta.proxy]
members = member_model._base_manager.all()
member = members.exclude(id_number_encrypted="").order_by("pk").first()
id_number = decrypt(member.id_number_encrypted)
print(json.dumps({
    "model": member_model._meta.label,
    "count": members.count(),
    "pk": member.pk,
    "valid_id_number": validate_id_number(id_number) == id_number,
}))
'''


def _env(database: Path, var_dir: Path) -> dict[str, str]:
    """The inherited environment (so the same FIELD_ENCRYPTION_KEYS / BLIND_INDEX_KEY / SECRET_KEY, or the
    embedded development keys both trees share), on a SQLite file of the test's own, without any broker."""
    env = {
        key: value for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_TEST_BROKER_URL", "REDIS_CACHE_URL", "PYTHONPATH"}
    }
    env.update({
        "DATABASE_URL": f"sqlite:///{database}",  # dj_database_url: sqlite:////abs/path = the absolute path
        "PORTAL_ENV": "embedded",
        "PORTAL_VAR_DIR": str(var_dir),  # the filesystem broker's folders, mail files and media
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    })
    return env


def _run(args: list[str], *, cwd: Path, env: dict[str, str], label: str) -> str:
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own interpreter and scripts
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    print(f"  {label}: {time.monotonic() - started:.1f} s")
    if result.returncode != 0:
        pytest.fail(
            f"{label} failed (exit {result.returncode}) in {cwd}\n--- stdout\n{result.stdout[-5000:]}"
            f"\n--- stderr\n{result.stderr[-5000:]}"
        )
    return result.stdout


def _extract_baseline(target: Path) -> None:
    """`git archive BASELINE_COMMIT | tar -x -C target` (tarfile standing in for tar)."""
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is not on PATH: this test extracts the baseline tree with `git archive`")
    known = subprocess.run(  # noqa: S603 - git with fixed arguments
        [git, "-C", str(REPO_ROOT), "cat-file", "-e", f"{BASELINE_COMMIT}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )
    if known.returncode != 0:
        pytest.fail(
            f"baseline commit {BASELINE_COMMIT} is not in the repository at {REPO_ROOT} (a shallow clone?); "
            f"fetch it (git fetch --unshallow) - this test needs it. git said: {known.stderr.strip()}"
        )
    target.mkdir()
    archive = subprocess.run(  # noqa: S603 - git with fixed arguments
        [git, "-C", str(REPO_ROOT), "archive", BASELINE_COMMIT], capture_output=True, check=False,
    )
    if archive.returncode != 0:
        pytest.fail(f"git archive {BASELINE_COMMIT} failed: {archive.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")


def _dump(tree: Path, env: dict[str, str], output: Path, label: str, columns: Path | None = None) -> dict:
    args = [sys.executable, "-c", DUMP_SCRIPT, str(output)] + ([str(columns)] if columns else [])
    _run(args, cwd=tree, env=env, label=label)
    return json.loads(output.read_text())


def _differences(before: dict, after: dict) -> list[str]:
    """Everything that did not survive the migration, as readable lines (empty when all did)."""
    problems = []
    # Tables: none lost, no row lost or gained, and (outside the allow-list) every baseline column unchanged.
    tables = {table: (entry, after["tables"].get(table)) for table, entry in before["tables"].items()}
    if missing := sorted(table for table, (_, new) in tables.items() if new is None):
        problems.append(f"tables of the baseline gone: {missing}")
    if counts := {table: (old["count"], new["count"]) for table, (old, new) in tables.items()
                  if new is not None and new["count"] - old["count"] != EXPECTED_GROWTH.get(table, 0)}:
        problems.append(f"row counts changed beyond the new models' content types (baseline, migrated): {counts}")
    if changed := sorted(table for table, (old, new) in tables.items()
                         if new is not None and table not in ALLOWED_CHANGED_CONTENT and old["sha256"] != new["sha256"]):
        problems.append(f"contents changed (baseline columns, in primary-key order): {changed}")
    # Encrypted values: every baseline column still decrypts to the same values with the current code.
    if empty := [key for key in REQUIRED_ENCRYPTED if before["encrypted"].get(key, {}).get("non_empty", 0) == 0]:
        problems.append(f"load_demo left these encrypted columns empty (the comparison would be vacuous): {empty}")
    encrypted = {key: (entry, after["encrypted"].get(key)) for key, entry in before["encrypted"].items()}
    if lost := sorted(key for key, (_, new) in encrypted.items() if new is None):
        problems.append(f"encrypted columns no current model declares: {lost}")
    if differ := {key: (old["non_empty"], new["non_empty"]) for key, (old, new) in encrypted.items()
                  if new is not None and (old["sha256"], old["non_empty"]) != (new["sha256"], new["non_empty"])}:
        problems.append(f"decrypted values differ (non-empty values, baseline and migrated): {differ}")
    return problems


@pytest.mark.timeout(600)
def test_demo_database_of_the_baseline_migrates_forward_intact(tmp_path):
    started = time.monotonic()
    print(f"\nmigrate forward from {BASELINE_COMMIT[:12]}:")
    baseline_tree = tmp_path / "baseline"
    _extract_baseline(baseline_tree)
    print(f"  git archive: {time.monotonic() - started:.1f} s")

    baseline_db = tmp_path / "demo.sqlite3"
    baseline_env = _env(baseline_db, tmp_path / "var-baseline")
    python = [sys.executable, "manage.py"]
    _run([*python, "migrate", "--noinput"], cwd=baseline_tree, env=baseline_env, label="baseline migrate")
    _run([*python, "load_demo"], cwd=baseline_tree, env=baseline_env, label="baseline load_demo")
    before = _dump(baseline_tree, baseline_env, tmp_path / "before.json", "baseline dump")
    columns = tmp_path / "columns.json"
    columns.write_text(json.dumps({
        table: {"columns": entry["columns"], "order": entry["order"]} for table, entry in before["tables"].items()
    }))

    # The copy is migrated; the baseline file stays as load_demo left it (sqlite3's backup: WAL included).
    migrated_db = tmp_path / "migrated.sqlite3"
    source, target = sqlite3.connect(baseline_db), sqlite3.connect(migrated_db)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    current_env = _env(migrated_db, tmp_path / "var-current")
    migrated = _run([*python, "migrate", "--noinput"], cwd=REPO_ROOT, env=current_env, label="current migrate")
    applied = [line.split()[1].rstrip(".") for line in migrated.splitlines() if line.strip().startswith("Applying ")]
    print(f"    applied {len(applied)} migration(s): {', '.join(applied) or 'none'}")
    after = _dump(REPO_ROOT, current_env, tmp_path / "after.json", "current dump", columns=columns)
    _run([*python, "migrate", "--check"], cwd=REPO_ROOT, env=current_env, label="current migrate --check")
    sanity = json.loads(
        _run([sys.executable, "-c", SANITY_SCRIPT, MEMBERS_TABLE], cwd=REPO_ROOT, env=current_env,
             label="current ORM read").strip().splitlines()[-1]
    )

    problems = _differences(before, after)
    assert not problems, "the migrated demo database differs from the baseline's:\n  " + "\n  ".join(problems)

    # The current ORM reads the migrated data.
    assert sanity["count"] == before["tables"][MEMBERS_TABLE]["count"], sanity
    assert sanity["valid_id_number"], sanity

    print(
        f"  {len(before['tables'])} tables, {sum(entry['count'] for entry in before['tables'].values())} rows, "
        f"{len(before['encrypted'])} encrypted columns "
        f"({sum(entry['non_empty'] for entry in before['encrypted'].values())} values) intact; "
        f"members read as {sanity['model']}"
    )
    print(f"  total: {time.monotonic() - started:.1f} s")
