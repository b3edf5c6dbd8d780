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

Names, folders, sidecars and listing live in :mod:`annotation.backup.catalogue`, the checks in
:mod:`annotation.backup.checks`; this module makes, restores and re-keys backups.

A restore checks the backup first, keeps the current store aside as ``<store>.before-restore-<time>`` and
then replaces it with one rename; nothing is touched when the backup fails its checks or the store is in
use.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import shutil
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from annotation.backup.catalogue import (
    STAMP,
    BackupInfo,
    backup_folder,
    backup_name,
    commit_backup,
    default_keep,
    list_backups,
    private_folder,
    prune,
)
from annotation.backup.checks import check_backup, check_sqlite_file
from annotation.backup.postgres import dump, restore_dump
from annotation.errors import BackupError, BadBackup, StoreUnavailable
from annotation.store import Store, cipher, sqlite_file
from media_tools.scratch import remove_abandoned, scratch_name


@dataclass(frozen=True)
class RestoreResult:
    backup: BackupInfo
    set_aside: Path | None
    revision: str | None


# ---- making one -----------------------------------------------------------------------------------------


def make_backup(
    store: Store, *, keep: int | None = None, folder: Path | None = None, note: Mapping[str, Any] | None = None
) -> BackupInfo:
    """Back up the open ``store`` now, check the copy, and keep only the newest ``keep`` backups. ``note``
    is recorded in the backup's sidecar (the consent layer records the audit chain's head there).

    Raises:
        BackupError: the backup cannot be written or fails its check (nothing is left behind).
        BackupToolMissing: PostgreSQL and no ``pg_dump``.
    """
    keep = default_keep() if keep is None else keep
    if keep < 1:
        raise BackupError(f"--keep {keep}: keep at least one backup")
    url = store.engine.url.render_as_string(hide_password=False)
    folder = folder or backup_folder(url)
    private_folder(folder)
    _remove_stale_partials(folder)
    now = datetime.now(UTC)
    if store.path is not None:
        target = backup_name(folder, store.path.stem, "sqlite", now)
        info = _backup_sqlite(store, target, now, note)
    elif store.dialect == "postgresql":
        target = backup_name(folder, store.engine.url.database or "frontdoor", "dump", now)
        info = dump(store, target, now, note)
    else:
        raise BackupError(f"{store.label}: an in-memory store has nothing to back up")
    prune(folder, keep, protect=info.path)
    return info


def backup_if_due(
    store: Store,
    *,
    within: timedelta = timedelta(hours=1),
    keep: int | None = None,
    note: Mapping[str, Any] | None = None,
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
    return make_backup(store, keep=keep, note=note)


def _backup_sqlite(store: Store, target: Path, now: datetime, note: Mapping[str, Any] | None) -> BackupInfo:
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
        revision = check_sqlite_file(tmp, key, full=True)
        return commit_backup(tmp, target, now, "sqlite", key is not None, revision, note)
    except BadBackup as exc:
        raise BackupError(f"{store.label}: the backup failed its check ({exc}); nothing kept") from exc
    except (sqlite3.Error, cipher.dbapi().Error, OSError) as exc:
        raise BackupError(
            f"{store.label}: cannot write a backup to {target.parent} ({cipher.first_line(exc)})"
        ) from exc
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)


def _remove_stale_partials(folder: Path) -> None:
    """Temporary files of backups that were killed half-way (never one another process is still writing)."""
    remove_abandoned(folder, ".partial-")


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
    stamp = datetime.now(UTC).strftime(STAMP)
    remove_abandoned(path.parent, ".restore-")
    tmp = path.with_name(scratch_name(".restore-", f"-{path.name}"))
    try:
        shutil.copyfile(backup, tmp)
        with contextlib.suppress(OSError):
            tmp.chmod(0o600)
        _fsync_file(tmp)
        check_sqlite_file(tmp, key, full=False)  # the copy, as it will be opened
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
        if p.is_file() and not p.name.endswith(("-wal", "-shm", "-journal", "-checked"))
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
            revision = check_sqlite_file(tmp, new, full=False)
            commit_backup(tmp, b.path, b.created, "sqlite", True, revision)
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
        check_sqlite_file(tmp, new, full=False)
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
