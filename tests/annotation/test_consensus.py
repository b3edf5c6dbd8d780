"""Consensus: two coders' disagreements side by side, and a consensus tier with its rationale notes that
survives an .eaf export and re-import."""

from __future__ import annotations

import json
from pathlib import Path

import pympi
import pytest
from lxml import etree

from annotation.coding.consensus import (
    Decision,
    compare_segments,
    decision_template,
    decisions_from_json,
    disagreements,
    load_decisions,
)
from annotation.coding.consensus_tier import BuildConsensus, build_consensus
from annotation.elan.compare import compare_eaf
from annotation.elan.timing import Segment
from annotation.errors import AnalysisError, InvalidEdit, NotFound
from annotation.services import (
    apply_edit,
    document_display,
    document_info,
    export_eaf,
    get_document,
    import_file,
    revert_edit,
)
from annotation.store.engine import Store
from tests.fixtures.coding import CODER_A, CODER_B, coded_document


def _spans(store: Store, doc: int, tier: str) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.value) for s in document_display(store, doc)[tier]]


def test_disagreements_side_by_side() -> None:
    a = [Segment("A", f"a{i}", s, e, v, True) for i, (s, e, v) in enumerate(CODER_A, 1)]
    b = [Segment("B", f"b{i}", s, e, v, True) for i, (s, e, v) in enumerate(CODER_B, 1)]
    c = compare_segments(a, b)
    assert [(d.key, d.kind) for d in c.disagreements] == [
        ("a2/b2", "value"),
        ("a3/b3", "boundaries"),
        ("a4/-", "only_a"),
        ("-/b4", "only_b"),
    ]
    assert [(m.a.ann_id, m.b.ann_id) for m in c.agreed] == [("a1", "b1")]
    d = c.disagreements[1]
    assert (d.start, d.end) == (20_000, 33_000)  # what to play: both segments
    assert d.a is not None and d.b is not None and (d.a.value, d.b.value) == ("decision", "decision")
    # a wider tolerance turns the boundary difference into agreement
    wide = compare_segments(a, b, tolerance_ms=3_000)
    assert [d.kind for d in wide.disagreements] == ["value", "only_a", "only_b"]
    with pytest.raises(AnalysisError, match="tolerance -1 ms"):
        compare_segments(a, b, tolerance_ms=-1)


DECISIONS = {
    "a2/a6": Decision("b", "the duty worker is on the phone to the manager: consultation"),
    "a3/a7": Decision("a", "the decision is stated at 30 s; B ran on into the summary", end=31_000),
    "a4/-": Decision("a", "the closing is audible, B missed it"),
    "-/a8": Decision("neither", "B's closing is a second call; out of scope"),
}


def test_build_consensus_with_rationale_notes(store: Store, tmp_path: Path) -> None:
    doc = coded_document(store, {"Coder A": CODER_A, "Coder B": CODER_B, "Call phase": []})
    c = disagreements(store, doc, "Coder A", "Coder B")
    assert [d.key for d in c.disagreements] == list(DECISIONS)
    r = build_consensus(store, doc, "Coder A", "Coder B", DECISIONS, new_tier="Call phase (consensus)")
    assert (r.annotations, r.agreed, r.settled, r.dropped, r.notes, r.dropped_notes) == (4, 1, 4, 1, 3, 1)
    assert _spans(store, doc, "Call phase (consensus)") == [
        (0, 5_000, "opening"),  # agreed: coder A's times
        (5_200, 20_000, "consultation"),  # B's segment
        (20_000, 31_000, "decision"),  # A's, end moved
        (40_000, 45_000, "closing"),  # only A, kept
    ]
    # the notes refer one-to-one to the consensus annotations they explain, so they take their spans
    assert _spans(store, doc, "Call phase (consensus) rationale") == [
        (5_200, 20_000, DECISIONS["a2/a6"].rationale),
        (20_000, 31_000, DECISIONS["a3/a7"].rationale),
        (40_000, 45_000, DECISIONS["a4/-"].rationale),
    ]
    assert _spans(store, doc, "Call phase (consensus) dropped") == [(50_000, 55_000, DECISIONS["-/a8"].rationale)]
    d = get_document(store, doc)
    tier = d.tier("Call phase (consensus)")
    assert tier.linguistic_type_ref == "call_phase"  # same type, so the same vocabulary
    cves = {a.value: a.cve_ref for a in tier.annotations}
    assert cves["consultation"] == "cveid_call_phase_consultation"
    notes = d.tier("Call phase (consensus) rationale")
    assert notes.parent_ref == "Call phase (consensus)"
    lt = next(t for t in d.linguistic_types if t["LINGUISTIC_TYPE_ID"] == notes.linguistic_type_ref)
    assert (lt["CONSTRAINTS"], lt["TIME_ALIGNABLE"]) == ("Symbolic_Association", "false")
    assert "CONTROLLED_VOCABULARY_REF" not in lt
    assert any(c["STEREOTYPE"] == "Symbolic_Association" for c in d.constraints)
    # the coders' tiers are untouched
    assert _spans(store, doc, "Coder A") == CODER_A and _spans(store, doc, "Coder B") == CODER_B


def test_consensus_survives_eaf_export_and_reimport(store: Store, tmp_path: Path) -> None:
    doc = coded_document(store, {"Coder A": CODER_A, "Coder B": CODER_B})
    build_consensus(store, doc, "Coder A", "Coder B", DECISIONS, new_tier="Consensus")
    out = tmp_path / "consensus.eaf"
    export_eaf(store, doc, out)
    # the file as ELAN reads it: the note tier is a Symbolic_Association child whose REF_ANNOTATIONs point
    # at the consensus annotations, and the constraint is declared
    root = etree.parse(str(out)).getroot()
    tiers = {t.get("TIER_ID"): t for t in root.iter("TIER")}
    assert tiers["Consensus rationale"].get("PARENT_REF") == "Consensus"
    parents = {a.get("ANNOTATION_ID") for a in tiers["Consensus"].iter("ALIGNABLE_ANNOTATION")}
    refs = [r.get("ANNOTATION_REF") for r in tiers["Consensus rationale"].iter("REF_ANNOTATION")]
    assert len(refs) == 3 and set(refs) <= parents
    assert [c.get("STEREOTYPE") for c in root.iter("CONSTRAINT")] == ["Symbolic_Association"]
    # an independent reader (pympi) sees the notes with their parents' times and values
    eaf = pympi.Elan.Eaf(str(out))
    assert eaf.get_parameters_for_tier("Consensus rationale")["PARENT_REF"] == "Consensus"
    got = sorted((s, e, ref) for s, e, _v, ref in eaf.get_ref_annotation_data_for_tier("Consensus rationale"))
    assert got == [(5_200, 20_000, "consultation"), (20_000, 31_000, "decision"), (40_000, 45_000, "closing")]
    # re-import and export again: the same document
    again = import_file(store, out).doc_id
    assert _spans(store, again, "Consensus") == _spans(store, doc, "Consensus")
    out2 = tmp_path / "again.eaf"
    export_eaf(store, again, out2)
    assert compare_eaf(out, out2) == []


def test_undo_restores_the_document(store: Store, tmp_path: Path) -> None:
    doc = coded_document(store, {"Coder A": CODER_A, "Coder B": CODER_B})
    before = tmp_path / "before.eaf"
    export_eaf(store, doc, before)
    cmd = BuildConsensus(doc, "Coder A", "Coder B", DECISIONS, "Consensus")
    apply_edit(store, cmd)  # an EditCommand like the others: the app can put it on its undo stack
    assert "Consensus rationale" in document_display(store, doc)
    assert cmd.touched.tiers == {"Consensus", "Consensus rationale", "Consensus dropped"}
    assert len(cmd.touched.annotations) == 4 + 3 + 1 and len(cmd.touched.slots) == 2 * (4 + 1)
    added = cmd.touched
    revert_edit(store, cmd)
    assert cmd.touched == added
    after = tmp_path / "after.eaf"
    export_eaf(store, doc, after)
    diff = compare_eaf(before, after)
    # only the annotation counter moved on (as in ELAN, ids are not reused)
    assert len(diff) == 1 and "lastUsedAnnotationId" in diff[0], diff
    apply_edit(store, cmd)  # redo
    assert _spans(store, doc, "Consensus")[1] == (5_200, 20_000, "consultation")


def _tier_count(store: Store, doc: int) -> int:
    return document_info(store, doc).tiers


def test_refusals_leave_the_document_unchanged(store: Store) -> None:
    doc = coded_document(store, {"Coder A": CODER_A, "Coder B": CODER_B, "Call phase": [(0, 1_000, "opening")]})
    n = _tier_count(store, doc)

    def build(decisions: dict[str, Decision], **kw: object) -> None:
        build_consensus(store, doc, "Coder A", "Coder B", decisions, new_tier=str(kw.pop("new_tier", "C")), **kw)  # type: ignore[arg-type]

    partial = {k: v for k, v in DECISIONS.items() if k != "a4/-"}
    with pytest.raises(AnalysisError, match=r"disagreement 'a4/-': not decided \(1 of 4 undecided"):
        build(partial)
    with pytest.raises(AnalysisError, match="decision 'a1/a2': no such disagreement"):
        build({**DECISIONS, "a1/a2": Decision("a")})
    with pytest.raises(AnalysisError, match="coder A has no segment here; take 'b' or 'neither'"):
        build({**DECISIONS, "-/a8": Decision("a", "x")})
    with pytest.raises(AnalysisError, match="value 'chat' is not in the tier's vocabulary"):
        build({**DECISIONS, "a2/a6": Decision("a", "x", value="chat")})
    with pytest.raises(AnalysisError, match="would overlap"):
        build({**DECISIONS, "a3/a7": Decision("b", "x"), "a4/-": Decision("a", "x", start=32_000, end=41_000)})
    with pytest.raises(AnalysisError, match="end 100 ms must be after start 200 ms"):
        build({**DECISIONS, "a4/-": Decision("a", "x", start=200, end=100)})
    with pytest.raises(AnalysisError, match="'neither' keeps nothing"):
        build({**DECISIONS, "-/a8": Decision("neither", "x", value="opening")})
    with pytest.raises(InvalidEdit, match=r"tier 'Call phase': document \d+ already has a tier"):
        build(DECISIONS, new_tier="Call phase")
    with pytest.raises(NotFound, match="no tier 'Coder C'"):
        build_consensus(store, doc, "Coder A", "Coder C", DECISIONS, new_tier="C")
    assert _tier_count(store, doc) == n
    # a partial consensus leaves undecided disagreements out
    r = build_consensus(store, doc, "Coder A", "Coder B", partial, new_tier="C", partial=True)
    assert r.annotations == 3 and (40_000, 45_000, "closing") not in _spans(store, doc, "C")
    assert _tier_count(store, doc) == n + 3  # C, its rationale tier, its dropped tier


def test_a_value_changed_by_decision_gets_its_vocabulary_entry(store: Store) -> None:
    doc = coded_document(store, {"Coder A": CODER_A, "Coder B": CODER_B})
    decisions = {**DECISIONS, "a2/a6": Decision("a", "both partly right", value="decision", end=19_000)}
    build_consensus(store, doc, "Coder A", "Coder B", decisions, new_tier="C")
    ann = next(a for a in get_document(store, doc).tier("C").annotations if a.value == "decision")
    assert ann.cve_ref == "cveid_call_phase_decision"
    assert (5_000, 19_000, "decision") in _spans(store, doc, "C")


def test_taking_coder_bs_value_checks_it_against_tier_as_vocabulary(store: Store) -> None:
    """Coder B coded on a free-text tier: taking B's 'chat' was stored in the consensus tier (whose type has
    the Call phase vocabulary) without a word, while asking for value 'chat' was refused."""
    doc = coded_document(
        store, {"Coder A": [(0, 5_000, "opening")], "Notes": [(0, 5_000, "chat"), (10_000, 12_000, "decision")]}
    )
    c = disagreements(store, doc, "Coder A", "Notes")
    assert [d.key for d in c.disagreements] == ["a1/a2", "-/a3"]
    with pytest.raises(AnalysisError, match="decision 'a1/a2': value 'chat' is not in the tier's vocabulary"):
        build_consensus(
            store, doc, "Coder A", "Notes", {"a1/a2": Decision("b", "B"), "-/a3": Decision("neither")}, new_tier="C"
        )
    # a value of the vocabulary taken from B gets A's vocabulary's entry id
    build_consensus(
        store, doc, "Coder A", "Notes", {"a1/a2": Decision("a", "A"), "-/a3": Decision("b", "B")}, new_tier="C"
    )
    ann = next(a for a in get_document(store, doc).tier("C").annotations if a.value == "decision")
    assert ann.cve_ref == "cveid_call_phase_decision"


def test_dependent_tier_a_is_refused(store: Store, corpus: Path) -> None:
    doc = import_file(store, corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf").doc_id
    with pytest.raises(InvalidEdit, match="'gest_included': a dependent tier"):
        build_consensus(store, doc, "gest_included", "gestures", {}, new_tier="C", partial=True)


def test_real_file_consensus_takes_coder_a_throughout(store: Store, corpus: Path, tmp_path: Path) -> None:
    """pympi's sample: 'gestures' against 'gest_included'. Taking A everywhere rebuilds the gestures tier."""
    doc = import_file(store, corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf").doc_id
    c = disagreements(store, doc, "gestures", "gest_included")
    kinds = {d.kind for d in c.disagreements}
    assert kinds == {"value"}  # every gesture pairs; boundaries differ by at most 200 ms
    assert len(c.disagreements) == 7
    decisions = {d.key: Decision("a", f"{d.a.value if d.a else ''} per the coding manual") for d in c.disagreements}
    r = build_consensus(store, doc, "gestures", "gest_included", decisions, new_tier="gestures (consensus)")
    assert r.annotations == 1197 and r.notes == 7
    assert _spans(store, doc, "gestures (consensus)") == _spans(store, doc, "gestures")
    out = tmp_path / "sample.eaf"
    export_eaf(store, doc, out)
    eaf = pympi.Elan.Eaf(str(out))
    assert len(eaf.get_annotation_data_for_tier("gestures (consensus)")) == 1197
    assert len(eaf.get_ref_annotation_data_for_tier("gestures (consensus) rationale")) == 7


def test_decisions_json() -> None:
    a = [Segment("A", "a1", 0, 1000, "x", True)]
    b = [Segment("B", "b1", 0, 1000, "y", True)]
    template = decision_template(compare_segments(a, b))
    assert template == {
        "a1/b1": {
            "kind": "value",
            "a": {"value": "x", "start": 0, "end": 1000},
            "b": {"value": "y", "start": 0, "end": 1000},
            "take": "",
            "rationale": "",
        }
    }
    assert decisions_from_json(template) == {}  # nothing decided yet
    template["a1/b1"].update(take="b", rationale="y fits", end=900)
    assert load_decisions(json.dumps(template)) == {"a1/b1": Decision("b", "y fits", None, None, 900)}
    for bad, message in [
        ([], "give a JSON object"),
        ({"k": 1}, "decision 'k': give an object"),
        ({"k": {"take": "c"}}, "take 'c' is not"),
        ({"k": {"take": "a", "colour": "red"}}, "unknown field 'colour'"),
        ({"k": {"take": "a", "start": 1.5}}, "start 1.5 is not a whole number"),
        ({"k": {"take": "a", "rationale": 3}}, "rationale must be text"),
    ]:
        with pytest.raises(AnalysisError, match=message):
            decisions_from_json(bad)
    with pytest.raises(AnalysisError, match="not JSON"):
        load_decisions("{")
