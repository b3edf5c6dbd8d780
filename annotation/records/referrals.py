"""Referral records: one per referral sampled from the authority's case records, with no child or family
identifiers.

A record holds when the referral came in, its period (the cohort it was sampled for), who referred and
whether they are a professional, the concern as the referrer stated it, the child's age band, how many
earlier referrals there were, the response and outcome, the minutes to the decision, whether an initial
assessment followed, whether the referrer got feedback, whether a manager or senior practitioner was
consulted, and free notes. The table has no field for a name, a date of birth, an address or a number
(see :mod:`annotation.records.models`); the notes are checked for things that look like one
(:func:`identifier_warnings`), and the warnings are returned to the caller, never stored.

Vocabularies: referrer types, concerns and responses are the referral coding scheme's
(:data:`annotation.elan.scheme.REFERRAL_SCHEME`), so records and coded video use the same words; which referrer
types are professionals, the age bands and the outcomes come from ``resources/records/vocabularies.json``,
which also lists other spellings an extract may use (aliases).

Service functions open their own unit of work and return plain data (:class:`RecordView`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from annotation.elan import REFERRAL_SCHEME
from annotation.errors import InvalidRecord, NotFound
from annotation.identifiers import IdentifierWarning, identifier_warnings
from annotation.records.models import RecordKey, RecordSegment, ReferralRecord
from annotation.store import AnnotationRow, Document, Store, project_by_name

__all__ = [
    "FIELDS",
    "REQUIRED",
    "IdentifierWarning",
    "LinkedSegment",
    "RecordView",
    "SavedRecord",
    "Vocabularies",
    "add_record",
    "delete_record",
    "edit_record",
    "get_record",
    "identifier_warnings",
    "link_segment",
    "list_records",
    "load_vocabularies",
    "record_segments",
    "reference_hash",
    "unlink_segment",
]

VOCAB_FILE = Path(__file__).resolve().parents[2] / "resources" / "records" / "vocabularies.json"

#: Every field a record has, in the order tables and exports show them.
FIELDS: tuple[str, ...] = (
    "received_at",
    "period",
    "referrer_type",
    "concern",
    "age_band",
    "previous_referrals",
    "response",
    "outcome",
    "decision_minutes",
    "initial_assessment",
    "feedback",
    "manager_consulted",
    "notes",
)
REQUIRED: tuple[str, ...] = ("received_at", "referrer_type", "concern")
BOOL_FIELDS = ("initial_assessment", "feedback", "manager_consulted")
VOCAB_FIELDS = ("referrer_type", "concern", "age_band", "response", "outcome")
MAX_DECISION_MINUTES = 366 * 24 * 60
MAX_NOTES = 2000


@dataclass(frozen=True)
class Vocabularies:
    """The allowed values of each categorical field, in display order, and the professional split."""

    referrer_types: tuple[str, ...]
    professional: frozenset[str]
    concerns: tuple[str, ...]
    responses: tuple[str, ...]
    age_bands: tuple[str, ...]
    outcomes: tuple[str, ...]
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def values(self, name: str) -> tuple[str, ...]:
        return {
            "referrer_type": self.referrer_types,
            "concern": self.concerns,
            "response": self.responses,
            "age_band": self.age_bands,
            "outcome": self.outcomes,
        }[name]

    def is_professional(self, referrer_type: str) -> bool | None:
        """True for a professional referrer, False for family, public, anonymous or self; None if unclassified."""
        if referrer_type in self.professional:
            return True
        return False if referrer_type in self.referrer_types else None

    def normalise(self, name: str, raw: str) -> str | None:
        """The vocabulary value that ``raw`` names (exact, then ignoring case and spacing, then an alias), or
        None when it names none."""
        allowed = self.values(name)
        if raw in allowed:
            return raw
        key = _fold(raw)
        for v in allowed:
            if _fold(v) == key:
                return v
        alias = {_fold(k): v for k, v in self.aliases.get(name, {}).items()}.get(key)
        return alias if alias in allowed else None


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


@functools.cache
def load_vocabularies(path: str | None = None) -> Vocabularies:
    """The record vocabularies: the referral scheme's, completed by the defaults file (or ``path``).

    Raises:
        InvalidRecord: the defaults file is unreadable or names a referrer type the scheme lacks.
    """
    src = Path(path) if path else VOCAB_FILE
    try:
        extra = json.loads(src.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRecord(f"{src}: cannot read the record vocabularies ({exc})") from exc
    scheme = {spec.tier_id: tuple(v for v, _ in spec.values) for spec in REFERRAL_SCHEME}
    referrers = scheme["Referrer type"]
    professional = frozenset(extra.get("professional_referrers", ()))
    stray = sorted((professional | set(extra.get("non_professional_referrers", ()))) - set(referrers))
    if stray:
        raise InvalidRecord(f"{src}: referrer types not in the coding scheme: {', '.join(stray)}")
    return Vocabularies(
        referrer_types=referrers,
        professional=professional,
        concerns=scheme["Concern"],
        responses=scheme["Response"],
        age_bands=tuple(extra.get("age_bands", ())),
        outcomes=tuple(extra.get("outcomes", ())),
        aliases={k: dict(v) for k, v in extra.get("aliases", {}).items()},
    )


# ---- plain data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordView:
    """A stored record as plain data."""

    id: int
    project_id: int
    received_at: datetime
    period: str
    referrer_type: str
    professional: bool | None
    concern: str
    age_band: str | None
    previous_referrals: int | None
    response: str | None
    outcome: str | None
    decision_minutes: int | None
    initial_assessment: bool | None
    feedback: bool | None
    manager_consulted: bool | None
    notes: str | None
    source: str
    version: int
    segments: tuple[tuple[int, str], ...] = ()

    @property
    def decision_hours(self) -> float | None:
        return None if self.decision_minutes is None else self.decision_minutes / 60


@dataclass(frozen=True)
class SavedRecord:
    """What ``add_record``/``edit_record`` return: the id and warnings about the notes (kinds and positions
    only)."""

    id: int
    warnings: tuple[IdentifierWarning, ...]


@dataclass(frozen=True)
class LinkedSegment:
    """A video annotation a record is linked to; ``present`` is False when the annotation was deleted."""

    document_id: int
    ann_id: str
    present: bool
    tier: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    value: str | None = None


# ---- validation ------------------------------------------------------------------------------------------


def default_period(received_at: datetime) -> str:
    """The quarter a referral came in, e.g. ``2026-Q1``: the period when none is given."""
    return f"{received_at.year}-Q{(received_at.month - 1) // 3 + 1}"


def check_fields(values: Mapping[str, Any], vocab: Vocabularies, *, partial: bool = False) -> dict[str, Any]:
    """Typed, vocabulary-checked field values (categorical values normalised to the vocabulary's spelling).

    ``partial`` checks a set of changes: required fields need not all be there (but may not be cleared).

    Raises:
        InvalidRecord: an unknown field, a missing required field, or a value outside its vocabulary or range;
            the message names the field.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidRecord(f"{unknown[0]}: no such record field (fields: {', '.join(FIELDS)})")
    out: dict[str, Any] = {}
    for name in REQUIRED:
        if (not partial or name in values) and values.get(name) in (None, ""):
            raise InvalidRecord(f"{name}: required")
    for name, value in values.items():
        if value is None or value == "":
            out[name] = None
            continue
        if name == "received_at":
            if not isinstance(value, datetime):
                raise InvalidRecord(f"received_at: {value!r} is not a date and time")
            out[name] = value.replace(tzinfo=None, microsecond=0)
        elif name in VOCAB_FIELDS:
            norm = vocab.normalise(name, str(value))
            if norm is None:
                raise InvalidRecord(f"{name}: {value!r} is not one of: {', '.join(vocab.values(name))}")
            out[name] = norm
        elif name in BOOL_FIELDS:
            if not isinstance(value, bool):
                raise InvalidRecord(f"{name}: {value!r} is not yes or no")
            out[name] = value
        elif name == "previous_referrals":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
                raise InvalidRecord(f"previous_referrals: {value!r} is not a count from 0 to 999")
            out[name] = value
        elif name == "decision_minutes":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DECISION_MINUTES:
                raise InvalidRecord(f"decision_minutes: {value!r} is not a number of minutes from 0 to a year")
            out[name] = value
        elif name == "period":
            text = str(value).strip()
            if not text or len(text) > 50:
                raise InvalidRecord(f"period: {value!r} is not a label of 1 to 50 characters")
            out[name] = text
        elif name == "notes":
            text = str(value).strip()
            if len(text) > MAX_NOTES:
                raise InvalidRecord(f"notes: longer than {MAX_NOTES} characters")
            out[name] = text or None
    if "referrer_type" in out:
        out["professional"] = vocab.is_professional(out["referrer_type"])
    if not partial and out.get("period") is None:
        out["period"] = default_period(out["received_at"])
    return out


# ---- the reference hash --------------------------------------------------------------------------------


def project_key(session: Session, project_id: int) -> bytes:
    """The project's key for reference hashes, made at first use."""
    row = session.get(RecordKey, project_id)
    if row is None:
        row = RecordKey(project_id=project_id, key=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return bytes.fromhex(row.key)


def reference_hash(key: bytes, reference: str) -> str:
    """HMAC-SHA-256 of the referral reference (trimmed, upper case, inner spaces removed) under the project's
    key: the same reference always gives the same hash in one project, and the reference is never stored."""
    norm = re.sub(r"\s+", "", reference).upper()
    return hmac.new(key, norm.encode("utf-8"), hashlib.sha256).hexdigest()


# ---- services ------------------------------------------------------------------------------------------


def _view(r: ReferralRecord, segments: Iterable[tuple[int, str]] = ()) -> RecordView:
    return RecordView(
        id=r.id,
        project_id=r.project_id,
        received_at=r.received_at,
        period=r.period,
        referrer_type=r.referrer_type,
        professional=r.professional,
        concern=r.concern,
        age_band=r.age_band,
        previous_referrals=r.previous_referrals,
        response=r.response,
        outcome=r.outcome,
        decision_minutes=r.decision_minutes,
        initial_assessment=r.initial_assessment,
        feedback=r.feedback,
        manager_consulted=r.manager_consulted,
        notes=r.notes,
        source=r.source,
        version=r.version,
        segments=tuple(segments),
    )


def add_record(
    store: Store,
    project: str,
    values: Mapping[str, Any],
    *,
    reference: str | None = None,
    source: str = "manual",
    vocab: Vocabularies | None = None,
) -> SavedRecord:
    """Store a new record in ``project`` (created if new). ``reference``, the authority's referral
    reference, is kept only as its keyed hash, so that an import cannot store the referral again.

    Raises:
        InvalidRecord: a field is unknown, missing or out of its vocabulary or range.
        RecordError: a record with the same reference is already stored.
    """
    data = check_fields(values, vocab or load_vocabularies())
    with store.session() as s:
        pid = project_by_name(s, project, create=True).id
        ref_hash = reference_hash(project_key(s, pid), reference) if reference else None
        if ref_hash and s.scalar(
            select(ReferralRecord.id).where(ReferralRecord.project_id == pid, ReferralRecord.ref_hash == ref_hash)
        ):
            raise InvalidRecord(f"project {project!r}: a record with this referral reference is already stored")
        row = ReferralRecord(project_id=pid, ref_hash=ref_hash, source=source, **data)
        s.add(row)
        s.flush()
        rid = row.id
    return SavedRecord(rid, tuple(identifier_warnings(data.get("notes"))))


def edit_record(
    store: Store,
    record_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    vocab: Vocabularies | None = None,
) -> SavedRecord:
    """Change some fields of a record.

    Raises:
        NotFound: no such record.
        InvalidRecord: a change is unknown, clears a required field or is out of its vocabulary or range.
        ConflictError: the record changed since ``expected_version`` (or while this edit ran).
    """
    from annotation.errors import ConflictError

    data = check_fields(changes, vocab or load_vocabularies(), partial=True)
    with store.session() as s:
        row = s.get(ReferralRecord, record_id)
        if row is None:
            raise NotFound(f"record {record_id}: no such record")
        if expected_version is not None and row.version != expected_version:
            raise ConflictError(f"record {record_id}: changed by someone else since version {expected_version}")
        for k, v in data.items():
            setattr(row, k, v)
        notes = row.notes
    return SavedRecord(record_id, tuple(identifier_warnings(notes)) if "notes" in data else ())


def delete_record(store: Store, record_id: int) -> None:
    """Delete a record and its links to video segments.

    Raises:
        NotFound: no such record.
    """
    with store.session() as s:
        row = s.get(ReferralRecord, record_id)
        if row is None:
            raise NotFound(f"record {record_id}: no such record")
        s.delete(row)


def get_record(store: Store, record_id: int) -> RecordView:
    """One record with its linked segments.

    Raises:
        NotFound: no such record.
    """
    with store.session() as s:
        row = s.get(ReferralRecord, record_id)
        if row is None:
            raise NotFound(f"record {record_id}: no such record")
        segs = s.execute(
            select(RecordSegment.document_id, RecordSegment.ann_id)
            .where(RecordSegment.record_id == record_id)
            .order_by(RecordSegment.document_id, RecordSegment.ann_id)
        ).all()
        return _view(row, ((d, a) for d, a in segs))


def list_records(store: Store, project: str | None = None, *, periods: Iterable[str] | None = None) -> list[RecordView]:
    """Records in order of arrival (then id), optionally of one project and some periods.

    Raises:
        NotFound: ``project`` names no project.
    """
    with store.session() as s:
        q = select(ReferralRecord)
        links = select(RecordSegment.record_id, RecordSegment.document_id, RecordSegment.ann_id)
        if project is not None:
            pid = project_by_name(s, project, create=False).id
            q = q.where(ReferralRecord.project_id == pid)
            links = links.join(ReferralRecord, ReferralRecord.id == RecordSegment.record_id).where(
                ReferralRecord.project_id == pid
            )
        if periods is not None:
            q = q.where(ReferralRecord.period.in_(list(periods)))
        by_record: dict[int, list[tuple[int, str]]] = {}
        for rid, did, aid in s.execute(links.order_by(RecordSegment.document_id, RecordSegment.ann_id)):
            by_record.setdefault(rid, []).append((did, aid))
        rows = s.scalars(q.order_by(ReferralRecord.received_at, ReferralRecord.id)).all()
        return [_view(r, by_record.get(r.id, ())) for r in rows]


def record_periods(store: Store, project: str) -> list[str]:
    """The periods a project's records belong to, sorted.

    Raises:
        NotFound: ``project`` names no project.
    """
    with store.session() as s:
        pid = project_by_name(s, project, create=False).id
        return sorted(s.scalars(select(ReferralRecord.period).where(ReferralRecord.project_id == pid).distinct()).all())


def link_segment(store: Store, record_id: int, document_id: int, ann_id: str) -> None:
    """Note that the referral was observed in annotation ``ann_id`` of document ``document_id`` (linking
    twice is harmless).

    Raises:
        NotFound: no such record, document or annotation.
    """
    with store.session() as s:
        if s.get(ReferralRecord, record_id) is None:
            raise NotFound(f"record {record_id}: no such record")
        if s.get(Document, document_id) is None:
            raise NotFound(f"document {document_id}: no such document")
        if not s.scalar(
            select(AnnotationRow.id).where(AnnotationRow.document_id == document_id, AnnotationRow.ann_id == ann_id)
        ):
            raise NotFound(f"document {document_id}: no annotation {ann_id!r}")
        if s.get(RecordSegment, (record_id, document_id, ann_id)) is None:
            s.add(RecordSegment(record_id=record_id, document_id=document_id, ann_id=ann_id))


def unlink_segment(store: Store, record_id: int, document_id: int, ann_id: str) -> None:
    """Remove a link made by :func:`link_segment`.

    Raises:
        NotFound: the record is not linked to that annotation.
    """
    with store.session() as s:
        n = s.execute(
            delete(RecordSegment).where(
                RecordSegment.record_id == record_id,
                RecordSegment.document_id == document_id,
                RecordSegment.ann_id == ann_id,
            )
        ).rowcount  # type: ignore[attr-defined]
        if not n:
            raise NotFound(f"record {record_id}: not linked to {document_id}:{ann_id}")


def record_segments(store: Store, record_id: int) -> list[LinkedSegment]:
    """The video annotations a record is linked to, placed in time (as ELAN shows them).

    Raises:
        NotFound: no such record.
    """
    from annotation.services import document_display

    view = get_record(store, record_id)
    out: list[LinkedSegment] = []
    placed: dict[int, dict[str, tuple[str, int, int, str]]] = {}
    for did, aid in view.segments:
        if did not in placed:
            placed[did] = {
                seg.ann_id: (tier, seg.start, seg.end, seg.value)
                for tier, segs in document_display(store, did).items()
                for seg in segs
            }
        hit = placed[did].get(aid)
        if hit is None:
            out.append(LinkedSegment(did, aid, present=False))
        else:
            out.append(LinkedSegment(did, aid, True, *hit))
    return out
