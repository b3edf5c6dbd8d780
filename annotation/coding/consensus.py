"""Consensus between two coders: their disagreements side by side, and a consensus tier built from decisions.

Two tiers coding the same recording are paired as ELAN's modified kappa pairs them
(:func:`annotation.coding.agreement.match_segments`). What is left is a list of :class:`Disagreement`:

- ``value``: a pair whose values differ;
- ``boundaries``: a pair with the same value whose start or end differ by more than ``tolerance_ms``;
- ``only_a`` / ``only_b``: a segment the other coder has no partner for.

Pairs with the same value and boundaries within the tolerance are agreed. Each disagreement has a ``key``
made of the two annotation ids (``a12/a57``, ``a12/-``, ``-/a57``), so decisions can be written down (a
JSON file from the command line) and checked against the tiers as they are when the consensus is built.

:func:`annotation.coding.consensus_tier.build_consensus` then adds to the document, in one unit of work (an
undoable :class:`annotation.coding.consensus_tier.BuildConsensus` command):

- the consensus tier ``new_tier``, of tier A's linguistic type (so it has the same vocabulary): every agreed
  pair with coder A's times and value, and for each decision the segment it takes (A's, B's, or either one
  with its value or times changed), or nothing;
- ``<new_tier> rationale``, a child tier of ELAN's Symbolic_Association type: the rationale of each settled
  disagreement, one-to-one with the consensus annotation it explains. ELAN has no other place for a note on
  an annotation, and opens such a tier without loss;
- ``<new_tier> dropped``, only when a decision drops both segments and gives a reason: a time-aligned tier
  holding that reason over the dropped span (reasons whose spans overlap are joined into one annotation, as
  annotations of one tier should not overlap).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal, cast

from annotation.coding.agreement import DEFAULT_MIN_OVERLAP, Match, match_segments, tier_segments
from annotation.elan import ILLEGAL_XML, Segment
from annotation.errors import AnalysisError
from annotation.store import Store

DisagreementKind = Literal["value", "boundaries", "only_a", "only_b"]
Take = Literal["a", "b", "neither"]
DEFAULT_TOLERANCE_MS = 500


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Coder A's and coder B's segments side by side (one of them None for ``only_a``/``only_b``).

    ``start``/``end`` span both segments: what to play to see the disagreement.
    """

    key: str
    kind: DisagreementKind
    a: Segment | None
    b: Segment | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two tiers compared: what they disagree on (in time order) and the pairs they agree on."""

    disagreements: tuple[Disagreement, ...]
    agreed: tuple[Match, ...]
    min_overlap: float
    tolerance_ms: int


@dataclass(frozen=True, slots=True)
class Decision:
    """How one disagreement is settled.

    ``take`` "a" or "b" keeps that coder's segment, optionally with ``value``, ``start`` or ``end`` changed;
    "neither" keeps nothing. ``rationale`` is kept as a note in the document.
    """

    take: Take
    rationale: str = ""
    value: str | None = None
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class ConsensusResult:
    """What :func:`build_consensus` added: tier names and how many annotations each got."""

    tier: str
    annotations: int
    agreed: int
    settled: int
    dropped: int
    rationale_tier: str | None
    notes: int
    dropped_tier: str | None
    dropped_notes: int


def _key(a: Segment | None, b: Segment | None) -> str:
    return f"{a.ann_id if a else '-'}/{b.ann_id if b else '-'}"


def compare_segments(
    segs_a: Sequence[Segment],
    segs_b: Sequence[Segment],
    *,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    tolerance_ms: int = DEFAULT_TOLERANCE_MS,
) -> Comparison:
    """Disagreements and agreed pairs of two tiers' segments (see the module notes).

    Raises:
        AnalysisError: ``min_overlap`` out of (0, 1] or a negative tolerance.
    """
    if tolerance_ms < 0:
        raise AnalysisError(f"tolerance {tolerance_ms} ms: cannot be negative")
    matching = match_segments(segs_a, segs_b, min_overlap)
    out: list[Disagreement] = []
    agreed: list[Match] = []
    for m in matching.pairs:
        span = (min(m.a.start, m.b.start), max(m.a.end, m.b.end))
        if m.a.value != m.b.value:
            out.append(Disagreement(_key(m.a, m.b), "value", m.a, m.b, *span))
        elif abs(m.a.start - m.b.start) > tolerance_ms or abs(m.a.end - m.b.end) > tolerance_ms:
            out.append(Disagreement(_key(m.a, m.b), "boundaries", m.a, m.b, *span))
        else:
            agreed.append(m)
    out += [Disagreement(_key(s, None), "only_a", s, None, s.start, s.end) for s in matching.only_a]
    out += [Disagreement(_key(None, s), "only_b", None, s, s.start, s.end) for s in matching.only_b]
    out.sort(key=lambda d: (d.start, d.end, d.key))
    return Comparison(tuple(out), tuple(agreed), min_overlap, tolerance_ms)


def disagreements(
    store: Store,
    doc_id: int,
    tier_a: str,
    tier_b: str,
    *,
    doc_b: int | None = None,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    tolerance_ms: int = DEFAULT_TOLERANCE_MS,
) -> Comparison:
    """Compare ``tier_a`` of a stored document with ``tier_b`` of the same document (or of ``doc_b``; two
    documents are compared in the recording's time, each document's time origin added).

    Raises:
        NotFound: no such document or tier.
        AnalysisError: bad ``min_overlap`` or tolerance, or documents on different recordings.
    """
    if doc_b is None or doc_b == doc_id:
        segs, _ = tier_segments(store, doc_id, [tier_a, tier_b])
        return compare_segments(segs[tier_a], segs[tier_b], min_overlap=min_overlap, tolerance_ms=tolerance_ms)
    sa, rec_a = tier_segments(store, doc_id, [tier_a], recording_time=True)
    sb, rec_b = tier_segments(store, doc_b, [tier_b], recording_time=True)
    if rec_a is not None and rec_b is not None and rec_a != rec_b:
        raise AnalysisError(f"documents {doc_id} and {doc_b}: they code different recordings ({rec_a} and {rec_b})")
    return compare_segments(sa[tier_a], sb[tier_b], min_overlap=min_overlap, tolerance_ms=tolerance_ms)


# ---- decisions --------------------------------------------------------------------------------------------


def decisions_from_json(data: Any) -> dict[str, Decision]:
    """Decisions from parsed JSON: ``{"a12/a57": {"take": "b", "rationale": "...", "value": ..., "start": ms,
    "end": ms}, ...}``. Entries whose ``take`` is empty are undecided and left out (a template as written by
    :func:`decision_template` parses to no decisions).

    Raises:
        AnalysisError: not an object of objects, an unknown field, a bad ``take`` or a time that is not ms.
    """
    if not isinstance(data, dict):
        raise AnalysisError('decisions: give a JSON object keyed by disagreement (e.g. "a12/a57")')
    out: dict[str, Decision] = {}
    allowed = {"take", "rationale", "value", "start", "end", "kind", "a", "b"}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise AnalysisError(f"decision {key!r}: give an object with 'take' and 'rationale'")
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise AnalysisError(
                f"decision {key!r}: unknown field {unknown[0]!r} (use take, rationale, value, start, end)"
            )
        take = entry.get("take") or ""
        if take == "":
            continue
        if take not in ("a", "b", "neither"):
            raise AnalysisError(f"decision {key!r}: take {take!r} is not 'a', 'b' or 'neither'")
        times: dict[str, int | None] = {}
        for name in ("start", "end"):
            v = entry.get(name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise AnalysisError(f"decision {key!r}: {name} {v!r} is not a whole number of milliseconds")
            times[name] = v
        value = entry.get("value")
        rationale = entry.get("rationale") or ""
        if value is not None and not isinstance(value, str):
            raise AnalysisError(f"decision {key!r}: value must be text")
        if not isinstance(rationale, str):
            raise AnalysisError(f"decision {key!r}: rationale must be text")
        out[str(key)] = Decision(cast(Take, take), rationale, value, times["start"], times["end"])
    return out


def decision_template(comparison: Comparison) -> dict[str, dict[str, Any]]:
    """A decisions object to fill in: every disagreement with what each coder coded, ``take`` and
    ``rationale`` empty."""

    def side(s: Segment | None) -> dict[str, Any] | None:
        return None if s is None else {"value": s.value, "start": s.start, "end": s.end}

    return {
        d.key: {"kind": d.kind, "a": side(d.a), "b": side(d.b), "take": "", "rationale": ""}
        for d in comparison.disagreements
    }


def load_decisions(text: str) -> dict[str, Decision]:
    """Decisions from JSON text. Raises AnalysisError (not JSON, or see :func:`decisions_from_json`)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AnalysisError(f"decisions: not JSON ({exc})") from exc
    return decisions_from_json(data)


# ---- planning the consensus tier --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsensusSegment:
    start: int
    end: int
    value: str
    cve_ref: str | None
    rationale: str
    key: str
    agreed: bool


@dataclass(frozen=True, slots=True)
class DroppedNote:
    start: int
    end: int
    text: str


def plan_consensus(
    comparison: Comparison,
    decisions: Mapping[str, Decision],
    *,
    tier_a: str,
    tier_b: str,
    vocabulary: Mapping[str, str | None] | None = None,
    partial: bool = False,
) -> tuple[list[ConsensusSegment], list[DroppedNote]]:
    """The consensus tier's segments and the notes on dropped segments, checked; nothing is written.

    ``vocabulary`` maps the consensus tier's allowed values to their CV entry ids (None: free text).

    Raises:
        AnalysisError: a decision for no current disagreement, an undecided disagreement (unless
            ``partial``), a decision that does not fit (taking a segment that coder has not got, a value
            outside the vocabulary, end not after start), or consensus segments that would overlap.
    """
    by_key = {d.key: d for d in comparison.disagreements}
    stale = [k for k in decisions if k not in by_key]
    if stale:
        raise AnalysisError(
            f"decision {stale[0]!r}: no such disagreement between {tier_a!r} and {tier_b!r} now "
            f"({len(stale)} decision(s) do not match; list the disagreements again)"
        )
    undecided = [d.key for d in comparison.disagreements if d.key not in decisions]
    if undecided and not partial:
        raise AnalysisError(
            f"disagreement {undecided[0]!r}: not decided ({len(undecided)} of {len(by_key)} undecided; "
            "decide them or build a partial consensus)"
        )
    planned = [
        ConsensusSegment(m.a.start, m.a.end, m.a.value, m.a.cve_ref, "", _key(m.a, m.b), True)
        for m in comparison.agreed
    ]
    notes: list[DroppedNote] = []
    for key, dec in decisions.items():
        d = by_key[key]
        if ILLEGAL_XML.search(dec.rationale):
            raise AnalysisError(f"decision {key!r}: the rationale holds a control character ELAN files cannot store")
        if dec.take == "neither":
            if dec.value is not None or dec.start is not None or dec.end is not None:
                raise AnalysisError(f"decision {key!r}: 'neither' keeps nothing, so value, start and end do not apply")
            if dec.rationale.strip():
                notes.append(DroppedNote(d.start, d.end, dec.rationale))
            continue
        base = d.a if dec.take == "a" else d.b
        if base is None:
            other = "b" if dec.take == "a" else "a"
            raise AnalysisError(
                f"decision {key!r}: coder {dec.take.upper()} has no segment here; take {other!r} or 'neither'"
            )
        start = base.start if dec.start is None else dec.start
        end = base.end if dec.end is None else dec.end
        if start < 0 or end <= start:
            raise AnalysisError(f"decision {key!r}: end {end} ms must be after start {start} ms (and start >= 0)")
        value, cve_ref = base.value, base.cve_ref
        changed = dec.value is not None and dec.value != base.value
        if changed:
            assert dec.value is not None
            value = dec.value
            if ILLEGAL_XML.search(value):
                raise AnalysisError(f"decision {key!r}: the value holds a control character ELAN files cannot store")
        if changed or dec.take == "b":
            # coder B's tier may have another vocabulary (or none): its value and entry id are A's tier's or refused
            if vocabulary is not None:
                if value not in vocabulary:
                    raise AnalysisError(f"decision {key!r}: value {value!r} is not in the tier's vocabulary")
                cve_ref = vocabulary[value]
            else:
                cve_ref = None
        planned.append(ConsensusSegment(start, end, value, cve_ref, dec.rationale, key, False))
    planned.sort(key=lambda p: (p.start, p.end, p.key))
    for prev, cur in pairwise(planned):
        if cur.start < prev.end:
            raise AnalysisError(
                f"consensus: {cur.key!r} ({cur.start}-{cur.end} ms) would overlap {prev.key!r} "
                f"({prev.start}-{prev.end} ms); change start or end in one of the decisions"
            )
    return planned, _merge_notes(notes)


def _merge_notes(notes: Iterable[DroppedNote]) -> list[DroppedNote]:
    merged: list[DroppedNote] = []
    for n in sorted(notes, key=lambda n: (n.start, n.end)):
        if merged and n.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = DroppedNote(last.start, max(last.end, n.end), f"{last.text} | {n.text}")
        else:
            merged.append(n)
    return merged
