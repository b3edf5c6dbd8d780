"""Edits to a stored document as command objects: ``apply(session)`` makes the change, ``revert(session)``
undoes it. The app wraps them in ``QUndoCommand``s; the CLI applies them directly. Each runs inside one
unit of work (see :func:`annotation.services.apply_edit`), so every edit is committed when it is made.

Updates are optimistic: an edit may name the ``expected_version`` of the annotation it was made against
(what the editor showed the user); if another writer changed the row since, the edit fails with
:class:`ConflictError` instead of overwriting their work. Every update bumps the row's version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from annotation.eaf_writer import ILLEGAL_XML
from annotation.errors import ConflictError, InvalidEdit, NotFound
from annotation.repository import get_document_row
from annotation.store_models import (
    AnnotationRow,
    Document,
    HeaderProperty,
    LinguisticType,
    TierRow,
    TimeSlotRow,
)


class EditCommand(Protocol):
    doc_id: int

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


def _touch(session: Session, doc_id: int) -> None:
    session.execute(update(Document).where(Document.id == doc_id).values(modified_at=datetime.now(UTC)))


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


def _new_slot(session: Session, doc_id: int, time_ms: int) -> str:
    max_pos = session.scalar(select(func.max(TimeSlotRow.pos)).where(TimeSlotRow.document_id == doc_id))
    pos = (max_pos if max_pos is not None else -1) + 1
    sid = _fresh_id(session, TimeSlotRow.slot_id, TimeSlotRow.document_id, doc_id, "ts", pos + 1)
    session.execute(insert(TimeSlotRow).values(document_id=doc_id, pos=pos, slot_id=sid, time_ms=time_ms))
    return sid


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


def _bump(session: Session, a: AnnotationRow, expected: int | None, **values: Any) -> None:
    """Update an annotation if it still has the version the editor saw; bump its version."""
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
        ts1 = _new_slot(session, self.doc_id, self.start)
        ts2 = _new_slot(session, self.doc_id, self.end)
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
        _touch(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self.ann_id is not None
        DeleteAnnotation(self.doc_id, self.ann_id).apply(session)


@dataclass
class SetAnnotationValue:
    doc_id: int
    ann_id: str
    value: str
    cve_ref: str | None = None
    expected_version: int | None = None
    _old: tuple[str, str | None] | None = field(default=None, init=False)

    @property
    def description(self) -> str:
        return f"change value of {self.ann_id}"

    def apply(self, session: Session) -> None:
        _check_value(self.value)
        a = _annotation(session, self.doc_id, self.ann_id)
        self._old = (a.value, a.cve_ref)
        _bump(session, a, self.expected_version, value=self.value, cve_ref=self.cve_ref)
        _touch(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._old is not None
        a = _annotation(session, self.doc_id, self.ann_id)
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

    @property
    def description(self) -> str:
        return f"move {self.ann_id}"

    def apply(self, session: Session) -> None:
        _check_times(self.start, self.end)
        a = _annotation(session, self.doc_id, self.ann_id)
        if a.ref is not None or a.ts1 is None or a.ts2 is None:
            raise InvalidEdit(f"annotation {self.ann_id!r}: a referring annotation takes its times from its parent")
        old_slots = {
            s.slot_id: s.time_ms
            for s in session.scalars(
                select(TimeSlotRow).where(
                    TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id.in_([a.ts1, a.ts2])
                )
            )
        }
        self._old = {"ts1": a.ts1, "ts2": a.ts2, "times": old_slots, "new_slots": []}
        new_refs: dict[str, str] = {}
        for key, slot, t in (("ts1", a.ts1, self.start), ("ts2", a.ts2, self.end)):
            users = session.scalar(
                select(func.count()).where(
                    AnnotationRow.document_id == self.doc_id,
                    (AnnotationRow.ts1 == slot) | (AnnotationRow.ts2 == slot),
                )
            )
            if users and users > 1:
                sid = _new_slot(session, self.doc_id, t)
                self._old["new_slots"].append(sid)
                new_refs[key] = sid
            else:
                session.execute(
                    update(TimeSlotRow)
                    .where(TimeSlotRow.document_id == self.doc_id, TimeSlotRow.slot_id == slot)
                    .values(time_ms=t)
                )
        _bump(session, a, self.expected_version, **new_refs)
        _touch(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._old is not None
        a = _annotation(session, self.doc_id, self.ann_id)
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

    @property
    def description(self) -> str:
        return f"delete {self.ann_id}"

    def apply(self, session: Session) -> None:
        root = _annotation(session, self.doc_id, self.ann_id)
        rows = [root]
        frontier = [root.ann_id]
        while frontier:
            kids = list(
                session.scalars(
                    select(AnnotationRow).where(
                        AnnotationRow.document_id == self.doc_id, AnnotationRow.ref.in_(frontier)
                    )
                )
            )
            rows += kids
            frontier = [k.ann_id for k in kids]
        ids = [r.ann_id for r in rows]
        # A sibling chained to a deleted annotation by PREVIOUS_ANNOTATION is re-chained past it, as ELAN does.
        prev_of = {r.ann_id: r.prev for r in rows}
        self._rechained = []
        for c in session.scalars(
            select(AnnotationRow).where(
                AnnotationRow.document_id == self.doc_id,
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
        _touch(session, self.doc_id)
