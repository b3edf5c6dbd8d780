"""When a SQLite store's integrity check may be skipped on opening.

``PRAGMA quick_check`` reads every page of the file: about a second for a 100 MB store, paid by every command
and every start of the app. A store that Frontdoor closed cleanly and that nothing has touched since holds what
it held when it was last checked plus Frontdoor's own committed transactions, so it is not read through again.
Beside the store, ``NAME-checked`` (a small JSON file, written atomically when the store is closed) keeps the
file's identity, size and modification time, its write-ahead log's, and when the store was last checked in
full. The store is checked again when the file or its log differ from that (another program wrote to it, a
copy or a restore put another file there, a process was killed before it closed the store), when the stamp is
missing or unreadable, and at least once every :data:`MAX_AGE`. A page found damaged later, by a query, is
still refused in one line (:class:`annotation.store.engine.Store` ``.session``) and the stamp is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["MAX_AGE", "forget", "last_full_check", "write_stamp"]

MAX_AGE = timedelta(days=7)
"""The longest a store goes without a full check, however cleanly it was closed."""


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + "-checked")


def _state(path: Path) -> list[int] | None:
    """The file's inode, size and modification time, and its write-ahead log's size and time (0, 0 when it
    is absent or empty, as after a clean close); None when the file cannot be read."""
    try:
        st = path.stat()
    except OSError:
        return None
    try:
        wal = path.with_name(path.name + "-wal").stat()
        wal_state = [wal.st_size, wal.st_mtime_ns] if wal.st_size else [0, 0]
    except OSError:
        wal_state = [0, 0]
    return [st.st_ino, st.st_size, st.st_mtime_ns, *wal_state]


def last_full_check(path: Path, now: datetime | None = None) -> datetime | None:
    """When the store at ``path`` was last checked in full, if it may be opened without checking it again
    (its stamp matches the file as it is now and is younger than :data:`MAX_AGE`); otherwise None. Call it
    before the store is opened: opening may create its write-ahead log."""
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        when = datetime.fromisoformat(stamp["checked_at"])
        state = [int(v) for v in stamp["state"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    now = now or datetime.now(UTC)
    if when.tzinfo is None or not timedelta(0) <= now - when < MAX_AGE:
        return None
    return when if state == _state(path) else None


def write_stamp(path: Path, checked_at: datetime) -> None:
    """Record, after the store was closed, the file as it is now and when it was last checked in full. A
    stamp that cannot be written only means the next opening checks the store."""
    state = _state(path)
    target = _stamp_path(path)
    if state is None:
        forget(path)
        return
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"checked_at": checked_at.isoformat(), "state": state}), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)


def forget(path: Path) -> None:
    """Remove the stamp: the next opening checks the store in full."""
    with contextlib.suppress(OSError):
        _stamp_path(path).unlink(missing_ok=True)
