"""Service functions: what the CLI and the app call. Each opens its own unit of work on the store.

Front ends never hold a Session: they get plain data back (ids, dataclasses, dicts).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from annotation.edits import EditCommand, document_overlaps, edit_memory, remember_edit, take_document
from annotation.elan import (
    PARTICIPANTS_TIER,
    EafDocument,
    Repair,
    Segment,
    Tier,
    document_segments,
    export_document,
    load_scheme,
    participant_tier,
    read_eaf_report,
    write_eaf,
)
from annotation.errors import EafError, NotFound
from annotation.store import (
    DocumentInfo,
    Project,
    Recording,
    Store,
    get_or_not_found,
    list_documents,
    load_document,
    project_by_name,
    store_document,
)
from media_tools.files import sha256_file


@dataclass(frozen=True)
class ImportResult:
    doc_id: int
    kind: str
    tiers: int
    annotations: int
    notes: tuple[str, ...]
    #: what the reader repaired, one per kind (empty for a valid file)
    repairs: tuple[Repair, ...] = ()
    #: tiers whose annotations overlap in the file (stored as they are), one line each
    overlaps: tuple[str, ...] = ()


def import_file(
    store: Store,
    path: str | os.PathLike[str],
    *,
    recording_id: int | None = None,
    name: str | None = None,
    project_id: int | None = None,
    strict: bool = False,
) -> ImportResult:
    """Read an ELAN file (.eaf, .etf or .ecv), repairing what is recoverable (``strict``: refusing it
    instead), and store it in one transaction.

    Raises:
        EafError: the file is missing or is not an ELAN file that can be read (nothing is stored).
        NotFound: ``recording_id`` names no recording.
    """
    p = Path(path)
    doc, repairs = read_eaf_report(p, strict=strict)
    with store.session() as s:
        rec = get_or_not_found(s, Recording, recording_id, "recording") if recording_id is not None else None
        did = store_document(
            s,
            doc,
            name or p.name,
            source_path=str(p.resolve()),
            recording_id=recording_id,
            project_id=project_id,
        )
        if rec is not None:
            from annotation.store import Document, descriptor_origin

            stored = s.get(Document, did)
            assert stored is not None
            stored.media_origin_ms = descriptor_origin(doc.media, rec.name)
    return ImportResult(
        did,
        doc.kind,
        len(doc.tiers),
        doc.annotation_count(),
        tuple(doc.upgrade_notes),
        tuple(repairs),
        tuple(document_overlaps(doc)),
    )


def get_document(store: Store, doc_id: int) -> EafDocument:
    """The whole stored document. Raises NotFound."""
    with store.session() as s:
        return load_document(s, doc_id)


def export_eaf(store: Store, doc_id: int, out: str | os.PathLike[str]) -> EafDocument:
    """Write a stored document as EAF 3.0 (ECV for a stored vocabulary file), atomically.

    Raises:
        NotFound: no such document.
        EafError: the file cannot be written.
    """
    doc = get_document(store, doc_id)
    write_eaf(doc, out)
    return doc


def export_other(
    store: Store, doc_id: int, fmt: str, out: str | os.PathLike[str], tiers: list[str] | None = None
) -> None:
    """Export a stored document as tsv, csv, srt, vtt, textgrid or json. Raises NotFound, ExportError."""
    export_document(get_document(store, doc_id), fmt, out, tiers)


def roundtrip(store: Store, src: str | os.PathLike[str], out: str | os.PathLike[str]) -> tuple[int, tuple[Repair, ...]]:
    """Import ``src`` and export it again to ``out`` through the store (what is written is what was stored,
    read back); returns the document id and what the reader repaired (one per kind, empty for a valid file).
    Stored as :func:`import_file` stores it, without its overlap report.

    Raises:
        EafError: ``src`` is not an ELAN file that can be read (nothing is stored), or ``out`` cannot be written.
    """
    p = Path(src)
    doc, repairs = read_eaf_report(p)
    with store.session() as s:
        did = store_document(s, doc, p.name, source_path=str(p.resolve()))
    del doc  # the export reads the stored document back
    export_eaf(store, did, out)
    return did, tuple(repairs)


def documents(store: Store) -> list[DocumentInfo]:
    with store.session() as s:
        return list_documents(s)


def new_document(
    store: Store,
    scheme: str = "referral",
    *,
    name: str | None = None,
    recording_id: int | None = None,
    media_url: str | None = None,
    project_id: int | None = None,
    participants: Sequence[str] = (),
) -> int:
    """A new, empty document made from a coding scheme ("referral" or a path to an ``.etf``), with a tier of
    its own for each of ``participants`` (pseudonyms) after the scheme's Participants tier, as ELAN lays
    out who is present: two people present at once are on two tiers, never overlapping on one.

    Raises:
        EafError: the scheme file is missing or invalid.
        NotFound: ``recording_id`` names no recording.
    """
    doc = load_scheme(scheme)
    doc.kind = "eaf"
    doc.root_attrs.pop("DATE", None)
    add_participant_tiers(doc, participants)
    with store.session() as s:
        rec = None
        if recording_id is not None:
            rec = get_or_not_found(s, Recording, recording_id, "recording")
            media_url = media_url or Path(rec.abs_path).resolve().as_uri()
        if media_url:
            m = {"MEDIA_URL": media_url}
            if rec is not None and rec.mime_type:
                m["MIME_TYPE"] = rec.mime_type
            if rec is not None and rec.rel_path:
                m["RELATIVE_MEDIA_URL"] = "./" + Path(rec.rel_path).as_posix()
            doc.media = [m]

        doc.root_attrs["DATE"] = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
        return store_document(
            s,
            doc,
            name or (rec.name if rec else "untitled"),
            recording_id=recording_id,
            project_id=project_id,
        )


def add_participant_tiers(doc: EafDocument, participants: Sequence[str]) -> None:
    """Give each filmed person a tier of their own after the scheme's Participants tier (ELAN's usual
    layout: two people present at once never overlap on one tier)."""
    names = [t.tier_id for t in doc.tiers]
    at = names.index(PARTICIPANTS_TIER) + 1 if PARTICIPANTS_TIER in names else len(names)
    like = doc.tiers[at - 1].attrs if PARTICIPANTS_TIER in names else {"LINGUISTIC_TYPE_REF": "default-lt"}
    for i, who in enumerate(participants):
        attrs = {**like, "TIER_ID": participant_tier(who), "PARTICIPANT": who}
        attrs.pop("PARENT_REF", None)
        doc.tiers.insert(at + i, Tier(attrs=attrs))


def apply_edit(store: Store, cmd: EditCommand) -> None:
    """Apply an edit and commit it; edits of one document take turns (:func:`take_document`).

    Raises ConflictError, InvalidEdit, NotFound."""
    with store.session() as s:
        take_document(s, cmd.doc_id)
        cmd.apply(s)
        change = edit_memory(s, cmd.doc_id, cmd.touched)
    remember_edit(change)  # committed: the process's memory of the tiers moves on with it


def revert_edit(store: Store, cmd: EditCommand) -> None:
    """Undo an applied edit and commit that. Raises ConflictError, NotFound."""
    with store.session() as s:
        take_document(s, cmd.doc_id)
        cmd.revert(s)
        change = edit_memory(s, cmd.doc_id, cmd.touched)
    remember_edit(change)


def document_display(store: Store, doc_id: int) -> dict[str, list[Segment]]:
    """Every tier's annotations placed in time, for the timeline and exports."""
    return document_segments(get_document(store, doc_id))


def ensure_project(store: Store, name: str) -> int:
    """The id of the project called ``name``, created when there is none."""
    with store.session() as s:
        return project_by_name(s, name, create=True).id


def add_recording(
    store: Store,
    project_id: int,
    media: str | os.PathLike[str],
    *,
    project_dir: str | None = None,
    duration_ms: int | None = None,
    fps: float | None = None,
    mime_type: str | None = None,
) -> int:
    """Register a media file (hash, paths, duration, fps) with a project; returns the recording id.

    Raises:
        EafError: the media file does not exist.
    """
    p = Path(media)
    if not p.is_file():
        raise EafError(f"{p}: media file not found")
    rel = os.path.relpath(p.resolve(), Path(project_dir).resolve()) if project_dir else None
    digest = sha256_file(p)
    with store.session() as s:
        rec = Recording(
            project_id=project_id,
            name=p.name,
            sha256=digest,
            abs_path=str(p.resolve()),
            rel_path=rel,
            duration_ms=duration_ms,
            fps=fps,
            mime_type=mime_type,
        )
        s.add(rec)
        s.flush()
        return rec.id


def relink_recording(store: Store, recording_id: int, search_dir: str | os.PathLike[str]) -> str:
    """Find a moved media file by its SHA-256 under ``search_dir`` and update the recording's paths.

    Raises:
        NotFound: no such recording, or no file with its hash under the folder.
    """
    with store.session() as s:
        rec = get_or_not_found(s, Recording, recording_id, "recording")
        want, name = rec.sha256, rec.name
    candidates = sorted(Path(search_dir).rglob("*"), key=lambda q: (q.name != name, str(q)))
    for c in candidates:
        if c.is_file() and sha256_file(c) == want:
            with store.session() as s:
                found = s.get(Recording, recording_id)
                assert found is not None
                found.abs_path = str(c.resolve())
            return str(c.resolve())
    raise NotFound(f"recording {recording_id}: no file with its SHA-256 under {search_dir}")


def document_project(store: Store, doc_id: int) -> tuple[int | None, str | None]:
    """The id and name of the project a document belongs to (directly, or through its recording), or
    ``(None, None)`` when it belongs to none (or does not exist)."""
    from annotation.store import Document

    with store.session() as s:
        d = s.get(Document, doc_id)
        if d is None:
            return None, None
        pid = d.project_id
        if pid is None and d.recording_id is not None:
            rec = s.get(Recording, d.recording_id)
            pid = rec.project_id if rec else None
        p = s.get(Project, pid) if pid is not None else None
        return (p.id, p.name) if p else (None, None)


def tier_ids(store: Store, doc_id: int) -> set[str]:
    """The ids of a document's tiers (empty when it does not exist)."""
    from sqlalchemy import select

    from annotation.store import TierRow

    with store.session() as s:
        return set(s.scalars(select(TierRow.tier_id).where(TierRow.document_id == doc_id)))


def recording_of(store: Store, doc_id: int) -> tuple[int, str] | None:
    """The id and file name of a document's recording, or None."""
    from annotation.store import Document

    with store.session() as s:
        d = s.get(Document, doc_id)
        rec = s.get(Recording, d.recording_id) if d is not None and d.recording_id else None
        return (rec.id, rec.name) if rec else None


def document_info(store: Store, doc_id: int) -> DocumentInfo:
    """One document's summary. Raises NotFound."""
    with store.session() as s:
        found = list_documents(s, doc_id)
    if not found:
        raise NotFound(f"document {doc_id}: no such document in the store")
    return found[0]


def document_name(store: Store, doc_id: int) -> str | None:
    """A stored document's name, or None when there is no such document (the window's title, the recent
    list's entries kept by id only)."""
    from annotation.store import Document

    with store.session() as s:
        d = s.get(Document, doc_id)
        return d.name if d is not None else None


def document_to_open(store: Store, project: str | None, doc_id: int | None, recent: list[int]) -> int:
    """The document the desktop app opens: ``doc_id`` when given; else the newest ELAN document of
    ``project``; else (no project) the first of ``recent`` (the user's recently opened ids, newest first) that
    is still a stored ELAN document; else the store's newest.

    Raises:
        LookupError: ``doc_id`` or ``project`` is not stored, or there is no document at all.
    """
    from annotation.store import Document

    with store.session() as s:
        if doc_id is not None:
            if s.get(Document, doc_id) is None:
                raise LookupError(f"document {doc_id}: not found (see 'frontdoor documents')")
            return doc_id
        q = select(Document.id).where(Document.kind == "eaf").order_by(Document.id.desc())
        if project is None:  # the document the researcher had open last, if it is still there
            for rid in recent:
                d = s.get(Document, rid)
                if d is not None and d.kind == "eaf":
                    return d.id
        if project is not None:
            pid = s.scalar(select(Project.id).where(Project.name == project))
            if pid is None:
                raise LookupError(f"project {project!r}: not found")
            q = q.where(
                (Document.project_id == pid)
                | Document.recording_id.in_(select(Recording.id).where(Recording.project_id == pid))
            )
        found = s.scalar(q.limit(1))
    if found is None:
        raise LookupError("no document to open: import one (frontdoor import-eaf) or run 'frontdoor demo'")
    return found
