"""After an edit, patching what was shown with ``segments_patch`` gives exactly what a full ``document_display``
gives, on real ELAN files (unaligned slots, subdivisions, associations, time subdivisions) and on both stores."""

from __future__ import annotations

import random

import pytest

from annotation.edits.base import EditCommand
from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
from annotation.edits.display import apply_patch, segments_patch
from annotation.edits.structure_edits import CreateReferringAnnotation, MergeAnnotations, SplitAnnotation
from annotation.elan.tiers import tier_rows
from annotation.elan.timing import Segment
from annotation.errors import AnnotationError
from annotation.services import apply_edit, document_display, get_document, import_file, revert_edit
from annotation.store.engine import Store
from tests.fixtures.elan_files import corpus_file, in_corpus

FILES = [
    "dopefishh__pympi__sample_3.0.eaf",  # every constraint, 1,572 unaligned slots
    "cidles__poio-api__example.eaf",  # children of one parent on several tiers
    "cidles__poio-api__turkish.eaf",  # symbolic subdivisions three deep
    # with the shared corpus beside the clone, two more
    *in_corpus("TheLanguageArchive__EAF-parser__example.eaf", "christopheparisse__teicorpo__TestElan2.eaf"),
]


def _by_id(display: dict[str, list[Segment]]) -> dict[str, dict[str, Segment]]:
    return {tier: {s.ann_id: s for s in segs} for tier, segs in display.items() if segs}


def _edits(store: Store, doc_id: int, rng: random.Random) -> list[EditCommand]:
    """A mixed batch of edits on random annotations of the document."""
    doc = get_document(store, doc_id)
    display = document_display(store, doc_id)
    rows = tier_rows(doc)
    top = [r.tier_id for r in rows if r.parent is None and display.get(r.tier_id)]
    aligned = [s for t in display for s in display[t] if s.parent is None and s.aligned and s.end - s.start > 2]
    referring = [s for t in display for s in display[t] if s.parent is not None]
    dependent = [r for r in rows if r.parent is not None]
    out: list[EditCommand] = []
    for _ in range(4):
        a = rng.choice(aligned)
        tier_segs = sorted(display[a.tier_id], key=lambda s: (s.start, s.end))
        i = tier_segs.index(a)
        nxt = tier_segs[i + 1] if i + 1 < len(tier_segs) else a
        parent_of = {r.tier_id: r.parent for r in rows}
        candidates = [s for s in aligned if dependent and s.tier_id in parent_of.values()]
        under = rng.choice(candidates) if candidates else a
        child_tiers = [r.tier_id for r in dependent if r.parent == under.tier_id] or [a.tier_id]
        out += [
            SplitAnnotation(doc_id, a.ann_id, (a.start + a.end) // 2),
            MergeAnnotations(doc_id, a.ann_id, nxt.ann_id),
            SetAnnotationTimes(doc_id, a.ann_id, a.start + 1, a.end + 7),
            SetAnnotationValue(doc_id, rng.choice(referring or aligned).ann_id, "changed"),
            DeleteAnnotation(doc_id, rng.choice(aligned + referring).ann_id),
            CreateAnnotation(doc_id, rng.choice(top), a.start, a.end, "new"),
            CreateReferringAnnotation(doc_id, rng.choice(child_tiers), under.ann_id, "made in place"),
        ]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("name", FILES)
def test_a_patch_after_each_edit_and_undo_equals_a_full_reload(store: Store, name: str) -> None:
    doc_id = import_file(store, corpus_file(name)).doc_id
    shown = document_display(store, doc_id)
    rng = random.Random(name)
    done = 0
    for cmd in _edits(store, doc_id, rng):
        try:
            apply_edit(store, cmd)
        except AnnotationError:
            continue  # refused (an unaligned end, a neighbour in between, ...): nothing changed
        for step in ("apply", "revert"):
            patch = segments_patch(store, doc_id, cmd.touched)
            apply_patch(shown, patch)
            assert _by_id(shown) == _by_id(document_display(store, doc_id)), (step, cmd)
            if step == "apply":
                revert_edit(store, cmd)
        apply_edit(store, cmd)  # and redo, to go on from the edited document
        apply_patch(shown, segments_patch(store, doc_id, cmd.touched))
        done += 1
    assert done >= 8
    assert _by_id(shown) == _by_id(document_display(store, doc_id))


@pytest.mark.parametrize(
    "name",
    ["paul-shannon__IJAL-interlinear__AYA1_MonkeyandThunder.eaf", *in_corpus("christopheparisse__teicorpo__0042.eaf")],
)
def test_a_patch_reads_only_what_the_edit_touched(store: Store, name: str) -> None:
    doc_id = import_file(store, corpus_file(name)).doc_id
    display = document_display(store, doc_id)
    total = sum(len(v) for v in display.values())
    seg = next(s for t in display for s in display[t] if s.parent is None)
    cmd = SetAnnotationValue(doc_id, seg.ann_id, "changed")
    apply_edit(store, cmd)
    patch = segments_patch(store, doc_id, cmd.touched)
    assert 1 <= len(patch) < 10 < total  # the annotation and its referring children, not the document
    assert next(s for s in patch.segments[seg.tier_id] if s.ann_id == seg.ann_id).value == "changed"


def test_unaligned_slots_next_to_a_moved_or_new_slot_move_with_it(store: Store) -> None:
    """Long runs of unaligned slots (longer than the first stretch read around a slot), a slot moved in the
    middle of them, and new slots appended after a run at the end of the time order."""
    from annotation.elan.model import Annotation, EafDocument, Tier, TimeSlot
    from annotation.store.documents import store_document

    run = [TimeSlot(f"u{i}", None) for i in range(1, 40)]
    tail = [TimeSlot(f"z{i}", None) for i in range(1, 25)]
    slots = [TimeSlot("t0", 0), *run[:20], TimeSlot("m1", 5000), *run[20:], TimeSlot("t1", 10_000)]
    slots += [TimeSlot("m2", 11_000), TimeSlot("t2", 12_000), *tail]
    bounds = ["t0", *(s.slot_id for s in run), "t1"]
    doc = EafDocument(
        time_slots=slots,
        linguistic_types=[
            {"LINGUISTIC_TYPE_ID": "top", "TIME_ALIGNABLE": "true"},
            {"LINGUISTIC_TYPE_ID": "parts", "TIME_ALIGNABLE": "true", "CONSTRAINTS": "Time_Subdivision"},
        ],
        tiers=[
            Tier({"TIER_ID": "Call", "LINGUISTIC_TYPE_REF": "top"}, [Annotation("a1", "call", "t0", "t1")]),
            Tier(
                {"TIER_ID": "Parts", "LINGUISTIC_TYPE_REF": "parts", "PARENT_REF": "Call"},
                [Annotation(f"p{i}", str(i), bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)],
            ),
            Tier({"TIER_ID": "Marker", "LINGUISTIC_TYPE_REF": "top"}, [Annotation("k1", "m", "m1", "m2")]),
            Tier(
                {"TIER_ID": "Tail", "LINGUISTIC_TYPE_REF": "top"},
                [Annotation(f"z{i}", "", "t2" if i == 1 else f"z{i - 1}", f"z{i}") for i in range(1, 25)],
            ),
        ],
    )
    with store.session() as s:
        doc_id = store_document(s, doc, "unaligned")
    shown = document_display(store, doc_id)
    for cmd in [
        SetAnnotationTimes(doc_id, "k1", 7000, 11_000),  # m1 moves: both runs around it are placed again
        CreateAnnotation(doc_id, "Marker", 30_000, 31_000, "late"),  # new slots after the trailing run
    ]:
        apply_edit(store, cmd)
        before = {s.ann_id: s for segs in shown.values() for s in segs}
        patch = segments_patch(store, doc_id, cmd.touched)
        apply_patch(shown, patch)
        after = _by_id(document_display(store, doc_id))
        assert _by_id(shown) == after
        moved = {a for t in after for a, s in after[t].items() if before.get(a) != s}
        assert moved and moved <= {s.ann_id for segs in patch.segments.values() for s in segs}
    # the trailing run is now spread out up to the new annotation's start, as ELAN places it
    assert document_display(store, doc_id)["Tail"][-1].end == 12_000 + 18_000 * 24 // 25
