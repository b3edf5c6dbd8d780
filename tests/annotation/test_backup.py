"""Backups and restores on real files and the real PostgreSQL server: consistent while others write, rolling,
checked before anything is replaced, and a damaged store pointing at its latest good backup."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from annotation.backup.catalogue import backup_folder, latest_good_backup, list_backups, open_store_naming_backup
from annotation.backup.checks import check_backup
from annotation.backup.rolling import backup_if_due, make_backup, restore_backup
from annotation.errors import BackupError, BadBackup, StoreCorrupt, WrongPassphrase
from annotation.services import ensure_project
from annotation.store import cipher
from annotation.store.engine import Store, open_store, sqlite_url
from annotation.store.tables import Project
from app.cli.main import main
from tests.fixtures.secrets import PASS, fd_with, hold_open

KEYS = [None, PASS]
KEY_IDS = ["plain", "encrypted"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def projects(store: Store) -> list[str]:
    with store.session() as s:
        return sorted(s.scalars(select(Project.name)))


def count_projects(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Project)) or 0)


@pytest.fixture(params=KEYS, ids=KEY_IDS)
def key(request: pytest.FixtureRequest) -> str | None:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "study.sqlite")


@pytest.fixture
def store(db: str, key: str | None) -> Iterator[Store]:
    s = open_store(db, passphrase=key)
    try:
        yield s
    finally:
        s.close()


def test_a_backup_while_another_connection_writes_is_a_committed_state(store: Store, db: str, key: str | None) -> None:
    writer = open_store(db, passphrase=key)  # another connection (and pool) on the same file
    stop = threading.Event()
    batches = [0]

    def write() -> None:  # ten rows per transaction: any committed state has a multiple of ten
        while not stop.is_set():
            n = batches[0]
            with writer.session() as s:
                s.execute(insert(Project), [{"name": f"p{n}-{i}"} for i in range(10)])
            batches[0] += 1

    t = threading.Thread(target=write)
    t.start()
    try:
        infos = []
        while len(infos) < 3:
            if batches[0] > 5 * (len(infos) + 1):
                infos.append(make_backup(store, keep=10))
    finally:
        stop.set()
        t.join()
        writer.close()
    counts = []
    for info in infos:
        checked = check_backup(info.path, passphrase=key)
        assert checked.good and checked.revision == info.revision
        conn = cipher.connect(info.path, key)
        counts.append(conn.execute("SELECT count(*) FROM project").fetchone()[0])
        conn.close()
        assert cipher.is_encrypted(info.path) == (key is not None)
    assert all(c % 10 == 0 and c > 0 for c in counts), counts
    assert counts == sorted(counts)


def test_only_the_newest_are_kept(store: Store, db: str) -> None:
    made = [make_backup(store, keep=2) for _ in range(4)]
    left = list_backups(db)
    assert [b.path for b in left] == [made[3].path, made[2].path]
    assert all(b.good for b in left)
    assert sorted(p.name for p in backup_folder(db).iterdir()) == sorted(
        [made[2].path.name, made[2].path.name + ".json", made[3].path.name, made[3].path.name + ".json"]
    )
    assert oct(backup_folder(db).stat().st_mode & 0o777) == "0o700"
    assert oct(made[3].path.stat().st_mode & 0o777) == "0o600"


def test_restore_brings_the_data_back_and_keeps_the_store_aside(store: Store, db: str, key: str | None) -> None:
    ensure_project(store, "before")
    info = make_backup(store)
    ensure_project(store, "after")
    path = store.path
    assert path is not None
    store.close()
    result = restore_backup(db, info.path, passphrase=key)
    assert result.set_aside is not None and result.set_aside.name.startswith("study.sqlite.before-restore-")
    again = open_store(db, passphrase=key)
    assert projects(again) == ["before"]
    again.close()
    aside = open_store(sqlite_url(result.set_aside), passphrase=key)
    assert projects(aside) == ["after", "before"]  # nothing is lost by a restore
    aside.close()


def test_restore_refuses_a_damaged_or_truncated_backup_and_touches_nothing(
    store: Store, db: str, key: str | None, tmp_path: Path
) -> None:
    for i in range(300):
        ensure_project(store, f"project {i}")
    info = make_backup(store)
    store.close()
    path = tmp_path / "study.sqlite"
    before = sha(path)
    data = info.path.read_bytes()

    truncated = tmp_path / "truncated.sqlite"  # outside the folder, no record: the integrity check finds it
    truncated.write_bytes(data[: len(data) // 2])
    damaged = tmp_path / "damaged.sqlite"
    page = 4096
    middle = (len(data) // page // 2) * page
    damaged.write_bytes(data[:middle] + os.urandom(page) + data[middle + page :])
    for bad in (truncated, damaged):
        with pytest.raises(BadBackup) as exc:
            restore_backup(db, bad, passphrase=key)
        assert "\n" not in str(exc.value) and str(bad) in str(exc.value)
    # in its folder, the record of its size catches a truncation before anything is opened
    info.path.write_bytes(data[:-4096])
    with pytest.raises(BadBackup, match=r"bytes, .* when written"):
        restore_backup(db, info.path, passphrase=key)
    assert sha(path) == before
    assert not list(tmp_path.glob("study.sqlite.before-restore-*"))
    assert not list(tmp_path.glob(".restore-*"))


def test_restore_is_refused_while_the_store_is_in_use(store: Store, db: str, key: str | None, tmp_path: Path) -> None:
    info = make_backup(store)
    store.close()
    holder = hold_open(tmp_path / "study.sqlite", key)
    try:
        with pytest.raises(BackupError, match="in use by another program"):
            restore_backup(db, info.path, passphrase=key)
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(10)
    assert not list(tmp_path.glob("study.sqlite.before-restore-*"))


def test_an_encrypted_backup_needs_its_passphrase(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "study.sqlite")
    s = open_store(db, passphrase=PASS)
    info = make_backup(s)
    s.close()
    with pytest.raises(WrongPassphrase):
        restore_backup(db, info.path, passphrase="not the passphrase")


def _corrupt_middle(path: Path) -> None:
    size = path.stat().st_size
    page = 4096
    with open(path, "r+b") as f:
        f.seek((size // page // 2) * page)
        f.write(os.urandom(page))


def test_a_damaged_store_says_so_and_names_the_latest_good_backup(
    store: Store, db: str, key: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(400):
        ensure_project(store, f"a longer project name to fill pages {i}")
    info = make_backup(store)
    store.close()
    path = tmp_path / "study.sqlite"
    _corrupt_middle(path)
    with pytest.raises(StoreCorrupt) as exc:
        open_store_naming_backup(db, passphrase=key)
    when = info.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    msg = str(exc.value)
    assert msg.startswith(f"{path} is damaged (") and "\n" not in msg
    assert msg.endswith(f"; restore the latest good backup: frontdoor restore --latest ({when})")
    fd = [] if key is None else ["--passphrase-fd", str(fd_with(key))]
    capsys.readouterr()
    assert main(["--db", db, *fd, "documents"]) == 2
    assert capsys.readouterr().err == f"frontdoor: error: {msg}\n"
    fd = [] if key is None else ["--passphrase-fd", str(fd_with(key))]
    assert main(["--db", db, *fd, "restore", "--latest"]) == 0
    out = capsys.readouterr().out
    assert f"restored {path} from {info.path}" in out and "kept as" in out
    again = open_store(db, passphrase=key)
    assert len(projects(again)) == 400
    again.close()


def test_a_damaged_store_without_backups_says_there_are_none(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "study.sqlite")
    s = open_store(db)
    for i in range(400):
        ensure_project(s, f"a longer project name to fill pages {i}")
    s.close()
    _corrupt_middle(tmp_path / "study.sqlite")
    with pytest.raises(StoreCorrupt, match=r"; no backup of it was found$"):
        open_store_naming_backup(db)


def test_the_app_start_backup_is_skipped_within_the_hour(store: Store, db: str) -> None:
    first = backup_if_due(store)
    assert first is not None and first.good
    assert backup_if_due(store) is None
    assert len(list_backups(db)) == 1
    assert latest_good_backup(db) == list_backups(db)[0]
    assert (datetime.now(UTC) - first.created).total_seconds() < 60


def test_backup_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sqlite_url(tmp_path / "study.sqlite")
    capsys.readouterr()
    assert main(["--db", db, "restore", "--latest"]) == 2
    assert capsys.readouterr().err.startswith(f"frontdoor: error: {tmp_path / 'study.sqlite'}: no good backup")
    assert main(["--db", db, "backups"]) == 0
    assert "no backups in" in capsys.readouterr().out
    for _ in range(3):
        assert main(["--db", db, "backup", "--keep", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("backup of ") == 3 and "checked" in out
    assert main(["--db", db, "backup", "--keep", "1", "--save-keep"]) == 0
    assert main(["--db", db, "backup"]) == 0  # the saved setting: one kept
    assert main(["--db", db, "backups", "--verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok (verified now)") == 1
    assert main(["--db", db, "backup", "--keep", "0"]) == 2
    assert capsys.readouterr().err == "frontdoor: error: --keep 0: keep at least one backup\n"
    assert main(["--db", db, "restore"]) == 2
    assert "give a backup FILE or --latest" in capsys.readouterr().err
    assert main(["--db", db, "restore", str(tmp_path / "nope.sqlite")]) == 2
    assert capsys.readouterr().err == f"frontdoor: error: {tmp_path / 'nope.sqlite'}: no such backup file\n"


# ---- PostgreSQL -----------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_backup_and_restore(pg_url: str, tmp_path: Path) -> None:
    s = open_store(pg_url)
    ensure_project(s, "before")
    info = make_backup(s, keep=3)
    assert info.kind == "pg_dump" and info.good and info.path.suffix == ".dump"
    assert check_backup(info.path).revision == info.revision
    ensure_project(s, "after")
    s.close()
    result = restore_backup(pg_url, info.path)
    again = open_store(pg_url)
    assert projects(again) == ["before"]
    again.close()
    assert result.set_aside is not None and result.set_aside.name.startswith("before-restore-")
    # a truncated dump is refused before the database is touched
    cut = tmp_path / "cut.dump"
    cut.write_bytes(info.path.read_bytes()[: info.size // 2])
    with pytest.raises(BadBackup) as exc:
        restore_backup(pg_url, cut)
    assert "\n" not in str(exc.value)
    again = open_store(pg_url)
    assert projects(again) == ["before"]
    again.close()


@pytest.mark.postgres
def test_postgresql_backup_while_writing_is_consistent(pg_url: str) -> None:
    s = open_store(pg_url)
    writer = open_store(pg_url)
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            with writer.session() as ss:
                ss.execute(insert(Project), [{"name": f"p{n}-{i}"} for i in range(10)])
            n += 1

    t = threading.Thread(target=write)
    t.start()
    try:
        info = make_backup(s)
    finally:
        stop.set()
        t.join()
        writer.close()
    total = count_projects(s)
    s.close()
    restore_backup(pg_url, info.path)
    again = open_store(pg_url)
    n = count_projects(again)
    again.close()
    assert n % 10 == 0 and n <= total
