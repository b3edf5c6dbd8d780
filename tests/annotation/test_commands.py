"""Edits as commands: applied and committed at once, undone exactly, never silently overwriting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
from annotation.edits.structure_edits import CreateReferringAnnotation, MergeAnnotations, SplitAnnotation
from annotation.elan.compare import compare_eaf
from annotation.elan.model import Annotation, EafDocument, Tier, TimeSlot
from annotation.errors import ConflictError, InvalidEdit, NotFound
from annotation.services import apply_edit, document_display, export_eaf, import_file, new_document, revert_edit
from annotation.store.documents import store_document
from annotation.store.engine import Store, open_store
from annotation.store.tables import AnnotationRow, TimeSlotRow


def _values(store: Store, doc_id: int, tier: str) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.value) for s in document_display(store, doc_id)[tier]]


def test_create_edit_move_delete_and_undo(store: Store) -> None:
    doc = new_document(store, "referral", name="t")
    create = CreateAnnotation(doc, "Call phase", 1000, 4000, "opening")
    apply_edit(store, create)
    assert create.ann_id == "a1"
    assert _values(store, doc, "Call phase") == [(1000, 4000, "opening")]
    setv = SetAnnotationValue(doc, "a1", "reason for call")
    apply_edit(store, setv)
    move = SetAnnotationTimes(doc, "a1", 1500, 5000)
    apply_edit(store, move)
    assert _values(store, doc, "Call phase") == [(1500, 5000, "reason for call")]
    revert_edit(store, move)
    revert_edit(store, setv)
    assert _values(store, doc, "Call phase") == [(1000, 4000, "opening")]
    delete = DeleteAnnotation(doc, "a1")
    apply_edit(store, delete)
    assert _values(store, doc, "Call phase") == []
    revert_edit(store, delete)
    assert _values(store, doc, "Call phase") == [(1000, 4000, "opening")]
    revert_edit(store, create)
    assert _values(store, doc, "Call phase") == []
    apply_edit(store, create)  # redo keeps the id
    assert create.ann_id == "a1"


def test_invalid_edits_are_refused(store: Store) -> None:
    doc = new_document(store, "referral")
    with pytest.raises(InvalidEdit, match="must be after start"):
        apply_edit(store, CreateAnnotation(doc, "Call phase", 5000, 5000, "x"))
    with pytest.raises(NotFound, match="tier 'Nope'"):
        apply_edit(store, CreateAnnotation(doc, "Nope", 0, 10, "x"))
    with pytest.raises(InvalidEdit, match="control character"):
        apply_edit(store, CreateAnnotation(doc, "Notes", 0, 10, "bell\x07"))
    with pytest.raises(NotFound, match="annotation 'a99'"):
        apply_edit(store, SetAnnotationValue(doc, "a99", "x"))
    assert all(not v for v in document_display(store, doc).values())


def test_stale_editor_gets_a_conflict_not_an_overwrite(store: Store) -> None:
    doc = new_document(store, "referral")
    apply_edit(store, CreateAnnotation(doc, "Concern", 0, 1000, "neglect"))
    with store.session() as s:
        seen = s.scalar(select(AnnotationRow.version).where(AnnotationRow.ann_id == "a1"))
    apply_edit(store, SetAnnotationValue(doc, "a1", "physical abuse", expected_version=seen))
    with pytest.raises(ConflictError, match="changed by someone else"):
        apply_edit(store, SetAnnotationValue(doc, "a1", "emotional abuse", expected_version=seen))
    assert _values(store, doc, "Concern") == [(0, 1000, "physical abuse")]


def test_undo_does_not_overwrite_a_later_change_by_someone_else(store: Store) -> None:
    doc = new_document(store, "referral", name="shared")
    create = CreateAnnotation(doc, "Call phase", 0, 1000, "opening")
    apply_edit(store, create)
    assert create.ann_id is not None
    mine = SetAnnotationValue(doc, create.ann_id, "closing")
    apply_edit(store, mine)
    revert_edit(store, mine)  # my own undo and redo work as before
    apply_edit(store, mine)
    moved = SetAnnotationTimes(doc, create.ann_id, 100, 900)
    apply_edit(store, moved)
    theirs = SetAnnotationValue(doc, create.ann_id, "decision")  # a colleague, after my edits
    apply_edit(store, theirs)
    with pytest.raises(ConflictError, match="changed by someone else"):
        revert_edit(store, mine)
    (seg,) = document_display(store, doc)["Call phase"]
    assert (seg.value, seg.start, seg.end) == ("decision", 100, 900)  # theirs kept, my undo refused
    their_move = SetAnnotationTimes(doc, create.ann_id, 200, 800)
    apply_edit(store, their_move)
    with pytest.raises(ConflictError):
        revert_edit(store, moved)
    (seg,) = document_display(store, doc)["Call phase"]
    assert (seg.start, seg.end) == (200, 800)


def test_concurrent_writers_on_postgresql_do_not_overwrite(pg_url: str) -> None:
    """Two transactions update the same row at once: the second waits, then sees the version moved on."""
    a, b = open_store(pg_url), open_store(pg_url)
    doc = new_document(a, "referral")
    apply_edit(a, CreateAnnotation(doc, "Concern", 0, 1000, "neglect"))
    errors: list[Exception] = []
    first = a.engine.connect()
    tx = first.begin()
    first.execute(update(AnnotationRow).where(AnnotationRow.ann_id == "a1").values(value="A", version=2))

    def second() -> None:
        try:
            apply_edit(b, SetAnnotationValue(doc, "a1", "B", expected_version=1))
        except ConflictError as exc:
            errors.append(exc)

    t = threading.Thread(target=second)
    t.start()
    t.join(1.0)
    assert t.is_alive(), "the second writer should wait for the first one's row lock"
    tx.commit()
    first.close()
    t.join(10)
    assert len(errors) == 1
    assert _values(a, doc, "Concern") == [(0, 1000, "A")]


def test_shared_slots_are_not_moved_under_other_annotations(store: Store, corpus: Path, tmp_path: Path) -> None:
    src = corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf"
    r = import_file(store, src)
    with store.session() as s:
        row = s.scalars(
            select(AnnotationRow).where(AnnotationRow.document_id == r.doc_id, AnnotationRow.ts1.is_not(None))
        ).first()
        assert row is not None
        aid = row.ann_id
    before = document_display(store, r.doc_id)
    move = SetAnnotationTimes(r.doc_id, aid, 10, 20)
    apply_edit(store, move)
    after = document_display(store, r.doc_id)
    moved = next(s for t in after for s in after[t] if s.ann_id == aid)
    assert (moved.start, moved.end) == (10, 20)
    # Only the moved annotation and referring annotations that inherit its span may change.
    was = {t: set(segs) for t, segs in before.items()}  # once per tier, not once per segment
    changed = {s.ann_id for t in after for s in after[t] if s not in was[t]}
    assert aid in changed
    assert changed <= {aid} | {s.ann_id for t in after for s in after[t] if s.parent}
    revert_edit(store, move)
    out = tmp_path / "back.eaf"
    export_eaf(store, r.doc_id, out)
    assert compare_eaf(src, out) == []


def test_deleting_a_parent_deletes_its_dependents_and_undo_restores_all(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    src = corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf"
    r = import_file(store, src)
    with store.session() as s:
        parent = s.scalar(
            select(AnnotationRow.ref).where(AnnotationRow.document_id == r.doc_id, AnnotationRow.ref.is_not(None))
        )
    assert parent is not None
    cmd = DeleteAnnotation(r.doc_id, parent)
    apply_edit(store, cmd)
    assert len(cmd._rows) > 1
    revert_edit(store, cmd)
    out = tmp_path / "back.eaf"
    export_eaf(store, r.doc_id, out)
    assert compare_eaf(src, out) == []


EDITOR = """
import sys, time
from annotation.edits.commands import CreateAnnotation
from annotation.services import apply_edit, new_document
from annotation.store.engine import open_store
store = open_store(sys.argv[1])
doc = new_document(store, "referral", name="killed")
for i in range(20):
    apply_edit(store, CreateAnnotation(doc, "Call phase", i * 1000, i * 1000 + 900, f"edit {i}"))
print(doc, flush=True)
time.sleep(60)
"""


def test_every_edit_survives_kill_9(db_url: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", EDITOR, db_url], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
    )
    assert proc.stdout is not None
    doc = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = open_store(db_url)
    assert [v for _, _, v in _values(store, doc, "Call phase")] == [f"edit {i}" for i in range(20)]


# -- split, merge, referring annotations made in place -----------------------------------------------------------


def _ids_values(store: Store, doc_id: int, tier: str) -> list[tuple[str, int, int, str]]:
    return [(s.ann_id, s.start, s.end, s.value) for s in document_display(store, doc_id)[tier]]


def _rows(store: Store, doc_id: int) -> list[tuple[Any, ...]]:
    """Every annotation row as stored (without its version), to check that a revert is exact."""
    with store.session() as s:
        q = select(AnnotationRow).where(AnnotationRow.document_id == doc_id).order_by(AnnotationRow.id)
        return [
            (r.id, r.tier_pk, r.pos, r.ann_id, r.ts1, r.ts2, r.ref, r.prev, r.value, r.cve_ref) for r in s.scalars(q)
        ]


def _slots(store: Store, doc_id: int) -> list[tuple[Any, ...]]:
    with store.session() as s:
        q = select(TimeSlotRow).where(TimeSlotRow.document_id == doc_id).order_by(TimeSlotRow.id)
        return [(r.id, r.pos, r.slot_id, r.time_ms) for r in s.scalars(q)]


def test_split_keeps_the_value_on_both_halves_and_merge_undoes_it(store: Store) -> None:
    doc = new_document(store, "referral")
    apply_edit(store, CreateAnnotation(doc, "Call phase", 1000, 5000, "opening"))
    before_rows, before_slots = _rows(store, doc), _slots(store, doc)
    split = SplitAnnotation(doc, "a1", 3000)
    apply_edit(store, split)
    assert split.new_id == "a2"
    assert _ids_values(store, doc, "Call phase") == [("a1", 1000, 3000, "opening"), ("a2", 3000, 5000, "opening")]
    assert split.touched.tiers == {"Call phase"} and split.touched.annotations == {"a1", "a2"}
    revert_edit(store, split)
    assert _rows(store, doc) == before_rows and _slots(store, doc) == before_slots  # ids, slots and all
    apply_edit(store, split)  # redo: the same id for the second half, so later edits naming it still work
    assert split.new_id == "a2"
    merge = MergeAnnotations(doc, "a1", "a2")
    apply_edit(store, merge)
    assert _ids_values(store, doc, "Call phase") == [("a1", 1000, 5000, "opening")]
    after_split = _ids_values(store, doc, "Call phase")
    revert_edit(store, merge)
    assert _ids_values(store, doc, "Call phase") == [("a1", 1000, 3000, "opening"), ("a2", 3000, 5000, "opening")]
    apply_edit(store, merge)
    assert _ids_values(store, doc, "Call phase") == after_split


def test_split_and_merge_refusals_name_the_annotation(store: Store) -> None:
    doc = new_document(store, "referral")
    for tier, s, e, v in [
        ("Call phase", 0, 1000, "opening"),
        ("Call phase", 1000, 2000, "closing"),
        ("Call phase", 2000, 3000, ""),
        ("Call phase", 5000, 6000, "closing"),
        ("Concern", 0, 1000, "neglect"),
    ]:
        apply_edit(store, CreateAnnotation(doc, tier, s, e, v))
    refused = [
        (SplitAnnotation(doc, "a1", 1000), InvalidEdit, "annotation 'a1': 1000 ms is not inside it (0-1000 ms)"),
        (SplitAnnotation(doc, "a1", -5), InvalidEdit, "annotation 'a1': -5 ms is not inside it"),
        (SplitAnnotation(doc, "a77", 5), NotFound, "annotation 'a77': no such annotation"),
        (MergeAnnotations(doc, "a1", "a1"), InvalidEdit, "annotation 'a1': cannot be merged with itself"),
        (MergeAnnotations(doc, "a2", "a1"), InvalidEdit, "annotation 'a1': starts before 'a2'"),
        (MergeAnnotations(doc, "a1", "a5"), InvalidEdit, "annotation 'a5': on tier 'Concern', not on a1's tier"),
        (MergeAnnotations(doc, "a1", "a3"), InvalidEdit, "annotation 'a2': lies between 'a1' and 'a3'"),
        (MergeAnnotations(doc, "a1", "a2"), InvalidEdit, "annotation 'a1': 'opening' and 'closing' (a2) differ"),
    ]
    for cmd, error, message in refused:
        with pytest.raises(error) as info:
            apply_edit(store, cmd)
        assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert len(_rows(store, doc)) == 5  # nothing was changed by a refused edit
    # an empty value gives way; a gap between the two is covered, as ELAN's merge covers it
    merge = MergeAnnotations(doc, "a3", "a4")
    apply_edit(store, merge)
    assert _ids_values(store, doc, "Call phase")[-1] == ("a3", 2000, 6000, "closing")


def test_merging_free_text_joins_the_values_as_elan_does(store: Store) -> None:
    doc = new_document(store, "referral")
    apply_edit(store, CreateAnnotation(doc, "Notes", 0, 1000, "caller hesitant"))
    apply_edit(store, CreateAnnotation(doc, "Notes", 1000, 2000, "names the school"))
    apply_edit(store, MergeAnnotations(doc, "a1", "a2"))
    assert _ids_values(store, doc, "Notes") == [("a1", 0, 2000, "caller hesitant names the school")]


def _interlinear(store: Store) -> int:
    """An utterance tier with words (Symbolic_Subdivision, each with a gloss: Symbolic_Association), a
    translation (Symbolic_Association) and a Time_Subdivision tier of phases."""
    lt = [
        {"LINGUISTIC_TYPE_ID": "utterance", "TIME_ALIGNABLE": "true"},
        {"LINGUISTIC_TYPE_ID": "words", "TIME_ALIGNABLE": "false", "CONSTRAINTS": "Symbolic_Subdivision"},
        {"LINGUISTIC_TYPE_ID": "assoc", "TIME_ALIGNABLE": "false", "CONSTRAINTS": "Symbolic_Association"},
        {"LINGUISTIC_TYPE_ID": "phases", "TIME_ALIGNABLE": "true", "CONSTRAINTS": "Time_Subdivision"},
    ]

    def tier(tid: str, ltype: str, parent: str | None, anns: list[Annotation]) -> Tier:
        attrs = {"TIER_ID": tid, "LINGUISTIC_TYPE_REF": ltype}
        if parent:
            attrs["PARENT_REF"] = parent
        return Tier(attrs=attrs, annotations=anns)

    words = ["I", "am", "calling", "about"]
    doc = EafDocument(
        time_slots=[TimeSlot("ts1", 0), TimeSlot("ts2", 2000), TimeSlot("ts3", 4000), TimeSlot("ts4", 6000)],
        linguistic_types=lt,
        properties=[("lastUsedAnnotationId", "20")],
        tiers=[
            tier("Speech", "utterance", None, [Annotation("a1", "I am calling about", "ts1", "ts3")]),
            tier(
                "Words",
                "words",
                "Speech",
                [Annotation(f"a{2 + i}", w, ref="a1", prev=f"a{1 + i}" if i else None) for i, w in enumerate(words)],
            ),
            tier(
                "Gloss",
                "assoc",
                "Words",
                [Annotation(f"a{6 + i}", w.upper(), ref=f"a{2 + i}") for i, w in enumerate(words)],
            ),
            tier("Translation", "assoc", "Speech", [Annotation("a10", "ich rufe an wegen", ref="a1")]),
            tier(
                "Phase",
                "phases",
                "Speech",
                [Annotation("a11", "ask", "ts1", "ts2"), Annotation("a12", "tell", "ts2", "ts3")],
            ),
            tier("Later", "utterance", None, [Annotation("a13", "next", "ts3", "ts4")]),
        ],
    )
    with store.session() as s:
        return store_document(s, doc, "interlinear")


def test_split_moves_subdivisions_with_their_half_and_copies_associations(store: Store) -> None:
    doc = _interlinear(store)
    before_rows, before_slots = _rows(store, doc), _slots(store, doc)
    with pytest.raises(InvalidEdit, match="'a11' on tier 'Phase' crosses 1000 ms"):
        apply_edit(store, SplitAnnotation(doc, "a1", 1000))
    split = SplitAnnotation(doc, "a1", 2000)
    apply_edit(store, split)
    new = split.new_id
    display = document_display(store, doc)
    words = {s.ann_id: (s.parent, s.start, s.end, s.value) for s in display["Words"]}
    assert words == {
        "a2": ("a1", 0, 1000, "I"),
        "a3": ("a1", 1000, 2000, "am"),
        "a4": (new, 2000, 3000, "calling"),
        "a5": (new, 3000, 4000, "about"),
    }
    assert {(s.start, s.end, s.value) for s in display["Gloss"]} >= {(2000, 3000, "CALLING"), (0, 1000, "I")}
    translations = [(s.parent, s.start, s.end, s.value) for s in display["Translation"]]
    assert translations == [("a1", 0, 2000, "ich rufe an wegen"), (new, 2000, 4000, "ich rufe an wegen")]
    assert {"Speech", "Words", "Translation"} <= split.touched.tiers
    revert_edit(store, split)
    assert _rows(store, doc) == before_rows and _slots(store, doc) == before_slots

    apply_edit(store, split)
    merge = MergeAnnotations(doc, "a1", new or "")
    apply_edit(store, merge)
    display = document_display(store, doc)
    assert [(s.ann_id, s.parent) for s in display["Words"]] == [("a2", "a1"), ("a3", "a1"), ("a4", "a1"), ("a5", "a1")]
    assert [(s.start, s.end) for s in display["Words"]] == [(0, 1000), (1000, 2000), (2000, 3000), (3000, 4000)]
    assert [(s.ann_id, s.value) for s in display["Translation"]] == [("a10", "ich rufe an wegen")]
    after_merge = _rows(store, doc)
    revert_edit(store, merge)
    apply_edit(store, merge)
    assert [r[3:] for r in _rows(store, doc)] == [r[3:] for r in after_merge]


def test_referring_annotations_are_made_under_their_parent(store: Store) -> None:
    doc = _interlinear(store)
    apply_edit(store, DeleteAnnotation(doc, "a10"))
    make = CreateReferringAnnotation(doc, "Translation", "a1", "new translation")
    apply_edit(store, make)
    assert [(s.ann_id, s.parent, s.start, s.end) for s in document_display(store, doc)["Translation"]] == [
        (make.ann_id, "a1", 0, 4000)
    ]
    assert make.touched.tiers == {"Translation"} and make.touched.annotations == {make.ann_id, "a1"}
    with pytest.raises(InvalidEdit, match=f"annotation 'a1': already has '{make.ann_id}' on tier 'Translation'"):
        apply_edit(store, CreateReferringAnnotation(doc, "Translation", "a1"))
    with pytest.raises(
        InvalidEdit, match="annotation 'a13': on tier 'Later', not on 'Speech', the parent tier of 'Translation'"
    ):
        apply_edit(store, CreateReferringAnnotation(doc, "Translation", "a13"))
    with pytest.raises(InvalidEdit, match="tier 'Later': a top-level tier"):
        apply_edit(store, CreateReferringAnnotation(doc, "Later", "a1"))
    word = CreateReferringAnnotation(doc, "Words", "a1", "it")  # a subdivision: appended to the chain
    apply_edit(store, word)
    assert [s.value for s in document_display(store, doc)["Words"]] == ["I", "am", "calling", "about", "it"]
    revert_edit(store, word)
    assert [s.value for s in document_display(store, doc)["Words"]] == ["I", "am", "calling", "about"]
    with pytest.raises(InvalidEdit, match="tier 'Phase' already has 'a11' in its time"):
        apply_edit(store, CreateReferringAnnotation(doc, "Phase", "a1"))
    revert_edit(store, make)
    assert document_display(store, doc)["Translation"] == []
