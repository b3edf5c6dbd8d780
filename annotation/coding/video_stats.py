"""Statistics on the coded video: time budgets per tier and value, and co-occurrence of codes on two tiers.

Every figure is computed from the segments ELAN would show (:func:`annotation.elan.timing.document_segments`), so
a referring annotation counts with its parent's span and an unaligned slot with its interpolated time.

How time is counted
    ``total_ms`` of a value is the plain sum of its segments' durations. Segments of one tier that overlap
    each other (ELAN lets a file hold them, and a dependent tier may repeat its parent's span) are **not**
    merged first: two overlapping "consultation" segments of 4 s and 6 s that share 2 s add up to 10 s, not
    8 s. This keeps ``total_ms == count * mean_ms`` and makes the numbers add up to what a coder entered; on a
    tier coded the usual way (no overlaps within the tier) it is the same as the time covered.

    ``share`` is ``total_ms`` divided by the length of the recording: the linked recording's duration when
    the store knows it, less the document's time origin (ELAN's TIME_ORIGIN: document time 0 is that far
    into the recording, so the document sees only the rest of it), else the document's extent (from 0 to
    the latest time in the document, on any tier). :func:`recording_length` says which was used. Only the
    part of a segment inside that length counts towards the share (a segment drawn past the recording's end
    adds to ``total_ms`` but not to the share), so a share can pass 1 only when segments overlap.

Co-occurrence
    Two codes co-occur where a segment of tier A and one of tier B overlap by more than 0 ms. ``count`` is the
    number of such segment pairs and ``overlap_ms`` the sum of their overlaps (again without merging),
    ``share_a``/``share_b`` that overlap as a part of the value's total time on its own tier.

The pure functions (:func:`stats_from_segments`, :func:`co_occurrence_from_segments`) take lists of
:class:`~annotation.elan.timing.Segment` and need no store; :func:`code_stats` and :func:`co_occurrence` read a
stored document in one unit of work and call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from annotation.elan import EafDocument, Segment, document_segments
from annotation.errors import NotFound
from annotation.store import Recording, Store, get_document_row, load_document

LengthSource = Literal["recording", "annotations"]


@dataclass(frozen=True, slots=True)
class CodeStat:
    """One value of one tier: how often and how long it was coded.

    ``total_ms`` is the sum of the segments' durations (overlaps within the tier are not merged), ``mean_ms``
    is ``total_ms / count``, ``share`` is ``total_ms`` over the recording's length, counting only what lies
    inside it (see the module notes).
    """

    tier: str
    value: str
    count: int
    total_ms: int
    mean_ms: float
    share: float


@dataclass(frozen=True, slots=True)
class CoOccurrence:
    """A pair of values (one per tier) whose segments overlap."""

    value_a: str
    value_b: str
    count: int
    overlap_ms: int
    share_a: float
    share_b: float


@dataclass(frozen=True, slots=True)
class RecordingLength:
    """The length shares are taken of, and where it came from."""

    ms: int
    source: LengthSource


# ---- pure functions ---------------------------------------------------------------------------------------


def stats_from_segments(
    segments: Mapping[str, Sequence[Segment]],
    length_ms: int,
    value_order: Mapping[str, Sequence[str]] | None = None,
) -> list[CodeStat]:
    """Count, total, mean and share per (tier, value), tiers in the mapping's order.

    Values come in ``value_order[tier]`` order (a tier's vocabulary, say) and then any others in the order
    they first occur in time. Values that never occur are left out. ``length_ms`` <= 0 gives shares of 0;
    a share counts only the part of each segment between 0 and ``length_ms``.
    """
    out: list[CodeStat] = []
    for tier, segs in segments.items():
        counts: dict[str, int] = {}
        totals: dict[str, int] = {}
        inside: dict[str, int] = {}
        for s in sorted(segs, key=lambda s: (s.start, s.end)):
            counts[s.value] = counts.get(s.value, 0) + 1
            totals[s.value] = totals.get(s.value, 0) + (s.end - s.start)
            inside[s.value] = inside.get(s.value, 0) + max(0, min(s.end, length_ms) - max(s.start, 0))
        order = [v for v in (value_order or {}).get(tier, ()) if v in counts]
        seen = set(order)
        order += [v for v in counts if v not in seen]
        for v in order:
            n, total = counts[v], totals[v]
            out.append(CodeStat(tier, v, n, total, total / n, inside[v] / length_ms if length_ms > 0 else 0.0))
    return out


def co_occurrence_from_segments(segs_a: Iterable[Segment], segs_b: Iterable[Segment]) -> list[CoOccurrence]:
    """Overlap time and number of overlapping segment pairs for every (value on A, value on B) that meet.

    A sweep over both tiers sorted by start: O(n + m + pairs). Rows are ordered by overlap, longest first,
    then by the two values.
    """
    a_sorted = sorted(segs_a, key=lambda s: (s.start, s.end))
    b_sorted = sorted(segs_b, key=lambda s: (s.start, s.end))
    total_a: dict[str, int] = {}
    for s in a_sorted:
        total_a[s.value] = total_a.get(s.value, 0) + (s.end - s.start)
    total_b: dict[str, int] = {}
    for s in b_sorted:
        total_b[s.value] = total_b.get(s.value, 0) + (s.end - s.start)

    pairs: dict[tuple[str, str], list[int]] = {}
    active: list[Segment] = []  # segments of B that started before the current A segment ends
    j = 0
    for a in a_sorted:
        while j < len(b_sorted) and b_sorted[j].start < a.end:
            active.append(b_sorted[j])
            j += 1
        # A starts never decrease, so a B segment that ended before this one starts is done for good.
        active = [b for b in active if b.end > a.start]
        for b in active:
            ov = min(a.end, b.end) - max(a.start, b.start)
            if ov > 0:
                cell = pairs.setdefault((a.value, b.value), [0, 0])
                cell[0] += 1
                cell[1] += ov
    rows = [
        CoOccurrence(
            va,
            vb,
            n,
            ov,
            ov / total_a[va] if total_a[va] else 0.0,
            ov / total_b[vb] if total_b[vb] else 0.0,
        )
        for (va, vb), (n, ov) in pairs.items()
    ]
    rows.sort(key=lambda r: (-r.overlap_ms, r.value_a, r.value_b))
    return rows


def document_extent(segments: Mapping[str, Sequence[Segment]]) -> int:
    """The latest end of any segment (0 for a document without annotations)."""
    return max((s.end for segs in segments.values() for s in segs), default=0)


def vocabulary_order(doc: EafDocument, tier_id: str) -> list[str]:
    """The values of the tier's controlled vocabulary in the vocabulary's order (every language), or []."""
    tier = doc.tier(tier_id)
    cv_ref = next(
        (
            lt.get("CONTROLLED_VOCABULARY_REF")
            for lt in doc.linguistic_types
            if lt.get("LINGUISTIC_TYPE_ID") == tier.linguistic_type_ref
        ),
        None,
    )
    for cv in doc.vocabularies:
        if cv.cv_id == cv_ref:
            return [v.value for e in cv.entries for v in e.values]
    return []


# ---- on the store -----------------------------------------------------------------------------------------


def pick_tiers(doc_id: int, segments: Mapping[str, Sequence[Segment]], tiers: Sequence[str] | None) -> list[str]:
    """``tiers`` checked against the document (all of its tiers when None), in the order asked for.

    Raises:
        NotFound: a tier the document does not have (the message lists the tiers it has).
    """
    if tiers is None:
        return list(segments)
    for t in tiers:
        if t not in segments:
            names = ", ".join(repr(n) for n in segments) or "none"
            raise NotFound(f"document {doc_id}: no tier {t!r} (tiers: {names})")
    return list(dict.fromkeys(tiers))


def _load(store: Store, doc_id: int) -> tuple[EafDocument, int | None]:
    """The document and the length of its recording as the document sees it (duration less time origin)."""
    with store.session() as s:
        row = get_document_row(s, doc_id)
        rec = s.get(Recording, row.recording_id) if row.recording_id is not None else None
        duration = rec.duration_ms if rec is not None else None
        if duration is not None:
            duration -= int(row.media_origin_ms or 0)
        return load_document(s, doc_id), duration


def recording_length(store: Store, doc_id: int) -> RecordingLength:
    """What shares are taken of: the linked recording's duration less the document's time origin, else the
    document's extent.

    Raises:
        NotFound: no such document.
    """
    doc, duration = _load(store, doc_id)
    return _length(duration, document_segments(doc))


def _length(duration: int | None, segments: Mapping[str, Sequence[Segment]]) -> RecordingLength:
    if duration is not None and duration > 0:
        return RecordingLength(duration, "recording")
    return RecordingLength(document_extent(segments), "annotations")


def code_stats(store: Store, doc_id: int, tiers: Sequence[str] | None = None) -> list[CodeStat]:
    """Count, total and mean duration and share of the recording per tier and value of a stored document.

    ``tiers`` limits and orders the tiers (default: every tier, in document order). Values follow the tier's
    vocabulary, then first occurrence. See the module notes for how overlaps are counted.

    Raises:
        NotFound: no such document, or it has no tier of one of the names asked for.
    """
    return code_stats_with_length(store, doc_id, tiers)[0]


def code_stats_with_length(
    store: Store, doc_id: int, tiers: Sequence[str] | None = None
) -> tuple[list[CodeStat], RecordingLength]:
    """:func:`code_stats` and the length its shares were taken of, from one read of the document.

    Raises:
        NotFound: no such document, or no tier of a name asked for.
    """
    doc, duration = _load(store, doc_id)
    segments = document_segments(doc)
    chosen = pick_tiers(doc_id, segments, tiers)
    length = _length(duration, segments)
    order = {t: vocabulary_order(doc, t) for t in chosen}
    return stats_from_segments({t: segments[t] for t in chosen}, length.ms, order), length


def co_occurrence(store: Store, doc_id: int, tier_a: str, tier_b: str) -> list[CoOccurrence]:
    """Which codes of ``tier_a`` and ``tier_b`` overlap in a stored document, for how long and how often.

    Raises:
        NotFound: no such document or tier.
    """
    doc, _ = _load(store, doc_id)
    segments = document_segments(doc)
    pick_tiers(doc_id, segments, [tier_a, tier_b])
    return co_occurrence_from_segments(segments[tier_a], segments[tier_b])
