"""Clips of stored recordings and their versions, and who is present in each.

A clip is a stretch of a recording with an edit spec (cut, redactions, audio, captions); every change to
the edit makes a new version, identified by the hash of the edit and the recording's bytes, and the old one
stays (superseded) with its decisions. Presence comes from the participants' appearances, plus people
added by hand; a redaction asked for as a condition of consent is carried into every later version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation.store import Recording, Store, get_or_not_found
from consent import audit, conditions
from consent.errors import InvalidRequest, UnknownThing
from consent.models import Appearance, Clip, ClipVersion, Decision, Participant, Presence
from consent.rows import check_length, clip, current_version, participant, write
from media_tools.errors import SpecError
from media_tools.spec import EditSpec, parse_spec


@dataclass(frozen=True)
class VersionInfo:
    clip_id: int
    version_id: int
    number: int
    version_hash: str
    present: tuple[str, ...]


def create_clip(
    store: Store,
    recording_id: int,
    start: float,
    end: float,
    *,
    name: str | None = None,
    description: str | None = None,
    extra: dict[str, Any] | None = None,
    add_present: Sequence[str | int] = (),
    sensitive_from: int | str | None = None,
) -> VersionInfo:
    """A new clip of a stored recording with its first version. ``extra`` adds edit-spec fields
    (redactions, audio, captions, title); ``sensitive_from`` (a document of this recording) bleeps every
    sensitive identifier coded in it. Presence comes from the participants' appearances, plus ``add_present``.

    Raises:
        UnknownThing, InvalidRequest: unknown recording or participant, an invalid edit, a ``sensitive_from``
            document of another recording or of none.
    """
    check_length("name", name)
    spec = _build_spec(store, recording_id, start, end, extra or {}, sensitive_from)

    def do(s: Session) -> VersionInfo:
        rec = s.get(Recording, recording_id)
        assert rec is not None
        c = Clip(
            project_id=rec.project_id,
            recording_id=rec.id,
            name=name or f"{rec.name} {start:g}-{end:g} s",
            description=description,
        )
        s.add(c)
        s.flush()
        present = _present_from_appearances(s, rec.id, start, end)
        manual = {participant(s, p, rec.project_id).id for p in add_present}
        info = new_version(s, c, rec, spec, "created", present, manual)
        audit.append(s, "clip_created", {"recording": rec.id, "version": info.version_hash}, clip_id=c.id)
        return info

    return write(store, do)


def _build_spec(
    store: Store,
    recording_id: int,
    start: float,
    end: float,
    extra: dict[str, Any],
    sensitive_from: int | str | None,
) -> EditSpec:
    with store.session() as s:
        rec = get_or_not_found(
            s,
            Recording,
            recording_id,
            "recording",
            message=f"recording {recording_id}: not found (see 'frontdoor recording add')",
            error=UnknownThing,
        )
        path, duration = rec.abs_path, rec.duration_ms
    data = {"mode": "accurate", **extra, "source": path, "start": start, "end": end}
    try:
        spec = parse_spec(data, name="clip")
        from media_tools.spec import check_rules

        check_rules(spec, name="clip", source_duration=None if duration is None else duration / 1000)
    except SpecError as exc:
        raise InvalidRequest(exc.message) from None
    if sensitive_from is not None:
        _check_coded_from(store, sensitive_from, recording_id)
    if sensitive_from is not None or (spec.captions is not None and not spec.captions.resolved):
        from annotation.clips import resolve_spec

        spec = resolve_spec(store, spec, redact_sensitive=sensitive_from)
    return spec


def _check_coded_from(store: Store, doc_ref: int | str, recording_id: int) -> None:
    """A clip's sensitive identifiers come from a document of its own recording: the gate bleeps those
    confirmed later from that recording's documents only, and another recording's times mean nothing here.

    Raises:
        InvalidRequest: the document codes another recording, or none.
        NotFound: no such document.
    """
    from annotation.clips import find_document
    from annotation.store import Document

    doc_id = find_document(store, doc_ref)
    with store.session() as s:
        linked = s.scalar(select(Document.recording_id).where(Document.id == doc_id))
    if linked != recording_id:
        what = "is linked to no recording" if linked is None else f"codes recording {linked}"
        raise InvalidRequest(
            f"document {doc_id}: {what}, not recording {recording_id}: --redact-sensitive takes a document of the "
            f"clip's recording (import it with --recording {recording_id}); its identifiers confirmed later are "
            "then bleeped in every export too"
        )


def _reason_kind(reason: str) -> str:
    """What kind of change made a version, for the log: ``created``, ``condition`` (a condition of consent
    that changes the edit) or ``edited``."""
    if reason == "created":
        return "created"
    return "condition" if reason.startswith("condition of ") else "edited"


def new_version(
    s: Session, c: Clip, rec: Recording, spec: EditSpec, reason: str, present: set[int], manual: set[int]
) -> VersionInfo:
    """Add the next version of ``c`` with ``spec`` in the caller's unit of work, with ``present`` (from
    appearances) and ``manual`` (added by hand) present in it, and audit it.

    Raises:
        InvalidRequest: this edit exists already as a version of the clip.
    """
    digest = spec.version_hash(rec.sha256)
    if s.scalar(select(ClipVersion.id).where(ClipVersion.clip_id == c.id, ClipVersion.version_hash == digest)):
        raise InvalidRequest(f"clip {c.id}: this edit exists already as a version (version {digest[:12]})")
    number = (s.scalar(select(func.max(ClipVersion.number)).where(ClipVersion.clip_id == c.id)) or 0) + 1
    d = spec.to_dict()
    d.pop("source")
    v = ClipVersion(clip_id=c.id, number=number, version_hash=digest, spec=d, source_sha256=rec.sha256, reason=reason)
    s.add(v)
    s.flush()
    for pid in present:
        s.add(Presence(clip_version_id=v.id, participant_id=pid, origin="appearances"))
    for pid in manual - present:
        s.add(Presence(clip_version_id=v.id, participant_id=pid, origin="manual"))
    s.flush()
    names = tuple(sorted(s.scalars(select(Participant.pseudonym).where(Participant.id.in_(present | manual)))))
    audit.append(
        s,
        "version_created",
        {
            "number": number,
            "version": digest,
            # the reason may be typed text ("cut before the mother names the child"): the permanent log keeps
            # its kind and a fingerprint; the text stays on the version row, which goes when it is destroyed
            "reason": _reason_kind(reason),
            "reason_sha256": hashlib.sha256(reason.encode("utf-8")).hexdigest(),
            "present": list(names),
            "present_ids": sorted(present | manual),
        },
        clip_id=c.id,
    )
    return VersionInfo(c.id, v.id, number, digest, names)


def edit_clip(
    store: Store,
    ref: str | int,
    *,
    start: float | None = None,
    end: float | None = None,
    extra: dict[str, Any] | None = None,
    reason: str = "edited",
) -> VersionInfo:
    """A new version of a clip (the old one stays, with its decisions, but is superseded).

    Raises:
        UnknownThing, InvalidRequest: an unknown clip, an invalid edit, or no change.
    """
    with store.session() as s:
        c = clip(s, ref)
        v = current_version(s, c)
        old = dict(v.spec)
        rec_id = c.recording_id
    for key in ("start", "end", "source"):
        if key in (extra or {}):
            raise InvalidRequest(
                f"clip edit: give {key} with --{key}, not in the spec"
                if key != "source"
                else "clip edit: the source is the clip's recording"
            )
    data = {**old, **(extra or {})}
    new_start = old["start"] if start is None else start
    new_end = old["end"] if end is None else end
    for k in ("start", "end", "source"):
        data.pop(k, None)
    spec = _build_spec(store, rec_id, new_start, new_end, data, None)
    return _add_version(store, ref, spec, reason)


def _add_version(store: Store, ref: str | int, spec: EditSpec, reason: str) -> VersionInfo:
    def do(s: Session) -> VersionInfo:
        c = clip(s, ref)
        rec = s.get(Recording, c.recording_id)
        assert rec is not None
        prev = current_version(s, c)
        manual = set(
            s.scalars(
                select(Presence.participant_id).where(Presence.clip_version_id == prev.id, Presence.origin == "manual")
            )
        )
        present = _present_from_appearances(s, rec.id, spec.start, spec.end)
        carried = spec
        for cond in _standing_edit_conditions(s, c):
            if not conditions.met_by_spec(cond, carried):
                carried = conditions.apply(cond, carried)
        why = f"{reason}; redactions asked for as conditions of consent kept" if carried is not spec else reason
        return new_version(s, c, rec, carried, why, present, manual)

    return write(store, do)


def _standing_edit_conditions(s: Session, c: Clip) -> list[dict[str, Any]]:
    """Redactions people asked for on any version of this clip: a re-cut keeps them (a withdrawn person's
    too: their clips are unusable anyway, and it does no harm)."""
    out: list[dict[str, Any]] = []
    rows = s.scalars(
        select(Decision)
        .join(ClipVersion, ClipVersion.id == Decision.clip_version_id)
        .where(ClipVersion.clip_id == c.id)
    )
    for d in rows:
        for cond in d.conditions:
            if conditions.changes_edit(cond) and cond not in out:
                out.append(cond)
    return out


def set_presence(
    store: Store, ref: str | int, *, add: Iterable[str | int] = (), remove: Iterable[str | int] = ()
) -> tuple[str, ...]:
    """Correct who is present in a clip's current version; returns the pseudonyms present now."""

    def do(s: Session) -> tuple[str, ...]:
        c = clip(s, ref)
        v = current_version(s, c)
        for who in add:
            p = participant(s, who, c.project_id)
            if s.get(Presence, (v.id, p.id)) is None:
                s.add(Presence(clip_version_id=v.id, participant_id=p.id, origin="manual"))
                audit.append(s, "presence_added", {"version": v.version_hash}, participant_id=p.id, clip_id=c.id)
        for who in remove:
            p = participant(s, who, c.project_id)
            row = s.get(Presence, (v.id, p.id))
            if row is None:
                raise InvalidRequest(f"participant {p.pseudonym!r}: is not present in clip {c.id}")
            if p.withdrawn_at is not None:
                raise InvalidRequest(f"participant {p.pseudonym!r}: has withdrawn; their presence is not removed")
            if p.id in _present_from_appearances(s, c.recording_id, float(v.spec["start"]), float(v.spec["end"])):
                raise InvalidRequest(
                    f"participant {p.pseudonym!r}: appears in the recording during this clip; correct the "
                    "appearance (or the Participants tier) first"
                )
            s.delete(row)
            audit.append(s, "presence_removed", {"version": v.version_hash}, participant_id=p.id, clip_id=c.id)
        s.flush()
        return present_names(s, v.id)

    return write(store, do)


def present_names(s: Session, version_id: int) -> tuple[str, ...]:
    return tuple(
        sorted(
            s.scalars(
                select(Participant.pseudonym)
                .join(Presence, Presence.participant_id == Participant.id)
                .where(Presence.clip_version_id == version_id)
            )
        )
    )


def _present_from_appearances(s: Session, recording_id: int, start: float, end: float) -> set[int]:
    lo, hi = round(start * 1000), round(end * 1000)
    return set(
        s.scalars(
            select(Appearance.participant_id).where(
                Appearance.recording_id == recording_id, Appearance.end_ms > lo, Appearance.start_ms < hi
            )
        )
    )
