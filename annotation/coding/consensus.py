"""Consensus between two coders: their disagreements side by side, and a consensus tier built from decisions.

Two tiers coding the same recording are paired as ELAN's modified kappa pairs them
(:func:`annotation.coding.agreement.match_segments`). What is left is a list of :class:`Disagreement`:

- ``value``: a pair whose values differ;
- ``boundaries``: a pair with the same value whose start or end differ by more than ``tolerance_ms``;
- ``only_a`` / ``only_b``: a segment the other coder has no partner for.

Pairs with the same value and boundaries within the tolerance are agreed. Each disagreement has a ``key``
made of the two annotation ids (``a12/a57``, ``a12/-``, ``-/a57``), so decisions can be written down (a
JSON file from the command line) and checked against the tiers as they are when the consensus is built.

:func:`build_consensus` then adds to the document, in one unit of work (an undoable
:class:`BuildConsensus` command):

- the consensus tier ``new_tier``, of tier A's linguistic type (so it has the same vocabulary): every agreed
  pair with coder A's times and value, and for each decision the segment it takes (A's, B's, or either one
  with its value or times changed), or nothing;
- ``<new_tier> rationale``, a child tier of ELAN's Symbolic_Association type: the rationale of each settled
  disagreement, one-to-one with the consensus annotation it explains. ELAN has no other place for a note on
  an annotation, and opens such a tier without loss;
- ``<new_tier> dropped``, only when a decision drops both segments and gives a reason: a time-aligned tier
  holding that reason over the dropped span (reasons whose spans overlap are joined into one annotation, as
  annotations of one tier should not overlap).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotation.coding.agreement import DEFAULT_MIN_OVERLAP, Match, match_segments, tier_segments
from annotation.edits.commands import Touched, _touch
from annotation.elan.model import EafDocument
from annotation.elan.timing import Segment, document_segments
from annotation.elan.writer import ILLEGAL_XML
from annotation.errors import AnalysisError, InvalidEdit, NotFound
from annotation.services import apply_edit
from annotation.store.documents import load_document
from annotation.store.engine import Store
from annotation.store.tables import (
    AnnotationRow,
    Constraint,
    HeaderProperty,
    LinguisticType,
    TierRow,
    TimeSlotRow,
)

DisagreementKind = Literal["value", "boundaries", "only_a", "only_b"]
Take = Literal["a", "b", "neither"]
DEFAULT_TOLERANCE_MS = 500
RATIONALE_SUFFIX = " rationale"
DROPPED_SUFFIX = " dropped"
_SYMBOLIC_ASSOCIATION = {
    "DESCRIPTION": "1-1 association with a parent annotation",
    "STEREOTYPE": "Symbolic_Association",
}


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Coder A's and coder B's segments side by side (one of them None for ``only_a``/``only_b``).

    ``start``/``end`` span both segments: what to play to see the disagreement.
    """

    key: str
    kind: DisagreementKind
    a: Segment | None
    b: Segment | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two tiers compared: what they disagree on (in time order) and the pairs they agree on."""

    disagreements: tuple[Disagreement, ...]
    agreed: tuple[Match, ...]
    min_overlap: float
    tolerance_ms: int


@dataclass(frozen=True, slots=True)
class Decision:
    """How one disagreement is settled.

    ``take`` "a" or "b" keeps that coder's segment, optionally with ``value``, ``start`` or ``end`` changed;
    "neither" keeps nothing. ``rationale`` is kept as a note in the document.
    """

    take: Take
    rationale: str = ""
    value: str | None = None
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class ConsensusResult:
    """What :func:`build_consensus` added: tier names and how many annotations each got."""

    tier: str
    annotations: int
    agreed: int
    settled: int
    dropped: int
    rationale_tier: str | None
    notes: int
    dropped_tier: str | None
    dropped_notes: int


def _key(a: Segment | None, b: Segment | None) -> str:
    return f"{a.ann_id if a else '-'}/{b.ann_id if b else '-'}"


def compare_segments(
    segs_a: Sequence[Segment],
    segs_b: Sequence[Segment],
    *,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    tolerance_ms: int = DEFAULT_TOLERANCE_MS,
) -> Comparison:
    """Disagreements and agreed pairs of two tiers' segments (see the module notes).

    Raises:
        AnalysisError: ``min_overlap`` out of (0, 1] or a negative tolerance.
    """
    if tolerance_ms < 0:
        raise AnalysisError(f"tolerance {tolerance_ms} ms: cannot be negative")
    matching = match_segments(segs_a, segs_b, min_overlap)
    out: list[Disagreement] = []
    agreed: list[Match] = []
    for m in matching.pairs:
        span = (min(m.a.start, m.b.start), max(m.a.end, m.b.end))
        if m.a.value != m.b.value:
            out.append(Disagreement(_key(m.a, m.b), "value", m.a, m.b, *span))
        elif abs(m.a.start - m.b.start) > tolerance_ms or abs(m.a.end - m.b.end) > tolerance_ms:
            out.append(Disagreement(_key(m.a, m.b), "boundaries", m.a, m.b, *span))
        else:
            agreed.append(m)
    out += [Disagreement(_key(s, None), "only_a", s, None, s.start, s.end) for s in matching.only_a]
    out += [Disagreement(_key(None, s), "only_b", None, s, s.start, s.end) for s in matching.only_b]
    out.sort(key=lambda d: (d.start, d.end, d.key))
    return Comparison(tuple(out), tuple(agreed), min_overlap, tolerance_ms)


def disagreements(
    store: Store,
    doc_id: int,
    tier_a: str,
    tier_b: str,
    *,
    doc_b: int | None = None,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    tolerance_ms: int = DEFAULT_TOLERANCE_MS,
) -> Comparison:
    """Compare ``tier_a`` of a stored document with ``tier_b`` of the same document (or of ``doc_b``; two
    documents are compared in the recording's time, each document's time origin added).

    Raises:
        NotFound: no such document or tier.
        AnalysisError: bad ``min_overlap`` or tolerance, or documents on different recordings.
    """
    if doc_b is None or doc_b == doc_id:
        segs, _ = tier_segments(store, doc_id, [tier_a, tier_b])
        return compare_segments(segs[tier_a], segs[tier_b], min_overlap=min_overlap, tolerance_ms=tolerance_ms)
    sa, rec_a = tier_segments(store, doc_id, [tier_a], recording_time=True)
    sb, rec_b = tier_segments(store, doc_b, [tier_b], recording_time=True)
    if rec_a is not None and rec_b is not None and rec_a != rec_b:
        raise AnalysisError(f"documents {doc_id} and {doc_b}: they code different recordings ({rec_a} and {rec_b})")
    return compare_segments(sa[tier_a], sb[tier_b], min_overlap=min_overlap, tolerance_ms=tolerance_ms)


# ---- decisions --------------------------------------------------------------------------------------------


def decisions_from_json(data: Any) -> dict[str, Decision]:
    """Decisions from parsed JSON: ``{"a12/a57": {"take": "b", "rationale": "...", "value": ..., "start": ms,
    "end": ms}, ...}``. Entries whose ``take`` is empty are undecided and left out (a template as written by
    :func:`decision_template` parses to no decisions).

    Raises:
        AnalysisError: not an object of objects, an unknown field, a bad ``take`` or a time that is not ms.
    """
    if not isinstance(data, dict):
        raise AnalysisError('decisions: give a JSON object keyed by disagreement (e.g. "a12/a57")')
    out: dict[str, Decision] = {}
    allowed = {"take", "rationale", "value", "start", "end", "kind", "a", "b"}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise AnalysisError(f"decision {key!r}: give an object with 'take' and 'rationale'")
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise AnalysisError(
                f"decision {key!r}: unknown field {unknown[0]!r} (use take, rationale, value, start, end)"
            )
        take = entry.get("take") or ""
        if take == "":
            continue
        if take not in ("a", "b", "neither"):
            raise AnalysisError(f"decision {key!r}: take {take!r} is not 'a', 'b' or 'neither'")
        times: dict[str, int | None] = {}
        for name in ("start", "end"):
            v = entry.get(name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise AnalysisError(f"decision {key!r}: {name} {v!r} is not a whole number of milliseconds")
            times[name] = v
        value = entry.get("value")
        rationale = entry.get("rationale") or ""
        if value is not None and not isinstance(value, str):
            raise AnalysisError(f"decision {key!r}: value must be text")
        if not isinstance(rationale, str):
            raise AnalysisError(f"decision {key!r}: rationale must be text")
        out[str(key)] = Decision(cast(Take, take), rationale, value, times["start"], times["end"])
    return out


def decision_template(comparison: Comparison) -> dict[str, dict[str, Any]]:
    """A decisions object to fill in: every disagreement with what each coder coded, ``take`` and
    ``rationale`` empty."""

    def side(s: Segment | None) -> dict[str, Any] | None:
        return None if s is None else {"value": s.value, "start": s.start, "end": s.end}

    return {
        d.key: {"kind": d.kind, "a": side(d.a), "b": side(d.b), "take": "", "rationale": ""}
        for d in comparison.disagreements
    }


def load_decisions(text: str) -> dict[str, Decision]:
    """Decisions from JSON text. Raises AnalysisError (not JSON, or see :func:`decisions_from_json`)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AnalysisError(f"decisions: not JSON ({exc})") from exc
    return decisions_from_json(data)


# ---- planning the consensus tier --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsensusSegment:
    start: int
    end: int
    value: str
    cve_ref: str | None
    rationale: str
    key: str
    agreed: bool


@dataclass(frozen=True, slots=True)
class DroppedNote:
    start: int
    end: int
    text: str


def plan_consensus(
    comparison: Comparison,
    decisions: Mapping[str, Decision],
    *,
    tier_a: str,
    tier_b: str,
    vocabulary: Mapping[str, str | None] | None = None,
    partial: bool = False,
) -> tuple[list[ConsensusSegment], list[DroppedNote]]:
    """The consensus tier's segments and the notes on dropped segments, checked; nothing is written.

    ``vocabulary`` maps the consensus tier's allowed values to their CV entry ids (None: free text).

    Raises:
        AnalysisError: a decision for no current disagreement, an undecided disagreement (unless
            ``partial``), a decision that does not fit (taking a segment that coder has not got, a value
            outside the vocabulary, end not after start), or consensus segments that would overlap.
    """
    by_key = {d.key: d for d in comparison.disagreements}
    stale = [k for k in decisions if k not in by_key]
    if stale:
        raise AnalysisError(
            f"decision {stale[0]!r}: no such disagreement between {tier_a!r} and {tier_b!r} now "
            f"({len(stale)} decision(s) do not match; list the disagreements again)"
        )
    undecided = [d.key for d in comparison.disagreements if d.key not in decisions]
    if undecided and not partial:
        raise AnalysisError(
            f"disagreement {undecided[0]!r}: not decided ({len(undecided)} of {len(by_key)} undecided; "
            "decide them or build a partial consensus)"
        )
    planned = [
        ConsensusSegment(m.a.start, m.a.end, m.a.value, m.a.cve_ref, "", _key(m.a, m.b), True)
        for m in comparison.agreed
    ]
    notes: list[DroppedNote] = []
    for key, dec in decisions.items():
        d = by_key[key]
        if ILLEGAL_XML.search(dec.rationale):
            raise AnalysisError(f"decision {key!r}: the rationale holds a control character ELAN files cannot store")
        if dec.take == "neither":
            if dec.value is not None or dec.start is not None or dec.end is not None:
                raise AnalysisError(f"decision {key!r}: 'neither' keeps nothing, so value, start and end do not apply")
            if dec.rationale.strip():
                notes.append(DroppedNote(d.start, d.end, dec.rationale))
            continue
        base = d.a if dec.take == "a" else d.b
        if base is None:
            other = "b" if dec.take == "a" else "a"
            raise AnalysisError(
                f"decision {key!r}: coder {dec.take.upper()} has no segment here; take {other!r} or 'neither'"
            )
        start = base.start if dec.start is None else dec.start
        end = base.end if dec.end is None else dec.end
        if start < 0 or end <= start:
            raise AnalysisError(f"decision {key!r}: end {end} ms must be after start {start} ms (and start >= 0)")
        value, cve_ref = base.value, base.cve_ref
        changed = dec.value is not None and dec.value != base.value
        if changed:
            assert dec.value is not None
            value = dec.value
            if ILLEGAL_XML.search(value):
                raise AnalysisError(f"decision {key!r}: the value holds a control character ELAN files cannot store")
        if changed or dec.take == "b":
            # coder B's tier may have another vocabulary (or none): its value and entry id are A's tier's or refused
            if vocabulary is not None:
                if value not in vocabulary:
                    raise AnalysisError(f"decision {key!r}: value {value!r} is not in the tier's vocabulary")
                cve_ref = vocabulary[value]
            else:
                cve_ref = None
        planned.append(ConsensusSegment(start, end, value, cve_ref, dec.rationale, key, False))
    planned.sort(key=lambda p: (p.start, p.end, p.key))
    for prev, cur in pairwise(planned):
        if cur.start < prev.end:
            raise AnalysisError(
                f"consensus: {cur.key!r} ({cur.start}-{cur.end} ms) would overlap {prev.key!r} "
                f"({prev.start}-{prev.end} ms); change start or end in one of the decisions"
            )
    return planned, _merge_notes(notes)


def _merge_notes(notes: Iterable[DroppedNote]) -> list[DroppedNote]:
    merged: list[DroppedNote] = []
    for n in sorted(notes, key=lambda n: (n.start, n.end)):
        if merged and n.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = DroppedNote(last.start, max(last.end, n.end), f"{last.text} | {n.text}")
        else:
            merged.append(n)
    return merged


def _vocabulary(doc: EafDocument, type_id: str) -> dict[str, str | None] | None:
    lt = next((t for t in doc.linguistic_types if t.get("LINGUISTIC_TYPE_ID") == type_id), None)
    cv_ref = lt.get("CONTROLLED_VOCABULARY_REF") if lt else None
    if cv_ref is None:
        return None
    for cv in doc.vocabularies:
        if cv.cv_id == cv_ref:
            return {v.value: e.cve_id for e in cv.entries for v in e.values}
    return None


# ---- the edit ---------------------------------------------------------------------------------------------


class _IdSource:
    """New time slots and annotations for a bulk insert, with ids as ELAN makes them: ``ts<N>`` after the
    last slot, ``a<N>`` counting on from the header property ``lastUsedAnnotationId`` (which is updated), never
    an id the document already has. One query per table instead of several per annotation."""

    def __init__(self, session: Session, doc_id: int) -> None:
        self.session, self.doc_id = session, doc_id
        self.slot_ids = set(session.scalars(select(TimeSlotRow.slot_id).where(TimeSlotRow.document_id == doc_id)))
        self.ann_ids = set(session.scalars(select(AnnotationRow.ann_id).where(AnnotationRow.document_id == doc_id)))
        max_pos = session.scalar(select(func.max(TimeSlotRow.pos)).where(TimeSlotRow.document_id == doc_id))
        self.slot_pos = (max_pos if max_pos is not None else -1) + 1
        self.prop = session.scalar(
            select(HeaderProperty).where(
                HeaderProperty.document_id == doc_id, HeaderProperty.name == "lastUsedAnnotationId"
            )
        )
        stored = self.prop.value if self.prop is not None else None
        last = int(stored) if stored is not None and stored.isdigit() else 0
        self.last = last or len(self.ann_ids)
        self.slots: list[dict[str, Any]] = []
        self.anns: list[dict[str, Any]] = []

    def _slot(self, time_ms: int) -> str:
        n = self.slot_pos + 1
        while f"ts{n}" in self.slot_ids:
            n += 1
        sid = f"ts{n}"
        self.slot_ids.add(sid)
        self.slots.append({"document_id": self.doc_id, "pos": self.slot_pos, "slot_id": sid, "time_ms": time_ms})
        self.slot_pos += 1
        return sid

    def _ann_id(self) -> str:
        self.last += 1
        while f"a{self.last}" in self.ann_ids:
            self.last += 1
        aid = f"a{self.last}"
        self.ann_ids.add(aid)
        return aid

    def alignable(self, tier_pk: int, pos: int, start: int, end: int, value: str, cve_ref: str | None) -> str:
        ts1, ts2 = self._slot(start), self._slot(end)
        aid = self._ann_id()
        self.anns.append(
            {
                "document_id": self.doc_id,
                "tier_pk": tier_pk,
                "pos": pos,
                "ann_id": aid,
                "ts1": ts1,
                "ts2": ts2,
                "ref": None,
                "value": value,
                "cve_ref": cve_ref,
                "version": 1,
            }
        )
        return aid

    def referring(self, tier_pk: int, pos: int, parent: str, value: str) -> str:
        aid = self._ann_id()
        self.anns.append(
            {
                "document_id": self.doc_id,
                "tier_pk": tier_pk,
                "pos": pos,
                "ann_id": aid,
                "ts1": None,
                "ts2": None,
                "ref": parent,
                "value": value,
                "cve_ref": None,
                "version": 1,
            }
        )
        return aid

    def flush(self) -> None:
        # Core inserts on the connection: the ORM's bulk path costs several times more for 100,000 rows.
        conn = self.session.connection()
        slots: Any = TimeSlotRow.__table__
        anns: Any = AnnotationRow.__table__
        if self.slots:
            conn.execute(insert(slots), self.slots)
        if self.anns:
            conn.execute(insert(anns), self.anns)
        if self.prop is None:
            max_pos = self.session.scalar(
                select(func.max(HeaderProperty.pos)).where(HeaderProperty.document_id == self.doc_id)
            )
            self.session.add(
                HeaderProperty(
                    document_id=self.doc_id,
                    pos=(max_pos if max_pos is not None else -1) + 1,
                    name="lastUsedAnnotationId",
                    value=str(self.last),
                )
            )
        else:
            self.prop.value = str(self.last)
        self.session.flush()


@dataclass
class BuildConsensus:
    """An edit command (apply/revert, like those in :mod:`annotation.edits.commands`) that adds the consensus tier,
    its rationale tier and, if needed, the dropped tier, all in the caller's unit of work. ``touched`` names
    the tiers added (or removed by ``revert``), their annotations and time slots: new tiers, so a view
    should lay its tiers out again."""

    doc_id: int
    tier_a: str
    tier_b: str
    decisions: Mapping[str, Decision]
    new_tier: str
    min_overlap: float = DEFAULT_MIN_OVERLAP
    tolerance_ms: int = DEFAULT_TOLERANCE_MS
    partial: bool = False
    result: ConsensusResult | None = field(default=None, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _tier_ids: list[str] = field(default_factory=list, init=False)
    _type_ids: list[str] = field(default_factory=list, init=False)
    _constraint_added: bool = field(default=False, init=False)

    @property
    def description(self) -> str:
        return f"build consensus tier {self.new_tier}"

    def apply(self, session: Session) -> None:
        doc = load_document(session, self.doc_id)
        segments = document_segments(doc)
        for t in (self.tier_a, self.tier_b):
            if t not in segments:
                names = ", ".join(repr(n) for n in segments) or "none"
                raise NotFound(f"document {self.doc_id}: no tier {t!r} (tiers: {names})")
        if self.tier_a == self.tier_b:
            raise AnalysisError(f"document {self.doc_id}: tier {self.tier_a!r} compared with itself; name two tiers")
        name = self.new_tier.strip()
        if not name or ILLEGAL_XML.search(name):
            raise InvalidEdit(f"tier name {self.new_tier!r}: give a name ELAN can store")
        rationale_tier, dropped_tier = name + RATIONALE_SUFFIX, name + DROPPED_SUFFIX
        for t in (name, rationale_tier, dropped_tier):
            if t in segments:
                raise InvalidEdit(f"tier {t!r}: document {self.doc_id} already has a tier of that name")
        source = doc.tier(self.tier_a)
        type_id = source.linguistic_type_ref
        lt = next((t for t in doc.linguistic_types if t.get("LINGUISTIC_TYPE_ID") == type_id), {})
        if source.parent_ref is not None or lt.get("TIME_ALIGNABLE") == "false" or lt.get("CONSTRAINTS"):
            raise InvalidEdit(
                f"tier {self.tier_a!r}: a dependent tier; the consensus tier copies tier A's type, so give a "
                "top-level tier as tier A"
            )
        comparison = compare_segments(
            segments[self.tier_a], segments[self.tier_b], min_overlap=self.min_overlap, tolerance_ms=self.tolerance_ms
        )
        planned, dropped = plan_consensus(
            comparison,
            self.decisions,
            tier_a=self.tier_a,
            tier_b=self.tier_b,
            vocabulary=_vocabulary(doc, type_id),
            partial=self.partial,
        )
        self._tier_ids, self._type_ids, self._constraint_added = [], [], False
        ids = _IdSource(session, self.doc_id)
        participant = source.attrs.get("PARTICIPANT")
        locale = source.attrs.get("DEFAULT_LOCALE")
        pk = self._add_tier(session, name, type_id, None, participant, locale)
        created = [(ids.alignable(pk, i, p.start, p.end, p.value, p.cve_ref), p) for i, p in enumerate(planned)]
        notes = [(aid, p.rationale) for aid, p in created if p.rationale.strip()]
        if notes:
            note_type = self._ensure_note_type(session, doc)
            pk = self._add_tier(session, rationale_tier, note_type, name, participant, locale)
            for i, (parent, text) in enumerate(notes):
                ids.referring(pk, i, parent, text)
        if dropped:
            drop_type = self._ensure_type(
                session,
                doc,
                "consensus dropped",
                {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": "", "TIME_ALIGNABLE": "true"},
            )
            pk = self._add_tier(session, dropped_tier, drop_type, None, participant, locale)
            for i, n in enumerate(dropped):
                ids.alignable(pk, i, n.start, n.end, n.text, None)
        ids.flush()
        _touch(session, self.doc_id)
        self.touched = Touched(
            frozenset(self._tier_ids),
            frozenset(a["ann_id"] for a in ids.anns),
            frozenset(s["pos"] for s in ids.slots),
        )
        settled = [p for _, p in created if not p.agreed]
        self.result = ConsensusResult(
            tier=name,
            annotations=len(created),
            agreed=len(created) - len(settled),
            settled=len(self.decisions),
            dropped=sum(1 for d in self.decisions.values() if d.take == "neither"),
            rationale_tier=rationale_tier if notes else None,
            notes=len(notes),
            dropped_tier=dropped_tier if dropped else None,
            dropped_notes=len(dropped),
        )

    def revert(self, session: Session) -> None:
        tiers = list(
            session.scalars(
                select(TierRow).where(TierRow.document_id == self.doc_id, TierRow.tier_id.in_(self._tier_ids))
            )
        )
        pks = [t.id for t in tiers]
        rows = session.execute(
            select(AnnotationRow.ann_id, AnnotationRow.ts1, AnnotationRow.ts2).where(AnnotationRow.tier_pk.in_(pks))
        ).all()
        slots = {s for _, ts1, ts2 in rows for s in (ts1, ts2) if s is not None}
        positions = session.scalars(
            select(TimeSlotRow.pos).where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id.in_(slots))
        ).all()
        self.touched = Touched(frozenset(self._tier_ids), frozenset(r[0] for r in rows), frozenset(positions))
        session.execute(delete(AnnotationRow).where(AnnotationRow.tier_pk.in_(pks)))
        if slots:
            session.execute(
                delete(TimeSlotRow).where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id.in_(slots))
            )
        session.execute(delete(TierRow).where(TierRow.id.in_(pks)))
        for lt in session.scalars(select(LinguisticType).where(LinguisticType.document_id == self.doc_id)):
            if lt.attr("LINGUISTIC_TYPE_ID") in self._type_ids:
                session.delete(lt)
        if self._constraint_added:
            for c in session.scalars(select(Constraint).where(Constraint.document_id == self.doc_id)):
                if c.attr("STEREOTYPE") == "Symbolic_Association":
                    session.delete(c)
        session.flush()
        session.expunge_all()
        _touch(session, self.doc_id)

    # -- helpers --

    def _add_tier(
        self,
        session: Session,
        tier_id: str,
        type_id: str,
        parent: str | None,
        participant: str | None,
        locale: str | None,
    ) -> int:
        max_pos = session.scalar(select(func.max(TierRow.pos)).where(TierRow.document_id == self.doc_id))
        attrs = {
            "TIER_ID": tier_id,
            "PARTICIPANT": participant,
            "LINGUISTIC_TYPE_REF": type_id,
            "DEFAULT_LOCALE": locale,
            "PARENT_REF": parent,
        }
        row = TierRow(
            document_id=self.doc_id,
            pos=(max_pos if max_pos is not None else -1) + 1,
            tier_id=tier_id,
            parent_ref=parent,
            linguistic_type_ref=type_id,
            participant=participant,
            default_locale=locale,
            attr_order=[k for k, v in attrs.items() if v is not None],
            extra_attrs=[],
        )
        session.add(row)
        session.flush()
        self._tier_ids.append(tier_id)
        return row.id

    def _ensure_type(self, session: Session, doc: EafDocument, base_id: str, attrs: dict[str, str]) -> str:
        """A linguistic type with these attributes: an existing one of that id, or a new one."""
        existing = {t.get("LINGUISTIC_TYPE_ID"): t for t in doc.linguistic_types}
        n = 1
        type_id = base_id
        while type_id in existing:
            if {k: v for k, v in existing[type_id].items() if k != "LINGUISTIC_TYPE_ID"} == {
                k: v for k, v in attrs.items() if k != "LINGUISTIC_TYPE_ID"
            }:
                return type_id
            n += 1
            type_id = f"{base_id} {n}"
        max_pos = session.scalar(select(func.max(LinguisticType.pos)).where(LinguisticType.document_id == self.doc_id))
        full = {**attrs, "LINGUISTIC_TYPE_ID": type_id}
        session.add(
            LinguisticType(
                document_id=self.doc_id,
                pos=(max_pos if max_pos is not None else -1) + 1,
                attrs=[[k, v] for k, v in full.items()],
            )
        )
        session.flush()
        doc.linguistic_types.append(full)
        self._type_ids.append(type_id)
        return type_id

    def _ensure_note_type(self, session: Session, doc: EafDocument) -> str:
        # ELAN declares the four constraints in every file it writes; a file that names Symbolic_Association
        # in a type should declare it too (the EAF schema refers to it by its stereotype).
        if not any(c.get("STEREOTYPE") == "Symbolic_Association" for c in doc.constraints):
            max_pos = session.scalar(select(func.max(Constraint.pos)).where(Constraint.document_id == self.doc_id))
            session.add(
                Constraint(
                    document_id=self.doc_id,
                    pos=(max_pos if max_pos is not None else -1) + 1,
                    attrs=[[k, v] for k, v in _SYMBOLIC_ASSOCIATION.items()],
                )
            )
            doc.constraints.append(dict(_SYMBOLIC_ASSOCIATION))
            self._constraint_added = True
        return self._ensure_type(
            session,
            doc,
            "consensus rationale",
            {
                "CONSTRAINTS": "Symbolic_Association",
                "GRAPHIC_REFERENCES": "false",
                "LINGUISTIC_TYPE_ID": "",
                "TIME_ALIGNABLE": "false",
            },
        )


def build_consensus(
    store: Store,
    doc_id: int,
    tier_a: str,
    tier_b: str,
    decisions: Mapping[str, Decision],
    *,
    new_tier: str,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    tolerance_ms: int = DEFAULT_TOLERANCE_MS,
    partial: bool = False,
) -> ConsensusResult:
    """Add a consensus tier (and its rationale notes) built from two coders' tiers and the decisions on
    their disagreements, committed in one unit of work. See the module notes.

    Raises:
        NotFound: no such document or tier.
        InvalidEdit: ``new_tier`` (or its rationale/dropped tier) exists, or tier A is a dependent tier.
        AnalysisError: decisions that do not match the disagreements or do not fit them (see
            :func:`plan_consensus`).
    """
    cmd = BuildConsensus(doc_id, tier_a, tier_b, decisions, new_tier, min_overlap, tolerance_ms, partial)
    apply_edit(store, cmd)
    assert cmd.result is not None
    return cmd.result
