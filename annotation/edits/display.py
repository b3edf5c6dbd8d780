"""What changed on screen after an edit, without loading the document again.

:func:`annotation.services.document_display` places every annotation of a document in time; with 100,000
annotations that takes about a second, too slow to repeat after every edit. An edit says what it touched
(:class:`annotation.edits.base.Touched`); :func:`segments_patch` reads only the rows needed to place those
annotations again, exactly as ``document_display`` places them:

- a touched annotation and all its referring descendants (their times are their parent's);
- for a referring annotation, its parent chain up to an alignable annotation and its siblings on its tier (a
  symbolic subdivision shares the parent's span out by the number of children);
- when time slots were created, moved or removed and the document has unaligned slots, the annotations on
  the unaligned slots next to them in the time order (ELAN places an unaligned slot between its aligned
  neighbours), with the whole time order read once to place them.

The result is plain data: the ids that are gone and, tier by tier, the segments to show instead of the ones
with the same ids.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from annotation.edits.base import Touched
from annotation.elan import Annotation, Segment, child_spans, interpolate_slots
from annotation.store import AnnotationRow, Store, TierRow, TimeSlotRow

_ANN: Table = AnnotationRow.__table__  # type: ignore[assignment]
_SLOT: Table = TimeSlotRow.__table__  # type: ignore[assignment]
_CHUNK = 2000  # ids per IN (...) list
_MAX_DEPTH = 65  # document_segments places referring annotations this many levels below an alignable one


@dataclass(frozen=True)
class SegmentPatch:
    """Annotations to drop (``removed``) and, per tier, segments that replace those with the same ids."""

    removed: frozenset[str] = frozenset()
    segments: dict[str, list[Segment]] = field(default_factory=dict)

    @property
    def tiers(self) -> set[str]:
        return set(self.segments)

    def __len__(self) -> int:
        return len(self.removed) + sum(len(v) for v in self.segments.values())


def segments_patch(store: Store, doc_id: int, touched: Touched) -> SegmentPatch:
    """The display change an edit made (see the module docstring). Raises StoreUnavailable."""
    with store.session() as s:
        return touched_segments(s, doc_id, touched)


def apply_patch(display: dict[str, list[Segment]], patch: SegmentPatch) -> None:
    """Apply a patch to a whole display (``document_display``'s result) in place, keeping its order."""
    replaced = patch.removed | {s.ann_id for segs in patch.segments.values() for s in segs}
    for tier_id, segs in display.items():
        if any(s.ann_id in replaced for s in segs):
            display[tier_id] = [s for s in segs if s.ann_id not in replaced]
    for tier_id, segs in patch.segments.items():
        display.setdefault(tier_id, []).extend(segs)
        display[tier_id].sort(key=lambda s: (s.start, s.end))


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(ids)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class _Rows:
    """The annotation rows read so far, by id, and the reads that fetch more."""

    def __init__(self, session: Session, doc_id: int) -> None:
        self.session = session
        self.doc_id = doc_id
        self.by_id: dict[str, dict[str, Any]] = {}

    def _read(self, *where: Any) -> list[dict[str, Any]]:
        q = select(_ANN).where(*where).order_by(_ANN.c.tier_pk, _ANN.c.pos)
        rows = [dict(r) for r in self.session.execute(q).mappings()]
        for r in rows:
            self.by_id.setdefault(r["ann_id"], r)
        return rows

    def by_ids(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        missing = [i for i in ids if i not in self.by_id]
        for chunk in _chunks(missing):
            self._read(_ANN.c.document_id == self.doc_id, _ANN.c.ann_id.in_(chunk))
        return [self.by_id[i] for i in ids if i in self.by_id]

    def children(self, parents: Iterable[str], tier_pks: Iterable[int]) -> list[dict[str, Any]]:
        """Referring children of these parents on these tiers. No document filter: a tier is in one document,
        and the tier index then serves (with ``document_id`` SQLite reads every annotation of the document)."""
        tiers = sorted(set(tier_pks))
        if not tiers:
            return []
        out: list[dict[str, Any]] = []
        for chunk in _chunks(set(parents)):
            out += self._read(_ANN.c.tier_pk.in_(tiers), _ANN.c.ref.in_(chunk))
        return [self.by_id[r["ann_id"]] for r in out]

    def on_slots(self, slot_ids: set[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in _chunks(slot_ids):
            out += self._read(_ANN.c.document_id == self.doc_id, _ANN.c.ts1.in_(chunk) | _ANN.c.ts2.in_(chunk))
        return [self.by_id[r["ann_id"]] for r in out]


def touched_segments(session: Session, doc_id: int, touched: Touched) -> SegmentPatch:
    """:func:`segments_patch` inside the caller's unit of work."""
    tiers = session.execute(
        select(TierRow.id, TierRow.tier_id, TierRow.parent_ref).where(TierRow.document_id == doc_id)
    ).all()
    name = {t.id: t.tier_id for t in tiers}
    pk_of = {t.tier_id: t.id for t in tiers}
    below: dict[int, list[int]] = {}
    for t in tiers:
        parent = pk_of.get(t.parent_ref or "")
        if parent is not None:
            below.setdefault(parent, []).append(t.id)
    rows = _Rows(session, doc_id)
    found = rows.by_ids(touched.annotations)
    removed = frozenset(touched.annotations - {r["ann_id"] for r in found})
    order = _TimeOrder(session, doc_id)
    if touched.slots:
        neighbours = _unaligned_neighbours(order.around(touched.slots), touched.slots)
        if neighbours:
            found += rows.on_slots(neighbours)
    want = _with_descendants(rows, found, below)
    times = _slot_times(session, doc_id, rows, want, order)
    groups: dict[tuple[str, int], list[Annotation]] = {}
    for k in sorted(rows.by_id.values(), key=lambda k: (k["tier_pk"], k["pos"])):
        if k["ref"] is not None:
            groups.setdefault((k["ref"], k["tier_pk"]), []).append(Annotation(k["ann_id"], "", prev=k["prev"]))
    spans: dict[str, tuple[int, int, bool]] = {}
    out: dict[str, list[Segment]] = {}
    for r in want.values():
        start, end, aligned = _span(r, rows, groups, times, spans)
        seg = Segment(name[r["tier_pk"]], r["ann_id"], start, end, r["value"], aligned, r["ref"], r["cve_ref"])
        out.setdefault(seg.tier_id, []).append(seg)
    for segs in out.values():
        segs.sort(key=lambda s: (s.start, s.end))
    return SegmentPatch(removed, out)


def _with_descendants(
    rows: _Rows, found: list[dict[str, Any]], below: dict[int, list[int]]
) -> dict[str, dict[str, Any]]:
    want = {r["ann_id"]: r for r in found}
    frontier = list(want.values())
    while frontier:
        tiers = {c for r in frontier for c in below.get(r["tier_pk"], ())}
        kids = rows.children([r["ann_id"] for r in frontier], tiers)
        frontier = [k for k in kids if k["ann_id"] not in want]
        want.update((k["ann_id"], k) for k in frontier)
    return want


Slot = tuple[str, int | None, int]  # slot id, time (None: unaligned), position in the time order


class _TimeOrder:
    """Stretches of the document's time order read around some positions, each reaching an aligned slot (or
    an end of the order) on both sides: the unaligned slots in them are placed by ``interpolate_slots`` as in
    the whole order, without reading all of it (a few hundred thousand rows)."""

    _FIRST_WIDTH = 16
    _LAST_WIDTH = 1 << 14

    def __init__(self, session: Session, doc_id: int) -> None:
        self.session = session
        self.doc_id = doc_id
        self.rows: dict[int, Slot] = {}
        self._last: int | None = None

    def _read(self, ranges: list[tuple[int, int]]) -> None:
        q = select(_SLOT.c.slot_id, _SLOT.c.time_ms, _SLOT.c.pos).where(
            _SLOT.c.document_id == self.doc_id, or_(*(_SLOT.c.pos.between(a, b) for a, b in ranges))
        )
        for sid, t, pos in self.session.execute(q):
            self.rows[pos] = (sid, t, pos)

    def _last_position(self) -> int:
        if self._last is None:
            last = self.session.scalar(select(func.max(_SLOT.c.pos)).where(_SLOT.c.document_id == self.doc_id))
            self._last = last if last is not None else -1
        return self._last

    def around(self, positions: Iterable[int]) -> list[Slot]:
        """The stretches around these positions, in time order."""
        todo, width = set(positions), self._FIRST_WIDTH
        while todo:
            if width > self._LAST_WIDTH:  # a very long unaligned run: read the whole order once
                self._read([(-(1 << 62), 1 << 62)])
                break
            ranges = _merge([(p - width, p + width) for p in todo])
            self._read(ranges)
            short = []
            for a, b in ranges:
                inside = sorted((r for r in self.rows.values() if a <= r[2] <= b), key=lambda r: r[2])
                if inside and (
                    (inside[0][1] is None and a > 0) or (inside[-1][1] is None and b < self._last_position())
                ):
                    short.append((a, b))
            todo = {p for p in todo if any(a <= p <= b for a, b in short)}
            width *= 4
        return sorted(self.rows.values(), key=lambda r: r[2])


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _unaligned_neighbours(order: list[tuple[str, int | None, int]], positions: Iterable[int]) -> set[str]:
    """The unaligned slots in the runs right before and after these positions of the time order."""
    pos = [p for _, _, p in order]
    out: set[str] = set()
    for p in positions:
        i = bisect.bisect_left(pos, p)
        j = i - 1
        while j >= 0 and order[j][1] is None:
            out.add(order[j][0])
            j -= 1
        k = i + 1 if i < len(order) and pos[i] == p else i
        while k < len(order) and order[k][1] is None:
            out.add(order[k][0])
            k += 1
    return out


def _slot_times(
    session: Session, doc_id: int, rows: _Rows, want: dict[str, dict[str, Any]], order: _TimeOrder
) -> dict[str, tuple[int, bool]]:
    """Times of the slots the wanted annotations hang from, after reading their parent chains and siblings."""
    frontier = [r for r in want.values() if r["ref"] is not None]
    seen: set[str] = set()
    while frontier:
        parents = {r["ref"] for r in frontier} - seen
        seen |= parents
        found = rows.by_ids(parents)
        rows.children(parents, {r["tier_pk"] for r in frontier})  # the siblings that share the parent's span
        frontier = [p for p in found if p["ref"] is not None]
    slot_ids = {s for r in rows.by_id.values() if r["ref"] is None for s in (r["ts1"], r["ts2"]) if s is not None}
    times: dict[str, tuple[int, bool]] = {}
    unaligned: set[int] = set()
    for chunk in _chunks(slot_ids):
        q = select(_SLOT.c.slot_id, _SLOT.c.time_ms, _SLOT.c.pos).where(
            _SLOT.c.document_id == doc_id, _SLOT.c.slot_id.in_(chunk)
        )
        for sid, t, pos in session.execute(q):
            if t is None:
                unaligned.add(pos)
            else:
                times[sid] = (t, True)
    if unaligned:
        placed = interpolate_slots([(sid, t) for sid, t, _ in order.around(unaligned)])
        times.update((sid, placed[sid]) for sid in slot_ids if sid not in times and sid in placed)
    return times


def _span(
    r: dict[str, Any],
    rows: _Rows,
    groups: dict[tuple[str, int], list[Annotation]],
    times: dict[str, tuple[int, bool]],
    spans: dict[str, tuple[int, int, bool]],
) -> tuple[int, int, bool]:
    """Where ``document_display`` places the annotation (memoised in ``spans``)."""
    if r["ann_id"] in spans:
        return spans[r["ann_id"]]
    chain = [r]  # the annotation, its parent, ... up to an alignable annotation
    ids = {r["ann_id"]}
    while chain[-1]["ref"] is not None:
        parent = rows.by_id.get(chain[-1]["ref"])
        if parent is None or parent["ann_id"] in ids:
            for c in chain:  # no alignable ancestor: document_display never places it
                spans.setdefault(c["ann_id"], (0, 0, False))
            return spans[r["ann_id"]]
        chain.append(parent)
        ids.add(parent["ann_id"])
    top = chain[-1]
    if top["ann_id"] not in spans:
        s1 = times.get(top["ts1"] or "", (0, False))
        s2 = times.get(top["ts2"] or "", (0, False))
        spans[top["ann_id"]] = (s1[0], s2[0], s1[1] and s2[1])
    for level, child in enumerate(reversed(chain[:-1]), 1):
        if child["ann_id"] in spans:
            continue
        if level > _MAX_DEPTH:
            spans[child["ann_id"]] = (0, 0, False)
            continue
        p_start, p_end, _ = spans[child["ref"]]
        for a, s, e in child_spans(p_start, p_end, groups[(child["ref"], child["tier_pk"])]):
            spans[a.ann_id] = (s, e, False)
    return spans[r["ann_id"]]
