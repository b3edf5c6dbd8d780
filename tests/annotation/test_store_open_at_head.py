"""A store already at the newest schema is opened without loading Alembic or its scripts; an older store is
still upgraded on open, a newer one still refused, an encrypted one still opened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from annotation.errors import StoreUnavailable
from annotation.store import HEAD_REVISION
from annotation.store.engine import create_store_engine, head_revision, open_store, schema_revision, upgrade_schema
from tests.fixtures.secrets import PASS

ROOT = Path(__file__).resolve().parents[2]


def _modules_loaded_by_opening(url: str, passphrase: str | None = None) -> set[str]:
    code = (
        "import sys\n"
        "from annotation.store import open_store\n"
        f"open_store({url!r}, passphrase={passphrase!r}).close()\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(proc.stdout.split())


def test_the_head_constant_is_alembics_head() -> None:
    assert head_revision() == HEAD_REVISION


def test_a_store_at_the_head_opens_without_alembic(db_url: str) -> None:
    open_store(db_url).close()  # created and brought to the head
    assert "alembic" not in _modules_loaded_by_opening(db_url)


def test_an_encrypted_store_at_the_head_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'enc.sqlite'}"
    store = open_store(url, passphrase=PASS)
    assert store.encrypted and schema_revision(store.engine) == HEAD_REVISION
    store.close()
    assert "alembic" not in _modules_loaded_by_opening(url, PASS)


def test_an_older_store_is_still_upgraded_on_open(db_url: str) -> None:
    engine, _ = create_store_engine(db_url)
    upgrade_schema(engine, "0009")
    assert schema_revision(engine) == "0009"
    engine.dispose()
    store = open_store(db_url)
    try:
        assert schema_revision(store.engine) == HEAD_REVISION
    finally:
        store.close()


def test_an_empty_database_has_no_revision_and_is_brought_to_the_head(db_url: str) -> None:
    engine, _ = create_store_engine(db_url)
    assert schema_revision(engine) is None
    engine.dispose()
    # there was work for it on PostgreSQL; a new SQLite file is made from the recorded schema (test_store_fresh)
    assert ("alembic" in _modules_loaded_by_opening(db_url)) is db_url.startswith("postgresql")
    engine, _ = create_store_engine(db_url)
    assert schema_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_a_newer_store_is_refused_in_one_line_and_left_as_it_was(db_url: str) -> None:
    open_store(db_url).close()
    engine, _ = create_store_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    newer = rf"schema \(9999\) is newer than this Frontdoor knows \(up to {HEAD_REVISION}\)"
    with pytest.raises(StoreUnavailable, match=newer):
        open_store(db_url)
    engine, _ = create_store_engine(db_url)
    assert schema_revision(engine) == "9999"  # nothing was migrated or stamped
    engine.dispose()


def test_the_command_line_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.main import main

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    open_store(url).close()
    engine, _ = create_store_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    assert main(["--db", url, "documents"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is newer than this Frontdoor knows" in err[0], err
