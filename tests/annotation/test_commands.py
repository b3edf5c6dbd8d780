"""Edits as commands: applied and committed at once, undone exactly, never silently overwriting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, update

from annotation.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
from annotation.eaf_compare import compare_eaf
from annotation.errors import ConflictError, InvalidEdit, NotFound
from annotation.services import apply_edit, document_display, export_eaf, import_file, new_document, revert_edit
from annotation.store import Store, open_store
from annotation.store_models import AnnotationRow


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
    changed = {s.ann_id for t in after for s in after[t] if s not in set(before[t])}
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
from annotation.commands import CreateAnnotation
from annotation.services import apply_edit, new_document
from annotation.store import open_store
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
