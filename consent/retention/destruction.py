"""Destroying what is due (``consent.retention.policy`` says what is and why), and the backups that still hold it.

``destroy`` (a researcher only) deletes, in one transaction under the consent lock, the rows of everything
due and, just before committing, the files (recording media, exported clips, manifests); after it, the cache
entries made from those files (probes, thumbnails, waveforms, form stills, review previews). Each item
leaves exactly one ``destroyed`` audit entry: its kind, id, hash, why (a code) and since when, never a name
or a text; the entry's own time and actor say when and by whom.

This module is the only one that deletes stored or exported files and marks exported files destroyed.
``confirm_destroyed`` (``frontdoor consent destroy ITEM``, after a withdrawal or an expiry) confirms one
exported file gone, deleting it only when it is a file the gate wrote for that export, and keeps its
record; ``destroy`` deletes the record too once it is due. Both mark an exported file destroyed through
``_mark_destroyed`` (one ``destruction`` audit entry each) and check the file with
``consent.export.files.is_export_file``.

Clip versions and decisions are append-only: a version is deleted under a ``destruction_permit`` naming its
entry, which the database's triggers check (migration 0007); every permit is deleted again before the
commit. A decision goes with its version. A participant's row stays (their withdrawal and the log refer to
it); once nothing about them is stored any more, their real name, contact and withdrawal reason are cleared.
A recording's documents are kept and unlinked, unless the project's policy sends them with it.

On SQLite the deleted rows are overwritten in place (``secure_delete``) and the write-ahead log is emptied
afterwards. On PostgreSQL the server reclaims deleted rows when it vacuums; its own base backups and WAL
archives are the server administrator's to expire.

Backups made before a destruction still hold what it destroyed, and restoring one brings it back:
``stale_backups`` lists them (``frontdoor retention due`` shows them), and
``destroy(including_backups=True)`` makes a fresh backup first and then deletes them, one audit entry each.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from annotation.faces import FaceScan
from annotation.store import Document, Recording, Store, get_or_not_found
from consent import audit
from consent.errors import InvalidRequest, UnknownThing
from consent.export import files as export_files
from consent.models import (
    Appearance,
    AuditEntry,
    Clip,
    ClipVersion,
    Decision,
    DestructionPermit,
    Export,
    ExportItem,
    Participant,
    Presence,
)
from consent.retention.policy import AUDIT_KINDS, KINDS, Item, require_researcher, schedule_in
from consent.rows import find_project, write
from media_tools.files import sha256_file


@dataclass
class Destroyed:
    """What a destruction did (for a dry run, ``items`` is what it would destroy and nothing else is set)."""

    items: list[Item]
    files_deleted: list[str] = field(default_factory=list)
    files_missing: list[str] = field(default_factory=list)  # not here (already gone, or out of reach)
    files_kept: list[str] = field(default_factory=list)  # still used by something kept, or not the file written
    cache_entries: int = 0
    pseudonymised: list[int] = field(default_factory=list)  # participants whose real name etc. were cleared
    log_emptied: bool | None = None  # SQLite: whether the write-ahead log was emptied at once
    backups_deleted: list[Path] = field(default_factory=list)
    fresh_backup: Path | None = None
    backup_problem: str | None = None


def plan(
    store: Store, *, project: str | None = None, keys: Sequence[str] | None = None, on: date | None = None
) -> list[Item]:
    """What ``destroy`` would destroy with the same arguments (a dry run): the due items chosen (all, or
    ``keys`` such as ``version:4``) and what must go with them. Nothing is changed.

    Raises:
        UnknownThing: no such project or item.
        InvalidRequest: an item that is not due, a malformed key, or the role is not a researcher.
    """
    with store.session() as s:
        require_researcher(s, "destroy records")
        return _plan(s, project, keys, on or datetime.now(UTC).date())


def _plan(s: Session, project: str | None, keys: Sequence[str] | None, on: date) -> list[Item]:
    every = schedule_in(s, None if project is None else find_project(s, project).id)
    by_key = {i.key: i for i in every}
    due_now = {i.key for i in every if i.is_due(on)}
    if keys is None:
        chosen = set(due_now)
    else:
        chosen = set()
        for raw in keys:
            k = raw.strip()
            kind, _, num = k.partition(":")
            if kind not in KINDS or not num.isdigit():
                raise InvalidRequest(
                    f"{raw!r}: not an item; use KIND:ID as 'frontdoor retention due' prints it (e.g. version:4)"
                )
            if k not in by_key:
                where = "" if project is None else f" in project {project!r}"
                raise UnknownThing(f"{k}: not found{where}")
            if k not in due_now:
                when = by_key[k].due_on
                raise InvalidRequest(
                    f"{k}: not due on {on} ({f'due from {when}' if when else 'kept without limit'}); "
                    "see 'frontdoor retention due'"
                )
            chosen.add(k)
    todo = list(chosen)
    while todo:
        for needed in by_key[todo.pop()].needs:
            if needed in chosen:
                continue
            if needed not in due_now:  # pragma: no cover - what an item needs inherits its date
                raise InvalidRequest(f"{needed}: must go with what is due but is not due itself")
            chosen.add(needed)
            todo.append(needed)
    return [i for i in every if i.key in chosen]


def destroy(
    store: Store,
    *,
    project: str | None = None,
    keys: Sequence[str] | None = None,
    on: date | None = None,
    including_backups: bool = False,
) -> Destroyed:
    """Destroy what is due (all of it, or ``keys`` and what must go with them): files and rows, leaving one
    ``destroyed`` audit entry per item. One transaction; files are deleted just before it commits (a file
    that cannot be deleted stops it with nothing recorded; one found gone already is recorded as missing).
    With ``including_backups``, backups made before the destruction are then replaced by a fresh one.

    Raises:
        UnknownThing: no such project or item.
        InvalidRequest: an item not due, a file that cannot be deleted, a role that is not a researcher.
    """
    when = on or datetime.now(UTC).date()
    deleted: set[str] = set()  # files this call deleted, should the transaction be tried again

    def do(s: Session) -> Destroyed:
        require_researcher(s, "destroy records")
        if s.get_bind().dialect.name == "sqlite":
            s.execute(text("PRAGMA secure_delete = ON"))  # deleted rows are overwritten, not just unlinked
        result = Destroyed(_plan(s, project, keys, when))
        if result.items:
            _destroy_in(s, result, deleted)
        return result

    result = write(store, do)
    if result.items:
        _forget_derived(store, result)
        result.log_emptied = _empty_log(store)
    if including_backups:
        _replace_backups(store, result)
    return result


def _destroy_in(s: Session, result: Destroyed, deleted: set[str]) -> None:
    chosen = {i.key for i in result.items}
    files: list[Path] = []
    people: set[int] = set()
    now = datetime.now(UTC)
    for it in result.items:
        r = it.reasons[0]
        base: dict[str, Any] = {"kind": AUDIT_KINDS[it.kind], "id": it.id, "reason": r.code, "due_since": r.since}
        if it.kind == "export-item":
            x = s.execute(select(ExportItem).where(ExportItem.id == it.id)).scalar_one()
            clip_id, version = s.execute(
                select(ClipVersion.clip_id, ClipVersion.version_hash).where(ClipVersion.id == x.clip_version_id)
            ).one()
            state = "destroyed_before"
            if x.destroyed_at is None:
                folder = s.scalar(select(Export.folder).where(Export.id == x.export_id)) or ""
                if export_files.is_export_file(x.path, x.export_id, folder, clip_id=clip_id):
                    state = _file_state(Path(x.path), files, deleted, result)
                    _shared_file(s, x, chosen, now)
                else:  # the record names a file the gate never writes (a record not made by the gate)
                    state = "kept_not_exported"
                    result.files_kept.append(x.path)
            audit.append(
                s,
                "destroyed",
                {**base, "export": x.export_id, "version": version, "output_sha256": x.output_sha256, "file": state},
                clip_id=clip_id,
            )
            s.expunge(x)
            s.execute(delete(ExportItem).where(ExportItem.id == it.id))
        elif it.kind == "export":
            left = s.scalar(select(func.count()).select_from(ExportItem).where(ExportItem.export_id == it.id))
            if left:  # pragma: no cover - its files are what it needs
                raise InvalidRequest(f"export {it.id}: {left} exported file(s) of it are not destroyed yet")
            state = "none"
            if it.path is not None:
                p = Path(it.path)
                if p.is_file() and _sha256(p) != it.fingerprint:
                    state = "kept_changed"
                    result.files_kept.append(str(p))
                else:
                    state = _file_state(p, files, deleted, result)
            audit.append(s, "destroyed", {**base, "manifest_sha256": it.fingerprint, "manifest": state})
            s.execute(delete(Export).where(Export.id == it.id))
        elif it.kind == "version":
            people |= _destroy_version(s, it, base, chosen)
        elif it.kind == "document":
            from annotation.store import AnnotationRow, delete_document

            n = s.scalar(select(func.count()).select_from(AnnotationRow).where(AnnotationRow.document_id == it.id))
            audit.append(s, "destroyed", {**base, "annotations": n})
            delete_document(s, it.id)
        elif it.kind == "recording":
            people |= _destroy_recording(s, it, base, files, deleted, result)
    _pseudonymise(s, people, result)
    s.execute(delete(DestructionPermit))  # every permit is used up before the commit: none outlives this
    s.flush()
    for p in files:
        if not os.access(p.parent, os.W_OK):
            raise InvalidRequest(f"{p}: cannot be deleted (its folder is not writable); nothing was destroyed")
    for p in files:
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise InvalidRequest(
                f"{p}: cannot be deleted ({exc.strerror or exc}); the records are unchanged, run it again"
            ) from exc
        deleted.add(str(p))
        result.files_deleted.append(str(p))


def _file_state(p: Path, files: list[Path], deleted: set[str], result: Destroyed) -> str:
    """``deleted`` (it is deleted before the commit) or ``missing`` (not here: already gone or out of reach)."""
    if p.exists() or p.is_symlink():
        if p not in files:  # an encrypted archive is the file of every clip in it
            files.append(p)
        return "deleted"
    if str(p) in deleted:  # this call deleted it on an earlier try of the transaction
        result.files_deleted.append(str(p))
        return "deleted"
    result.files_missing.append(str(p))
    return "missing"


def _shared_file(s: Session, x: ExportItem, chosen: set[str], now: datetime) -> None:
    """An encrypted archive holds every clip of its export: deleting it destroys the others' copies too,
    which are marked destroyed (and audited as ``consent destroy`` does) though their records stay."""
    for other_id, version_id, sha in s.execute(
        select(ExportItem.id, ExportItem.clip_version_id, ExportItem.output_sha256).where(
            ExportItem.path == x.path, ExportItem.id != x.id, ExportItem.destroyed_at.is_(None)
        )
    ).all():
        if f"export-item:{other_id}" in chosen:
            continue
        clip_id = s.scalar(select(ClipVersion.clip_id).where(ClipVersion.id == version_id))
        _mark_destroyed(s, other_id, sha, clip_id, now, file_deleted=True, with_item=x.id)


def _mark_destroyed(
    s: Session,
    item_id: int,
    output_sha256: str | None,
    clip_id: int | None,
    now: datetime,
    *,
    file_deleted: bool,
    with_item: int | None = None,
) -> None:
    """Record an exported file as destroyed (its record stays) with its ``destruction`` audit entry: the one
    way both ``confirm_destroyed`` and ``destroy`` (for the other clips of an archive) mark it."""
    s.execute(update(ExportItem).where(ExportItem.id == item_id).values(destroyed_at=now, destroyed_by=audit.actor()))
    payload: dict[str, Any] = {
        "export_item": item_id,
        "output_sha256": output_sha256,
        "file_deleted_by_frontdoor": file_deleted,
    }
    if with_item is not None:
        payload["with_export_item"] = with_item
    audit.append(s, "destruction", payload, clip_id=clip_id)


def confirm_destroyed(store: Store, item_id: int, *, delete_file: bool = False) -> str:
    """Mark an exported file destroyed (deleting it first with ``delete_file``); returns its path. Its
    record stays (``destroy`` deletes it when it is due).

    Raises:
        UnknownThing: no such export item.
        InvalidRequest: already destroyed, or the file still exists and ``delete_file`` was not given.
    """

    def do(s: Session) -> str:
        item = get_or_not_found(
            s,
            ExportItem,
            item_id,
            "export item",
            message=f"export item {item_id}: not found (see 'frontdoor consent destroy --list')",
            error=UnknownThing,
        )
        if item.destroyed_at is not None:
            raise InvalidRequest(f"export item {item_id}: destroyed already on {item.destroyed_at.date().isoformat()}")
        v = s.get(ClipVersion, item.clip_version_id)
        clip_id = v.clip_id if v else None
        path = Path(item.path)
        if path.exists():
            if not delete_file:
                raise InvalidRequest(f"{path}: still exists; delete it (or pass --delete) before confirming")
            e = s.get(Export, item.export_id)
            if e is None or not export_files.is_export_file(item.path, e.id, e.folder, clip_id=clip_id):
                raise InvalidRequest(
                    f"export item {item_id}: {path} is not a file the export gate wrote for export "
                    f"{item.export_id}; nothing deleted (the record was not made by the gate: tell the researcher)"
                )
            path.unlink()
        _mark_destroyed(s, item.id, item.output_sha256, clip_id, datetime.now(UTC), file_deleted=delete_file)
        return str(path)

    return write(store, do)


def _destroy_version(s: Session, it: Item, base: dict[str, Any], chosen: set[str]) -> set[int]:
    """The version, its decisions and presence, under a permit naming its audit entry; the clip too when
    its last version goes. Returns the participants who were in it."""
    clip_id, number, version, source = s.execute(
        select(ClipVersion.clip_id, ClipVersion.number, ClipVersion.version_hash, ClipVersion.source_sha256).where(
            ClipVersion.id == it.id
        )
    ).one()
    left = s.scalar(select(func.count()).select_from(ExportItem).where(ExportItem.clip_version_id == it.id))
    if left:  # pragma: no cover - its files are what it needs, and consent writes take turns
        raise InvalidRequest(f"clip {clip_id} version {number}: exported again since it was listed; run it again")
    decision_ids = list(s.scalars(select(Decision.id).where(Decision.clip_version_id == it.id).order_by(Decision.id)))
    present = set(s.scalars(select(Presence.participant_id).where(Presence.clip_version_id == it.id)))
    deciders = set(s.scalars(select(Decision.participant_id).where(Decision.clip_version_id == it.id)))
    siblings = set(s.scalars(select(ClipVersion.id).where(ClipVersion.clip_id == clip_id)))
    clip_removed = all(f"version:{v}" in chosen for v in siblings)
    entry = audit.append(
        s,
        "destroyed",
        {**base, "number": number, "version": version, "source_sha256": source, "decision_ids": decision_ids,
         "presence": len(present), "clip_removed": clip_removed},
        clip_id=clip_id,
    )  # fmt: skip
    # the append-only triggers let these deletes through only while this permit names that entry
    s.execute(insert(DestructionPermit).values(kind="clip_version", row_id=it.id, audit_id=entry.id))
    s.execute(delete(Decision).where(Decision.clip_version_id == it.id))
    s.execute(delete(Presence).where(Presence.clip_version_id == it.id))
    s.execute(delete(ClipVersion).where(ClipVersion.id == it.id))
    if clip_removed and not s.scalar(
        select(func.count()).select_from(ClipVersion).where(ClipVersion.clip_id == clip_id)
    ):
        s.execute(delete(Clip).where(Clip.id == clip_id))
    return present | deciders


def _destroy_recording(
    s: Session, it: Item, base: dict[str, Any], files: list[Path], deleted: set[str], result: Destroyed
) -> set[int]:
    rec = s.execute(select(Recording.sha256, Recording.abs_path).where(Recording.id == it.id)).one()
    clips = s.scalar(select(func.count()).select_from(Clip).where(Clip.recording_id == it.id))
    if clips:  # pragma: no cover - its clip versions are what it needs
        raise InvalidRequest(f"recording {it.id}: {clips} clip(s) of it are not due; nothing was destroyed")
    documents = list(s.scalars(select(Document.id).where(Document.recording_id == it.id).order_by(Document.id)))
    appeared = list(s.scalars(select(Appearance.participant_id).where(Appearance.recording_id == it.id)))
    same_file = s.scalar(
        select(func.count()).select_from(Recording).where(Recording.abs_path == rec.abs_path, Recording.id != it.id)
    )
    if same_file:  # another recording (kept) is the same file: it stays
        state = "kept_in_use"
        result.files_kept.append(rec.abs_path)
    else:
        state = _file_state(Path(rec.abs_path), files, deleted, result)
    audit.append(
        s,
        "destroyed",
        {**base, "sha256": rec.sha256, "file": state, "documents_unlinked": documents, "appearances": len(appeared)},
    )
    s.execute(delete(Recording).where(Recording.id == it.id))  # appearances go, documents are unlinked
    if s.scalar(select(func.count()).select_from(Recording).where(Recording.sha256 == rec.sha256)) == 0:
        s.execute(delete(FaceScan).where(FaceScan.recording_sha256 == rec.sha256))  # its face tracks go too
    return set(appeared)


def _pseudonymise(s: Session, people: set[int], result: Destroyed) -> None:
    """Participants of whom nothing is stored any more (no presence, appearance or decision) keep their row,
    which their withdrawal and the log refer to, without a real name, contact or withdrawal reason."""
    for pid in sorted(people):
        still = any(
            s.scalar(select(func.count()).select_from(table).where(column == pid))
            for table, column in (
                (Presence, Presence.participant_id),
                (Appearance, Appearance.participant_id),
                (Decision, Decision.participant_id),
            )
        )
        if still:
            continue
        p = s.execute(
            select(Participant.real_name, Participant.contact, Participant.withdrawal_reason).where(
                Participant.id == pid
            )
        ).one_or_none()
        if p is None:
            continue
        cleared = [name for name, value in zip(("real_name", "contact", "withdrawal_reason"), p, strict=True) if value]
        if cleared:
            s.execute(update(Participant).where(Participant.id == pid).values(dict.fromkeys(cleared)))
            audit.append(s, "participant_pseudonymised", {"cleared": cleared}, participant_id=pid)
            result.pseudonymised.append(pid)


def _sha256(p: Path) -> str | None:
    try:
        return sha256_file(p)
    except OSError:
        return None


def _forget_derived(store: Store, result: Destroyed) -> None:
    """Cache entries made from the destroyed files (keyed by their SHA-256) and review previews of the
    destroyed versions; a recording whose file is kept for another keeps its cache too."""
    from consent.station import PREVIEWS
    from media_tools import cache

    with store.session() as s:
        still = set(s.scalars(select(Recording.sha256)))
    for it in result.items:
        if it.kind in ("recording", "export-item") and it.fingerprint and it.fingerprint not in still:
            with contextlib.suppress(ValueError, OSError):
                result.cache_entries += cache.forget(it.fingerprint)
        elif it.kind == "version" and it.fingerprint:
            for preview in (cache.cache_dir() / PREVIEWS).glob(f"{it.fingerprint}*.mp4"):
                preview.unlink(missing_ok=True)
                result.cache_entries += 1


def _empty_log(store: Store) -> bool | None:
    """SQLite leaves copies of rows in free pages (from earlier page splits and moves, before this
    destruction overwrote what it deleted) and old page images in its write-ahead log: rebuild the file
    (VACUUM) and empty the log now. False when another program using the store kept either from finishing
    (the log then empties when they close it; the rebuild waits for the next destruction)."""
    if store.dialect != "sqlite" or store.path is None:
        return None
    from sqlalchemy.exc import OperationalError

    try:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except OperationalError:
        return False
    return row is not None and int(row[0]) == 0


# ---------------------------------------------------------------------------------------------- backups


@dataclass(frozen=True)
class StaleBackup:
    """A backup (or a copy kept aside by a restore) made before the latest destruction: it still holds
    what was destroyed."""

    path: Path
    made: datetime
    sha256: str | None
    companions: tuple[Path, ...] = ()  # its record (sidecar) or write-ahead log, deleted with it


def last_destruction(store: Store) -> datetime | None:
    """When rows were last destroyed (the latest ``destroyed`` entry not about backups), or None."""
    with store.session() as s:
        at = s.scalar(
            select(func.max(AuditEntry.at)).where(
                AuditEntry.event == "destroyed", AuditEntry.payload.not_like('%"kind":"backup"%')
            )
        )
    return None if at is None else datetime.fromisoformat(at)


def stale_backups(store: Store) -> list[StaleBackup]:
    """Backups of this store, and copies a restore kept aside, made before the latest destruction: restoring
    one would bring back what was destroyed. Oldest first."""
    from annotation.backup import list_backups

    latest = last_destruction(store)
    if latest is None:
        return []
    out = []
    url = store.engine.url.render_as_string(hide_password=False)
    for b in list_backups(url):
        if _before(b.created, b.path, latest):
            out.append(StaleBackup(b.path, b.created, b.sha256, (b.path.with_name(b.path.name + ".json"),)))
    if store.path is not None:
        for p in store.path.parent.glob(f"{store.path.name}.before-restore-*"):
            if p.name.endswith(("-wal", "-shm", "-journal", "-checked")):
                continue
            try:
                made = datetime.strptime(p.name.rsplit("-", 1)[-1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            except ValueError:
                continue
            if _before(made, p, latest):
                out.append(StaleBackup(p, made, None, (Path(f"{p}-wal"), Path(f"{p}-shm"))))
    return sorted(out, key=lambda b: b.made)


def _before(named: datetime, path: Path, latest: datetime) -> bool:
    """Whether a backup named with ``named`` (to the second) was made before ``latest``: within the same
    second, its file's time decides."""
    second = latest.replace(microsecond=0)
    if named < second:
        return True
    if named > second:
        return False
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC) < latest
    except OSError:
        return False


def _replace_backups(store: Store, result: Destroyed) -> None:
    """A fresh backup first (so there is always one), then the stale ones deleted, each audited."""
    from annotation.errors import AnnotationError
    from consent.anchors import backup
    from consent.errors import AnchorLogError

    stale = stale_backups(store)
    if not stale:
        return
    try:
        fresh = backup(store)
        assert fresh is not None
    except (AnnotationError, AnchorLogError) as exc:
        result.backup_problem = f"no fresh backup could be made ({exc.message}); no backup was deleted"
        return
    result.fresh_backup = fresh.path
    gone: list[StaleBackup] = []
    for b in stale:
        if b.path == fresh.path:
            continue
        try:
            b.path.unlink(missing_ok=True)
        except OSError as exc:
            result.backup_problem = f"{b.path}: cannot be deleted ({exc.strerror or exc})"
            continue
        for extra in b.companions:
            extra.unlink(missing_ok=True)
        gone.append(b)
        result.backups_deleted.append(b.path)
    if not gone:
        return
    latest = last_destruction(store)

    def log(s: Session) -> None:
        for b in gone:
            audit.append(
                s,
                "destroyed",
                {"kind": "backup", "sha256": b.sha256, "made": b.made.isoformat(), "reason": "holds_destroyed",
                 "due_since": latest.date() if latest else None},
            )  # fmt: skip

    write(store, log)
