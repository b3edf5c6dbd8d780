"""Checking a backup before anything trusts it: its recorded size and SHA-256, SQLite's integrity check (or
``pg_restore --list`` for a dump), and a schema revision this version of Frontdoor knows.

A backup file is opened read-only, so checking never changes it. Both making a backup
(:mod:`annotation.backup.rolling`) and restoring one run these checks.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from annotation.backup.catalogue import BackupInfo, describe
from annotation.backup.postgres import check_dump
from annotation.errors import BadBackup, PassphraseRequired, WrongPassphrase
from annotation.store import cipher, known_revisions
from media_tools.files import sha256_file


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
    if info.sha256 is not None and sha256_file(path) != info.sha256:
        raise BadBackup(f"{path}: damaged (its SHA-256 differs from when it was written)")
    if info.kind == "pg_dump":
        revision = check_dump(path)
    else:
        revision = check_sqlite_file(path, passphrase if cipher.is_encrypted(path) else None, full=True)
    _check_revision(path, revision)
    return BackupInfo(path, info.created, info.size, info.kind, info.encrypted, revision, info.sha256, "ok", info.note)


def check_sqlite_file(path: Path, passphrase: str | None, *, full: bool) -> str:
    """Open a backup file read-only (a copy is never changed by checking it), run the integrity check
    (``quick_check`` unless ``full``), return its schema revision.

    Raises:
        BadBackup: it is empty, damaged or not a Frontdoor store.
        PassphraseRequired, WrongPassphrase: an encrypted file without (or with the wrong) passphrase.
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
    return quote(os.fspath(path.resolve()))


def _check_revision(path: Path, revision: str | None) -> None:
    if revision not in known_revisions():
        raise BadBackup(
            f"{path}: schema revision {revision!r} is not one this version of Frontdoor knows (a newer one?)"
        )
