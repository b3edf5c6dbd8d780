"""Inter-coder agreement: textbook kappas, a Holle & Rein example worked by hand, ELAN's rules, real files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.coding.agreement import (
    UNMATCHED,
    agreement_of_segments,
    cohen_kappa,
    cohen_kappa_from_pairs,
    elan_number,
    match_segments,
    modified_kappa,
    tier_agreement,
)
from annotation.edits.commands import CreateAnnotation
from annotation.elan import Annotation, EafDocument, Tier, TimeSlot, write_eaf
from annotation.elan.timing import Segment
from annotation.errors import AnalysisError, NotFound
from annotation.services import add_recording, apply_edit, ensure_project, import_file, new_document
from annotation.store.engine import Store
from tests.fixtures.elan_files import corpus_file, in_corpus


def seg(tier: str, ann: str, start: int, end: int, value: str) -> Segment:
    return Segment(tier, ann, start, end, value, True)


# ---- Cohen's kappa: textbook examples ---------------------------------------------------------------------


def test_cohen_two_by_two_textbook_example() -> None:
    # 50 grant proposals, two readers (the usual textbook 2x2): yes/yes 20, A yes B no 5, A no B yes 10,
    # no/no 15. p_o = 35/50 = 0.7; A says yes 25/50 = 0.5, B 30/50 = 0.6, so
    # p_e = 0.5*0.6 + 0.5*0.4 = 0.5 and kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    c = cohen_kappa([[20, 5], [10, 15]], ["yes", "no"])
    assert (c.n, c.observed, c.expected) == (50, pytest.approx(0.7), pytest.approx(0.5))
    assert c.kappa == pytest.approx(0.4)
    # kappa_max: p_max = min(.5,.6) + min(.5,.4) = 0.9, (0.9 - 0.5) / 0.5 = 0.8
    assert c.kappa_max == pytest.approx(0.8)
    # Fleiss, Cohen & Everitt (1969) variance, cell proportions p11=.4 p12=.1 p21=.2 p22=.3,
    # rows .5 .5, columns .6 .4, 1 - kappa = .6:
    #   diagonal: .4*(1 - (.5+.6)*.6)^2 + .3*(1 - (.5+.4)*.6)^2 = .4*.1156 + .3*.2116 = .10972
    #   off-diagonal: .36 * (.1*(.6+.5)^2 + .2*(.4+.5)^2) = .36 * (.121 + .162) = .10188
    #   minus (kappa - p_e*(1 - kappa))^2 = (.4 - .3)^2 = .01
    #   var = (.10972 + .10188 - .01) / (50 * .25) = .2016 / 12.5 = .016128, se = .126996
    assert c.se == pytest.approx(math.sqrt(0.016128), rel=1e-9)
    assert c.ci95[0] == pytest.approx(0.4 - 1.959964 * 0.126996, abs=1e-5)
    assert c.ci95[1] == pytest.approx(0.4 + 1.959964 * 0.126996, abs=1e-5)


def test_cohen_second_two_by_two_example() -> None:
    # 45/15/25/15: p_o = 0.6, p_e = 0.6*0.7 + 0.4*0.3 = 0.54, kappa = 0.06/0.46 = 0.1304
    c = cohen_kappa([[45, 15], [25, 15]])
    assert c.kappa == pytest.approx(0.06 / 0.46)
    assert round(c.kappa, 4) == 0.1304


def test_cohen_three_categories_fleiss_example() -> None:
    # Psychiatric diagnoses of 100 patients by two raters (Fleiss, Levin & Paik): psychotic, neurotic,
    # organic. p_o = (75+4+10)/100 = .89; rows .80 .10 .10, columns .80 .05 .15;
    # p_e = .64 + .005 + .015 = .66; kappa = .23/.34 = 0.6765.
    c = cohen_kappa([[75, 1, 4], [5, 4, 1], [0, 0, 10]], ["psychotic", "neurotic", "organic"])
    assert c.kappa == pytest.approx(0.23 / 0.34)
    assert round(c.kappa, 3) == 0.676
    assert c.ci95[0] < c.kappa < c.ci95[1]


def test_cohen_from_pairs_and_undefined_cases() -> None:
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    c = cohen_kappa_from_pairs(pairs)
    assert c.labels == ("no", "yes") and c.kappa == pytest.approx(0.4)
    assert c.matrix == ((15, 10), (5, 20))
    one_value = cohen_kappa_from_pairs([("x", "x")] * 4)  # p_e = 1: kappa is undefined, not 1
    assert one_value.observed == 1.0 and math.isnan(one_value.kappa)
    empty = cohen_kappa_from_pairs([])
    assert empty.n == 0 and math.isnan(empty.kappa)
    with pytest.raises(AnalysisError, match="square"):
        cohen_kappa([[1, 2]])


# ---- matching as ELAN does it -----------------------------------------------------------------------------


def test_overlap_is_measured_against_the_longer_segment() -> None:
    a = [seg("A", "a1", 0, 1000, "x")]
    # B lies wholly inside A: 500 ms is 100% of B but 50% of A, the longer: no match at 0.6
    assert match_segments(a, [seg("B", "b1", 200, 700, "x")], 0.6).pairs == ()
    # 600 of 1000 ms: exactly 60%, matched at 0.6 but not at 0.61
    b = [seg("B", "b1", 400, 1000, "x")]
    assert len(match_segments(a, b, 0.6).pairs) == 1
    assert match_segments(a, b, 0.61).pairs == ()
    with pytest.raises(AnalysisError, match="minimal overlap 0"):
        match_segments(a, b, 0)


def test_each_segment_has_at_most_one_partner_best_ratio_first() -> None:
    # At a low threshold A's 0-1000 could pair with B's 0-700 or with B's 700-1400: the best ratio wins,
    # and the other B segment finds another A segment.
    a = [seg("A", "a1", 0, 1000, "x"), seg("A", "a2", 1000, 1400, "y")]
    b = [seg("B", "b1", 0, 700, "x"), seg("B", "b2", 700, 1400, "y")]
    m = match_segments(a, b, 0.3)
    got = {(p.a.ann_id, p.b.ann_id) for p in m.pairs}
    # ratios: a1-b1 700/1000 = .7, a1-b2 300/1000 = .3, a2-b2 400/700 = .571 -> a1-b1, then a2-b2
    assert got == {("a1", "b1"), ("a2", "b2")}
    assert m.only_a == () and m.only_b == ()
    # exact ties (two identical segments on B): as ELAN's stable sort leaves it, the later one is taken, and
    # the other stays unmatched rather than sharing the partner
    twins = [seg("B", "b1", 0, 1000, "x"), seg("B", "b2", 0, 1000, "y")]
    m = match_segments([seg("A", "a1", 0, 1000, "x")], twins, 0.6)
    assert [(p.a.ann_id, p.b.ann_id) for p in m.pairs] == [("a1", "b2")]
    assert [s.ann_id for s in m.only_b] == ["b1"]


# ---- ELAN's modified kappa: a worked example --------------------------------------------------------------

CODER_A = [
    seg("A", "a1", 0, 1000, "x"),
    seg("A", "a2", 1000, 2000, "y"),
    seg("A", "a3", 2000, 3000, "y"),
    seg("A", "a4", 3000, 4000, "x"),
    seg("A", "a5", 5000, 6000, "y"),
]
CODER_B = [
    seg("B", "b1", 0, 1000, "x"),  # a1: overlap 1000/1000 = 1.0 -> pair (x, x)
    seg("B", "b2", 1100, 2000, "y"),  # a2: 900/1000 = .9 -> pair (y, y)
    seg("B", "b3", 2000, 2800, "x"),  # a3: 800/1000 = .8 -> pair (y, x)
    seg("B", "b4", 3500, 4000, "x"),  # a4: 500/1000 = .5 < .6 -> a4 and b4 both unmatched
    seg("B", "b5", 7000, 8000, "y"),  # nothing on A: unmatched; a5 has nothing on B: unmatched
]


def test_holle_rein_worked_example() -> None:
    matching, cohen, m = agreement_of_segments(CODER_A, CODER_B, 0.6)
    assert [(p.a.ann_id, p.b.ann_id) for p in matching.pairs] == [("a1", "b1"), ("a2", "b2"), ("a3", "b3")]
    assert [s.ann_id for s in matching.only_a] == ["a4", "a5"]
    assert [s.ann_id for s in matching.only_b] == ["b4", "b5"]
    # The table, rows A, columns B, labels sorted then Unmatched; matched cells count twice:
    #            x   y   U          row sums
    #       x    2   0   1  (a4)       3
    #       y    2   2   1  (a5)       5
    #       U    1   1   0             2
    #  column    5   3   2     N = 10 = 5 segments of A + 5 of B
    assert m.labels == ("x", "y", UNMATCHED)
    assert m.matrix == ((2, 0, 1), (2, 2, 1), (1, 1, 0))
    # linked: matched cells 6 of 10
    assert m.linked == pytest.approx(0.6)
    # incl. unmatched: raw agreement = (2 + 2) / 10 = 0.4
    assert m.raw_agreement == pytest.approx(0.4)
    # p_e = (3*5 + 5*3 + 2*2) / 100 = 0.34; p_max = (min(3,5) + min(5,3) + min(2,2)) / 10 = 0.8
    # kappa_max = (0.8 - 0.34) / (1 - 0.34) = 0.46 / 0.66 = 0.69697
    assert m.kappa_max == pytest.approx(0.46 / 0.66)
    # kappa_ipf: chance agreement from the table fitted to the marginals with the U/U cell empty. The fit
    # has the form a_i * b_j off that cell. Rows: a_x*B = 3, a_y*B = 5, a_U*(b_x+b_y) = 2; columns:
    # b_x*A = 5, b_y*A = 3, b_U*(a_x+a_y) = 2, with A = a_x+a_y+a_U, B = b_x+b_y+b_U. Then a_x+a_y = 8/B,
    # b_U = 2B/8 = B/4, b_x+b_y = 8/A, a_U = A/4, so A = 8/B + A/4, i.e. A*B = 32/3. The fitted diagonal:
    # x,x = (3/B)(5/A) = 15*3/32 = 45/32 and y,y = (5/B)(3/A) = 45/32, so p_e(ipf) = (90/32)/10 = 9/32 and
    # kappa_ipf = (0.4 - 9/32) / (1 - 9/32) = 0.11875 / 0.71875 = 19/115 = 0.165217.
    # ELAN stops after 20 iterations (and seeds the empty cell with 0.001), which lands within 1e-4.
    assert m.kappa_ipf == pytest.approx(19 / 115, abs=1e-4)
    assert elan_number(m.kappa_ipf) == "0.1652"
    # excl. unmatched: [[2, 0], [2, 2]], N = 6: p_o = 4/6; rows 2 4, columns 4 2; p_e = (8 + 8)/36 = 16/36;
    # kappa = (24/36 - 16/36) / (20/36) = 8/20 = 0.4. p_max = (2 + 2)/6, so kappa_max is 0.4 too.
    assert m.raw_agreement_excl == pytest.approx(4 / 6)
    assert m.kappa_excl == pytest.approx(0.4)
    assert m.kappa_max_excl == pytest.approx(0.4)
    # ... which is Cohen's kappa of the three matched pairs (x,x) (y,y) (y,x), counted once
    assert cohen.matrix == ((1, 0), (1, 1)) and cohen.kappa == pytest.approx(0.4)
    # per value x: both x 2, only A x (row x off the diagonal) 0+1 = 1, only B x (column x) 2+1 = 3,
    # neither 10-2-1-3 = 4: p_o = .6, rows 3 7, columns 5 5, p_e = (15+35)/100 = .5, kappa = .2;
    # kappa_max = (min(3,5) + min(7,5))/10 = .8 -> (.8-.5)/.5 = .6
    x, y = m.per_value
    assert (x.value, x.table) == ("x", ((2, 1), (3, 4)))
    assert (x.kappa, x.kappa_max, x.raw_agreement) == (pytest.approx(0.2), pytest.approx(0.6), pytest.approx(0.6))
    # per value y: both 2, only A 2+1 = 3, only B 0+1 = 1, neither 4: kappa .2 again
    assert y.table == ((2, 3), (1, 4)) and y.kappa == pytest.approx(0.2)


def _elan_ipf_kappa(matrix: np.ndarray) -> float:
    """ELAN's kappa_ipf written independently with numpy: seed of ones, 0.001 in the U/U cell (ELAN replaces
    zeros), 20 iterations of row then column scaling, chance = fitted diagonal without U/U over N."""
    rows, cols, n = matrix.sum(1), matrix.sum(0), matrix.sum()
    rows = np.where(rows == 0, 0.001, rows)
    cols = np.where(cols == 0, 0.001, cols)
    fit = np.ones_like(matrix, dtype=float)
    fit[-1, -1] = 0.001
    for _ in range(20):
        fit *= (rows / fit.sum(1))[:, None]
        fit *= (cols / fit.sum(0))[None, :]
    pe = np.trace(fit[:-1, :-1]) / n
    return float((np.trace(matrix) / n - pe) / (1 - pe))


def test_kappa_ipf_matches_an_independent_implementation() -> None:
    m = modified_kappa(match_segments(CODER_A, CODER_B, 0.6))
    assert m.kappa_ipf == pytest.approx(_elan_ipf_kappa(np.array(m.matrix, dtype=float)), rel=1e-12)


def test_elan_number_format() -> None:
    assert [elan_number(x) for x in (0.123456, -0.2, 0.0, math.nan)] == ["0.1235", "0", "0.0000", "NaN"]


segments_strategy = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 10), st.sampled_from("pqr")), min_size=0, max_size=12
)


def _tier(name: str, raw: list[tuple[int, int, str]]) -> list[Segment]:
    # consecutive, non-overlapping segments as a coder makes them
    out, t = [], 0
    for i, (gap, length, value) in enumerate(raw):
        t += gap * 100
        out.append(seg(name, f"{name}{i}", t, t + length * 100, value))
        t += length * 100
    return out


@settings(max_examples=200, deadline=None)
@given(segments_strategy, segments_strategy, st.sampled_from([0.51, 0.6, 0.8, 1.0]))
def test_modified_kappa_invariants(raw_a: list, raw_b: list, threshold: float) -> None:
    a, b = _tier("A", raw_a), _tier("B", raw_b)
    matching, cohen, m = agreement_of_segments(a, b, threshold)
    # every segment is in exactly one pair or left over
    assert len(matching.pairs) + len(matching.only_a) == len(a)
    assert len(matching.pairs) + len(matching.only_b) == len(b)
    assert all(p.ratio >= threshold for p in matching.pairs)
    # the table adds up to the number of segments of both coders; U/U is empty
    assert sum(map(sum, m.matrix)) == len(a) + len(b)
    assert m.matrix[-1][-1] == 0
    # excluding unmatched is Cohen's kappa of the matched pairs
    both_nan = math.isnan(m.kappa_excl) and math.isnan(cohen.kappa)
    assert both_nan or m.kappa_excl == pytest.approx(cohen.kappa)
    if a or b:
        assert m.kappa_ipf == pytest.approx(_elan_ipf_kappa(np.array(m.matrix, dtype=float)), nan_ok=True)


# ---- real files and the store -----------------------------------------------------------------------------


def test_real_file_gesture_tiers(store: Store, corpus: Path) -> None:
    """pympi's sample codes the same 1197 gestures on 'gestures' and on 'gest_included' (differently)."""
    doc = import_file(store, corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf").doc_id
    r = tier_agreement(store, doc, "gestures", "gest_included")
    assert len(r.matching.pairs) == 1197 and r.matching.only_a == () and r.matching.only_b == ()
    # Independently: the two tiers list the same gestures in the same order, so pairing them index by index
    # must give the same pairs; then count the values and compute kappa with plain numpy.
    from annotation.services import document_display

    segs = document_display(store, doc)
    pairs = list(zip(segs["gestures"], segs["gest_included"], strict=True))
    assert {(p.a.ann_id, p.b.ann_id) for p in r.matching.pairs} == {(x.ann_id, y.ann_id) for x, y in pairs}
    labels = sorted({v for x, y in pairs for v in (x.value, y.value)})
    t = np.zeros((len(labels), len(labels)))
    for x, y in pairs:
        t[labels.index(x.value), labels.index(y.value)] += 1
    p = t / t.sum()
    po, pe = np.trace(p), float(p.sum(1) @ p.sum(0))
    assert r.cohen.kappa == pytest.approx((po - pe) / (1 - pe))
    assert r.cohen.labels == tuple(labels)
    assert r.modified.kappa_excl == pytest.approx(r.cohen.kappa)
    # nothing unmatched: ELAN's zero marginals become 0.001 and the IPF chance is ordinary chance
    assert r.modified.kappa_ipf == pytest.approx(r.cohen.kappa, abs=1e-4)
    assert round(r.cohen.kappa, 4) == 0.9869


def _alternate_scenes(path: Path) -> Path:
    """An ELAN file whose 'scene-1' and 'scene-2' code alternate scenes, 13 each, as SALEM's VP01-face-1 does
    (that file has no licence, so it is not kept in the repository)."""
    slots = [TimeSlot(f"ts{i + 1}", i * 4_000) for i in range(27)]
    scenes = [
        Tier(
            {"TIER_ID": f"scene-{t + 1}", "LINGUISTIC_TYPE_REF": "default-lt"},
            [
                Annotation(f"a{2 * i + t + 1}", f"scene {i % 4}", f"ts{2 * i + t + 1}", f"ts{2 * i + t + 2}")
                for i in range(13)
            ],
        )
        for t in range(2)
    ]
    doc = EafDocument(
        time_slots=slots,
        linguistic_types=[{"LINGUISTIC_TYPE_ID": "default-lt", "TIME_ALIGNABLE": "true"}],
        tiers=scenes,
    )
    write_eaf(doc, path)
    return path


@pytest.mark.parametrize("name", ["generated", *in_corpus("marc-hanheide__SALEM__VP01-face-1.eaf")])
def test_scene_tiers_never_overlap_enough(store: Store, tmp_path: Path, name: str) -> None:
    """'scene-1' and 'scene-2' code alternate scenes: nothing pairs, so nothing agrees."""
    path = _alternate_scenes(tmp_path / "scenes.eaf") if name == "generated" else corpus_file(name)
    doc = import_file(store, path).doc_id
    r = tier_agreement(store, doc, "scene-1", "scene-2")
    assert r.matching.pairs == ()
    assert (len(r.matching.only_a), len(r.matching.only_b)) == (13, 13)
    assert r.modified.raw_agreement == 0.0 and r.modified.linked == 0.0
    assert math.isnan(r.modified.kappa_excl) and math.isnan(r.cohen.kappa)
    assert all(v.table[0][0] == 0 for v in r.modified.per_value)


def _coded(store: Store, recording: int | None, tier: str, spans: list[tuple[int, int, str]]) -> int:
    doc = new_document(store, "referral", recording_id=recording)
    for start, end, value in spans:
        apply_edit(store, CreateAnnotation(doc, tier, start, end, value))
    return doc


def test_two_documents_on_one_recording(store: Store, tmp_path: Path) -> None:
    media = tmp_path / "call.mp4"
    media.write_bytes(b"x")
    pid = ensure_project(store, "Study")
    rec = add_recording(store, pid, media, duration_ms=60_000)
    phases = [(0, 5_000, "opening"), (5_000, 20_000, "information gathering"), (20_000, 30_000, "decision")]
    doc1 = _coded(store, rec, "Call phase", phases)
    doc2 = _coded(store, rec, "Call phase", [*phases[:2], (20_500, 30_000, "closing")])
    r = tier_agreement(store, doc1, "Call phase", "Call phase", doc_b=doc2)
    assert len(r.matching.pairs) == 3 and r.cohen.observed == pytest.approx(2 / 3)
    other = add_recording(store, pid, media, duration_ms=60_000)
    doc3 = _coded(store, other, "Call phase", phases)
    with pytest.raises(AnalysisError, match="different recordings") as exc:
        tier_agreement(store, doc1, "Call phase", "Call phase", doc_b=doc3)
    assert "\n" not in exc.value.message
    with pytest.raises(AnalysisError, match="compared with itself"):
        tier_agreement(store, doc1, "Call phase", "Call phase")
    with pytest.raises(NotFound, match="no tier 'Nope'"):
        tier_agreement(store, doc1, "Call phase", "Nope")
    with pytest.raises(NotFound, match="document 4242"):
        tier_agreement(store, doc1, "Call phase", "Call phase", doc_b=4242)


def test_two_documents_with_different_time_origins_are_compared_in_recording_time(store: Store, tmp_path: Path) -> None:
    """Coder B's file has an ELAN time origin of 10 s (document time 0 is 10 s into the recording) and codes the
    same moments as coder A: they agree throughout. Compared in document time nothing paired (kappa NaN)."""
    from annotation.coding.consensus import disagreements
    from annotation.store.tables import Document

    media = tmp_path / "call.mp4"
    media.write_bytes(b"x")
    rec = add_recording(store, ensure_project(store, "Study"), media, duration_ms=60_000)
    phases = [(10_000, 20_000, "opening"), (20_000, 40_000, "information gathering"), (40_000, 60_000, "decision")]
    doc1 = _coded(store, rec, "Call phase", phases)
    doc2 = _coded(store, rec, "Call phase", [(s - 10_000, e - 10_000, v) for s, e, v in phases])
    with store.session() as s:
        d = s.get(Document, doc2)
        assert d is not None
        d.media_origin_ms = 10_000
    r = tier_agreement(store, doc1, "Call phase", "Call phase", doc_b=doc2)
    assert (len(r.matching.pairs), len(r.matching.only_a), len(r.matching.only_b)) == (3, 0, 0)
    assert r.cohen.kappa == pytest.approx(1.0)
    assert [(m.b.start, m.b.end) for m in r.matching.pairs] == [(s, e) for s, e, _ in phases]  # recording time
    c = disagreements(store, doc1, "Call phase", "Call phase", doc_b=doc2)
    assert c.disagreements == () and len(c.agreed) == 3


FREE_TEXT = [
    # pympi's sample: sentences and their words; its gesture tiers are coded
    ("dopefishh__pympi__sample_3.0.eaf", ("text", "words-timesub"), ("gestures", "gest_included"), 1197 + 1197),
    # teicorpo's TestElan1: two speakers' transcriptions; their stance tiers are coded
    *[
        (name, ("BRI", "LIN"), ("SpL affiliation_discordance", "SpR affiliation_discordance"), 156 + 133)
        for name in in_corpus("christopheparisse__teicorpo__TestElan1.eaf")
    ],
]


@pytest.mark.parametrize(("name", "free", "coded", "segments"), FREE_TEXT, ids=[c[0] for c in FREE_TEXT])
def test_free_text_tiers_are_refused(
    store: Store, name: str, free: tuple[str, str], coded: tuple[str, str], segments: int
) -> None:
    """Two transcription tiers (hundreds of different utterances) are not codes: no kappa, one line."""
    doc = import_file(store, corpus_file(name)).doc_id
    a, b = free
    with pytest.raises(AnalysisError, match=rf"tiers '{a}' and '{b}': \d+ different values; agreement is for coded"):
        tier_agreement(store, doc, a, b)
    # the same file's coded tiers compare fine
    r = tier_agreement(store, doc, *coded)
    assert sum(map(sum, r.modified.matrix)) == segments
