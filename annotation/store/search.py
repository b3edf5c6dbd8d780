"""Search across every document of a project: the annotations whose value contains a text.

The match is made by the database (``ILIKE``, with ``%`` and ``_`` in the text taken literally), so it
costs one indexed scan, not a load of every document. Case is ignored for ASCII letters on SQLite and for
all letters on PostgreSQL. A referring annotation is placed at the time of the aligned annotation it
hangs from; an annotation whose time slots are unaligned has no time (``start`` is None).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from annotation.errors import InvalidEdit
from annotation.store.engine import Store
from annotation.store.tables import AnnotationRow, Document, Recording, TierRow, TimeSlotRow

__all__ = ["SearchHit", "search_annotations"]

MAX_HITS = 1000


@dataclass(frozen=True)
class SearchHit:
    doc_id: int
    doc_name: str
    tier_id: str
    ann_id: str
    value: str
    start: int | None
    end: int | None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_annotations(
    store: Store,
    text: str,
    *,
    project_id: int | None = None,
    tier: str | None = None,
    limit: int = 200,
) -> tuple[list[SearchHit], bool]:
    """The annotations (of one project, or all) whose value contains ``text``, by document, tier and time;
    and whether there were more than ``limit``.

    Raises:
        InvalidEdit: an empty text, or a limit outside 1-1000.
    """
    needle = text.strip()
    if not needle:
        raise InvalidEdit("search: type some text to look for")
    if not 1 <= limit <= MAX_HITS:
        raise InvalidEdit(f"search: limit {limit} must be between 1 and {MAX_HITS}")
    q = (
        select(AnnotationRow, TierRow.tier_id, Document.name)
        .join(TierRow, TierRow.id == AnnotationRow.tier_pk)
        .join(Document, Document.id == AnnotationRow.document_id)
        .where(AnnotationRow.value.ilike(_like(needle), escape="\\"))
        .order_by(Document.name, Document.id, TierRow.pos, AnnotationRow.pos)
        .limit(limit + 1)
    )
    if project_id is not None:  # the document's own project, else its recording's (as document_project says)
        of_project = select(Recording.id).where(Recording.project_id == project_id)
        q = q.where(
            (Document.project_id == project_id)
            | (Document.project_id.is_(None) & Document.recording_id.in_(of_project))
        )
    if tier is not None:
        q = q.where(TierRow.tier_id == tier)
    with store.session() as s:
        rows = s.execute(q).all()
        more = len(rows) > limit
        hits = []
        for a, tier_id, doc_name in rows[:limit]:
            start, end = _times(s, a)
            hits.append(SearchHit(a.document_id, doc_name, tier_id, a.ann_id, a.value, start, end))
    return hits, more


def _times(s: Session, a: AnnotationRow) -> tuple[int | None, int | None]:
    seen = 0
    while a.ref is not None and seen < 64:  # a referring chain ends at an aligned annotation
        parent = s.scalar(
            select(AnnotationRow).where(and_(AnnotationRow.document_id == a.document_id, AnnotationRow.ann_id == a.ref))
        )
        if parent is None:
            return None, None
        a, seen = parent, seen + 1
    if a.ts1 is None or a.ts2 is None:
        return None, None
    slot = aliased(TimeSlotRow)
    times: dict[str, int | None] = {
        slot_id: ms
        for slot_id, ms in s.execute(
            select(slot.slot_id, slot.time_ms).where(
                slot.document_id == a.document_id, slot.slot_id.in_((a.ts1, a.ts2))
            )
        )
    }
    return times.get(a.ts1), times.get(a.ts2)
