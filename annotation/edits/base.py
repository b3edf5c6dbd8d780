"""What every edit command shares: the :class:`EditCommand` protocol, what an edit touched, the checks of
values and times, and the row helpers (a tier or annotation by id, a new time slot, the next annotation id).

An edit begins its unit of work with :func:`take_document`, so that edits of one document take turns, and
ends it with :func:`mark_modified`. The commands themselves are in :mod:`annotation.edits.commands` (one
annotation at a time) and :mod:`annotation.edits.structure_edits` (split, merge, create under a parent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from annotation.edits.journal import tier_ids
from annotation.elan import ILLEGAL_XML, MAX_TIME_MS
from annotation.errors import InvalidEdit, NotFound
from annotation.store import AnnotationRow, Document, HeaderProperty, TierRow, TimeSlotRow


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
    """An edit of one document: ``apply`` makes it, ``revert`` undoes it, each in the caller's unit of work,
    and both set ``touched``."""

    doc_id: int
    touched: Touched

    @property
    def description(self) -> str: ...

    def apply(self, session: Session) -> None: ...

    def revert(self, session: Session) -> None: ...


def check_value(value: str) -> None:
    """Refuse an annotation value that an ELAN file cannot hold.

    Raises:
        InvalidEdit: the value holds a control character that ELAN files cannot store.
    """
    if ILLEGAL_XML.search(value):
        raise InvalidEdit("annotation value: holds a control character that ELAN files cannot store")


def check_times(start: int, end: int) -> None:
    """Refuse the times of an alignable annotation that the store or ELAN cannot hold.

    Raises:
        InvalidEdit: a negative start, an end not after the start, or an end past the longest time kept.
    """
    if start < 0:
        raise InvalidEdit(f"start {start} ms: times cannot be negative")
    if end <= start:
        raise InvalidEdit(f"end {end} ms: must be after start {start} ms")
    if end > MAX_TIME_MS:
        raise InvalidEdit(f"end {end} ms: past the longest time the store keeps ({MAX_TIME_MS} ms)")


def mark_modified(session: Session, doc_id: int) -> None:
    """Set the document's ``modified_at`` to now (every edit does, when applied and when reverted)."""
    session.execute(update(Document).where(Document.id == doc_id).values(modified_at=datetime.now(UTC)))


#: ``session.info`` key: document id -> its ``modified_at`` when the edit took it (before the edit changed it)
TAKEN = "frontdoor.taken"


def take_document(session: Session, doc_id: int) -> None:
    """Begin an edit's unit of work by writing its document's row, so that edits of one document take turns:
    SQLite takes its write lock here and PostgreSQL locks the row until commit, and everything the edit reads
    afterwards includes what the edit before it committed. Without this, two writers adding to one tier at
    the same moment both took the same next time slot and annotation ids, and one failed on a unique key.

    The document's ``modified_at`` as the edit found it (read once the row is taken, so nobody can change it
    meanwhile) is kept in ``session.info[TAKEN]``: every edit changes it, so it tells whether what a process
    remembers of the document (:mod:`annotation.edits.overlaps`) is still so."""
    session.execute(update(Document).where(Document.id == doc_id).values(modified_at=Document.modified_at))
    before = session.scalar(select(Document.modified_at).where(Document.id == doc_id))
    session.info.setdefault(TAKEN, {})[doc_id] = before
    mark_modified(session, doc_id)


def document_stamp(session: Session, doc_id: int) -> Any:
    """The document's ``modified_at`` as this unit of work has left it so far."""
    return session.scalar(select(Document.modified_at).where(Document.id == doc_id))


def tier_row(session: Session, doc_id: int, tier_id: str) -> TierRow:
    """The tier ``tier_id`` of a document.

    Raises:
        NotFound: the document has no such tier.
    """
    t = session.scalar(select(TierRow).where(TierRow.document_id == doc_id, TierRow.tier_id == tier_id))
    if t is None:
        raise NotFound(f"tier {tier_id!r}: no such tier in document {doc_id}")
    return t


def annotation_row(session: Session, doc_id: int, ann_id: str) -> AnnotationRow:
    """The annotation ``ann_id`` of a document.

    Raises:
        NotFound: the document has no such annotation.
    """
    a = session.scalar(select(AnnotationRow).where(AnnotationRow.document_id == doc_id, AnnotationRow.ann_id == ann_id))
    if a is None:
        raise NotFound(f"annotation {ann_id!r}: no such annotation in document {doc_id}")
    return a


def _fresh_id(session: Session, column: Any, doc_col: Any, doc_id: int, prefix: str, start: int) -> str:
    n = start
    while session.scalar(select(func.count()).where(doc_col == doc_id, column == f"{prefix}{n}")):
        n += 1
    return f"{prefix}{n}"


def new_slot(session: Session, doc_id: int, time_ms: int) -> tuple[str, int]:
    """A new aligned time slot at the end of the time order: (its id, its position)."""
    max_pos = session.scalar(select(func.max(TimeSlotRow.pos)).where(TimeSlotRow.document_id == doc_id))
    pos = (max_pos if max_pos is not None else -1) + 1
    sid = _fresh_id(session, TimeSlotRow.slot_id, TimeSlotRow.document_id, doc_id, "ts", pos + 1)
    session.execute(insert(TimeSlotRow).values(document_id=doc_id, pos=pos, slot_id=sid, time_ms=time_ms))
    return sid, pos


def touched_of(session: Session, tier_pks: set[int], anns: set[str], slots: set[int] | None = None) -> Touched:
    """A :class:`Touched` naming the tiers by their ids (from their primary keys)."""
    return Touched(frozenset(tier_ids(session, tier_pks).values()), frozenset(anns), frozenset(slots or ()))


def new_annotation_id(session: Session, doc_id: int) -> str:
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
