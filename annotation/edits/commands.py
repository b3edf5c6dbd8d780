"""Edits to a stored document as command objects: ``apply(session)`` makes the change, ``revert(session)``
undoes it. The app wraps them in ``QUndoCommand``s; the CLI applies them directly. Each runs inside one
unit of work (see :func:`annotation.services.apply_edit`), so every edit is committed when it is made.

Updates are optimistic: an edit may name the ``expected_version`` of the annotation it was made against
(what the editor showed the user); if another writer changed the row since, the edit fails with
:class:`ConflictError` instead of overwriting their work. Every update bumps the row's version.

Each command also says what it changed (``touched``, set by ``apply`` and ``revert``): the tiers, the
annotations and the time slots, so that a view refreshes only those instead of reloading the document (see
:mod:`annotation.edits.display`).

Splitting and merging follow ELAN (``SplitAnnotationCommand``, ``MergeAnnotationsCommand``) where it makes
sense for coding with controlled vocabularies; see :class:`SplitAnnotation` and :class:`MergeAnnotations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from annotation.edits.journal import (
    Journal,
    aligned_times,
    ann_rows,
    association,
    chained,
    child_tiers,
    children,
    constraint,
    descendant_tiers,
    has_vocabulary,
    linguistic_types,
    new_row,
    one,
    slot_rows,
    tier_by_pk,
    tier_ids,
    tier_rows_of,
)
from annotation.elan.model import Annotation
from annotation.elan.reader import MAX_TIME_MS
from annotation.elan.tiers import SYMBOLIC_ASSOCIATION, SYMBOLIC_SUBDIVISION
from annotation.elan.timing import child_spans
from annotation.elan.writer import ILLEGAL_XML
from annotation.errors import ConflictError, InvalidEdit, NotFound
from annotation.store.documents import get_document_row
from annotation.store.tables import (
    AnnotationRow,
    Document,
    HeaderProperty,
    LinguisticType,
    TierRow,
    TimeSlotRow,
)


@dataclass(frozen=True)
class Touched:
    """What an applied or reverted edit changed, for views that refresh only that.

    ``annotations`` holds the ids of annotations created, changed or deleted, and the parents whose referring
    children were added, removed or re-chained (ELAN places those children by their number, so all of them
    move). ``slots`` holds the positions (in the time order) of time slots created, moved or removed: an
    unaligned slot next to one of them in that order is placed between its neighbours, so it moves too.
    """

    tiers: frozenset[str] = frozenset()
    annotations: frozenset[str] = frozenset()
    slots: frozenset[int] = frozenset()


class EditCommand(Protocol):
    doc_id: int
    touched: Touched

    @property
    def description(self) -> str: ...

    def apply(self, session: Session) -> None: ...

    def revert(self, session: Session) -> None: ...


def _check_value(value: str) -> None:
    if ILLEGAL_XML.search(value):
        raise InvalidEdit("annotation value: holds a control character that ELAN files cannot store")


def _check_times(start: int, end: int) -> None:
    if start < 0:
        raise InvalidEdit(f"start {start} ms: times cannot be negative")
    if end <= start:
        raise InvalidEdit(f"end {end} ms: must be after start {start} ms")
    if end > MAX_TIME_MS:
        raise InvalidEdit(f"end {end} ms: past the longest time the store keeps ({MAX_TIME_MS} ms)")


def _touch(session: Session, doc_id: int) -> None:
    session.execute(update(Document).where(Document.id == doc_id).values(modified_at=datetime.now(UTC)))


def take_document(session: Session, doc_id: int) -> None:
    """Begin an edit's unit of work by writing its document's row, so that edits of one document take turns:
    SQLite takes its write lock here and PostgreSQL locks the row until commit, and everything the edit reads
    afterwards includes what the edit before it committed. Without this, two writers adding to one tier at
    the same moment both took the same next time slot and annotation ids, and one failed on a unique key."""
    _touch(session, doc_id)


def _tier(session: Session, doc_id: int, tier_id: str) -> TierRow:
    t = session.scalar(select(TierRow).where(TierRow.document_id == doc_id, TierRow.tier_id == tier_id))
    if t is None:
        raise NotFound(f"tier {tier_id!r}: no such tier in document {doc_id}")
    return t


def _annotation(session: Session, doc_id: int, ann_id: str) -> AnnotationRow:
    a = session.scalar(select(AnnotationRow).where(AnnotationRow.document_id == doc_id, AnnotationRow.ann_id == ann_id))
    if a is None:
        raise NotFound(f"annotation {ann_id!r}: no such annotation in document {doc_id}")
    return a


def _fresh_id(session: Session, column: Any, doc_col: Any, doc_id: int, prefix: str, start: int) -> str:
    n = start
    while session.scalar(select(func.count()).where(doc_col == doc_id, column == f"{prefix}{n}")):
        n += 1
    return f"{prefix}{n}"


def _new_slot(session: Session, doc_id: int, time_ms: int) -> tuple[str, int]:
    """A new aligned time slot at the end of the time order: (its id, its position)."""
    max_pos = session.scalar(select(func.max(TimeSlotRow.pos)).where(TimeSlotRow.document_id == doc_id))
    pos = (max_pos if max_pos is not None else -1) + 1
    sid = _fresh_id(session, TimeSlotRow.slot_id, TimeSlotRow.document_id, doc_id, "ts", pos + 1)
    session.execute(insert(TimeSlotRow).values(document_id=doc_id, pos=pos, slot_id=sid, time_ms=time_ms))
    return sid, pos


def _touched(session: Session, tier_pks: set[int], anns: set[str], slots: set[int] | None = None) -> Touched:
    return Touched(frozenset(tier_ids(session, tier_pks).values()), frozenset(anns), frozenset(slots or ()))


def _new_annotation_id(session: Session, doc_id: int) -> str:
    """ELAN's convention: ``a<N>`` with N one past the header property ``lastUsedAnnotationId``."""
    prop = session.scalar(
        select(HeaderProperty).where(
            HeaderProperty.document_id == doc_id, HeaderProperty.name == "lastUsedAnnotationId"
        )
    )
    last = int(prop.value) if prop is not None and prop.value and prop.value.isdigit() else 0
    if last == 0:
        last = session.scalar(select(func.count()).where(AnnotationRow.document_id == doc_id)) or 0
    aid = _fresh_id(session, AnnotationRow.ann_id, AnnotationRow.document_id, doc_id, "a", last + 1)
    n = int(aid[1:])
    if prop is None:
        pos = session.scalar(select(func.max(HeaderProperty.pos)).where(HeaderProperty.document_id == doc_id))
        session.add(
            HeaderProperty(
                document_id=doc_id,
                pos=(pos if pos is not None else -1) + 1,
                name="lastUsedAnnotationId",
                value=str(n),
            )
        )
    else:
        prop.value = str(n)
    return aid


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
    ann_id: str | None = field(default=None, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)

    @property
    def description(self) -> str:
        return f"add annotation on {self.tier_id}"

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        _check_times(self.start, self.end)
        _check_value(self.value)
        tier = _tier(session, self.doc_id, self.tier_id)
        if tier.parent_ref is not None:
            raise InvalidEdit(
                f"tier {self.tier_id!r}: a dependent tier; add annotations to its parent {tier.parent_ref!r}"
            )
        lt = session.scalars(select(LinguisticType).where(LinguisticType.document_id == self.doc_id)).all()
        for t in lt:
            if t.attr("LINGUISTIC_TYPE_ID") == tier.linguistic_type_ref and t.attr("TIME_ALIGNABLE") == "false":
                raise InvalidEdit(f"tier {self.tier_id!r}: its type is not time-alignable")
        ts1, pos1 = _new_slot(session, self.doc_id, self.start)
        ts2, pos2 = _new_slot(session, self.doc_id, self.end)
        # Keep the id across undo/redo so that later commands naming it still work.
        aid = self.ann_id or _new_annotation_id(session, self.doc_id)
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
        self.touched = Touched(frozenset({self.tier_id}), frozenset({aid}), frozenset({pos1, pos2}))
        _touch(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self.ann_id is not None
        undo = DeleteAnnotation(self.doc_id, self.ann_id)
        undo.apply(session)
        self.touched = undo.touched


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
        _check_value(self.value)
        a = _annotation(session, self.doc_id, self.ann_id)
        redo = self._old is not None
        if redo:  # only over what the undo left
            _unchanged_since(a, (a.value, a.cve_ref) == self._old)
        self._old = (a.value, a.cve_ref)
        self.touched = _touched(session, {a.tier_pk}, {self.ann_id})
        _bump(session, a, None if redo else self.expected_version, value=self.value, cve_ref=self.cve_ref)
        _touch(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._old is not None
        a = _annotation(session, self.doc_id, self.ann_id)
        _unchanged_since(a, (a.value, a.cve_ref) == (self.value, self.cve_ref))
        self.touched = _touched(session, {a.tier_pk}, {self.ann_id})
        _bump(session, a, None, value=self._old[0], cve_ref=self._old[1])
        _touch(session, self.doc_id)


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
        _check_times(self.start, self.end)
        a = _annotation(session, self.doc_id, self.ann_id)
        if a.ref is not None or a.ts1 is None or a.ts2 is None:
            raise InvalidEdit(f"annotation {self.ann_id!r}: a referring annotation takes its times from its parent")
        slots = slot_rows(session, self.doc_id, [a.ts1, a.ts2])
        old_slots = {sid: r["time_ms"] for sid, r in slots.items()}
        positions = {sid: r["pos"] for sid, r in slots.items()}
        self._old = {"ts1": a.ts1, "ts2": a.ts2, "times": old_slots, "new_slots": [], "positions": positions}
        new_refs: dict[str, str] = {}
        for key, slot, t in (("ts1", a.ts1, self.start), ("ts2", a.ts2, self.end)):
            users = session.scalar(
                select(func.count()).where(
                    AnnotationRow.document_id == self.doc_id,
                    (AnnotationRow.ts1 == slot) | (AnnotationRow.ts2 == slot),
                )
            )
            if users and users > 1:
                sid, pos = _new_slot(session, self.doc_id, t)
                self._old["new_slots"].append(sid)
                self._old["positions"][sid] = pos
                new_refs[key] = sid
            else:
                session.execute(
                    update(TimeSlotRow)
                    .where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id == slot)
                    .values(time_ms=t)
                )
        self.touched = _touched(session, {a.tier_pk}, {self.ann_id}, set(self._old["positions"].values()))
        _bump(session, a, self.expected_version, **new_refs)
        _touch(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._old is not None
        a = _annotation(session, self.doc_id, self.ann_id)
        self.touched = _touched(session, {a.tier_pk}, {self.ann_id}, set(self._old["positions"].values()))
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
        _touch(session, self.doc_id)


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
        self.touched = _touched(session, {r["tier_pk"] for r in self._rows}, anns, slots)

    def apply(self, session: Session) -> None:
        root = _annotation(session, self.doc_id, self.ann_id)
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
        _touch(session, self.doc_id)

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
        _touch(session, self.doc_id)


# -- splitting, merging and referring annotations ------------------------------------------------------------


def _merged_value(vocabulary: bool, tier_id: str, a: dict[str, Any], b: dict[str, Any]) -> tuple[str, str | None]:
    """The value of two annotations made one: a value both share, or the one that is not empty; two different
    free-text values joined with a space as ELAN joins them. Two different values of a controlled vocabulary
    cannot be joined (the result would be no value of it): refused."""
    if a["value"] == b["value"] or not b["value"]:
        return a["value"], a["cve_ref"]
    if not a["value"]:
        return b["value"], b["cve_ref"]
    if vocabulary:
        raise InvalidEdit(
            f"annotation {a['ann_id']!r}: {a['value']!r} and {b['value']!r} ({b['ann_id']}) differ on tier "
            f"{tier_id!r}, whose values come from a vocabulary; give them one value first"
        )
    return f"{a['value']} {b['value']}", None


class _Ids:
    """Annotation ids an edit creates, the same ones again when it is redone (later edits may name them)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._next = 0

    def restart(self) -> None:
        self._next = 0

    def take(self, session: Session, doc_id: int) -> str:
        while self._next < len(self.ids):
            aid = self.ids[self._next]
            self._next += 1
            if not ann_rows(session, doc_id, AnnotationRow.ann_id == aid):
                return aid
        aid = _new_annotation_id(session, doc_id)
        self.ids.append(aid)
        self._next = len(self.ids)
        return aid


class _Journaled:
    """What the journaled edits (split, merge, referring create) share: undo replays their journal backwards,
    and both ways say what they touched."""

    doc_id: int
    touched: Touched
    _journal: Journal | None

    def _finish(self, session: Session, j: Journal) -> None:
        self.touched = _touched(session, j.tier_pks, j.touched, j.slot_positions())
        _touch(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._journal is not None
        self._journal.revert(session)
        self._finish(session, self._journal)


@dataclass
class SplitAnnotation(_Journaled):
    """Split an alignable annotation in two at ``at_ms`` (strictly inside it), as ELAN's "Split annotation".

    The first half keeps the annotation (its id, its start); the second half is a new annotation from
    ``at_ms`` to the old end, with the same value. Referring children:

    - on a Symbolic_Subdivision tier, each child goes with the half it is shown in (by the middle of its
      share of the parent's span), in chain order, so the words of an utterance stay where they were shown;
    - on a Symbolic_Association tier, the one child is copied to the second half with its value (and its own
      referring descendants), as ELAN copies it: both halves keep the value, like the parent.

    Alignable annotations of time-alignable child tiers (Time_Subdivision, Included_In) keep their own times,
    so they stay with the half they lie in; one that crosses ``at_ms`` would belong to neither half, and the
    split is refused naming it. ``revert`` restores every row as it was, ids included.
    """

    doc_id: int
    ann_id: str
    at_ms: int
    new_id: str | None = field(default=None, init=False)  # the second half
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _journal: Journal | None = field(default=None, init=False, repr=False)
    _ids: _Ids = field(default_factory=_Ids, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"split {self.ann_id}"

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        a = one(session, self.doc_id, self.ann_id)
        start, end = aligned_times(session, self.doc_id, a, "split")
        at = self.at_ms
        if not start < at < end:
            raise InvalidEdit(f"annotation {self.ann_id!r}: {at} ms is not inside it ({start}-{end} ms)")
        self._refuse_crossing(session, a, start, end)
        types = linguistic_types(session, self.doc_id)
        j = self._journal = Journal(self.doc_id)
        self._ids.restart()
        mid_end, mid_start = j.new_slot(session, at), j.new_slot(session, at)
        old_end = a["ts2"]
        j.update(session, a, ts2=mid_end)
        second = self._ids.take(session, self.doc_id)
        j.insert(session, new_row(a, ann_id=second, ts1=mid_start, ts2=old_end))
        self.new_id = second
        for tier_pk, kids in children(session, self.doc_id, [a]).get(a["ann_id"], {}).items():
            tier = tier_by_pk(session, tier_pk)
            if association(types, tier, kids):
                self._copy(session, j, kids[0], second, None)
                continue
            ordered = chained(kids)
            shown = child_spans(start, end, [Annotation(k["ann_id"], "", prev=k["prev"]) for k in ordered])
            moving = [k for k, (_, s, e) in zip(ordered, shown, strict=True) if (s + e) / 2 >= at]
            for i, k in enumerate(moving):
                j.update(session, k, ref=second, prev=moving[i - 1]["ann_id"] if i else None)
        self._finish(session, j)

    def _refuse_crossing(self, session: Session, a: dict[str, Any], start: int, end: int) -> None:
        below = descendant_tiers(session, self.doc_id, a["tier_pk"])
        if not below:
            return
        rows = ann_rows(session, self.doc_id, AnnotationRow.tier_pk.in_(below), AnnotationRow.ts1.is_not(None))
        times = slot_rows(session, self.doc_id, {s for r in rows for s in (r["ts1"], r["ts2"])})
        for r in rows:
            t1, t2 = times[r["ts1"]]["time_ms"], times[r["ts2"]]["time_ms"]
            if t1 is not None and t2 is not None and start <= t1 < self.at_ms < t2 <= end:
                name = tier_by_pk(session, r["tier_pk"]).tier_id
                raise InvalidEdit(
                    f"annotation {self.ann_id!r}: {r['ann_id']!r} on tier {name!r} crosses {self.at_ms} ms; "
                    "split there it would belong to neither half"
                )

    def _copy(self, session: Session, j: Journal, row: dict[str, Any], parent: str, prev: str | None) -> str:
        """Copy a referring annotation and its referring descendants under ``parent``; returns the copy's id."""
        aid = self._ids.take(session, self.doc_id)
        j.insert(session, new_row(row, ann_id=aid, ref=parent, prev=prev))
        for kids in children(session, self.doc_id, [row]).get(row["ann_id"], {}).values():
            copied: dict[str, str] = {}
            for k in chained(kids):
                copied[k["ann_id"]] = self._copy(session, j, k, aid, copied.get(k["prev"] or ""))
        return aid


@dataclass
class MergeAnnotations(_Journaled):
    """Merge an alignable annotation with the one after it on its tier, as ELAN's "Merge with next annotation".

    ``second_id`` must start at or after ``first_id`` on the same tier with no other annotation starting in
    between; they may touch, overlap or leave a gap, which the merged annotation covers (as in ELAN). The first
    annotation stays (its id, its start) and ends where the later of the two ends; the second is deleted.

    The value: a value both share stays (so a split is undone by a merge), an empty value gives way to the
    other, and two different free-text values are joined with a space as ELAN joins them. Two different values
    on a tier with a controlled vocabulary are refused: joined they would be no value of the vocabulary.

    Children are kept: the second annotation's referring children move to the first, a Symbolic_Subdivision's
    appended to the end of the first's chain, a Symbolic_Association's merged into the first's child on that
    tier by the same value rule (or moved, when the first has none). ``revert`` restores every row, ids
    included.
    """

    doc_id: int
    first_id: str
    second_id: str
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _journal: Journal | None = field(default=None, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"merge {self.first_id} with {self.second_id}"

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        if self.first_id == self.second_id:
            raise InvalidEdit(f"annotation {self.first_id!r}: cannot be merged with itself")
        a = one(session, self.doc_id, self.first_id)
        b = one(session, self.doc_id, self.second_id)
        a_start, a_end = aligned_times(session, self.doc_id, a, "merge")
        b_start, b_end = aligned_times(session, self.doc_id, b, "merge")
        tier = tier_by_pk(session, a["tier_pk"])
        if b["tier_pk"] != a["tier_pk"]:
            other = tier_by_pk(session, b["tier_pk"]).tier_id
            raise InvalidEdit(
                f"annotation {self.second_id!r}: on tier {other!r}, not on {self.first_id}'s tier {tier.tier_id!r}"
            )
        if b_start < a_start:
            raise InvalidEdit(
                f"annotation {self.second_id!r}: starts before {self.first_id!r}; merge it with the next one instead"
            )
        self._refuse_between(session, a, b, a_start, b_start)
        types = linguistic_types(session, self.doc_id)
        value, cve = _merged_value(has_vocabulary(types, tier), tier.tier_id, a, b)
        j = self._journal = Journal(self.doc_id)
        old_end = a["ts2"]
        j.update(session, a, ts2=b["ts2"] if b_end >= a_end else a["ts2"], value=value, cve_ref=cve)
        self._absorb(session, j, types, a, b)
        j.delete(session, b)
        j.drop_unused_slots(session, [old_end, b["ts1"], b["ts2"]])
        self._finish(session, j)

    def _refuse_between(self, session: Session, a: dict[str, Any], b: dict[str, Any], t0: int, t1: int) -> None:
        starts = (
            select(AnnotationRow.ann_id)
            .join(
                TimeSlotRow,
                (TimeSlotRow.document_id == AnnotationRow.document_id) & (TimeSlotRow.slot_id == AnnotationRow.ts1),
            )
            .where(
                AnnotationRow.tier_pk == a["tier_pk"],
                AnnotationRow.ann_id.not_in([a["ann_id"], b["ann_id"]]),
                TimeSlotRow.time_ms >= t0,
                TimeSlotRow.time_ms <= t1,
            )
            .limit(1)
        )
        between = session.scalar(starts)
        if between is not None:
            raise InvalidEdit(
                f"annotation {between!r}: lies between {a['ann_id']!r} and {b['ann_id']!r}; only neighbours merge"
            )

    def _absorb(
        self, session: Session, j: Journal, types: dict[str, dict[str, str]], keep: dict[str, Any], gone: dict[str, Any]
    ) -> None:
        """Move the referring children of ``gone`` to ``keep`` (see the class docstring)."""
        kids = children(session, self.doc_id, [keep, gone])
        mine, theirs = kids.get(keep["ann_id"], {}), kids.get(gone["ann_id"], {})
        for tier_pk, moving in theirs.items():
            tier = tier_by_pk(session, tier_pk)
            staying = mine.get(tier_pk, [])
            if staying and association(types, tier, staying) and association(types, tier, moving):
                k, g = staying[0], moving[0]
                value, cve = _merged_value(has_vocabulary(types, tier), tier.tier_id, k, g)
                if (value, cve) != (k["value"], k["cve_ref"]):
                    j.update(session, k, value=value, cve_ref=cve)
                self._absorb(session, j, types, k, g)
                j.delete(session, g)
                continue
            # one chain: the first's children, then the second's, every link written out (ELAN writes them)
            chain = chained(staying) + chained(moving)
            for i, k in enumerate(chain):
                prev = chain[i - 1]["ann_id"] if i else None
                if (k["ref"], k["prev"]) != (keep["ann_id"], prev):
                    j.update(session, k, ref=keep["ann_id"], prev=prev)


@dataclass
class CreateReferringAnnotation(_Journaled):
    """A new annotation on a dependent tier, under ``parent_id`` on the tier's parent tier.

    On a symbolic tier it refers to the parent (a Symbolic_Association takes one per parent: a second is
    refused; a Symbolic_Subdivision appends it to the end of the parent's chain). On a time-alignable child
    tier (Time_Subdivision, Included_In) it is an alignable annotation over the parent's whole span, on the
    parent's time slots as ELAN makes a first subdivision, refused when the tier already has annotations there.
    """

    doc_id: int
    tier_id: str
    parent_id: str
    value: str = ""
    cve_ref: str | None = None
    ann_id: str | None = field(default=None, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _journal: Journal | None = field(default=None, init=False, repr=False)
    _ids: _Ids = field(default_factory=_Ids, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"add annotation on {self.tier_id} under {self.parent_id}"

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        _check_value(self.value)
        tier = _tier(session, self.doc_id, self.tier_id)
        if tier.parent_ref is None:
            raise InvalidEdit(f"tier {self.tier_id!r}: a top-level tier; its annotations have times of their own")
        parent = one(session, self.doc_id, self.parent_id)
        parent_tier = tier_by_pk(session, parent["tier_pk"])
        if parent_tier.tier_id != tier.parent_ref:
            raise InvalidEdit(
                f"annotation {self.parent_id!r}: on tier {parent_tier.tier_id!r}, not on {tier.parent_ref!r}, "
                f"the parent tier of {self.tier_id!r}"
            )
        types = linguistic_types(session, self.doc_id)
        kind = constraint(types, tier)
        lt = types.get(tier.linguistic_type_ref or "", {})
        j = self._journal = Journal(self.doc_id)
        self._ids.restart()
        new: dict[str, Any] = {"tier_pk": tier.id, "value": self.value, "cve_ref": self.cve_ref}
        if kind in (SYMBOLIC_ASSOCIATION, SYMBOLIC_SUBDIVISION) or lt.get("TIME_ALIGNABLE") == "false":
            kids = tier_rows_of(session, [tier.id], AnnotationRow.ref == self.parent_id)
            if kids and kind != SYMBOLIC_SUBDIVISION:
                raise InvalidEdit(
                    f"annotation {self.parent_id!r}: already has {kids[0]['ann_id']!r} on tier {self.tier_id!r}"
                )
            new.update(ref=self.parent_id, prev=chained(kids)[-1]["ann_id"] if kids else None)
        else:
            start, end = aligned_times(session, self.doc_id, parent, "annotate under")
            self._refuse_occupied(session, tier, start, end)
            new.update(ts1=parent["ts1"], ts2=parent["ts2"])
        self.ann_id = self._ids.take(session, self.doc_id)
        j.insert(session, {**new, "ann_id": self.ann_id})
        self._finish(session, j)

    def _refuse_occupied(self, session: Session, tier: TierRow, start: int, end: int) -> None:
        rows = tier_rows_of(session, [tier.id])
        times = slot_rows(session, self.doc_id, {s for r in rows for s in (r["ts1"], r["ts2"])})
        for r in rows:
            t1 = times.get(r["ts1"] or "", {}).get("time_ms")
            t2 = times.get(r["ts2"] or "", {}).get("time_ms")
            if t1 is not None and t2 is not None and t1 < end and t2 > start:
                raise InvalidEdit(
                    f"annotation {self.parent_id!r}: tier {self.tier_id!r} already has {r['ann_id']!r} in its time"
                )
