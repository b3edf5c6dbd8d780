"""The timeline's data for one tier: segments sorted by start as numpy arrays (no Qt), for range queries in
O(log n) and for replacing a few segments after an edit without rebuilding the tier."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from annotation.elan import Segment

IntArray = npt.NDArray[np.int64]

HUES = (210, 30, 120, 280, 0, 180, 50, 330, 90, 250, 15, 160)
OUT_OF_VOCABULARY = len(HUES)  # colour index of a value its tier's vocabulary does not have


class TierData:
    """One tier's segments sorted by (start, end) as numpy arrays, for O(log n) range queries.

    ``patch`` replaces a few segments in place (a numpy delete and insert, O(n) in C, no Python loop over the
    tier), which is what keeps one edit cheap on a tier of 100,000 annotations."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        n = len(segments)
        starts = np.fromiter((s.start for s in segments), np.int64, n)
        ends = np.fromiter((s.end for s in segments), np.int64, n)
        order = np.lexsort((ends, starts))
        self.segments: list[Segment] = [segments[i] for i in order.tolist()]
        self.starts: IntArray = starts[order]
        # a zero-length (or inverted) annotation still occupies the millisecond it starts in
        self.ends: IntArray = np.maximum(ends[order], self.starts + 1)
        self.values = [s.value for s in self.segments]
        self.by_id = {s.ann_id: s for s in self.segments}
        self.colors: npt.NDArray[np.intp] = np.zeros(n, dtype=np.intp)
        self._base = 0
        self._vocabulary: tuple[str, ...] = ()
        self._reach()

    def _reach(self) -> None:
        # reach[i]: the latest end among segments 0..i; sorted, so it bounds the first visible segment even
        # when segments overlap (an included tier, an interpolated slot)
        self.reach: IntArray = np.maximum.accumulate(self.ends) if len(self.ends) else self.ends

    @property
    def max_end(self) -> int:
        return int(self.reach[-1]) if len(self.reach) else 0

    def span(self, t0: float, t1: float) -> npt.NDArray[np.intp]:
        """Indices, in start order, of the segments overlapping ``[t0, t1)``: ``start < t1 and end > t0``."""
        # integer keys: a float key would make numpy convert the whole int64 array on every call
        lo = int(np.searchsorted(self.reach, np.int64(math.floor(t0)), side="right"))
        hi = int(np.searchsorted(self.starts, np.int64(math.ceil(t1)), side="left"))
        if hi <= lo:
            return np.empty(0, dtype=np.intp)
        keep = self.ends[lo:hi] > t0  # before `lo` nothing reaches t0; after it, an earlier long one may
        return np.flatnonzero(keep) + lo

    def position(self, ann_id: str) -> int | None:
        """Where the annotation is in start order (None when the tier does not have it)."""
        seg = self.by_id.get(ann_id)
        if seg is None:
            return None
        i = int(np.searchsorted(self.starts, np.int64(seg.start), side="left"))
        while i < len(self.segments) and self.segments[i].ann_id != ann_id:
            i += 1
        return i if i < len(self.segments) else None

    def free_around(self, start: float, end: float) -> tuple[int, int | None]:
        """The free stretch of the tier around ``[start, end)``: the latest end at or before ``start`` and the
        first start at or after ``end`` (None: nothing after). What overlaps the span itself is left out, so
        a drag stops at the neighbours (annotations on one tier never overlap)."""
        k = int(np.searchsorted(self.starts, np.int64(math.floor(start)), side="right"))
        before = self.ends[:k]
        before = before[before <= start]
        lo = int(before.max()) if len(before) else 0
        j = int(np.searchsorted(self.starts, np.int64(math.ceil(end)), side="left"))
        hi = int(self.starts[j]) if j < len(self.starts) else None
        return lo, hi

    def patch(self, removed: set[str], upserts: Sequence[Segment]) -> None:
        """Drop the segments with these ids (and those ``upserts`` replace), then add ``upserts``."""
        gone = removed | {s.ann_id for s in upserts}
        drop = sorted(i for i in (self.position(a) for a in gone if a in self.by_id) if i is not None)
        if drop:
            for i in reversed(drop):
                del self.segments[i]
                del self.values[i]
            self.starts = np.delete(self.starts, drop)
            self.ends = np.delete(self.ends, drop)
            self.colors = np.delete(self.colors, drop)
            for a in gone:
                self.by_id.pop(a, None)
        for seg in sorted(upserts, key=lambda s: (s.start, s.end)):
            end = max(seg.end, seg.start + 1)
            lo = int(np.searchsorted(self.starts, np.int64(seg.start), side="left"))
            hi = int(np.searchsorted(self.starts, np.int64(seg.start), side="right"))
            i = lo + int(np.searchsorted(self.ends[lo:hi], np.int64(end), side="right"))
            self.segments.insert(i, seg)
            self.values.insert(i, seg.value)
            self.starts = np.insert(self.starts, i, seg.start)
            self.ends = np.insert(self.ends, i, end)
            self.colors = np.insert(self.colors, i, color_slot(self._base, self._vocabulary, seg.value))
            self.by_id[seg.ann_id] = seg
        self._reach()

    def recolor(self, base: int, vocabulary: tuple[str, ...]) -> None:
        self._base, self._vocabulary = base, vocabulary
        slots = {v: color_slot(base, vocabulary, v) for v in set(self.values)}
        self.colors = np.fromiter((slots[v] for v in self.values), np.intp, len(self.values))


def color_slot(base: int, vocabulary: tuple[str, ...], value: str) -> int:
    if not vocabulary:
        return base
    try:
        return vocabulary.index(value) % len(HUES)
    except ValueError:
        return OUT_OF_VOCABULARY
