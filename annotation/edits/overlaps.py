"""The one rule every edit that writes a time-aligned annotation keeps: annotations on one tier never overlap
(ELAN's model has none; a file ELAN writes has none). Creating, moving, resizing, splitting and rapid coding
all ask :func:`overlapping` before they write, and refuse with :class:`~annotation.errors.OverlapError`,
one line that names the annotation they run into, or (creating with ``trim``) fit themselves in.

Two spans overlap when each starts before the other ends: annotations that only touch (one ends where the
next starts) do not. A file from elsewhere that already has overlaps is stored as it is (lossless); an edit
there is refused only when it makes something overlap that did not before (see :func:`new_overlaps`), so
such a tier is never made worse. :func:`tier_overlaps` finds them, for the import to say so.

The store has no index on times, so asking it which annotations of a tier lie around a time reads the whole
tier (tens of milliseconds at 100,000 annotations, on every edit). A process therefore remembers a tier's
spans after the first such question (:class:`_TierSpans`, numpy arrays searched in O(log n)), stamped with
the document's ``modified_at``; every edit changes that stamp, so the memory is used only while the stamp is
still the one the edit found when it took the document (:func:`~annotation.edits.base.take_document`), and
only for the first question of a unit of work (before the edit's own writes). After a commit,
:func:`remember_edit` moves the memory on by the annotations the edit touched; anything else (an edit by
another process, a failed commit) leaves a stamp that does not match, and the tier is read again.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, and_, select
from sqlalchemy.orm import Session, aliased

from annotation.edits.base import TAKEN, Touched, document_stamp
from annotation.elan import EafDocument
from annotation.errors import OverlapError
from annotation.store import AnnotationRow, TimeSlotRow
from media_tools.clock import clock_text

_ANN: Table = AnnotationRow.__table__  # type: ignore[assignment]

__all__ = [
    "Neighbour",
    "document_overlaps",
    "edit_memory",
    "new_overlaps",
    "overlap_error",
    "overlapping",
    "remember_edit",
    "span_text",
    "tier_overlaps",
]


@dataclass(frozen=True)
class Neighbour:
    """An aligned annotation of the tier, with its times."""

    ann_id: str
    start: int
    end: int
    value: str


def span_text(start: int, end: int) -> str:
    """``0:12.000–0:13.000``: a span as people read it in messages."""
    return f"{clock_text(start, hours='auto')}–{clock_text(end, hours='auto')}"


def _spans_query(*where: Any) -> Any:
    s1, s2 = aliased(TimeSlotRow), aliased(TimeSlotRow)
    return (
        select(_ANN.c.ann_id, s1.time_ms, s2.time_ms, _ANN.c.value, _ANN.c.tier_pk)
        .join(s1, and_(s1.document_id == _ANN.c.document_id, s1.slot_id == _ANN.c.ts1))
        .join(s2, and_(s2.document_id == _ANN.c.document_id, s2.slot_id == _ANN.c.ts2))
        .where(_ANN.c.ref.is_(None), s1.time_ms.is_not(None), s2.time_ms.is_not(None), *where)
    )


class _TierSpans:
    """A tier's aligned annotations sorted by start, as numpy arrays (``reach``: the latest end so far)."""

    def __init__(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        import numpy as np  # here, not at the top: every command that loads the services would pay ~0.25 s

        items = sorted(rows, key=lambda r: (r[1], r[2]))
        self.ids = [r[0] for r in items]
        self.values = [r[3] for r in items]
        self.start_of = {r[0]: r[1] for r in items}
        self.starts = np.array([r[1] for r in items], dtype=np.int64)
        self.ends = np.array([r[2] for r in items], dtype=np.int64)
        self._reach()

    def _reach(self) -> None:
        import numpy as np

        self.reach = np.maximum.accumulate(self.ends) if len(self.ends) else self.ends

    def around(self, start: int, end: int) -> list[Neighbour]:
        import numpy as np

        lo = int(np.searchsorted(self.reach, start, side="right"))
        hi = int(np.searchsorted(self.starts, end, side="left"))
        return [
            Neighbour(self.ids[i], int(self.starts[i]), int(self.ends[i]), self.values[i])
            for i in range(lo, hi)
            if self.ends[i] > start
        ]

    def _position(self, ann_id: str) -> int:
        import numpy as np

        i = int(np.searchsorted(self.starts, self.start_of[ann_id], side="left"))
        while self.ids[i] != ann_id:
            i += 1
        return i

    def replace(self, gone: Iterable[str], rows: list[tuple[str, int, int, str]]) -> None:
        """Drop these ids (and those ``rows`` bring again), then add ``rows`` (O(log n) each, the arrays'
        copies aside)."""
        import numpy as np

        drop = sorted(self._position(a) for a in {*gone, *(r[0] for r in rows)} if a in self.start_of)
        for i in reversed(drop):
            del self.start_of[self.ids[i]]
            del self.ids[i]
            del self.values[i]
        if drop:
            self.starts = np.delete(self.starts, drop)
            self.ends = np.delete(self.ends, drop)
        for a, s, e, v in sorted(rows, key=lambda r: (r[1], r[2])):
            i = int(np.searchsorted(self.starts, s, side="right"))
            self.ids.insert(i, a)
            self.values.insert(i, v)
            self.start_of[a] = s
            self.starts = np.insert(self.starts, i, s)
            self.ends = np.insert(self.ends, i, e)
        self._reach()


#: engine -> (document id, tier pk) -> (the document's stamp, the tier's spans)
_MEMORY: weakref.WeakKeyDictionary[Engine, dict[tuple[int, int], tuple[Any, _TierSpans]]] = weakref.WeakKeyDictionary()
_ASKED = "frontdoor.overlaps_asked"  # session.info: this unit of work asked already (and may have written)


def overlapping(
    session: Session, doc_id: int, tier_pk: int, start: int, end: int, *, exclude: Iterable[str] = ()
) -> list[Neighbour]:
    """The aligned annotations of a tier that overlap ``[start, end)``, in time order (``exclude``: ids left
    out, say the annotation being moved). Annotations whose start or end has no time are not placed by
    time and cannot be said to overlap; they are left out."""
    skip = set(exclude)
    taken = session.info.get(TAKEN, {})
    first = not session.info.get(_ASKED)
    session.info[_ASKED] = True
    if first and doc_id in taken:  # the edit has written nothing yet: what the process remembers may serve
        memory = _MEMORY.setdefault(session.get_bind(), {})  # type: ignore[arg-type]
        known = memory.get((doc_id, tier_pk))
        if known is None or known[0] != taken[doc_id]:
            rows = session.execute(_spans_query(_ANN.c.tier_pk == tier_pk)).all()
            known = (taken[doc_id], _TierSpans((a, int(s), int(e), v or "") for a, s, e, v, _ in rows))
            memory[(doc_id, tier_pk)] = known
        found = known[1].around(start, end)
    else:
        q = _spans_query(_ANN.c.tier_pk == tier_pk, _ANN.c.ts1.is_not(None))
        found = [
            Neighbour(a, int(s), int(e), v or "")
            for a, s, e, v, _ in session.execute(q)
            if int(s) < end and int(e) > start
        ]
    return sorted((n for n in found if n.ann_id not in skip), key=lambda n: (n.start, n.end, n.ann_id))


def edit_memory(session: Session, doc_id: int, touched: Touched) -> Any:
    """Before an edit's commit: what :func:`remember_edit` needs to move the process's memory of the
    document's tiers on by this edit (None when there is nothing to move on)."""
    taken = session.info.get(TAKEN, {})
    memory = _MEMORY.get(session.get_bind())  # type: ignore[arg-type]
    if doc_id not in taken or not memory or not any(d == doc_id for d, _ in memory):
        return None
    rows: list[tuple[str, int, int, str, int]] = []
    ids = sorted(touched.annotations)
    for i in range(0, len(ids), 2000):
        q = _spans_query(_ANN.c.document_id == doc_id, _ANN.c.ann_id.in_(ids[i : i + 2000]))
        rows += [(a, int(s), int(e), v or "", t) for a, s, e, v, t in session.execute(q)]
    return (session.get_bind(), doc_id, taken[doc_id], document_stamp(session, doc_id), set(ids), rows)


def remember_edit(change: Any) -> None:
    """After the commit: the remembered tiers of the document, as the edit left them, with its new stamp."""
    if change is None:
        return
    engine, doc_id, before, after, ids, rows = change
    memory = _MEMORY.get(engine, {})
    for key in [k for k in memory if k[0] == doc_id]:
        stamp, spans = memory[key]
        if stamp != before:
            del memory[key]
            continue
        mine = [(a, s, e, v) for a, s, e, v, t in rows if t == key[1]]
        gone = [a for a in ids if a in spans.start_of]
        if gone or mine:
            spans.replace(gone, mine)
        memory[key] = (after, spans)


def new_overlaps(
    session: Session, doc_id: int, tier_pk: int, ann_id: str, old: tuple[int, int] | None, new: tuple[int, int]
) -> list[Neighbour]:
    """The annotations that ``ann_id`` would overlap at ``new`` and did not overlap at ``old`` (its span
    before the edit, None for a new annotation): an edit may not make a tier worse."""
    if old is None:
        return overlapping(session, doc_id, tier_pk, *new, exclude=[ann_id])
    both = overlapping(session, doc_id, tier_pk, min(old[0], new[0]), max(old[1], new[1]), exclude=[ann_id])
    return [n for n in both if n.start < new[1] and n.end > new[0] and not (n.start < old[1] and n.end > old[0])]


def overlap_error(tier_id: str, start: int, end: int, neighbour: Neighbour, *, what: str = "") -> OverlapError:
    """The one-line refusal naming the annotation an edit runs into."""
    label = f" {neighbour.value!r}" if neighbour.value else ""
    subject = f"{what} " if what else ""
    return OverlapError(
        f"tier {tier_id!r}: {subject}{span_text(start, end)} overlaps {neighbour.ann_id}{label} "
        f"({span_text(neighbour.start, neighbour.end)}); annotations on one tier cannot overlap",
        neighbour.ann_id,
    )


def tier_overlaps(spans: Iterable[tuple[str, int, int]]) -> list[tuple[str, str]]:
    """Pairs of ids whose spans overlap, among one tier's ``(id, start, end)`` (each later-starting one with
    the one before it that reaches furthest): what an import reports, in O(n log n)."""
    out: list[tuple[str, str]] = []
    reach: tuple[str, int] | None = None
    for aid, start, end in sorted(spans, key=lambda x: (x[1], x[2])):
        if reach is not None and start < reach[1] and end > start:
            out.append((reach[0], aid))
        if reach is None or end > reach[1]:
            reach = (aid, end)
    return out


def document_overlaps(doc: EafDocument) -> list[str]:
    """One line per tier of a document (as read from a file) whose aligned annotations overlap: how many
    pairs, and the first. The document is stored as it is; this says so."""
    times = {s.slot_id: s.time for s in doc.time_slots}
    out: list[str] = []
    for tier in doc.tiers:
        spans = []
        for a in tier.annotations:
            s, e = times.get(a.ts1 or ""), times.get(a.ts2 or "")
            if a.ref is None and s is not None and e is not None:
                spans.append((a.ann_id, s, e))
        pairs = tier_overlaps(spans)
        if pairs:
            first = {aid: s for aid, s, _ in spans}[pairs[0][1]]
            noun = "pair" if len(pairs) == 1 else "pairs"
            out.append(
                f"tier {tier.tier_id!r}: {len(pairs)} overlapping {noun} of annotations, first {pairs[0][0]} and "
                f"{pairs[0][1]} at {clock_text(first, hours='auto')}; kept as in the file"
            )
    return out
