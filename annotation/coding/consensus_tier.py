"""The consensus tier written into a document: the undoable :class:`BuildConsensus` edit and
:func:`build_consensus`, which applies it in one unit of work.

What to write comes from :mod:`annotation.coding.consensus` (the disagreements, the decisions on them and
the plan of the consensus tier); this module adds the tiers, their linguistic types and annotations in bulk,
with ids as ELAN makes them, and removes exactly those again on ``revert``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotation.coding.agreement import DEFAULT_MIN_OVERLAP
from annotation.coding.consensus import (
    DEFAULT_TOLERANCE_MS,
    ConsensusResult,
    Decision,
    compare_segments,
    plan_consensus,
)
from annotation.edits import Touched, mark_modified
from annotation.elan import ILLEGAL_XML, EafDocument, document_segments
from annotation.errors import AnalysisError, InvalidEdit, NotFound
from annotation.services import apply_edit
from annotation.store import (
    AnnotationRow,
    Constraint,
    HeaderProperty,
    LinguisticType,
    Store,
    TierRow,
    TimeSlotRow,
    load_document,
)

RATIONALE_SUFFIX = " rationale"
DROPPED_SUFFIX = " dropped"
_SYMBOLIC_ASSOCIATION = {
    "DESCRIPTION": "1-1 association with a parent annotation",
    "STEREOTYPE": "Symbolic_Association",
}


def _vocabulary(doc: EafDocument, type_id: str) -> dict[str, str | None] | None:
    lt = next((t for t in doc.linguistic_types if t.get("LINGUISTIC_TYPE_ID") == type_id), None)
    cv_ref = lt.get("CONTROLLED_VOCABULARY_REF") if lt else None
    if cv_ref is None:
        return None
    for cv in doc.vocabularies:
        if cv.cv_id == cv_ref:
            return {v.value: e.cve_id for e in cv.entries for v in e.values}
    return None


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
        mark_modified(session, self.doc_id)
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
        mark_modified(session, self.doc_id)

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
