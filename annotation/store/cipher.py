"""Encryption at rest for the embedded store: SQLCipher 4 through the self-contained ``sqlcipher3`` wheel.

SQLCipher encrypts every page of the database file and of its write-ahead log with AES-256 and checks each
with an HMAC; the key is derived from the passphrase with PBKDF2-HMAC-SHA512 and a random salt kept in the
file's first 16 bytes. A plain SQLite file starts with ``SQLite format 3\\0`` instead, which is how an
encrypted store is told from a plain one before anything opens it.

The passphrase never goes into a URL, a printable label, a log line or an error message: it is handed to
each new DBAPI connection with ``PRAGMA key`` before anything else reads the file (SQLAlchemy's
``do_connect`` event), and SQLCipher's own log (which goes to stderr) is switched off. Temporary tables and
sort spills are kept in memory, so no plaintext temporary file is written beside the store.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Literal

from annotation.errors import PassphraseRequired, StoreUnavailable, WrongPassphrase

SQLITE_HEADER = b"SQLite format 3\x00"
#: shortest passphrase accepted for a new store or a transport archive
MIN_LENGTH = 10

FileState = Literal["missing", "plain", "encrypted"]


def file_state(path: str | os.PathLike[str]) -> FileState:
    """Whether ``path`` is a new store (missing or empty), a plain SQLite file or an encrypted one.

    Anything that does not start with SQLite's header is taken as encrypted: SQLCipher then decides, and a
    file that is not a database at all fails as a wrong passphrase would.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return "missing"
    if not head:
        return "missing"
    return "plain" if head == SQLITE_HEADER else "encrypted"


def is_encrypted(path: str | os.PathLike[str]) -> bool:
    return file_state(path) == "encrypted"


def dbapi() -> Any:
    """The SQLCipher DBAPI module.

    Raises:
        StoreUnavailable: ``sqlcipher3`` is not installed.
    """
    try:
        import sqlcipher3.dbapi2 as module
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise StoreUnavailable("encrypted stores need SQLCipher: pip install sqlcipher3") from exc
    return module


def check_new_passphrase(passphrase: str, what: str) -> None:
    """Refuse a passphrase too short (or with a NUL, which SQLite cannot take) for a new store or archive.

    Raises:
        WeakPassphrase: it is.
    """
    from annotation.errors import WeakPassphrase

    if len(passphrase) < MIN_LENGTH:
        raise WeakPassphrase(f"{what}: the passphrase must have {MIN_LENGTH} characters or more")
    if "\x00" in passphrase:
        raise WeakPassphrase(f"{what}: the passphrase cannot contain a NUL character")


def _literal(passphrase: str) -> str:
    # PRAGMA takes no bound parameters: an SQL string literal, quotes doubled. The statement never reaches
    # SQLAlchemy's statement log or its error messages (it runs on the raw DBAPI cursor).
    if "\x00" in passphrase:
        raise WrongPassphrase("the passphrase contains a NUL character")
    return "'" + passphrase.replace("'", "''") + "'"


def set_key(dbapi_conn: Any, passphrase: str) -> None:
    """Key a fresh SQLCipher connection: this must come before any statement that reads the file."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA cipher_log_level = NONE")  # SQLCipher logs HMAC failures to stderr otherwise
        cur.execute(f"PRAGMA key = {_literal(passphrase)}")
        cur.execute("PRAGMA temp_store = MEMORY")
    finally:
        cur.close()


def is_wrong_key(exc: BaseException) -> bool:
    """SQLCipher's answer to a wrong key (or to a file that is not a database at all)."""
    return "file is not a database" in str(exc)


def connect(path: str | os.PathLike[str], passphrase: str | None, *, timeout: float = 10.0) -> Any:
    """A raw DBAPI connection to a store or backup file: SQLCipher keyed with ``passphrase`` when the file
    is encrypted (or new and a passphrase is given), else the standard library's sqlite3. The key is tried
    at once by reading the schema.

    Raises:
        PassphraseRequired: the file is encrypted and ``passphrase`` is None.
        WrongPassphrase: the passphrase does not open it.
        StoreUnavailable: a plain file given a passphrase, or it cannot be opened.
    """
    p = Path(path)
    state = file_state(p)
    if state == "encrypted" and passphrase is None:
        raise PassphraseRequired(f"{p}: encrypted; a passphrase is needed to open it")
    if state == "plain" and passphrase is not None:
        raise StoreUnavailable(f"{p}: not encrypted; open it without a passphrase")
    if passphrase is None:
        conn: Any = sqlite3.connect(os.fspath(p), timeout=timeout)
    else:
        conn = dbapi().connect(os.fspath(p), timeout=timeout)
        set_key(conn, passphrase)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except Exception as exc:
        conn.close()
        if passphrase is not None and is_wrong_key(exc):
            raise WrongPassphrase(f"{p}: wrong passphrase (or not a Frontdoor store)") from None
        raise StoreUnavailable(f"{p}: cannot open ({first_line(exc)})") from exc
    return conn


def check_result(rows: list[str]) -> str:
    """The first problem ``integrity_check``/``quick_check`` reports, as one line ("" when it says ok)."""
    if rows == ["ok"]:
        return ""
    if not rows:
        return "no answer from its integrity check"
    text = " ".join(rows[0].replace("*** in database main ***", "").split())
    return text or "damaged"


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def rekey(path: str | os.PathLike[str], old: str, new: str) -> None:
    """Re-encrypt the store (or a backup) at ``path`` under ``new``. Nobody else may have it open: leaving
    WAL mode first needs exclusive access, so a store in use is refused and left as it was.

    Raises:
        WrongPassphrase: ``old`` does not open it.
        WeakPassphrase: ``new`` is too short.
        StoreUnavailable: it is in use, or SQLCipher fails.
    """
    check_new_passphrase(new, os.fspath(path))
    conn = connect(path, old, timeout=2.0)
    try:
        was = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except Exception as exc:
            raise StoreUnavailable(f"{path}: in use ({first_line(exc)}); close the app and try again") from exc
        if str(mode).lower() != "delete":
            raise StoreUnavailable(f"{path}: in use; close the app and other frontdoor commands, then try again")
        conn.execute(f"PRAGMA rekey = {_literal(new)}")
        if was == "wal":
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
    finally:
        conn.close()
    check = connect(path, new)
    check.close()
