"""The catalogue of a store's backups: where they live, what they are called, what their sidecars record,
which are good, and how many are kept.

Backups are named ``<store>-<UTC time>.sqlite`` (``.dump``) in the store's backup folder
(``<store file>.backups/`` beside an embedded store; under the per-user data folder for PostgreSQL), each
with a small JSON sidecar recording its size, SHA-256 and schema revision. Making a backup
(:mod:`annotation.backup.rolling`, :mod:`annotation.backup.postgres`) ends in :func:`commit_backup`, which
writes the sidecar and renames the checked file into place; listing and pruning only read names and
sidecars. The message of a damaged store names the latest good backup (:func:`open_store_naming_backup`):
the store itself knows nothing of backups, so the front ends open it through that.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url

from annotation.errors import StoreCorrupt
from annotation.store import Store, cipher, default_db_url, open_store, sqlite_file, user_data_dir
from media_tools.files import replace_durably, sha256_file, write_atomic

DEFAULT_KEEP = 10
SETTINGS = "settings.json"
STAMP = "%Y%m%dT%H%M%SZ"
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
    note: Mapping[str, Any] = field(default_factory=dict)
    """What the caller asked the sidecar to record (the consent layer: the audit chain's head)."""

    @property
    def good(self) -> bool:
        return self.status == "ok"

    @property
    def created_display(self) -> str:
        return self.created.strftime("%Y-%m-%d %H:%M UTC")


# ---- where, how many ------------------------------------------------------------------------------------


def user_settings() -> dict[str, Any]:
    """The user's ``settings.json`` in the per-user data folder (``{}`` when missing or unreadable)."""
    try:
        data = json.loads((user_data_dir() / SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_setting(key: str, value: Any) -> None:
    """Set ``key`` in the user's ``settings.json`` (written atomically).

    Raises:
        OSError: the settings file cannot be written.
    """
    data = user_settings()
    data[key] = value
    write_atomic(user_data_dir() / SETTINGS, json.dumps(data, indent=1).encode("utf-8"), make_parents=True)


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
    base = Path(custom).expanduser() if isinstance(custom, str) else user_data_dir() / "backups"
    return base / pg_folder_name(url)


def pg_folder_name(url: str) -> str:
    """The backup folder's name for a PostgreSQL store: ``pg-<host>-<port>-<database>-<schema>``."""
    u = make_url(url)
    schema = _search_path(u) or "public"
    raw = f"pg-{u.host or 'local'}-{u.port or 5432}-{u.database or 'frontdoor'}-{schema}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", raw)


def _search_path(u: URL) -> str | None:
    options = u.query.get("options")
    if isinstance(options, tuple):
        options = options[-1]
    m = re.search(r"search_path(?:=|%3D)([A-Za-z0-9_]+)", unquote(str(options or "")))
    return m.group(1) if m else None


def private_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) readable by this user only, where the file system allows."""
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        folder.chmod(0o700)


def backup_name(folder: Path, stem: str, ext: str, now: datetime) -> Path:
    """``<stem>-<UTC time>.<ext>``; a second backup within the same second is ``-2``, ``-3``... after the
    highest number of that second ever seen there, so a new name always sorts after the ones before."""
    base = f"{stem}-{now.strftime(STAMP)}"
    taken = [0]
    for p in folder.glob(f"{base}*"):
        m = _NAME.match(p.name.removesuffix(".json"))
        if m and m["ts"] == now.strftime(STAMP):
            taken.append(int(m["n"]) if m["n"] else 1)
    n = max(taken) + 1
    return folder / (f"{base}.{ext}" if n == 1 else f"{base}-{n}.{ext}")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


# ---- writing one into place ---------------------------------------------------------------------------


def commit_backup(
    tmp: Path,
    target: Path,
    now: datetime,
    kind: Kind,
    encrypted: bool,
    revision: str | None,
    note: Mapping[str, Any] | None = None,
) -> BackupInfo:
    """Write the sidecar of the checked temporary file ``tmp`` (with ``note``, when given), then sync it and
    rename it into place as ``target`` (and sync the folder).

    Raises:
        OSError: the sidecar or the file cannot be written, synced or renamed.
    """
    with contextlib.suppress(OSError):
        tmp.chmod(0o600)
    size = tmp.stat().st_size
    digest = sha256_file(tmp)
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
    if note:
        record["note"] = dict(note)
    write_atomic(_sidecar(target), json.dumps(record, indent=1).encode("utf-8"), make_parents=True)
    replace_durably(tmp, target)
    return BackupInfo(target, now, size, kind, encrypted, revision, digest, "ok", dict(note or {}))


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


# ---- listing --------------------------------------------------------------------------------------------


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
    return datetime.strptime(m["ts"], STAMP).replace(tzinfo=UTC)


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
    note = rec.get("note")
    return BackupInfo(
        path, created, size, kind, encrypted, rec.get("revision"), rec.get("sha256"), status,
        note if isinstance(note, dict) else {},
    )  # fmt: skip


def list_backups(url: str, *, folder: Path | None = None) -> list[BackupInfo]:
    """The store's backups, newest first."""
    files = sorted(_backup_files(folder or backup_folder(url)), key=_order, reverse=True)
    return [describe(p) for p in files]


def latest_good_backup(url: str) -> BackupInfo | None:
    """The newest backup that was checked when written and still has its size (for the message of a
    damaged store; :func:`annotation.backup.checks.check_backup` is the real check before a restore)."""
    return next((b for b in list_backups(url) if b.good), None)


# ---- a damaged store ------------------------------------------------------------------------------------


def open_store_naming_backup(
    url: str | None = None, *, migrate: bool = True, passphrase: str | None = None, check: bool = True
) -> Store:
    """:func:`annotation.store.engine.open_store`, for the front ends: a damaged store is refused in one
    line that names its latest good backup.

    Raises:
        PassphraseRequired: an encrypted store and no passphrase.
        WrongPassphrase: the passphrase does not open it.
        StoreCorrupt: it fails its integrity check (the message names the latest good backup).
        StoreUnavailable: the database cannot be reached, opened or migrated.
    """
    try:
        return open_store(url, migrate=migrate, passphrase=passphrase, check=check)
    except StoreCorrupt as exc:
        try:
            latest = latest_good_backup(url or default_db_url())
        except Exception:  # naming a backup is a courtesy: never let it hide the real problem
            latest = None
        offer = (
            f"; restore the latest good backup: frontdoor restore --latest ({latest.created_display})"
            if latest is not None
            else "; no backup of it was found"
        )
        raise StoreCorrupt(f"{exc.message}{offer}", exc.detail) from exc
