"""Participants, clips and their versions, presence, decisions, withdrawal and destruction.

Every change is one transaction together with its audit entry. A request that breaks a rule raises a
``ConsentError`` subclass before anything is written.

The rule for use (``evaluate``): the current version of a clip may be used for a scope only when somebody
is recorded as present in it, and every participant present
- has not withdrawn,
- has not withheld that scope or a narrower one (withholding the research team's view and granting
  publication contradict each other: the narrower no wins),
- has granted that scope or a wider one on exactly this version, and
- every condition of that grant (the narrowest one at or above the scope) is met by this version and this
  export.
Missing decisions mean no. The latest decision for (version, participant, scope) is the one that counts.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from annotation.elan.scheme import PARTICIPANTS_TIER
from annotation.errors import StoreUnavailable
from annotation.store.engine import Store
from annotation.store.tables import Document, Project, Recording
from consent import audit, conditions, scopes
from consent.errors import InvalidRequest, UnknownThing
from consent.models import (
    Appearance,
    Clip,
    ClipVersion,
    ConsentPolicy,
    Decision,
    ExportItem,
    Participant,
    Presence,
)
from consent.server import access
from media_tools.errors import SpecError
from media_tools.spec import EditSpec, parse_spec

T = TypeVar("T")
DECISIONS = ("granted", "withheld")
MAX_ID = 2**31  # larger numbers are no row's id (and overflow the databases' integers)
LIMITS = {"pseudonym": 100, "real_name": 200, "role": 200, "contact": 300, "name": 300}


def _fits(what: str, value: str | None) -> None:
    if value is not None and len(value) > LIMITS[what]:
        raise InvalidRequest(f"{what.replace('_', ' ')}: longer than {LIMITS[what]} characters")


METHODS = ("in_app", "paper_form")


# ---------------------------------------------------------------------------------------------- plumbing


def write(store: Store, fn: Callable[[Session], T], *, attempts: int = 5) -> T:
    """Run ``fn`` in one transaction, retrying when another writer appended to the audit log first (the
    chain's uniqueness constraints) or held SQLite's write lock."""
    for attempt in range(attempts):
        try:
            with store.session() as s:
                _take_turn(s)
                return fn(s)
        except IntegrityError as exc:
            if "audit_log" not in str(exc.orig) or attempt == attempts - 1:
                raise InvalidRequest(f"{store.label}: refused by the database ({_first_line(exc)})") from exc
        except StoreUnavailable as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
        except OperationalError as exc:  # pragma: no cover - the store maps these
            raise StoreUnavailable(f"{store.label}: {_first_line(exc)}") from exc
        time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _take_turn(s: Session) -> None:
    """Start the transaction with a write, so consent writes run one at a time and each reads what the one
    before committed (SQLite takes its write lock here; PostgreSQL locks the row until commit)."""
    from sqlalchemy import update

    from consent.models import ConsentLock

    s.execute(update(ConsentLock).where(ConsentLock.id == 1).values(n=ConsentLock.n + 1))


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def _project(s: Session, name: str, *, create: bool = False) -> Project:
    p = s.scalar(select(Project).where(Project.name == name))
    if p is None:
        if not create:
            raise UnknownThing(f"project {name!r}: not found")
        p = Project(name=name)
        s.add(p)
        s.flush()
    return p


def participant(s: Session, ref: str | int, project_id: int | None = None) -> Participant:
    """A participant by id or pseudonym (in ``project_id`` when given).

    Raises:
        UnknownThing: none, or several projects use that pseudonym.
    """
    text = str(ref)
    if text.isdigit() and int(text) < MAX_ID:
        p = s.get(Participant, int(text))
        if p is not None and (project_id is None or p.project_id == project_id):
            return p
    q = select(Participant).where(Participant.pseudonym == text)
    if project_id is not None:
        q = q.where(Participant.project_id == project_id)
    found = s.scalars(q).all()
    if not found:
        raise UnknownThing(f"participant {text!r}: not found (see 'frontdoor participant list')")
    if len(found) > 1:
        raise UnknownThing(
            f"participant {text!r}: in several projects; use the id ({', '.join(str(p.id) for p in found)})"
        )
    return found[0]


def clip(s: Session, ref: str | int) -> Clip:
    text = str(ref)
    c = s.get(Clip, int(text)) if text.isdigit() and int(text) < MAX_ID else None
    if c is None:
        raise UnknownThing(f"clip {text!r}: not found (see 'frontdoor clip list')")
    return c


def current_version(s: Session, c: Clip) -> ClipVersion:
    v = s.scalar(select(ClipVersion).where(ClipVersion.clip_id == c.id).order_by(ClipVersion.number.desc()).limit(1))
    if v is None:  # pragma: no cover - a clip is created with its first version
        raise InvalidRequest(f"clip {c.id}: has no version")
    return v


def version_spec(v: ClipVersion, source: str | Path) -> EditSpec:
    """The version's edit spec with the recording's current path as its source."""
    return parse_spec(dict(v.spec, source=str(source)), name=f"clip version {v.version_hash[:12]}")


# ---------------------------------------------------------------------------------------------- participants


def set_policy(store: Store, project: str, *, keep_real_names: bool) -> None:
    def do(s: Session) -> None:
        p = _project(s, project, create=True)
        pol = s.get(ConsentPolicy, p.id) or ConsentPolicy(project_id=p.id)
        pol.keep_real_names = keep_real_names
        s.add(pol)
        if not keep_real_names:
            for part in s.scalars(select(Participant).where(Participant.project_id == p.id)):
                part.real_name = None
        audit.append(s, "policy_changed", {"project": p.name, "keep_real_names": keep_real_names})

    write(store, do)


def add_participant(
    store: Store,
    project: str,
    pseudonym: str,
    *,
    real_name: str | None = None,
    role: str | None = None,
    contact: str | None = None,
) -> int:
    """Add a filmed member of staff; returns the id. A real name is kept only if the project says so.

    Raises:
        InvalidRequest: an empty or taken pseudonym, or a real name the project does not keep.
    """
    pseudonym = _check_pseudonym(pseudonym)
    for what, value in (("real_name", real_name), ("role", role), ("contact", contact)):
        _fits(what, value)

    def do(s: Session) -> int:
        p = _project(s, project, create=True)
        if real_name and not _keeps_real_names(s, p.id):
            raise InvalidRequest(
                f"project {p.name!r}: does not keep real names (frontdoor participant policy --keep-real-names yes)"
            )
        if s.scalar(select(Participant.id).where(Participant.project_id == p.id, Participant.pseudonym == pseudonym)):
            raise InvalidRequest(f"participant {pseudonym!r}: already in project {p.name!r}")
        part = Participant(
            project_id=p.id, pseudonym=pseudonym, real_name=real_name or None, role=role, contact=contact
        )
        s.add(part)
        s.flush()
        # the log keeps no real name or contact: it is never deleted, they may have to be
        audit.append(
            s,
            "participant_added",
            {"pseudonym": pseudonym, "real_name_kept": bool(real_name), "contact_kept": bool(contact)},
            participant_id=part.id,
        )
        return part.id

    return write(store, do)


def _check_pseudonym(text: str | None) -> str:
    name = (text or "").strip()
    if not name:
        raise InvalidRequest("participant: the pseudonym is empty")
    _fits("pseudonym", name)
    if name.isdigit():
        raise InvalidRequest(f"participant {name!r}: a pseudonym needs a letter (numbers are participant ids)")
    return name


def _keeps_real_names(s: Session, project_id: int) -> bool:
    pol = s.get(ConsentPolicy, project_id)
    return bool(pol and pol.keep_real_names)


def edit_participant(store: Store, ref: str | int, **changes: str | None) -> None:
    """Change pseudonym, real name, role or contact.

    Raises:
        UnknownThing, InvalidRequest.
    """
    allowed = {"pseudonym", "real_name", "role", "contact"}
    bad = set(changes) - allowed
    if bad:
        raise InvalidRequest(f"participant: cannot change {', '.join(sorted(bad))}")

    def do(s: Session) -> None:
        part = participant(s, ref)
        if changes.get("real_name") and not _keeps_real_names(s, part.project_id):
            raise InvalidRequest("participant: this project does not keep real names")
        if "pseudonym" in changes:
            new = _check_pseudonym(changes["pseudonym"])
            clash = s.scalar(
                select(Participant.id).where(
                    Participant.project_id == part.project_id, Participant.pseudonym == new, Participant.id != part.id
                )
            )
            if clash:
                raise InvalidRequest(f"participant {new!r}: already in this project")
            changes["pseudonym"] = new
        for k, v in changes.items():
            _fits(k, v)
            setattr(part, k, v)
        shown = {k: (v if k in ("pseudonym", "role") else "(changed)") for k, v in changes.items()}
        audit.append(s, "participant_changed", shown, participant_id=part.id)

    write(store, do)


def list_participants(store: Store, project: str | None = None) -> list[Participant]:
    with store.session() as s:
        q = select(Participant).order_by(Participant.project_id, Participant.pseudonym)
        if project is not None:
            q = q.where(Participant.project_id == _project(s, project).id)
        return list(s.scalars(q))


# ---------------------------------------------------------------------------------------------- appearances


def appearances_from_tier(store: Store, doc_id: int, *, tier: str = PARTICIPANTS_TIER) -> int:
    """Replace the appearances taken from ``doc_id``'s participants tier (values are pseudonyms); returns
    how many there are now.

    Raises:
        UnknownThing: the document has no recording or no such tier, or names an unknown participant.
    """
    from annotation.services import document_display

    display = document_display(store, doc_id)
    if tier not in display:
        raise UnknownThing(f"document {doc_id}: no tier {tier!r}")
    segments = [seg for seg in display[tier] if seg.value.strip()]

    def do(s: Session) -> int:
        doc = s.get(Document, doc_id)
        if doc is None or doc.recording_id is None:
            raise UnknownThing(f"document {doc_id}: not linked to a recording (new-document --recording ID)")
        rec = s.get(Recording, doc.recording_id)
        assert rec is not None
        ids: dict[str, int] = {}
        for seg in segments:
            name = seg.value.strip()
            if name not in ids:
                pid = s.scalar(
                    select(Participant.id).where(
                        Participant.project_id == rec.project_id, Participant.pseudonym == name
                    )
                )
                if pid is None:
                    raise UnknownThing(
                        f"document {doc_id}: tier {tier!r} names {name!r}, who is not a participant (add them first)"
                    )
                ids[name] = pid
        old = s.scalars(select(Appearance).where(Appearance.document_id == doc_id, Appearance.origin == "tier"))
        for a in old:
            s.delete(a)
        shift = int(doc.media_origin_ms or 0)  # the tier's times are the document's; appearances the recording's
        for seg in segments:
            s.add(
                Appearance(
                    participant_id=ids[seg.value.strip()],
                    recording_id=rec.id,
                    start_ms=seg.start + shift,
                    end_ms=seg.end + shift,
                    origin="tier",
                    document_id=doc_id,
                )
            )
            _present_in_current_versions(s, rec.id, ids[seg.value.strip()], seg.start + shift, seg.end + shift)
        audit.append(s, "appearances_imported", {"document": doc_id, "recording": rec.id, "count": len(segments)})
        return len(segments)

    return write(store, do)


def add_appearance(store: Store, who: str | int, recording_id: int, start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise InvalidRequest(f"appearance: end {end_ms} ms is not after start {start_ms} ms")

    def do(s: Session) -> None:
        part = participant(s, who)
        rec = s.get(Recording, recording_id)
        if rec is None:
            raise UnknownThing(f"recording {recording_id}: not found")
        if rec.project_id != part.project_id:
            raise InvalidRequest(f"participant {part.pseudonym!r}: recording {rec.id} belongs to another project")
        s.add(
            Appearance(participant_id=part.id, recording_id=rec.id, start_ms=start_ms, end_ms=end_ms, origin="manual")
        )
        _present_in_current_versions(s, rec.id, part.id, start_ms, end_ms)
        audit.append(
            s, "appearance_added", {"recording": rec.id, "start_ms": start_ms, "end_ms": end_ms}, participant_id=part.id
        )

    write(store, do)


def _present_in_current_versions(s: Session, recording_id: int, pid: int, start_ms: int, end_ms: int) -> None:
    """Someone newly known to appear is present in every current clip version that overlaps: their consent
    is needed from now on."""
    for c in s.scalars(select(Clip).where(Clip.recording_id == recording_id)):
        v = current_version(s, c)
        lo, hi = round(float(v.spec["start"]) * 1000), round(float(v.spec["end"]) * 1000)
        if end_ms > lo and start_ms < hi and s.get(Presence, (v.id, pid)) is None:
            s.add(Presence(clip_version_id=v.id, participant_id=pid, origin="appearances"))
            s.flush()
            audit.append(
                s, "presence_added", {"version": v.version_hash, "from": "appearance"}, participant_id=pid, clip_id=c.id
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


# ---------------------------------------------------------------------------------------------- clips


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
    _fits("name", name)
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
        info = _new_version(s, c, rec, spec, "created", present, manual)
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
        rec = s.get(Recording, recording_id)
        if rec is None:
            raise UnknownThing(f"recording {recording_id}: not found (see 'frontdoor recording add')")
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
    from annotation.store.tables import Document

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


def _new_version(
    s: Session, c: Clip, rec: Recording, spec: EditSpec, reason: str, present: set[int], manual: set[int]
) -> VersionInfo:
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
        return _new_version(s, c, rec, carried, why, present, manual)

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


# ---------------------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Recorded:
    decision_id: int
    new_version: VersionInfo | None


def record_decision(
    store: Store,
    clip_ref: str | int,
    who: str | int,
    scope: str,
    decision: str,
    *,
    condition_texts: Sequence[str] = (),
    structured: Sequence[dict[str, Any]] = (),
    method: str = "in_app",
    form_reference: str | None = None,
    version_hash: str | None = None,
) -> Recorded:
    """Record one participant's decision on a clip's current version for one scope.

    A condition that changes the edit ("blur my face") makes a new version carrying it; that version needs
    everyone's consent afresh (the decision stays on the version it was made on, where it is not met).

    Raises:
        UnknownThing: an unknown clip, participant or scope.
        InvalidRequest: the participant is not in the clip or has withdrawn, the version named is
            superseded, a withheld decision with conditions, a paper form without its reference.
    """
    done = record_decisions(
        store,
        clip_ref,
        who,
        [ScopeDecision(scope, decision, tuple(structured), tuple(condition_texts))],
        method=method,
        form_reference=form_reference,
        version_hash=version_hash,
    )
    return Recorded(done.decision_ids[0], done.new_version)


@dataclass(frozen=True)
class ScopeDecision:
    """One use decided: ``conditions`` as structured objects (``consent.conditions``) and/or ``texts`` in
    their command-line form."""

    scope: str
    decision: str
    conditions: tuple[dict[str, Any], ...] = ()
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedSet:
    decision_ids: tuple[int, ...]  # in the order the decisions were given
    new_version: VersionInfo | None


def record_decisions(
    store: Store,
    clip_ref: str | int,
    who: str | int,
    decisions: Sequence[ScopeDecision],
    *,
    method: str = "in_app",
    form_reference: str | None = None,
    version_hash: str | None = None,
) -> RecordedSet:
    """Record one participant's decisions for several scopes on a clip's current version, all or none, in
    one transaction (what a person says at a review station about one clip is one act).

    Every decision lands on the same version. Conditions that change the edit (from any of the decisions,
    each once) make one new version carrying them all, which everyone present must consent to afresh.

    Raises:
        UnknownThing: an unknown clip, participant or scope.
        InvalidRequest: no decisions or one scope twice, the participant is not in the clip or has
            withdrawn, the version named is superseded, a withheld decision with conditions, a paper form
            without its reference.
    """
    if not decisions:
        raise InvalidRequest("no decision given")
    seen = [scopes.check(d.scope) for d in decisions]
    if len(set(seen)) != len(seen):
        raise InvalidRequest("each use (scope) may be decided once per recording of decisions")
    for d in decisions:
        if d.decision not in DECISIONS:
            raise InvalidRequest(f"decision {d.decision!r}: use granted or withheld")
        if d.decision == "withheld" and (d.texts or d.conditions):
            raise InvalidRequest("a withheld decision takes no conditions")
    if method not in METHODS:
        raise InvalidRequest(f"method {method!r}: use in_app or paper_form")
    if method == "paper_form" and not (form_reference or "").strip():
        raise InvalidRequest("a decision from a paper form needs the form's reference (--form-ref)")
    if version_hash is not None and (len(version_hash) < 8 or any(ch not in "0123456789abcdef" for ch in version_hash)):
        raise InvalidRequest(f"version {version_hash!r}: give at least 8 hex digits of the version hash")

    with store.session() as s:
        c = clip(s, clip_ref)
        v = current_version(s, c)
        # conditions are checked against the edit, never the file: no recording path is read (a review
        # station may not read it)
        spec = version_spec(v, "-")
    parsed: list[tuple[ScopeDecision, list[dict[str, Any]]]] = []
    for d in decisions:
        conds = [conditions.parse(t, spec) for t in d.texts] + [dict(x) for x in d.conditions]
        for cond in conds:
            conditions.validate(cond, spec)
        parsed.append((d, conds))

    def do(s: Session) -> RecordedSet:
        c = clip(s, clip_ref)
        v = current_version(s, c)
        if version_hash is not None and not v.version_hash.startswith(version_hash):
            matches = [x for x in c.versions if x.version_hash.startswith(version_hash)]
            if not matches:
                raise UnknownThing(f"clip {c.id}: no version {version_hash!r}")
            old = matches[0]
            raise InvalidRequest(
                f"clip {c.id}: version {old.number} is superseded by version {v.number}; decide on the current version"
            )
        p = participant(s, who, c.project_id)
        if p.withdrawn_at is not None:
            raise InvalidRequest(f"participant {p.pseudonym!r}: has withdrawn; no further decisions are recorded")
        if s.get(Presence, (v.id, p.id)) is None:
            raise InvalidRequest(
                f"participant {p.pseudonym!r}: is not present in clip {c.id} version {v.number} "
                "(frontdoor clip presence)"
            )
        if method == "paper_form":
            _check_form_reference(s, p, str(form_reference))
        ids: list[int] = []
        changing: list[dict[str, Any]] = []
        for want, conds in parsed:
            d = Decision(
                clip_version_id=v.id,
                participant_id=p.id,
                scope=want.scope,
                decision=want.decision,
                conditions=conds,
                method=method,
                form_reference=form_reference,
                recorded_by=audit.actor(),
            )
            s.add(d)
            s.flush()
            audit.append(
                s,
                "decision",
                {
                    "decision_id": d.id,
                    "version": v.version_hash,
                    "scope": want.scope,
                    "decision": want.decision,
                    "conditions": conds,
                    "method": method,
                    # the reference may name a scanned file: the permanent log keeps only its fingerprint
                    "form_reference_sha256": hashlib.sha256(form_reference.encode()).hexdigest()
                    if form_reference
                    else None,
                },
                participant_id=p.id,
                clip_id=c.id,
            )
            ids.append(d.id)
            changing += [
                x
                for x in conds
                if conditions.changes_edit(x) and not conditions.met_by_spec(x, spec) and x not in changing
            ]
        new = None
        if changing:
            rec = s.get(Recording, c.recording_id)
            assert rec is not None
            new_spec = version_spec(v, rec.abs_path)
            for x in changing:
                new_spec = conditions.apply(x, new_spec)
            prev_presence = {
                row.participant_id: row.origin
                for row in s.scalars(select(Presence).where(Presence.clip_version_id == v.id))
            }
            present = {k for k, o in prev_presence.items() if o == "appearances"}
            manual = {k for k, o in prev_presence.items() if o == "manual"}
            new = _new_version(
                s,
                c,
                rec,
                new_spec,
                f"condition of {p.pseudonym}: " + "; ".join(map(conditions.describe, changing)),
                present,
                manual,
            )
        return RecordedSet(tuple(ids), new)

    return write(store, do)


def _check_form_reference(s: Session, p: Participant, reference: str) -> None:
    """A paper form's reference names the clip versions printed on it: the decision it carries is only
    entered while those are still the current versions (else the person would consent to an edit they
    never saw)."""
    from consent.forms.form import form_reference

    hashes = []
    for c in s.scalars(select(Clip).where(Clip.project_id == p.project_id)):
        v = current_version(s, c)
        if s.get(Presence, (v.id, p.id)) is not None:
            hashes.append(v.version_hash)
    expected = form_reference(p.id, hashes)
    if reference.strip().upper() != expected:
        raise InvalidRequest(
            f"form {reference}: does not match the clips as they are now ({expected}); "
            "a clip was edited or added since it was printed: print a new form (frontdoor consent form)"
        )


# ---------------------------------------------------------------------------------------------- the rule


@dataclass
class Verdict:
    usable: bool
    reasons: list[str] = field(default_factory=list)
    decision_ids: dict[int, list[int]] = field(default_factory=dict)  # participant id -> decisions relied on
    present: dict[int, str] = field(default_factory=dict)  # participant id -> pseudonym


def latest_decisions(s: Session, version_id: int) -> dict[tuple[int, str], Decision]:
    """The decision that counts per (participant, scope): the latest recorded."""
    out: dict[tuple[int, str], Decision] = {}
    for d in s.scalars(select(Decision).where(Decision.clip_version_id == version_id).order_by(Decision.id)):
        out[(d.participant_id, d.scope)] = d
    return out


def evaluate(s: Session, v: ClipVersion, ctx: conditions.ExportContext, source: str | Path) -> Verdict:
    """May this version be used for ``ctx.scope`` in this export? With every reason it may not.

    A presenter on a shared server may not read decisions: the database tells it, per participant present,
    which grant their consent rests on (``consent.server.access.grants``: the same ranking of withdrawals,
    withheld and granted uses as below); the conditions of the grant are checked here either way.
    """
    want = scopes.rank(ctx.scope)
    released = access.uses_grants(s)
    columns = [Participant.id, Participant.pseudonym] + ([] if released else [Participant.withdrawn_at])
    present = s.execute(
        select(*columns)
        .join(Presence, Presence.participant_id == Participant.id)
        .where(Presence.clip_version_id == v.id)
        .order_by(Participant.pseudonym)
    ).all()
    verdict = Verdict(True, present={p.id: p.pseudonym for p in present})
    if not present:
        verdict.usable = False
        verdict.reasons.append("nobody is recorded as present (frontdoor clip presence)")
        return verdict
    spec = version_spec(v, source)
    if spec.version_hash(v.source_sha256) != v.version_hash:
        verdict.usable = False
        verdict.reasons.append("the stored edit does not match its version hash (changed outside Frontdoor)")
        return verdict
    if released:
        given = access.grants(s, v.id, ctx.scope)
        for p in present:
            g = given.get(p.id)
            if g is None:
                verdict.reasons.append(f"{p.pseudonym} has not consented to this use ({ctx.scope})")
            else:
                _rely_on(verdict, p.id, p.pseudonym, g.decision_id, g.conditions, spec, ctx)
        verdict.usable = not verdict.reasons
        return verdict
    latest = latest_decisions(s, v.id)
    for p in present:
        if p.withdrawn_at is not None:
            verdict.reasons.append(f"{p.pseudonym} withdrew")
            continue
        mine = {scope: d for (pid, scope), d in latest.items() if pid == p.id}
        withheld = sorted(
            (scopes.rank(sc), sc) for sc, d in mine.items() if d.decision == "withheld" and scopes.rank(sc) <= want
        )
        if withheld:
            verdict.reasons.append(f"{p.pseudonym} withheld {withheld[0][1]}")
            continue
        grants = sorted(
            (scopes.rank(sc), d) for sc, d in mine.items() if d.decision == "granted" and scopes.rank(sc) >= want
        )
        if not grants:
            verdict.reasons.append(f"{p.pseudonym} has not decided ({ctx.scope})")
            continue
        grant = grants[0][1]
        _rely_on(verdict, p.id, p.pseudonym, grant.id, grant.conditions, spec, ctx)
    verdict.usable = not verdict.reasons
    return verdict


def _rely_on(
    verdict: Verdict,
    pid: int,
    pseudonym: str,
    decision_id: int,
    conds: Sequence[dict[str, Any]],
    spec: EditSpec,
    ctx: conditions.ExportContext,
) -> None:
    """The grant a participant's consent rests on, if every condition of it is met."""
    broken = [r for cond in conds if (r := conditions.violation(cond, spec, ctx))]
    if broken:
        verdict.reasons.append(f"{pseudonym}'s condition: {'; '.join(broken)}")
    else:
        verdict.decision_ids[pid] = [decision_id]


# ---------------------------------------------------------------------------------------------- status


@dataclass(frozen=True)
class StatusRow:
    clip_id: int
    clip_name: str
    version: int
    participant: str
    cells: dict[str, str]  # scope -> granted / granted* / withheld / - / withdrawn


def status(
    store: Store, *, scope: str | None = None, recording_id: int | None = None
) -> tuple[list[StatusRow], dict[tuple[int, str], str]]:
    """Per clip (current version) and participant present, the decision per scope; and per (clip, scope)
    whether the clip is usable today for an internal audience with no expiry declared."""
    wanted = [scopes.check(scope)] if scope else list(scopes.SCOPES)
    rows: list[StatusRow] = []
    usable: dict[tuple[int, str], str] = {}
    today = datetime.now(UTC).date()
    with store.session() as s:
        q = select(Clip).order_by(Clip.id)
        if recording_id is not None:
            q = q.where(Clip.recording_id == recording_id)
        for c in s.scalars(q):
            v = current_version(s, c)
            rec = s.get(Recording, c.recording_id)
            assert rec is not None
            latest = latest_decisions(s, v.id)
            for pid, name in sorted(
                s.execute(
                    select(Participant.id, Participant.pseudonym)
                    .join(Presence, Presence.participant_id == Participant.id)
                    .where(Presence.clip_version_id == v.id)
                ).all(),
                key=lambda r: r[1],
            ):
                p = s.get(Participant, pid)
                assert p is not None
                cells = {}
                for sc in wanted:
                    d = latest.get((pid, sc))
                    if p.withdrawn_at is not None:
                        cells[sc] = "withdrawn"
                    elif d is None:
                        cells[sc] = "-"
                    else:
                        cells[sc] = d.decision + ("*" if d.conditions else "")
                rows.append(StatusRow(c.id, c.name, v.number, name, cells))
            for sc in wanted:
                strict = conditions.ExportContext(sc, today, internal_audience=False, expires=None)
                lenient = conditions.ExportContext(sc, today, internal_audience=True, expires=today)
                if evaluate(s, v, strict, rec.abs_path).usable:
                    usable[(c.id, sc)] = "usable"
                elif evaluate(s, v, lenient, rec.abs_path).usable:
                    usable[(c.id, sc)] = "if conditions"  # an expiry date or an internal audience is needed
                else:
                    usable[(c.id, sc)] = "no"
    return rows, usable


# ---------------------------------------------------------------------------------------------- withdrawal


@dataclass(frozen=True)
class ToDestroy:
    item_id: int
    path: str
    clip_id: int
    exported_at: str
    why: str
    since: date | None = None  # the first day it had to be destroyed
    cause: str = ""  # withdrawal, expired or export_policy


def withdraw(store: Store, who: str | int, *, reason: str | None = None) -> list[ToDestroy]:
    """Record a withdrawal: every use of the participant's clips is revoked from now on. Returns the
    exported files that must be destroyed.

    Raises:
        UnknownThing, InvalidRequest: unknown participant, or already withdrawn.
    """

    def do(s: Session) -> int:
        p = participant(s, who)
        if p.withdrawn_at is not None:
            raise InvalidRequest(
                f"participant {p.pseudonym!r}: withdrew already on {p.withdrawn_at.date().isoformat()}"
            )
        p.withdrawn_at = datetime.now(UTC)
        p.withdrawal_reason = reason
        audit.append(s, "withdrawal", {"reason_given": bool(reason)}, participant_id=p.id)
        return p.id

    pid = write(store, do)
    return destruction_list(store, participant_id=pid)


def destruction_list(store: Store, *, participant_id: int | None = None, on: date | None = None) -> list[ToDestroy]:
    """Exported files not yet destroyed whose clips show a withdrawn participant (or ``participant_id``),
    or whose time is up on ``on`` (default today): their export expired, or, without an expiry date, the
    project's retention policy for exports has run out (``consent.retention.policy`` adds what else makes a
    file due: its clip version's or recording's own end)."""
    with store.session() as s:
        return destruction_list_in(s, participant_id=participant_id, on=on)


def destruction_list_in(s: Session, *, participant_id: int | None = None, on: date | None = None) -> list[ToDestroy]:
    """``destruction_list`` in the caller's unit of work. Each file is listed once, for the reason that made
    it due first."""
    from consent.models import Export, RetentionPolicy
    from consent.retention.periods import parse_period

    today = on or datetime.now(UTC).date()
    out: list[ToDestroy] = []
    withdrawn = {
        p.id: (p.pseudonym, p.withdrawn_at.date())
        for p in s.scalars(select(Participant).where(Participant.withdrawn_at.is_not(None)))
        if p.withdrawn_at is not None and (participant_id is None or p.id == participant_id)
    }
    kept = {pol.project_id: parse_period(pol.exports) for pol in s.scalars(select(RetentionPolicy))}
    q = (
        select(ExportItem, Export, ClipVersion.clip_id)
        .join(Export, Export.id == ExportItem.export_id)
        .join(ClipVersion, ClipVersion.id == ExportItem.clip_version_id)
        .where(ExportItem.destroyed_at.is_(None))
        .order_by(ExportItem.id)
    )
    for item, exp, clip_id in s.execute(q).all():
        gone = [withdrawn[int(pid)] for pid in item.participant_ids if int(pid) in withdrawn]
        reasons: list[tuple[date, str, str]] = []
        if gone:
            reasons.append((min(d for _, d in gone), f"{', '.join(name for name, _ in gone)} withdrew", "withdrawal"))
        if participant_id is None:
            if exp.expires:
                until = date.fromisoformat(exp.expires)
                reasons.append(
                    (until + timedelta(days=1) if until < date.max else until, f"expired {until}", "expired")
                )
            elif (period := kept.get(exp.project_id or 0)) is not None:
                made = exp.exported_at.date()
                reasons.append(
                    (period.after(made), f"kept {period.describe()} after export (project policy)", "export_policy")
                )
        due = [r for r in reasons if r[0] <= today]
        if due:
            since, why, cause = min(due)
            out.append(ToDestroy(item.id, item.path, clip_id, exp.exported_at.isoformat(), why, since, cause))
    return out


def confirm_destroyed(store: Store, item_id: int, *, delete_file: bool = False) -> str:
    """Mark an exported file destroyed (deleting it first with ``delete_file``); returns its path.

    Raises:
        UnknownThing: no such export item.
        InvalidRequest: already destroyed, or the file still exists and ``delete_file`` was not given.
    """

    def do(s: Session) -> str:
        item = s.get(ExportItem, item_id)
        if item is None:
            raise UnknownThing(f"export item {item_id}: not found (see 'frontdoor consent destroy --list')")
        if item.destroyed_at is not None:
            raise InvalidRequest(f"export item {item_id}: destroyed already on {item.destroyed_at.date().isoformat()}")
        path = Path(item.path)
        if path.exists():
            if not delete_file:
                raise InvalidRequest(f"{path}: still exists; delete it (or pass --delete) before confirming")
            from consent.export.files import is_export_file
            from consent.models import Export

            v = s.get(ClipVersion, item.clip_version_id)
            e = s.get(Export, item.export_id)
            if e is None or not is_export_file(item.path, e.id, e.folder, clip_id=v.clip_id if v else None):
                raise InvalidRequest(
                    f"export item {item_id}: {path} is not a file the export gate wrote for export "
                    f"{item.export_id}; nothing deleted (the record was not made by the gate: tell the researcher)"
                )
            path.unlink()
        item.destroyed_at = datetime.now(UTC)
        item.destroyed_by = audit.actor()
        v = s.get(ClipVersion, item.clip_version_id)
        audit.append(
            s,
            "destruction",
            {"export_item": item.id, "output_sha256": item.output_sha256, "file_deleted_by_frontdoor": delete_file},
            clip_id=v.clip_id if v else None,
        )
        return str(path)

    return write(store, do)
