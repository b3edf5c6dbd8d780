"""The opening integrity check of a SQLite store is skipped only for a store Frontdoor closed cleanly and nothing
touched since: a damaged page is still found (at the opening check, or by the query that reads it, in one
line), and a store touched by anything else, or not checked for a week, is read through again."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from annotation.errors import StoreCorrupt
from annotation.services import ensure_project
from annotation.store.checked import MAX_AGE
from annotation.store.engine import Store, open_store, sqlite_url
from app.cli.main import main


def _filled(path: Path) -> None:
    s = open_store(sqlite_url(path))
    with s.session() as ses:  # one big table, so that a damaged page in the middle is one of its pages
        ses.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        ses.execute(
            text("INSERT INTO filler (body) VALUES (:b)"), [{"b": f"row {i} " + "x" * 300} for i in range(3000)]
        )
    ensure_project(s, "Duty room study")
    s.close()


def _damage_keeping_the_time(path: Path) -> None:
    """Overwrite a page in the middle and give the file back its modification time: a fault the file system
    does not see (a bad sector), so the stamp still matches."""
    st = path.stat()
    page = 4096
    with open(path, "r+b") as f:
        f.seek((st.st_size // page // 2) * page)
        f.write(os.urandom(page))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _stamp(path: Path) -> dict[str, object]:
    return dict(json.loads(path.with_name(path.name + "-checked").read_text(encoding="utf-8")))


def test_a_store_closed_cleanly_is_not_read_through_again_but_a_damaged_page_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "study.sqlite"
    _filled(path)
    first = _stamp(path)
    again = open_store(sqlite_url(path))
    assert again.checked_at == datetime.fromisoformat(str(first["checked_at"]))  # the last full check, kept
    again.close()
    _damage_keeping_the_time(path)
    store = open_store(sqlite_url(path))  # not read through: the stamp matches, so the damage is not seen yet
    with pytest.raises(StoreCorrupt) as exc, store.session() as s:
        s.execute(text("SELECT count(*), sum(length(body)) FROM filler")).one()
    msg = str(exc.value)
    assert msg.startswith(f"{path} is damaged (") and "\n" not in msg
    store.close()
    assert not path.with_name(path.name + "-checked").exists()  # found damaged: the next opening checks
    assert main(["--db", sqlite_url(path), "documents"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"frontdoor: error: {path} is damaged (") and err.count("\n") == 1


def test_a_store_touched_by_another_program_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "study.sqlite"
    _filled(path)
    _damage_keeping_the_time(path)
    os.utime(path)  # the same damage, but the file's time moved, as any other writer's would
    with pytest.raises(StoreCorrupt):
        open_store(sqlite_url(path))


def test_a_copy_put_in_its_place_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "study.sqlite"
    _filled(path)
    damaged = tmp_path / "other.sqlite"
    damaged.write_bytes(path.read_bytes())
    _damage_keeping_the_time(damaged)
    st = path.stat()
    os.replace(damaged, path)  # same size; give it the old time too: only its identity differs
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(StoreCorrupt):
        open_store(sqlite_url(path))


def test_a_week_after_the_last_full_check_the_store_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "study.sqlite"
    _filled(path)
    stamp_file = path.with_name(path.name + "-checked")
    stamp = _stamp(path)
    stamp["checked_at"] = (datetime.now(UTC) - MAX_AGE - timedelta(minutes=1)).isoformat()
    stamp_file.write_text(json.dumps(stamp), encoding="utf-8")
    s = open_store(sqlite_url(path))
    assert s.checked_at is not None and datetime.now(UTC) - s.checked_at < timedelta(minutes=1)  # checked now
    s.close()
    _damage_keeping_the_time(path)
    stamp = _stamp(path)
    stamp["checked_at"] = (datetime.now(UTC) - MAX_AGE - timedelta(minutes=1)).isoformat()
    stamp_file.write_text(json.dumps(stamp), encoding="utf-8")
    with pytest.raises(StoreCorrupt):
        open_store(sqlite_url(path))


def test_a_store_not_closed_is_checked_at_its_next_opening(tmp_path: Path) -> None:
    path = tmp_path / "study.sqlite"
    _filled(path)
    s: Store = open_store(sqlite_url(path))
    ensure_project(s, "written, never closed")  # as a killed process leaves it: no new stamp
    s.engine.dispose()
    again = open_store(sqlite_url(path))
    assert again.checked_at is not None and s.checked_at is not None
    assert again.checked_at > s.checked_at  # read through again: checked now, not at the stamp's time
    again.close()
