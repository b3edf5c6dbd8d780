"""Rolling, checked backups of the store, and restoring one.

An embedded store is copied with SQLite's online backup API in one step, which reads one consistent
snapshot while the app and other commands go on writing (WAL readers block nobody). An encrypted store's
backup is written by SQLCipher under the same key, so it is as unreadable as the store. A PostgreSQL store
is dumped with ``pg_dump -Fc`` (:mod:`annotation.backup.postgres`), which also reads one snapshot.

Every backup is written under a temporary name, checked (``PRAGMA integrity_check`` and the schema
revision; ``pg_restore --list`` for a dump), synced and only then renamed, with a small JSON sidecar that
records its size, SHA-256 and revision: a crash never leaves a half backup that looks good. The temporary
names are hidden, are never listed as backups, and say which process writes them (:mod:`media_tools.scratch`):
the next backup deletes those whose writer was killed. Backups are named ``<store>-<UTC time>.sqlite``
(``.dump``) in the store's backup folder (``<store file>.backups/`` beside an embedded store; under the
per-user data folder for PostgreSQL) and only the newest ``keep`` (``--keep``, else ``backup_keep`` in the
user's ``settings.json``, else 10) are kept.

A restore checks the backup first, keeps the current store aside as ``<store>.before-restore-<time>`` and
then replaces it with one rename; nothing is touched when the backup fails its checks or the store is in
use.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from annotation.errors import (
    BackupError,
    BadBackup,
    PassphraseRequired,
    StoreUnavailable,
    WrongPassphrase,
)
from annotation.store import cipher
from annotation.store.engine import Store, sqlite_file, user_data_dir
from media_tools.scratch import remove_abandoned, scratch_name

DEFAULT_KEEP = 10
SETTINGS = "settings.json"
_STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^(?P<stem>.+)-(?P<ts>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.(?P<ext>sqlite|dump)$")

Kind = Literal["sqlite", "pg_dump"]


@dataclass(frozen=True)
class BackupInfo:
    """One backup file. ``status`` is ``ok`` (checked when written, or just now with ``verify``),
    ``unchecked`` (no record of a check) or ``damaged: <why>``."""

    path: Path
    created: datetime
    size: int
    kind: Kind
    encrypted: bool
    revision: str | None
    sha256: str | None
    status: str

    @property
    def good(self) -> bool:
        return self.status == "ok"

    @property
    def created_display(self) -> str:
        return self.created.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class RestoreResult:
    backup: BackupInfo
    set_aside: Path | None
    revision: str | None


# ---- where, how many ------------------------------------------------------------------------------------


def user_settings() -> dict[str, Any]:
    """The user's ``settings.json`` in the per-user data folder (``{}`` when missing or unreadable)."""
    try:
        data = json.loads((user_data_dir() / SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_setting(key: str, value: Any) -> None:
    data = user_settings()
    data[key] = value
    _write_atomic(user_data_dir() / SETTINGS, json.dumps(data, indent=1).encode("utf-8"))


def default_keep() -> int:
    """How many backups to keep: ``backup_keep`` in the user's settings, else 10."""
    value = user_settings().get("backup_keep")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else DEFAULT_KEEP


def backup_folder(url: str) -> Path:
    """Where the backups of the store at ``url`` go: ``<file>.backups`` beside an embedded store, or
    ``backups/pg-<host>-<port>-<database>-<schema>`` in the per-user data folder; ``backup_dir`` in the
    user's settings moves both under that folder."""
    custom = user_settings().get("backup_dir")
    path = sqlite_file(url)
    if path is not None:
        name = f"{path.name}.backups"
        return Path(custom).expanduser() / name if isinstance(custom, str) else path.with_name(name)
    from annotation.backup.postgres import folder_name

    base = Path(custom).expanduser() if isinstance(custom, str) else user_data_dir() / "backups"
    return base / folder_name(url)


def _private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        folder.chmod(0o700)


def _backup_name(folder: Path, stem: str, ext: str, now: datetime) -> Path:
    """``<stem>-<UTC time>.<ext>``; a second backup within the same second is ``-2``, ``-3``... after the
    highest number of that second ever seen there, so a new name always sorts after the ones before."""
    base = f"{stem}-{now.strftime(_STAMP)}"
    taken = [0]
    for p in folder.glob(f"{base}*"):
        m = _NAME.match(p.name.removesuffix(".json"))
        if m and m["ts"] == now.strftime(_STAMP):
            taken.append(int(m["n"]) if m["n"] else 1)
    n = max(taken) + 1
    return folder / (f"{base}.{ext}" if n == 1 else f"{base}-{n}.{ext}")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


# ---- making one -----------------------------------------------------------------------------------------


def make_backup(store: Store, *, keep: int | None = None, folder: Path | None = None) -> BackupInfo:
    """Back up the open ``store`` now, check the copy, and keep only the newest ``keep`` backups.

    Raises:
        BackupError: the backup cannot be written or fails its check (nothing is left behind).
        BackupToolMissing: PostgreSQL and no ``pg_dump``.
    """
    keep = default_keep() if keep is None else keep
    if keep < 1:
        raise BackupError(f"--keep {keep}: keep at least one backup")
    url = store.engine.url.render_as_string(hide_password=False)
    folder = folder or backup_folder(url)
    _private_folder(folder)
    _remove_stale_partials(folder)
    now = datetime.now(UTC)
    if store.path is not None:
        target = _backup_name(folder, store.path.stem, "sqlite", now)
        info = _backup_sqlite(store, target, now)
    elif store.dialect == "postgresql":
        from annotation.backup.postgres import dump

        target = _backup_name(folder, store.engine.url.database or "frontdoor", "dump", now)
        info = dump(store, target, now)
    else:
        raise BackupError(f"{store.label}: an in-memory store has nothing to back up")
    prune(folder, keep, protect=info.path)
    return info


def backup_if_due(
    store: Store, *, within: timedelta = timedelta(hours=1), keep: int | None = None
) -> BackupInfo | None:
    """A backup of an embedded store unless a good one was made in the last ``within`` (the app's start).

    Raises:
        BackupError: as :func:`make_backup`.
    """
    if store.path is None:
        return None
    url = store.engine.url.render_as_string(hide_password=False)
    newest = next(iter(list_backups(url)), None)
    if newest is not None and newest.good and datetime.now(UTC) - newest.created < within:
        return None
    return make_backup(store, keep=keep)


def _backup_sqlite(store: Store, target: Path, now: datetime) -> BackupInfo:
    tmp = target.with_name(scratch_name(".partial-", f"-{target.name}"))
    key = store._passphrase
    try:
        src = store.engine.raw_connection()
        try:
            dst: Any = sqlite3.connect(os.fspath(tmp)) if key is None else cipher.dbapi().connect(os.fspath(tmp))
            try:
                if key is not None:
                    cipher.set_key(dst, key)
                # one step (pages=-1): the whole store copied from one read snapshot, so the copy is a
                # committed state even while others write
                src.driver_connection.backup(dst)  # type: ignore[union-attr]
                dst.execute("PRAGMA journal_mode = DELETE").fetchone()  # a backup is one self-contained file
            finally:
                dst.close()
        finally:
            src.close()
        with contextlib.suppress(OSError):
            tmp.chmod(0o600)
        if key is not None and not cipher.is_encrypted(tmp):
            raise BackupError(f"{tmp}: the backup of an encrypted store came out unencrypted; removed")
        revision = _check_sqlite_file(tmp, key, full=True)
        return _commit(tmp, target, now, "sqlite", key is not None, revision)
    except BadBackup as exc:
        raise BackupError(f"{store.label}: the backup failed its check ({exc}); nothing kept") from exc
    except (sqlite3.Error, cipher.dbapi().Error, OSError) as exc:
        raise BackupError(
            f"{store.label}: cannot write a backup to {target.parent} ({cipher.first_line(exc)})"
        ) from exc
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)


def _commit(tmp: Path, target: Path, now: datetime, kind: Kind, encrypted: bool, revision: str | None) -> BackupInfo:
    """Sync the checked temporary file, write its sidecar, rename it into place and sync the folder."""
    with contextlib.suppress(OSError):
        tmp.chmod(0o600)
    _fsync_file(tmp)
    size = tmp.stat().st_size
    digest = _sha256(tmp)
    record = {
        "format": 1,
        "created": now.isoformat(timespec="seconds"),
        "kind": kind,
        "encrypted": encrypted,
        "revision": revision,
        "size": size,
        "sha256": digest,
        "checked": "ok",
    }
    _write_atomic(_sidecar(target), json.dumps(record, indent=1).encode("utf-8"))
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    return BackupInfo(target, now, size, kind, encrypted, revision, digest, "ok")


def prune(folder: Path, keep: int, *, protect: Path | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder`` (never ``protect``, the one just made, nor a
    ``before-restore`` copy)."""
    files = sorted(_backup_files(folder), key=_order, reverse=True)
    gone = []
    for old in files[keep:]:
        if old == protect:
            continue
        old.unlink(missing_ok=True)
        _sidecar(old).unlink(missing_ok=True)
        gone.append(old)
    return gone


def _remove_stale_partials(folder: Path) -> None:
    """Temporary files of backups that were killed half-way (never one another process is still writing)."""
    remove_abandoned(folder, ".partial-")


# ---- listing and checking -------------------------------------------------------------------------------


def _backup_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    # a hidden file is a backup still being written, or one a killed process left half-made: never a backup
    return [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and _NAME.match(p.name)]


def _order(path: Path) -> tuple[datetime, int]:
    m = _NAME.match(path.name)
    n = int(m["n"]) if m and m["n"] else 1
    return (_created(path) or datetime.fromtimestamp(path.stat().st_mtime, UTC), n)


def _created(path: Path) -> datetime | None:
    m = _NAME.match(path.name)
    if not m:
        return None
    return datetime.strptime(m["ts"], _STAMP).replace(tzinfo=UTC)


def _recorded(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe(path: Path) -> BackupInfo:
    """What the sidecar says of a backup, checked cheaply against the file (its size)."""
    rec = _recorded(path)
    size = path.stat().st_size
    kind: Kind = "pg_dump" if path.suffix == ".dump" else "sqlite"
    created = _created(path) or datetime.fromtimestamp(path.stat().st_mtime, UTC)
    if not rec:
        status = "unchecked"
    elif rec.get("size") != size:
        status = f"damaged: {size} bytes, {rec.get('size')} when written"
    else:
        status = "ok" if rec.get("checked") == "ok" else "unchecked"
    encrypted = bool(rec.get("encrypted")) if rec else (kind == "sqlite" and cipher.is_encrypted(path))
    return BackupInfo(path, created, size, kind, encrypted, rec.get("revision"), rec.get("sha256"), status)


def list_backups(url: str, *, folder: Path | None = None) -> list[BackupInfo]:
    """The store's backups, newest first."""
    files = sorted(_backup_files(folder or backup_folder(url)), key=_order, reverse=True)
    return [describe(p) for p in files]


def latest_good_backup(url: str) -> BackupInfo | None:
    """The newest backup that was checked when written and still has its size (for the message of a
    damaged store; :func:`check_backup` is the real check before a restore)."""
    return next((b for b in list_backups(url) if b.good), None)


def check_backup(path: Path, *, passphrase: str | None = None) -> BackupInfo:
    """Check a backup thoroughly: its recorded size and SHA-256, then SQLite's ``integrity_check`` (or
    ``pg_restore --list``) and that its schema revision is one this version of Frontdoor knows.

    Raises:
        BadBackup: it is missing, damaged, truncated, not a Frontdoor backup or from a newer version.
        PassphraseRequired, WrongPassphrase: an encrypted backup without (or with the wrong) passphrase.
        BackupToolMissing: a dump and no ``pg_restore``.
    """
    if not path.is_file():
        raise BadBackup(f"{path}: no such backup file")
    info = describe(path)
    if info.status.startswith("damaged"):
        raise BadBackup(f"{path}: {info.status}")
    if info.sha256 is not None and _sha256(path) != info.sha256:
        raise BadBackup(f"{path}: damaged (its SHA-256 differs from when it was written)")
    if info.kind == "pg_dump":
        from annotation.backup.postgres import check_dump

        revision = check_dump(path)
    else:
        revision = _check_sqlite_file(path, passphrase if cipher.is_encrypted(path) else None, full=True)
    _check_revision(path, revision)
    return BackupInfo(path, info.created, info.size, info.kind, info.encrypted, revision, info.sha256, "ok")


def _check_sqlite_file(path: Path, passphrase: str | None, *, full: bool) -> str:
    """Open a backup file read-only (a copy is never changed by checking it), run the integrity check,
    return its schema revision.

    Raises:
        BadBackup, PassphraseRequired, WrongPassphrase.
    """
    state = cipher.file_state(path)
    if state == "missing":
        raise BadBackup(f"{path}: empty")
    if state == "encrypted" and passphrase is None:
        raise PassphraseRequired(f"{path}: the backup is encrypted; give its passphrase")
    uri = "file:" + _uri_path(path) + "?mode=ro"
    try:
        if state == "encrypted":
            assert passphrase is not None
            conn: Any = cipher.dbapi().connect(uri, uri=True)
            cipher.set_key(conn, passphrase)
        else:
            conn = sqlite3.connect(uri, uri=True)
    except Exception as exc:
        raise BadBackup(f"{path}: cannot open ({cipher.first_line(exc)})") from exc
    try:
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except Exception as exc:
            if state == "encrypted" and cipher.is_wrong_key(exc):
                raise WrongPassphrase(
                    f"{path}: wrong passphrase for this backup (or it is damaged at its start)"
                ) from None
            raise BadBackup(f"{path}: not a store backup ({cipher.first_line(exc)})") from exc
        try:
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA {'integrity_check' if full else 'quick_check'}")]
            problem = cipher.check_result(rows)
            if problem:
                raise BadBackup(f"{path}: damaged ({problem})")
            if state == "encrypted":
                bad = [str(r[0]) for r in conn.execute("PRAGMA cipher_integrity_check")]
                if bad:
                    raise BadBackup(f"{path}: damaged ({' '.join(bad[0].split())})")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except BadBackup:
            raise
        except Exception as exc:
            raise BadBackup(f"{path}: damaged or not a Frontdoor store ({cipher.first_line(exc)})") from exc
    finally:
        conn.close()
    if row is None:
        raise BadBackup(f"{path}: not a Frontdoor store (no schema revision)")
    return str(row[0])


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(os.fspath(path.resolve()))


def _check_revision(path: Path, revision: str | None) -> None:
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from annotation.store.engine import _alembic_config

    scripts = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    known = {s.revision for s in scripts.walk_revisions()}
    if revision not in known:
        raise BadBackup(
            f"{path}: schema revision {revision!r} is not one this version of Frontdoor knows (a newer one?)"
        )


# ---- restoring ------------------------------------------------------------------------------------------


def restore_backup(url: str, backup: Path, *, passphrase: str | None = None) -> RestoreResult:
    """Replace the store at ``url`` with ``backup`` after checking it. An embedded store is kept aside as
    ``<file>.before-restore-<time>`` and replaced with one rename while nobody else has it open; a
    PostgreSQL store is dumped aside first and restored with ``pg_restore --clean`` in one transaction.

    Raises:
        BadBackup: the backup fails its checks, or it is a plain backup and the store is encrypted (nothing
            was changed).
        PassphraseRequired, WrongPassphrase: an encrypted backup without (or with the wrong) passphrase.
        BackupError: the store is in use, or the replacement fails.
    """
    info = check_backup(backup, passphrase=passphrase)
    path = sqlite_file(url)
    if path is None:
        from annotation.backup.postgres import restore_dump

        if info.kind != "pg_dump":
            raise BadBackup(f"{backup}: a SQLite backup cannot be restored into a PostgreSQL store")
        dumped = restore_dump(url, backup)
        return RestoreResult(info, dumped, info.revision)
    if info.kind != "sqlite":
        raise BadBackup(f"{backup}: a PostgreSQL dump cannot be restored into an embedded store")
    if cipher.is_encrypted(path) and not cipher.is_encrypted(backup):
        raise BadBackup(
            f"{backup}: not encrypted, and the store is: restoring it would leave the store's records readable "
            "on disk; nothing changed"
        )
    key = passphrase if info.encrypted or cipher.is_encrypted(backup) else None
    stamp = datetime.now(UTC).strftime(_STAMP)
    remove_abandoned(path.parent, ".restore-")
    tmp = path.with_name(scratch_name(".restore-", f"-{path.name}"))
    try:
        shutil.copyfile(backup, tmp)
        with contextlib.suppress(OSError):
            tmp.chmod(0o600)
        _fsync_file(tmp)
        _check_sqlite_file(tmp, key, full=False)  # the copy, as it will be opened
        aside: Path | None = path.with_name(f"{path.name}.before-restore-{stamp}") if path.exists() else None
        with _sole_user(path):
            if aside is not None:
                _link_or_copy(path, aside)
                wal = Path(f"{path}-wal")
                if wal.exists():
                    _link_or_copy(wal, Path(f"{aside}-wal"))  # the set-aside copy opens with its last commits
            os.replace(tmp, path)
            # the old write-ahead log must go before anyone opens the new file: SQLite would replay it
            Path(f"{path}-wal").unlink(missing_ok=True)
            _fsync_dir(path.parent)
    except OSError as exc:
        raise BackupError(f"{path}: cannot restore ({exc.strerror or exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return RestoreResult(info, aside, info.revision)


@contextlib.contextmanager
def _sole_user(path: Path) -> Iterator[None]:
    """Hold SQLite's "dead man switch" lock of the store's shared-memory file for writing: every process
    that has the store open in WAL mode holds it for reading, and one that opens the store meanwhile is
    refused as busy. Call it with no connection to the store open in this process (POSIX locks are per
    process, and closing any descriptor of the file would drop SQLite's own locks).

    Raises:
        BackupError: another process has the store open.
    """
    shm = Path(f"{path}-shm")
    fd = os.open(shm, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128, os.SEEK_SET)  # UNIX_SHM_DMS = byte 128
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                raise BackupError(
                    f"{path}: in use by another program (close the app and other frontdoor commands first)"
                ) from None
            raise
        yield
        shm.unlink(missing_ok=True)
    finally:
        os.close(fd)


# ---- re-keying ------------------------------------------------------------------------------------------


def set_aside_copies(url: str) -> list[Path]:
    """The copies of an embedded store a restore kept aside (``<store>.before-restore-<time>``), oldest first."""
    path = sqlite_file(url)
    if path is None or not path.parent.is_dir():
        return []
    return sorted(
        p
        for p in path.parent.glob(f"{glob.escape(path.name)}.before-restore-*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm", "-journal"))
    )


def rekey_backups(url: str, old: str, new: str) -> tuple[int, list[Path]]:
    """Re-encrypt the store's encrypted backups, and the copies a restore kept aside, from ``old`` to ``new``
    (after ``passphrase change``, so that the old passphrase opens none of them). Each is re-keyed on a copy,
    checked and renamed into place. Returns how many were re-keyed and those left as they were (another
    passphrase, or damaged)."""
    done, left = 0, []
    for b in list_backups(url):
        if b.kind != "sqlite" or not cipher.is_encrypted(b.path):
            continue
        tmp = b.path.with_name(scratch_name(".partial-", f"-{b.path.name}"))
        try:
            shutil.copyfile(b.path, tmp)
            cipher.rekey(tmp, old, new)
            revision = _check_sqlite_file(tmp, new, full=False)
            _commit(tmp, b.path, b.created, "sqlite", True, revision)
            done += 1
        except (StoreUnavailable, BadBackup, OSError):
            left.append(b.path)
        finally:
            for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                leftover.unlink(missing_ok=True)
    for aside in set_aside_copies(url):
        if not cipher.is_encrypted(aside):
            continue
        if _rekey_aside(aside, old, new):
            done += 1
        else:
            left.append(aside)
    return done, left


def _rekey_aside(aside: Path, old: str, new: str) -> bool:
    """Re-key a copy a restore kept aside, with the write-ahead log kept beside it (its last commits):
    both are copied, the copy re-keyed (which folds the log in) and checked, then renamed over the copy."""
    tmp = aside.with_name(scratch_name(".partial-", f"-{aside.name}"))
    wal = Path(f"{aside}-wal")
    try:
        shutil.copyfile(aside, tmp)
        if wal.exists():
            shutil.copyfile(wal, f"{tmp}-wal")
        cipher.rekey(tmp, old, new)
        _check_sqlite_file(tmp, new, full=False)
        with contextlib.suppress(OSError):
            tmp.chmod(0o600)
        _fsync_file(tmp)
        os.replace(tmp, aside)
        wal.unlink(missing_ok=True)
        Path(f"{aside}-shm").unlink(missing_ok=True)
        _fsync_dir(aside.parent)
        return True
    except (StoreUnavailable, BadBackup, OSError):
        return False
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)


# ---- files ----------------------------------------------------------------------------------------------


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links (FAT on a stick)
        shutil.copy2(src, dst)
        _fsync_file(dst)


def _sha256(path: Path) -> str:
    from media_tools.cache import sha256_of

    return sha256_of(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(scratch_name(".partial-", f"-{path.name}"))
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
