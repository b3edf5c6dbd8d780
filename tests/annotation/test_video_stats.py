"""Time budgets and co-occurrence of codes: hand-computed numbers, the store, and a real ELAN file."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from lxml import etree

from annotation.coding.video_stats import (
    CodeStat,
    co_occurrence,
    co_occurrence_from_segments,
    code_stats,
    recording_length,
    stats_from_segments,
)
from annotation.edits.commands import CreateAnnotation
from annotation.elan.timing import Segment
from annotation.errors import NotFound
from annotation.services import add_recording, apply_edit, ensure_project, import_file, new_document
from annotation.store.engine import Store
from tests.fixtures.elan_files import corpus_file, in_corpus


def seg(tier: str, start: int, end: int, value: str, n: int = 0) -> Segment:
    return Segment(tier, f"a{n or start}", start, end, value, True)


PHASES = [
    seg("P", 0, 4_000, "opening"),
    seg("P", 4_000, 10_000, "information gathering"),
    seg("P", 10_000, 12_000, "opening"),
    seg("P", 20_000, 30_000, "decision"),
]


def test_time_budget_by_hand() -> None:
    # opening: 4000 + 2000 = 6000 ms in 2 segments, mean 3000, share 6000 / 60000 = 0.1
    # information gathering: 6000 ms, share 0.1; decision: 10000 ms, share 1/6
    got = stats_from_segments({"P": PHASES}, 60_000)
    assert got == [
        CodeStat("P", "opening", 2, 6_000, 3_000.0, 0.1),
        CodeStat("P", "information gathering", 1, 6_000, 6_000.0, 0.1),
        CodeStat("P", "decision", 1, 10_000, 10_000.0, 10_000 / 60_000),
    ]


def test_values_follow_the_vocabulary_then_first_occurrence() -> None:
    order = {"P": ["decision", "closing", "opening"]}  # 'closing' never occurs: no row
    got = [s.value for s in stats_from_segments({"P": PHASES}, 60_000, order)]
    assert got == ["decision", "opening", "information gathering"]


def test_overlaps_within_a_tier_are_summed_not_merged() -> None:
    # Two 'consultation' segments of 4 s and 6 s sharing 2 s: the total is 10 s (not the 8 s covered),
    # so total == count * mean; the share of a 9 s recording passes 1.
    segs = [seg("C", 0, 4_000, "consultation"), seg("C", 2_000, 8_000, "consultation", 2)]
    (s,) = stats_from_segments({"C": segs}, 9_000)
    assert (s.count, s.total_ms, s.mean_ms) == (2, 10_000, 5_000.0)
    assert s.share == pytest.approx(10 / 9)


def test_no_length_gives_share_zero_and_empty_tiers_no_rows() -> None:
    assert stats_from_segments({"P": PHASES[:1], "Empty": []}, 0) == [CodeStat("P", "opening", 1, 4000, 4000.0, 0.0)]


def test_co_occurrence_by_hand() -> None:
    # tier A: phases; tier B: 'manager consulted' 3000-11000 and 'not consulted' 25000-35000
    b = [seg("M", 3_000, 11_000, "manager consulted"), seg("M", 25_000, 35_000, "not consulted")]
    got = {(r.value_a, r.value_b): r for r in co_occurrence_from_segments(PHASES, b)}
    # opening 0-4000 & manager 3000-11000: 1000 ms; opening 10000-12000 & manager: 1000 ms -> 2 pairs, 2000 ms
    r = got[("opening", "manager consulted")]
    assert (r.count, r.overlap_ms) == (2, 2_000)
    assert r.share_a == pytest.approx(2_000 / 6_000) and r.share_b == pytest.approx(2_000 / 8_000)
    # information gathering 4000-10000 lies inside the manager segment: 6000 ms
    assert (got[("information gathering", "manager consulted")].overlap_ms,) == (6_000,)
    # decision 20000-30000 & not consulted 25000-35000: 5000 ms
    assert got[("decision", "not consulted")].overlap_ms == 5_000
    assert len(got) == 3  # segments that only touch (end == start) do not co-occur
    rows = co_occurrence_from_segments(PHASES, b)
    assert [r.overlap_ms for r in rows] == sorted((r.overlap_ms for r in rows), reverse=True)


def test_co_occurrence_against_brute_force() -> None:
    import random

    rnd = random.Random(7)

    def rand_tier(name: str, n: int) -> list[Segment]:
        out = []
        for i in range(n):
            s = rnd.randrange(0, 100_000)
            out.append(Segment(name, f"{name}{i}", s, s + rnd.randrange(1, 8_000), rnd.choice("xyz"), True))
        return out

    a, b = rand_tier("A", 300), rand_tier("B", 300)
    want: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for x in a:
        for y in b:
            ov = min(x.end, y.end) - max(x.start, y.start)
            if ov > 0:
                want[(x.value, y.value)][0] += 1
                want[(x.value, y.value)][1] += ov
    got = {(r.value_a, r.value_b): [r.count, r.overlap_ms] for r in co_occurrence_from_segments(a, b)}
    assert got == dict(want)


def _media(tmp_path: Path) -> Path:
    p = tmp_path / "call.mp4"
    p.write_bytes(b"not really a video, only hashed")
    return p


def test_code_stats_on_the_store_uses_the_recording_length(store: Store, tmp_path: Path) -> None:
    pid = ensure_project(store, "Duty room study")
    rec = add_recording(store, pid, _media(tmp_path), duration_ms=100_000)
    doc = new_document(store, "referral", recording_id=rec)
    for start, end, value in [
        (0, 5_000, "opening"),
        (5_000, 25_000, "information gathering"),
        (40_000, 45_000, "opening"),
    ]:
        apply_edit(store, CreateAnnotation(doc, "Call phase", start, end, value))
    apply_edit(store, CreateAnnotation(doc, "Manager consulted", 20_000, 30_000, "manager consulted"))
    got = code_stats(store, doc, ["Call phase"])
    # vocabulary order: opening before information gathering; shares of the 100 s recording
    assert got == [
        CodeStat("Call phase", "opening", 2, 10_000, 5_000.0, 0.1),
        CodeStat("Call phase", "information gathering", 1, 20_000, 20_000.0, 0.2),
    ]
    assert recording_length(store, doc).source == "recording"
    every = code_stats(store, doc)
    assert [(s.tier, s.value) for s in every] == [
        ("Call phase", "opening"),
        ("Call phase", "information gathering"),
        ("Manager consulted", "manager consulted"),
    ]
    (r,) = co_occurrence(store, doc, "Call phase", "Manager consulted")
    assert (r.value_a, r.value_b, r.count, r.overlap_ms) == ("information gathering", "manager consulted", 1, 5_000)


def test_a_time_origin_and_segments_past_the_end(store: Store, tmp_path: Path) -> None:
    """A document with a 10 s time origin sees the last 50 s of a 60 s recording: coded throughout, its share
    is 1 (was 50/60). A segment drawn past the recording's end adds to the total, not to the share (was 70/60)."""
    from annotation.store.tables import Document

    rec = add_recording(store, ensure_project(store, "Study"), _media(tmp_path), duration_ms=60_000)
    doc = new_document(store, "referral", recording_id=rec)
    apply_edit(store, CreateAnnotation(doc, "Call phase", 0, 20_000, "opening"))
    apply_edit(store, CreateAnnotation(doc, "Call phase", 20_000, 50_000, "information gathering"))
    with store.session() as s:
        d = s.get(Document, doc)
        assert d is not None
        d.media_origin_ms = 10_000
    length = recording_length(store, doc)
    assert (length.ms, length.source) == (50_000, "recording")
    got = code_stats(store, doc, ["Call phase"])
    assert [(x.total_ms, x.share) for x in got] == [(20_000, pytest.approx(0.4)), (30_000, pytest.approx(0.6))]
    assert sum(x.share for x in got) == pytest.approx(1.0)
    (past,) = stats_from_segments({"P": [seg("P", 50_000, 70_000, "closing")]}, 60_000)
    assert (past.total_ms, past.mean_ms, past.share) == (20_000, 20_000.0, pytest.approx(10 / 60))


def test_without_a_recording_shares_are_of_the_documents_extent(store: Store) -> None:
    doc = new_document(store, "referral")
    apply_edit(store, CreateAnnotation(doc, "Call phase", 0, 3_000, "opening"))
    apply_edit(store, CreateAnnotation(doc, "Notes", 9_000, 12_000, "phone rings"))
    length = recording_length(store, doc)
    assert (length.ms, length.source) == (12_000, "annotations")
    (s,) = code_stats(store, doc, ["Call phase"])
    assert s.share == pytest.approx(0.25)


def test_unknown_tier_or_document_is_one_line(store: Store) -> None:
    doc = new_document(store, "referral")
    with pytest.raises(NotFound) as exc:
        code_stats(store, doc, ["Call phase", "Nope"])
    assert "no tier 'Nope'" in exc.value.message and "'Call phase'" in exc.value.message
    assert "\n" not in exc.value.message
    with pytest.raises(NotFound, match="document 9999"):
        code_stats(store, 9999)
    with pytest.raises(NotFound, match="no tier 'X'"):
        co_occurrence(store, doc, "Call phase", "X")


def _independent_counts(path: Path, tier_id: str) -> dict[str, tuple[int, int]]:
    """Count and total per value of an all-aligned tier, read straight from the XML (no Frontdoor code)."""
    root = etree.parse(str(path)).getroot()
    slots = {s.get("TIME_SLOT_ID"): s.get("TIME_VALUE") for s in root.iter("TIME_SLOT")}
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tier = next(t for t in root.iter("TIER") if t.get("TIER_ID") == tier_id)
    for a in tier.iter("ALIGNABLE_ANNOTATION"):
        start, end = int(slots[a.get("TIME_SLOT_REF1")]), int(slots[a.get("TIME_SLOT_REF2")])
        value = a.findtext("ANNOTATION_VALUE") or ""
        out[value][0] += 1
        out[value][1] += end - start
    return {k: (v[0], v[1]) for k, v in out.items()}


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("dopefishh__pympi__sample_3.0.eaf", "gestures"),
        ("LAAC-LSCP__ChildProject__example.eaf", "FA1"),
        *((n, "scene-1") for n in in_corpus("marc-hanheide__SALEM__VP01-face-1.eaf")),
    ],
)
def test_real_corpus_file_matches_an_independent_count(store: Store, name: str, tier: str) -> None:
    path = corpus_file(name)
    doc = import_file(store, path).doc_id
    got = {s.value: (s.count, s.total_ms) for s in code_stats(store, doc, [tier])}
    assert got == _independent_counts(path, tier)
    if name.startswith("dopefishh"):
        assert got["hold"][0] == 795 and got["stroke"][0] == 398
