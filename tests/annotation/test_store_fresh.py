"""A new SQLite store is made from the recorded schema of a migrated one (no Alembic): the recording is at the
head and gives exactly the store the migrations give (every table, column, type, index, constraint and trigger
as SQLite holds its SQL, every row, the header pragmas), plain or encrypted; a database that is not empty,
or a recording of another revision, goes through the migrations as before."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from annotation.store import HEAD_REVISION, file_state
from annotation.store.engine import create_store_engine, open_store, schema_revision, sqlite_url, upgrade_schema
from annotation.store.fresh import RECORDING, create_from_recording, dump, recorded_revision
from tests.fixtures.secrets import PASS

ROOT = Path(__file__).resolve().parents[2]
_PRAGMAS = ("user_version", "application_id", "journal_mode", "page_size", "auto_vacuum", "encoding", "foreign_keys")


def _snapshot(engine: Any) -> dict[str, Any]:
    """Everything a schema is made of, as SQLite holds it: each object's SQL, each table's rows, the pragmas
    (columns, types, constraints and indexes are all in the SQL; the pragmas' views of them are compared too)."""
    with engine.connect() as conn:
        master = sorted(tuple(r) for r in conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        tables = [name for kind, name, _, _ in master if kind == "table" and not name.startswith("sqlite_")]
        rows = {t: sorted(map(tuple, conn.exec_driver_sql(f'SELECT * FROM "{t}"'))) for t in tables}
        columns = {t: [tuple(r) for r in conn.exec_driver_sql(f'PRAGMA table_xinfo("{t}")')] for t in tables}
        fks = {t: [tuple(r) for r in conn.exec_driver_sql(f'PRAGMA foreign_key_list("{t}")')] for t in tables}
        indexes = {t: sorted(tuple(r) for r in conn.exec_driver_sql(f'PRAGMA index_list("{t}")')) for t in tables}
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in _PRAGMAS}
        problems = [tuple(r) for r in conn.exec_driver_sql("PRAGMA foreign_key_check")]
    return {
        "master": master,
        "rows": rows,
        "columns": columns,
        "fks": fks,
        "indexes": indexes,
        "pragmas": pragmas,
        "fk problems": problems,
    }


def _migrated(url: str, passphrase: str | None = None) -> dict[str, Any]:
    engine, _ = create_store_engine(url, passphrase=passphrase)
    try:
        upgrade_schema(engine)  # Alembic, every migration from an empty file
        return _snapshot(engine)
    finally:
        engine.dispose()


def _opened(url: str, passphrase: str | None = None) -> dict[str, Any]:
    store = open_store(url, passphrase=passphrase)
    try:
        return _snapshot(store.engine)
    finally:
        store.close()


def test_the_recording_is_at_the_head_and_is_what_the_migrations_make_today(tmp_path: Path) -> None:
    hint = "a migration changed the schema: record it again with `.venv/bin/python scripts/record-sqlite-schema.py`"
    assert recorded_revision() == HEAD_REVISION, hint
    engine, _ = create_store_engine(sqlite_url(tmp_path / "migrated.sqlite"))
    try:
        upgrade_schema(engine)
        assert dump(engine) == RECORDING.read_text(encoding="utf-8"), hint
    finally:
        engine.dispose()


def test_a_new_store_equals_a_migrated_one(tmp_path: Path) -> None:
    new = _opened(sqlite_url(tmp_path / "new ü.sqlite"))
    assert new == _migrated(sqlite_url(tmp_path / "migrated.sqlite"))
    assert new["rows"]["alembic_version"] == [(HEAD_REVISION,)] and new["fk problems"] == []
    assert len(new["master"]) > 50 and any(kind == "trigger" for kind, *_ in new["master"])


def test_a_new_encrypted_store_equals_a_migrated_one(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "enc.sqlite")
    new = _opened(url, PASS)
    assert new == _migrated(sqlite_url(tmp_path / "enc-migrated.sqlite"), PASS)
    assert file_state(tmp_path / "enc.sqlite") == "encrypted"
    with pytest.raises(sqlite3.DatabaseError):  # not readable without the key
        sqlite3.connect(tmp_path / "enc.sqlite").execute("SELECT count(*) FROM sqlite_master").fetchone()


def test_a_new_store_is_made_without_loading_alembic(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "new.sqlite")
    code = (
        "import sys\nfrom annotation.store import open_store\n"
        f"open_store({url!r}).close()\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "alembic" not in proc.stdout.split()
    engine, _ = create_store_engine(url)
    assert schema_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_a_database_that_is_not_empty_is_left_to_the_migrations(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE theirs (x INTEGER)")
        conn.execute("INSERT INTO theirs VALUES (7)")
    conn.close()
    engine, _ = create_store_engine(sqlite_url(path))
    assert create_from_recording(engine, HEAD_REVISION) is False
    with engine.connect() as c:  # untouched: no table of ours, their row still there
        assert [r[0] for r in c.execute(text("SELECT name FROM sqlite_master"))] == ["theirs"]
    engine.dispose()
    store = open_store(sqlite_url(path))  # as before this change: migrated around their table
    try:
        assert schema_revision(store.engine) == HEAD_REVISION
        with store.engine.connect() as c:
            assert c.execute(text("SELECT x FROM theirs")).scalar() == 7
    finally:
        store.close()


def test_a_recording_of_another_revision_is_not_used(tmp_path: Path) -> None:
    old = tmp_path / "old.sql"
    old.write_text(RECORDING.read_text(encoding="utf-8").replace(HEAD_REVISION, "0001", 1), encoding="utf-8")
    assert recorded_revision(old) == "0001"
    engine, _ = create_store_engine(sqlite_url(tmp_path / "s.sqlite"))
    try:
        assert create_from_recording(engine, HEAD_REVISION, old) is False
        assert schema_revision(engine) is None  # nothing made
        assert create_from_recording(engine, HEAD_REVISION) is True
        assert schema_revision(engine) == HEAD_REVISION
        assert create_from_recording(engine, HEAD_REVISION) is False  # a second maker finds it made
    finally:
        engine.dispose()


def test_a_failing_recording_leaves_the_file_empty(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sql"
    broken.write_text(RECORDING.read_text(encoding="utf-8") + "INSERT INTO nowhere VALUES (1);\n", encoding="utf-8")
    engine, _ = create_store_engine(sqlite_url(tmp_path / "s.sqlite"))
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
            create_from_recording(engine, HEAD_REVISION, broken)
        with engine.connect() as c:  # rolled back as a whole: still an empty database
            assert c.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
    finally:
        engine.dispose()


def test_processes_opening_one_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    """The app, the command line and a consent station may open a new store together: one makes it, the
    others wait on its lock and open what it made."""
    url = sqlite_url(tmp_path / "shared.sqlite")
    code = f"from annotation.store import open_store\nopen_store({url!r}).close()\nprint('opened')"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    assert all(out.strip() == b"opened" for out, _ in outs)
    assert _opened(url) == _migrated(sqlite_url(tmp_path / "migrated.sqlite"))
