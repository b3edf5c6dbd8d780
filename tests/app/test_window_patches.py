"""The window after random edits, undos and redos through its undo stack: the timeline's tiers and the
annotations table, patched edit by edit, hold exactly what a full ``document_display`` gives, in order."""

from __future__ import annotations

import os
import random
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from pytestqt.qtbot import QtBot

from annotation.edits.base import EditCommand
from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
from annotation.edits.structure_edits import CreateReferringAnnotation, MergeAnnotations, SplitAnnotation
from annotation.elan.tiers import tier_rows
from annotation.elan.timing import Segment
from annotation.services import document_display, get_document, import_file
from annotation.store.engine import open_store, sqlite_url

FILES = ["dopefishh__pympi__sample_3.0.eaf", "paul-shannon__IJAL-interlinear__AYA1_MonkeyandThunder.eaf"]


def _random_edit(
    disp: dict[str, list[Segment]], doc: int, rng: random.Random, top: list[str], dependent: list[tuple[str, str]]
) -> EditCommand | None:
    """A random edit of the document now shown as ``disp`` (its full reload)."""
    segs = [s for t in sorted(disp) for s in disp[t]]
    aligned = [s for s in segs if s.parent is None and s.aligned and s.end - s.start > 2]
    k = rng.randrange(7)
    if k == 0 and aligned:
        a = rng.choice(aligned)
        return SplitAnnotation(doc, a.ann_id, rng.randint(a.start + 1, a.end - 1))
    if k == 1 and aligned:
        a = rng.choice(aligned)
        tier = sorted(disp[a.tier_id], key=lambda s: (s.start, s.end))
        i = tier.index(a)
        return MergeAnnotations(doc, a.ann_id, tier[i + 1].ann_id) if i + 1 < len(tier) else None
    if k == 2 and aligned:
        a = rng.choice(aligned)
        start = max(0, a.start + rng.randint(-300, 300))
        return SetAnnotationTimes(doc, a.ann_id, start, start + rng.randint(1, 2000))
    if k == 3 and segs:
        return SetAnnotationValue(doc, rng.choice(segs).ann_id, rng.choice(["", "x", "two words"]))
    if k == 4 and segs:
        return DeleteAnnotation(doc, rng.choice(segs).ann_id)
    if k == 5 and dependent:
        tier_id, parent = rng.choice(dependent)
        return (
            CreateReferringAnnotation(doc, tier_id, rng.choice(disp[parent]).ann_id, "r") if disp.get(parent) else None
        )
    start = rng.randint(0, 60_000)
    return CreateAnnotation(doc, rng.choice(top), start, start + rng.randint(1, 3000), "n")


def _by_id(segments: list[Segment]) -> dict[str, dict[str, Segment]]:
    out: dict[str, dict[str, Segment]] = {}
    for s in segments:
        out.setdefault(s.tier_id, {})[s.ann_id] = s
    return out


@pytest.mark.parametrize("name", FILES)
def test_the_timeline_and_table_patched_after_every_edit_equal_a_full_reload(
    qtbot: QtBot, corpus: Path, tmp_path: Path, name: str
) -> None:
    from app.gui.main_window import MainWindow

    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    doc = import_file(store, corpus / "eaf" / name).doc_id
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    rows = tier_rows(get_document(store, doc))
    top = [r.tier_id for r in rows if r.parent is None]
    dependent = [(r.tier_id, r.parent) for r in rows if r.parent is not None]
    rng = random.Random(name)
    disp = document_display(store, doc)  # the full reload, read once a step (it takes 0.2 s on 9,000 annotations)
    for step in range(60):
        k = rng.random()
        if k < 0.15:
            w.undo_stack.undo()
        elif k < 0.25:
            w.undo_stack.redo()
        else:
            cmd = _random_edit(disp, doc, rng, top, dependent)
            if cmd is not None:
                w.push(cmd)
        disp = document_display(store, doc)
        full = _by_id([s for segs in disp.values() for s in segs])
        shown = _by_id([s for data in w.timeline._data.values() for s in data.segments])
        table = [w.table_model.segment(r) for r in range(w.table_model.rowCount())]
        assert shown == full, step
        assert _by_id(table) == full, step
        assert [(s.start, s.tier_id, s.end) for s in table] == sorted((s.start, s.tier_id, s.end) for s in table)
        for data in w.timeline._data.values():
            assert data.starts.tolist() == [s.start for s in data.segments]
            assert [(s.start, s.end) for s in data.segments] == sorted((s.start, s.end) for s in data.segments)
    store.close()
