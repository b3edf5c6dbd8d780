"""Times of every annotation as ELAN shows them.

In an ELAN file only some annotations carry times of their own: alignable annotations point at time slots,
some of which are unaligned (no value), and referring annotations take their span from their parent. ELAN
places an unaligned slot between its aligned neighbours in the time order, and divides a parent's span
equally among the children of a symbolic subdivision in the order of their PREVIOUS_ANNOTATION chain.
This module does the same, so exports and the timeline show what ELAN shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotation.elan.model import Annotation, EafDocument


@dataclass(frozen=True, slots=True)
class Segment:
    """An annotation placed in time. ``aligned`` is False when either end was interpolated or inherited."""

    tier_id: str
    ann_id: str
    start: int
    end: int
    value: str
    aligned: bool
    parent: str | None = None
    cve_ref: str | None = None


def interpolate_slots(slots: list[tuple[str, int | None]]) -> dict[str, tuple[int, bool]]:
    """Map slot id -> (time ms, aligned?) with unaligned slots placed evenly between aligned neighbours."""
    out: dict[str, tuple[int, bool]] = {}
    n = len(slots)
    i = 0
    last_time = 0
    while i < n:
        sid, t = slots[i]
        if t is not None:
            out[sid] = (t, True)
            last_time = t
            i += 1
            continue
        j = i
        while j < n and slots[j][1] is None:
            j += 1
        next_time = slots[j][1] if j < n else None
        hi = next_time if next_time is not None else last_time
        hi = max(hi, last_time)
        gap = j - i + 1
        for k in range(i, j):
            out[slots[k][0]] = (last_time + (hi - last_time) * (k - i + 1) // gap, False)
        i = j
    return out


def document_segments(doc: EafDocument) -> dict[str, list[Segment]]:
    """Every annotation of the document with its start and end, tier by tier in document order."""
    slots = interpolate_slots([(s.slot_id, s.time) for s in doc.time_slots])
    by_id: dict[str, tuple[str, Annotation]] = {}
    for tier in doc.tiers:
        for a in tier.annotations:
            by_id[a.ann_id] = (tier.tier_id, a)
    spans: dict[str, tuple[int, int, bool]] = {}
    # a parent's children grouped by tier: a symbolic subdivision divides the parent's span among the
    # children on one tier, never among the children on different tiers
    children: dict[str, dict[str, list[Annotation]]] = {}
    for tid, a in by_id.values():
        if a.ref is None:
            s1 = slots.get(a.ts1 or "", (0, False))
            s2 = slots.get(a.ts2 or "", (0, False))
            spans[a.ann_id] = (s1[0], s2[0], s1[1] and s2[1])
        else:
            children.setdefault(a.ref, {}).setdefault(tid, []).append(a)

    def place(parent_id: str, depth: int = 0) -> None:
        groups = children.get(parent_id)
        if not groups or depth > 64:
            return
        p_start, p_end, _ = spans[parent_id]
        for kids in groups.values():
            for k, s, e in child_spans(p_start, p_end, kids):
                spans[k.ann_id] = (s, e, False)
                place(k.ann_id, depth + 1)

    for aid in [aid for aid, (_, a) in by_id.items() if a.ref is None]:
        place(aid)
    out: dict[str, list[Segment]] = {}
    for tier in doc.tiers:
        segs = out.setdefault(tier.tier_id, [])
        for a in tier.annotations:
            start, end, aligned = spans.get(a.ann_id, (0, 0, False))
            segs.append(Segment(tier.tier_id, a.ann_id, start, end, a.value, aligned, a.ref, a.cve_ref))
        segs.sort(key=lambda s: (s.start, s.end))
    return out


def child_spans(p_start: int, p_end: int, kids: list[Annotation]) -> list[tuple[Annotation, int, int]]:
    """Where ELAN shows one parent's referring children on one tier: a symbolic subdivision (a chain, or more
    than one child) divides the parent's span equally in chain order; a lone child spans the whole parent."""
    ordered = chain_order(kids)
    if not any(k.prev is not None for k in kids) and len(kids) <= 1:
        return [(k, p_start, p_end) for k in ordered]
    n = len(ordered)
    return [
        (k, p_start + (p_end - p_start) * i // n, p_start + (p_end - p_start) * (i + 1) // n)
        for i, k in enumerate(ordered)
    ]


def chain_order(kids: list[Annotation]) -> list[Annotation]:
    """Children of one parent in PREVIOUS_ANNOTATION order (file order where there is no chain)."""
    if all(k.prev is None for k in kids):
        return kids
    by_prev = {k.prev: k for k in kids}
    ordered: list[Annotation] = []
    cur = by_prev.get(None)
    seen: set[str] = set()
    while cur is not None and cur.ann_id not in seen:
        ordered.append(cur)
        seen.add(cur.ann_id)
        cur = by_prev.get(cur.ann_id)
    ordered += [k for k in kids if k.ann_id not in seen]
    return ordered
