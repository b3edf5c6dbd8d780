"""The audit chain's head held outside the store: the anchor log, and the heads printed on what leaves.

A hash chain proves order, not completeness: whoever holds the store file can cut its tail (delete the last
entries, undo the rows they recorded) and the chain that is left still checks out. So every time a consent
change is committed, the new head of the chain (entry id and hash) is appended to an *anchor log* outside
the store's folder, one JSON line each, written with ``O_APPEND`` under a lock and synced before the call
returns; and everything seen outside the store (an export manifest, a printed form, a receipt, a backup's
sidecar, the review station's confirmation) carries the head as ``ID:HASH``. ``consent.audit`` checks the
chain against every anchor it is given: an anchored entry that is gone, or whose hash differs, is named.

The log is ``anchors.jsonl`` in ``$FRONTDOOR_ANCHORS``, else the ``anchor_dir`` of the user's
``settings.json`` (a share, a second drive), else ``anchors/`` in the per-user data folder. A SQLite store
and its anchors never sit in one folder: such a configuration is refused before anything is written. On
PostgreSQL each client keeps its own log (the server's append-only triggers keep the researcher role from
cutting the tail; a client's log catches the tables' owner doing it).

Lines name the chain by the hash of its first entry (a store moved or renamed keeps its anchors), and the
store's label for people.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from annotation.backup import BackupInfo
from annotation.store import Store
from consent.errors import AnchorLogError, InvalidRequest
from consent.models import AuditEntry

ENV = "FRONTDOOR_ANCHORS"
SETTING = "anchor_dir"
LOG_NAME = "anchors.jsonl"
_PENDING = "frontdoor.anchor_pending"
_HEAD_TEXT = re.compile(r"^\s*(\d{1,10}):([0-9a-f]{64})\s*$")
# a head as the files that leave the store carry it: a manifest's "audit_head", the HTML receipt's and
# form's <meta name="frontdoor-audit-head">, a PDF's subject line
_HEAD_IN_FILE = re.compile(rb'(?:frontdoor-audit-head|"audit_head")[^0-9]{0,24}?(\d{1,10}):([0-9a-f]{64})')


@dataclass(frozen=True)
class Head:
    """The head of the audit chain at one moment: the newest entry's id and hash."""

    entry: int
    hash: str

    @property
    def text(self) -> str:
        """``ID:HASH``, as printed on receipts and given to ``frontdoor audit verify --head``."""
        return f"{self.entry}:{self.hash}"

    @property
    def short(self) -> str:
        return f"entry {self.entry}, {self.hash[:16]}"


@dataclass(frozen=True)
class Anchor:
    """A head held somewhere outside the store, and where (for the message that names it)."""

    head: Head
    source: str
    at: datetime | None = None  # when it was anchored, when known
    act: str = ""


def parse_head(text: str) -> Head:
    """A head typed as ``ID:HASH`` (the 64 hex digits of the entry's hash).

    Raises:
        InvalidRequest: not of that form.
    """
    m = _HEAD_TEXT.match(text.lower())
    if m is None:
        raise InvalidRequest(f"--head {text!r}: give ENTRY:HASH, the entry id and its 64-hex-digit hash")
    return Head(int(m[1]), m[2])


def current_head(s: Session) -> Head | None:
    """The newest entry of the chain (None for an empty log). Reads only ``id`` and ``hash``, which every
    role on a shared server may read."""
    row = s.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    return Head(int(row[0]), str(row[1])) if row else None


def chain_id(s: Session) -> str | None:
    """The chain's name in the anchor log: the hash of its first entry."""
    return s.scalar(select(AuditEntry.hash).where(AuditEntry.id == 1))


# ---- where the log is -----------------------------------------------------------------------------------


def anchor_dir() -> Path:
    """The folder of the anchor log: ``$FRONTDOOR_ANCHORS``, else ``anchor_dir`` in the user's settings,
    else ``anchors/`` in the per-user data folder."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    from annotation.backup import user_settings
    from annotation.store import user_data_dir

    custom = user_settings().get(SETTING)
    if isinstance(custom, str) and custom.strip():
        return Path(custom).expanduser()
    return user_data_dir() / "anchors"


def log_path(store_file: Path | None) -> Path:
    """The anchor log for a store whose database file is ``store_file`` (None on PostgreSQL).

    Raises:
        AnchorLogError: the log would sit in the store's own folder (one copy of it would carry both).
    """
    folder = anchor_dir()
    if store_file is not None and _same_folder(folder, store_file.parent):
        raise AnchorLogError(
            f"anchor log {folder / LOG_NAME}: is in the folder of the store {store_file}; a store and its anchors "
            f"never sit in one folder (set {ENV} or '{SETTING}' in settings.json to another folder)"
        )
    return folder / LOG_NAME


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a.absolute() == b.absolute()


def _store_file(s: Session) -> Path | None:
    from annotation.store import sqlite_file

    url = s.get_bind().engine.url
    return sqlite_file(url.render_as_string(hide_password=False))


def _store_label(s: Session) -> str:
    from annotation.store import describe_url

    return describe_url(s.get_bind().engine.url)


# ---- writing ----------------------------------------------------------------------------------------------


def note_append(s: Session, head: Head, event_name: str) -> None:
    """Called by ``consent.audit.append``: the head of this transaction, anchored once it commits.

    Raises:
        AnchorLogError: the anchor log may not be written where it is configured (before anything is saved).
    """
    pending = s.info.get(_PENDING)
    if pending is None:
        path = log_path(_store_file(s))  # a refused configuration stops the change before it is saved
        chain = head.hash if head.entry == 1 else chain_id(s)
        pending = s.info[_PENDING] = {"path": path, "chain": chain, "label": _store_label(s), "events": []}
        event.listen(s, "after_commit", _after_commit, once=True)
        event.listen(s, "after_rollback", _after_rollback, once=True)
    pending["head"] = head
    pending["events"].append(event_name)


def _after_rollback(s: Session) -> None:
    s.info.pop(_PENDING, None)


def _after_commit(s: Session) -> None:
    pending = s.info.pop(_PENDING, None)
    if pending is None:
        return
    head: Head = pending["head"]
    events = pending["events"]
    write_line(pending["path"], pending["chain"], pending["label"], head, events[-1], events=len(events))


def record(s: Session, act: str, **detail: Any) -> Head | None:
    """Anchor the current head for ``act`` (a form printed, a backup made) and return it (None: no log yet).

    Raises:
        AnchorLogError: the log cannot be written or is misplaced.
    """
    head = current_head(s)
    if head is not None:
        write_line(log_path(_store_file(s)), chain_id(s), _store_label(s), head, act, **detail)
    return head


def write_line(path: Path, chain: str | None, label: str, head: Head, act: str, **detail: Any) -> None:
    """Append one anchor to the log at ``path``: one JSON line, written in one call under an exclusive lock
    and synced (and the folder synced when the log is new).

    Raises:
        AnchorLogError: it cannot be written.
    """
    line = {
        "chain": chain,
        "store": label,
        "entry": head.entry,
        "hash": head.hash,
        "act": act,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        **detail,
    }
    data = (json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    try:
        new = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            with contextlib.suppress(OSError):
                dfd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
    except OSError as exc:
        raise AnchorLogError(
            f"anchor log {path}: cannot be written ({exc.strerror or exc}); the change is saved in the store, "
            "but its head is not anchored: fix the folder, then run 'frontdoor audit verify'"
        ) from exc


# ---- reading ----------------------------------------------------------------------------------------------


def read_log(path: Path, chain: str | None, label: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The log's lines about this store (its chain, or with no chain yet its label), with line numbers.
    A line cut short by a crash is skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AnchorLogError(f"anchor log {path}: cannot be read ({exc.strerror or exc})") from exc
    for n, raw in enumerate(text.splitlines(), 1):
        try:
            line = json.loads(raw)
            entry, digest = int(line["entry"]), str(line["hash"])
        except (ValueError, KeyError, TypeError):
            continue
        if not _HEAD_TEXT.match(f"{entry}:{digest}"):
            continue
        if (chain is not None and line.get("chain") == chain) or (line.get("store") == label and chain is None):
            yield n, line


def log_anchors(s: Session) -> list[Anchor]:
    """The anchors this machine's anchor log holds for the store of ``s``."""
    path = log_path(_store_file(s))
    out = []
    for n, line in read_log(path, chain_id(s), _store_label(s)):
        at = _time(line.get("at"))
        when = f", {day_text(at)}" if at else ""
        out.append(
            Anchor(
                Head(int(line["entry"]), str(line["hash"])),
                f"anchor log {path} line {n} ({line.get('act', '?')}{when})",
                at,
                str(line.get("act", "")),
            )
        )
    return out


def file_anchors(folder: Path) -> list[Anchor]:
    """The heads carried by the manifests, receipts and forms in ``folder`` (and the folders below it).

    Raises:
        InvalidRequest: ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise InvalidRequest(f"--anchors {folder}: not a folder")
    out = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in (".json", ".html", ".htm", ".pdf") or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for m in _HEAD_IN_FILE.finditer(data):
            out.append(Anchor(Head(int(m[1]), m[2].decode()), str(path)))
    return out


def backup_anchors(s: Session) -> list[Anchor]:
    """The heads recorded in the sidecars of this store's backups."""
    from annotation.backup import list_backups

    url = s.get_bind().engine.url.render_as_string(hide_password=False)
    out = []
    for b in list_backups(url):
        if b.note.get("audit_chain") not in (None, chain_id(s)):
            continue
        head = b.note.get("audit_head")
        if isinstance(head, str) and _HEAD_TEXT.match(head):
            out.append(Anchor(parse_head(head), f"backup {b.path.name}", b.created, "backup"))
    return out


def backup_note(s: Session) -> dict[str, Any]:
    """What a backup's sidecar records of the consent chain (its head and chain name), read just before
    the copy is made."""
    head = current_head(s)
    return {} if head is None else {"audit_head": head.text, "audit_chain": chain_id(s)}


def _time(text: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def day_text(t: datetime | Any) -> str:
    """A date no reader can take the wrong way round: ``6 Dec 2026``."""
    return f"{t.day} {t.strftime('%b %Y')}"


def backup(store: Store, *, keep: int | None = None, if_due: bool = False) -> BackupInfo | None:
    """A backup of ``store`` (``annotation.backup``) whose sidecar records the chain's head, anchored here as
    well; with ``if_due``, only when no good backup was made in the last hour (the app's start). Returns
    the backup's ``BackupInfo`` (None when none was due).

    Raises:
        BackupError: as ``annotation.backup.make_backup``.
        AnchorLogError: the anchor log cannot be written.
    """
    from annotation.backup import backup_if_due, make_backup

    with store.session() as s:
        note = backup_note(s)
    info = backup_if_due(store, keep=keep, note=note) if if_due else make_backup(store, keep=keep, note=note)
    if info is not None and note:
        with store.session() as s:
            write_line(
                log_path(_store_file(s)), note["audit_chain"], _store_label(s), parse_head(note["audit_head"]),
                "backup", backup=info.path.name,
            )  # fmt: skip
    return info
