"""Backups of a PostgreSQL store with the server's own tools: ``pg_dump -Fc`` of the store's schema (one
consistent snapshot while the team goes on working), checked with ``pg_restore --list``, and restored with
``pg_restore --clean --single-transaction`` (all or nothing).

The connection is handed to the tools through libpq's environment (``PGHOST``, ``PGPASSWORD``, ...), never
on their command line, which other users of the machine can read in the process list.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from annotation.backup.catalogue import STAMP, BackupInfo, backup_folder, commit_backup, private_folder
from annotation.errors import BackupError, BackupToolMissing, BadBackup
from annotation.store import Store, create_store_engine, describe_url
from media_tools.scratch import child_options, scratch_name


def find_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: on the PATH, else the newest in Debian's ``/usr/lib/postgresql``.

    Raises:
        BackupToolMissing: not installed.
    """
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise BackupToolMissing(f"{name}: not found; install PostgreSQL's client tools (apt-get install postgresql-client)")


def _env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[key] = str(value)
    query = dict(url.query)
    for key, var in (("options", "PGOPTIONS"), ("sslmode", "PGSSLMODE"), ("host", "PGHOST")):
        raw = query.get(key)
        value = raw[-1] if isinstance(raw, tuple) else raw
        if value:
            env[var] = unquote(str(value))
    return env


def _schema_of(url: str) -> str:
    """The schema the store's tables live in (``public`` unless the URL's options set a search path)."""
    engine, _label = create_store_engine(url)
    try:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
    finally:
        engine.dispose()
    return str(schema or "public")


def _run(tool: str, args: list[str], env: dict[str, str], what: str) -> str:
    try:
        proc: subprocess.CompletedProcess[str] = subprocess.run(
            [find_tool(tool), *args], env=env, capture_output=True, text=True, check=False, **child_options()
        )
    except OSError as exc:
        raise BackupError(f"{what}: cannot run {tool} ({exc.strerror or exc})") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise BackupError(f"{what}: {tool} failed ({lines[-1] if lines else f'exit status {proc.returncode}'})")
    return proc.stdout


def _quoted(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'  # a pattern for -n that matches this one name exactly


def dump(store: Store, target: Path, now: datetime, note: Mapping[str, Any] | None = None) -> BackupInfo:
    """``pg_dump -Fc`` of the store's schema into ``target`` (through a checked temporary file)."""
    url = store.engine.url
    with store.engine.connect() as conn:
        schema = str(conn.execute(text("SELECT current_schema()")).scalar() or "public")
    tmp = target.with_name(scratch_name(".partial-", f"-{target.name}"))
    try:
        _run("pg_dump", ["-Fc", f"--schema={_quoted(schema)}", "-f", str(tmp)], _env(url), store.label)
        with contextlib.suppress(OSError):
            tmp.chmod(0o600)
        try:
            revision = check_dump(tmp)
        except BadBackup as exc:
            raise BackupError(f"{store.label}: the dump failed its check ({exc}); nothing kept") from exc
        return commit_backup(tmp, target, now, "pg_dump", False, revision, note)
    finally:
        tmp.unlink(missing_ok=True)


def check_dump(path: Path) -> str:
    """``pg_restore --list`` reads the whole table of contents (a truncated dump fails); the schema
    revision comes from the dumped ``alembic_version`` table.

    Raises:
        BadBackup: not a readable custom-format dump of a Frontdoor store.
    """
    env = dict(os.environ)
    try:
        toc = _run("pg_restore", ["--list", str(path)], env, str(path))
        if not re.search(r"TABLE DATA \S+ alembic_version ", toc):
            raise BadBackup(f"{path}: not a Frontdoor store dump (no schema revision)")
        data = _run("pg_restore", ["--data-only", "--table=alembic_version", "-f", "-", str(path)], env, str(path))
    except BadBackup:
        raise
    except BackupToolMissing:
        raise
    except BackupError as exc:
        raise BadBackup(f"{path}: damaged or not a dump ({exc.message.split('(', 1)[-1].rstrip(')')})") from exc
    m = re.search(r"COPY \S*alembic_version \(version_num\) FROM stdin;\n([^\n\\]+)\n", data)
    if not m:
        raise BadBackup(f"{path}: damaged (its schema revision cannot be read)")
    return m.group(1).strip()


def restore_dump(url: str, backup: Path) -> Path:
    """Dump the current store aside (``before-restore-<time>.dump`` in its backup folder), then restore
    ``backup`` over it in one transaction. Returns the set-aside dump.

    Raises:
        BackupError: either tool fails (the restore is all or nothing: the store is then as it was).
    """
    u = make_url(url)
    label = describe_url(u)
    folder = backup_folder(url)
    private_folder(folder)
    stamp = datetime.now(UTC).strftime(STAMP)
    aside = folder / f"before-restore-{stamp}.dump"
    schema = _schema_of(url)
    tmp = aside.with_name(scratch_name(".partial-", f"-{aside.name}"))
    try:
        _run("pg_dump", ["-Fc", f"--schema={_quoted(schema)}", "-f", str(tmp)], _env(u), label)
        os.replace(tmp, aside)
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        aside.chmod(0o600)
    _run(
        "pg_restore",
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
         f"--dbname={u.database}", str(backup)],
        _env(u),
        label,
    )  # fmt: skip
    return aside
