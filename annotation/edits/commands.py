"""Edits to a stored document as command objects: ``apply(session)`` makes the change, ``revert(session)``
undoes it. The app wraps them in ``QUndoCommand``s; the CLI applies them directly. Each runs inside one
unit of work (see :func:`annotation.services.apply_edit`), so every edit is committed when it is made.

Updates are optimistic: an edit may name the ``expected_version`` of the annotation it was made against
(what the editor showed the user); if another writer changed the row since, the edit fails with
:class:`ConflictError` instead of overwriting their work. Every update bumps the row's version.

Each command also says what it changed (``touched``, set by ``apply`` and ``revert``): the tiers, the
annotations and the time slots, so that a view refreshes only those instead of reloading the document (see
:mod:`annotation.edits.display`).

This module holds the edits of one annotation (create, change its value, move it, delete it); what every
command shares is in :mod:`annotation.edits.base`, and splitting, merging and creating under a parent in
:mod:`annotation.edits.structure_edits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from annotation.edits.base import (
    Touched,
    annotation_row,
    check_times,
    check_value,
    mark_modified,
    new_annotation_id,
    new_slot,
    tier_row,
    touched_of,
)
from annotation.edits.journal import child_tiers, slot_rows, tier_ids
from annotation.edits.overlaps import new_overlaps, overlap_error, overlapping
from annotation.errors import ConflictError, InvalidEdit
from annotation.store import AnnotationRow, LinguisticType, TimeSlotRow, get_document_row


def _unchanged_since(a: AnnotationRow, same: bool) -> None:
    """Undo and redo put back only what is as this edit (or its undo) left it: a later change by someone else
    is never overwritten silently (their change stays; the undo is refused)."""
    if not same:
        raise ConflictError(
            f"annotation {a.ann_id!r}: changed by someone else since; reload to see their change (not undone)"
        )


def _bump(session: Session, a: AnnotationRow, expected: int | None, **values: Any) -> int:
    """Update an annotation if it still has the version the editor saw; bump its version and return it."""
    version = a.version if expected is None else expected
    result = session.execute(
        update(AnnotationRow)
        .where(AnnotationRow.id == a.id, AnnotationRow.version == version)
        .values(version=version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"annotation {a.ann_id!r}: changed by someone else since you opened it; reload to see their change"
        )
    session.expire(a)
    return version + 1


@dataclass
class CreateAnnotation:
    """A new alignable annotation on a top-level (time-alignable) tier."""

    doc_id: int
    tier_id: str
    start: int
    end: int
    value: str = ""
    cve_ref: str | None = None
    trim: bool = False
    ann_id: str | None = field(default=None, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    #: with ``trim``: the annotation it started inside, ended at its start (undone with it)
    trims: list[SetAnnotationTimes] = field(default_factory=list, init=False, repr=False, compare=False)
    #: the end stored (with ``trim``, where the next annotation begins when it ran into one)
    stored_end: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def description(self) -> str:
        return f"add annotation on {self.tier_id}"

    def _fit(self, session: Session, tier_pk: int) -> int:
        """Keep the tier free of overlaps: refuse (naming the annotation in the way), or with ``trim`` end
        the annotation the new one starts inside at its start and stop the new one where the next begins (as
        starting a state in an observation tool stops the one running). Returns the end to store."""
        over = overlapping(session, self.doc_id, tier_pk, self.start, self.end)
        self.trims = []
        if not over:
            return self.end
        if not self.trim:
            raise overlap_error(self.tier_id, self.start, self.end, over[0])
        later = [n for n in over if n.start >= self.start]
        end = min((n.start for n in later), default=self.end)
        if end <= self.start:
            raise overlap_error(self.tier_id, self.start, self.end, later[0], what="nothing to code at")
        for n in over:
            if n.start < self.start:
                trim = SetAnnotationTimes(self.doc_id, n.ann_id, n.start, self.start)
                trim.apply(session)
                self.trims.append(trim)
        return end

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        check_times(self.start, self.end)
        check_value(self.value)
        tier = tier_row(session, self.doc_id, self.tier_id)
        if tier.parent_ref is not None:
            raise InvalidEdit(
                f"tier {self.tier_id!r}: a dependent tier; add annotations to its parent {tier.parent_ref!r}"
            )
        lt = session.scalars(select(LinguisticType).where(LinguisticType.document_id == self.doc_id)).all()
        for t in lt:
            if t.attr("LINGUISTIC_TYPE_ID") == tier.linguistic_type_ref and t.attr("TIME_ALIGNABLE") == "false":
                raise InvalidEdit(f"tier {self.tier_id!r}: its type is not time-alignable")
        end = self.stored_end = self._fit(session, tier.id)
        ts1, pos1 = new_slot(session, self.doc_id, self.start)
        ts2, pos2 = new_slot(session, self.doc_id, end)
        # Keep the id across undo/redo so that later commands naming it still work.
        aid = self.ann_id or new_annotation_id(session, self.doc_id)
        max_pos = session.scalar(select(func.max(AnnotationRow.pos)).where(AnnotationRow.tier_pk == tier.id))
        session.execute(
            insert(AnnotationRow).values(
                document_id=self.doc_id,
                tier_pk=tier.id,
                pos=(max_pos if max_pos is not None else -1) + 1,
                ann_id=aid,
                ts1=ts1,
                ts2=ts2,
                value=self.value,
                cve_ref=self.cve_ref,
            )
        )
        self.ann_id = aid
        self.touched = _joined(
            Touched(frozenset({self.tier_id}), frozenset({aid}), frozenset({pos1, pos2})),
            *(t.touched for t in self.trims),
        )
        mark_modified(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self.ann_id is not None
        undo = DeleteAnnotation(self.doc_id, self.ann_id)
        undo.apply(session)
        for trim in reversed(self.trims):
            trim.revert(session)
        self.touched = _joined(undo.touched, *(t.touched for t in self.trims))


@dataclass
class SetAnnotationValue:
    doc_id: int
    ann_id: str
    value: str
    cve_ref: str | None = None
    expected_version: int | None = None
    _old: tuple[str, str | None] | None = field(default=None, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)

    @property
    def description(self) -> str:
        return f"change value of {self.ann_id}"

    def apply(self, session: Session) -> None:
        check_value(self.value)
        a = annotation_row(session, self.doc_id, self.ann_id)
        redo = self._old is not None
        if redo:  # only over what the undo left
            _unchanged_since(a, (a.value, a.cve_ref) == self._old)
        self._old = (a.value, a.cve_ref)
        self.touched = touched_of(session, {a.tier_pk}, {self.ann_id})
        _bump(session, a, None if redo else self.expected_version, value=self.value, cve_ref=self.cve_ref)
        mark_modified(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._old is not None
        a = annotation_row(session, self.doc_id, self.ann_id)
        _unchanged_since(a, (a.value, a.cve_ref) == (self.value, self.cve_ref))
        self.touched = touched_of(session, {a.tier_pk}, {self.ann_id})
        _bump(session, a, None, value=self._old[0], cve_ref=self._old[1])
        mark_modified(session, self.doc_id)


@dataclass
class SetAnnotationTimes:
    """Move or resize an alignable annotation. A time slot it shares with other annotations is not moved
    under them: the annotation gets a slot of its own."""

    doc_id: int
    ann_id: str
    start: int
    end: int
    expected_version: int | None = None
    _old: dict[str, Any] | None = field(default=None, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)

    @property
    def description(self) -> str:
        return f"move {self.ann_id}"

    def apply(self, session: Session) -> None:
        check_times(self.start, self.end)
        a = annotation_row(session, self.doc_id, self.ann_id)
        if a.ref is not None or a.ts1 is None or a.ts2 is None:
            raise InvalidEdit(f"annotation {self.ann_id!r}: a referring annotation takes its times from its parent")
        slots = slot_rows(session, self.doc_id, [a.ts1, a.ts2])
        old_slots = {sid: r["time_ms"] for sid, r in slots.items()}
        was = (old_slots.get(a.ts1), old_slots.get(a.ts2))
        old_span = (was[0], was[1]) if was[0] is not None and was[1] is not None else None
        clash = new_overlaps(session, self.doc_id, a.tier_pk, a.ann_id, old_span, (self.start, self.end))
        if clash:
            tier = tier_ids(session, [a.tier_pk]).get(a.tier_pk, "?")
            raise overlap_error(tier, self.start, self.end, clash[0], what=f"{self.ann_id} at")
        positions = {sid: r["pos"] for sid, r in slots.items()}
        self._old = {"ts1": a.ts1, "ts2": a.ts2, "times": old_slots, "new_slots": [], "positions": positions}
        new_refs: dict[str, str] = {}
        for key, slot, t in (("ts1", a.ts1, self.start), ("ts2", a.ts2, self.end)):
            if _slot_users(session, self.doc_id, slot) > 1:
                sid, pos = new_slot(session, self.doc_id, t)
                self._old["new_slots"].append(sid)
                self._old["positions"][sid] = pos
                new_refs[key] = sid
            else:
                session.execute(
                    update(TimeSlotRow)
                    .where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id == slot)
                    .values(time_ms=t)
                )
        self.touched = touched_of(session, {a.tier_pk}, {self.ann_id}, set(self._old["positions"].values()))
        _bump(session, a, self.expected_version, **new_refs)
        mark_modified(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._old is not None
        a = annotation_row(session, self.doc_id, self.ann_id)
        self.touched = touched_of(session, {a.tier_pk}, {self.ann_id}, set(self._old["positions"].values()))
        now = slot_rows(session, self.doc_id, [a.ts1, a.ts2]) if a.ts1 and a.ts2 else {}
        _unchanged_since(
            a,
            a.ts1 is not None
            and a.ts2 is not None
            and [now.get(a.ts1, {}).get("time_ms"), now.get(a.ts2, {}).get("time_ms")] == [self.start, self.end],
        )
        _bump(session, a, None, ts1=self._old["ts1"], ts2=self._old["ts2"])
        for sid, t in self._old["times"].items():
            session.execute(
                update(TimeSlotRow)
                .where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id == sid)
                .values(time_ms=t)
            )
        if self._old["new_slots"]:
            session.execute(
                delete(TimeSlotRow).where(
                    TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id.in_(self._old["new_slots"])
                )
            )
        mark_modified(session, self.doc_id)


def _slot_users(session: Session, doc_id: int, slot: str) -> int:
    """How many annotations hang from a time slot. Two counts, not one with ``ts1 = x OR ts2 = x``: SQLite
    serves each from its own index, where the OR made it read every annotation of the document (most of a
    move's time at 100,000 annotations)."""
    n = 0
    for col in (AnnotationRow.ts1, AnnotationRow.ts2):
        n += session.scalar(select(func.count()).where(AnnotationRow.document_id == doc_id, col == slot)) or 0
    return n


def _joined(*parts: Touched) -> Touched:
    return Touched(
        frozenset().union(*(p.tiers for p in parts)),
        frozenset().union(*(p.annotations for p in parts)),
        frozenset().union(*(p.slots for p in parts)),
    )


def _row_dict(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


@dataclass
class DeleteAnnotation:
    """Delete an annotation, the annotations that refer to it (as ELAN does), and time slots left unused."""

    doc_id: int
    ann_id: str
    _rows: list[dict[str, Any]] = field(default_factory=list, init=False)
    _slots: list[dict[str, Any]] = field(default_factory=list, init=False)
    _rechained: list[tuple[str, str | None]] = field(default_factory=list, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)

    @property
    def description(self) -> str:
        return f"delete {self.ann_id}"

    def _set_touched(self, session: Session) -> None:
        anns = {r["ann_id"] for r in self._rows} | {aid for aid, _ in self._rechained}
        anns |= {r["ref"] for r in self._rows if r["ref"] is not None}  # siblings are placed by their number
        slots = {s["pos"] for s in self._slots}
        self.touched = touched_of(session, {r["tier_pk"] for r in self._rows}, anns, slots)

    def apply(self, session: Session) -> None:
        root = annotation_row(session, self.doc_id, self.ann_id)
        rows = [root]
        frontier = [root]
        while frontier:
            # referring children are on the child tiers (the tier filter lets the tier index serve)
            tiers = child_tiers(session, self.doc_id, {r.tier_pk for r in frontier})
            if not tiers:
                break
            kids = list(
                session.scalars(
                    select(AnnotationRow).where(
                        AnnotationRow.tier_pk.in_(tiers), AnnotationRow.ref.in_([r.ann_id for r in frontier])
                    )
                )
            )
            rows += kids
            frontier = kids
        ids = [r.ann_id for r in rows]
        # A sibling chained to a deleted annotation by PREVIOUS_ANNOTATION is re-chained past it, as ELAN does.
        prev_of = {r.ann_id: r.prev for r in rows}
        self._rechained = []
        chained_tiers = {r.tier_pk for r in rows if r.ref is not None}
        for c in session.scalars(
            select(AnnotationRow).where(
                AnnotationRow.tier_pk.in_(chained_tiers),
                AnnotationRow.prev.in_(ids),
                AnnotationRow.ann_id.not_in(ids),
            )
        ):
            new_prev = prev_of[c.prev or ""]
            while new_prev is not None and new_prev in prev_of:
                new_prev = prev_of[new_prev]
            self._rechained.append((c.ann_id, c.prev))
            c.prev = new_prev
        session.flush()
        slots = {s for r in rows for s in (r.ts1, r.ts2) if s is not None}
        self._rows = [_row_dict(r) for r in rows]
        session.execute(
            delete(AnnotationRow).where(AnnotationRow.document_id == self.doc_id, AnnotationRow.ann_id.in_(ids))
        )
        still_used = set(
            session.scalars(
                select(AnnotationRow.ts1).where(AnnotationRow.document_id == self.doc_id, AnnotationRow.ts1.in_(slots))
            )
        ) | set(
            session.scalars(
                select(AnnotationRow.ts2).where(AnnotationRow.document_id == self.doc_id, AnnotationRow.ts2.in_(slots))
            )
        )
        unused = slots - still_used
        self._slots = [
            _row_dict(s)
            for s in session.scalars(
                select(TimeSlotRow).where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id.in_(unused))
            )
        ]
        if unused:
            session.execute(
                delete(TimeSlotRow).where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id.in_(unused))
            )
        session.expunge_all()
        self._set_touched(session)
        mark_modified(session, self.doc_id)

    def revert(self, session: Session) -> None:
        if self._slots:
            session.execute(insert(TimeSlotRow), self._slots)
        session.execute(insert(AnnotationRow), self._rows)
        for aid, prev in self._rechained:
            session.execute(
                update(AnnotationRow)
                .where(AnnotationRow.document_id == self.doc_id, AnnotationRow.ann_id == aid)
                .values(prev=prev, version=AnnotationRow.version + 1)
            )
        self._set_touched(session)
        mark_modified(session, self.doc_id)
