"""Coding on the timeline in the main window, driven like a user would: split at the playhead with S, merge with
M, the right-click menu, values typed in place with the vocabulary completing them, referring annotations made
in place; and each edit refreshes only what it touched, never the whole document."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from annotation.edits.commands import CreateAnnotation
from annotation.elan.model import Annotation, EafDocument, Tier, TimeSlot
from annotation.services import add_recording, document_display, ensure_project, new_document
from annotation.store.documents import store_document
from annotation.store.engine import Store, open_store, sqlite_url
from annotation.store.tables import AnnotationRow
from media_tools.probe import probe
from media_tools.synth import make_coded_recording

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_recording(tmp_path_factory.mktemp("editing") / "duty room.mp4", seconds=6)


@pytest.fixture
def coded_store(tmp_path: Path, media: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, int]:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    info = probe(media)
    rid = add_recording(store, ensure_project(store, "Study"), media, duration_ms=info.duration_ms, fps=info.fps)
    return store, new_document(store, "referral", name="call 1", recording_id=rid)


def _window(qtbot: QtBot, store: Store, doc: int) -> Any:
    from app.gui.main_window import MainWindow

    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)
    w.timeline.setFocus()
    w.timeline.zoom_to(0, 6000)
    return w


def _tier(store: Store, doc: int, tier: str) -> list[tuple[str, int, int, str]]:
    return [(s.ann_id, s.start, s.end, s.value) for s in document_display(store, doc).get(tier, [])]


def _at(w: Any, tier: str, ms: float) -> QPoint:
    return QPoint(round(w.timeline.x_for_ms(ms)), w.timeline.row_rect(tier).center().y())


def test_split_at_the_playhead_with_s_merge_with_m_and_undo_both(qtbot: QtBot, coded_store: tuple[Store, int]) -> None:
    store, doc = coded_store
    w = _window(qtbot, store, doc)
    assert dict(w.shortcuts())["Split annotation at playhead"] == "S"
    assert dict(w.shortcuts())["Merge annotation with next"] == "M"
    w.push(CreateAnnotation(doc, "Call phase", 1000, 5000, "opening"))
    qtbot.mouseClick(w.timeline.viewport(), Qt.MouseButton.LeftButton, pos=_at(w, "Call phase", 2000))
    assert w.timeline.selected() == ("Call phase", "a1")
    w.player.seek(3000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_S)
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 3000, "opening"), ("a2", 3000, 5000, "opening")]
    assert [s.ann_id for s in w.timeline.segments_in("Call phase", 0, 6000)] == ["a1", "a2"]
    qtbot.keyClick(w.timeline, Qt.Key.Key_Z, CTRL)
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 5000, "opening")]
    assert [(s.start, s.end) for s in w.timeline.segments_in("Call phase", 0, 6000)] == [(1000, 5000)]
    qtbot.keyClick(w.timeline, Qt.Key.Key_Z, CTRL | SHIFT)
    assert len(_tier(store, doc, "Call phase")) == 2

    qtbot.keyClick(w.timeline, Qt.Key.Key_M)  # the selected a1 with the next one, a2
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 5000, "opening")]
    assert w.table_model.rowCount() == 1
    qtbot.keyClick(w.timeline, Qt.Key.Key_Z, CTRL)
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 3000, "opening"), ("a2", 3000, 5000, "opening")]
    assert w.table_model.rowCount() == 2

    w.timeline.set_selected("Call phase", "a2")  # the last one: nothing to merge with, said in one line
    qtbot.keyClick(w.timeline, Qt.Key.Key_M)
    assert w.message.text() == "annotation 'a2': the last one on tier 'Call phase', nothing to merge with"


def test_the_context_menu_splits_merges_and_deletes(qtbot: QtBot, coded_store: tuple[Store, int]) -> None:
    store, doc = coded_store
    w = _window(qtbot, store, doc)
    w.push(CreateAnnotation(doc, "Call phase", 1000, 5000, "opening"))

    def trigger(ms: float, text: str) -> None:
        menu = w.timeline.context_menu(_at(w, "Call phase", ms))
        assert menu is not None
        (action,) = [a for a in menu.actions() if a.text() == text]
        action.trigger()

    trigger(2013, "Split here")
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 2000, "opening"), ("a2", 2000, 5000, "opening")]
    trigger(1500, "Merge with next")
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 5000, "opening")]
    trigger(1500, "Delete")
    assert _tier(store, doc, "Call phase") == [] and w.timeline.segments_in("Call phase", 0, 6000) == []
    assert w.undo_stack.count() == 4
    w.undo_stack.undo()
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 5000, "opening")]


def test_typing_a_value_in_place_with_the_vocabulary(qtbot: QtBot, coded_store: tuple[Store, int]) -> None:
    store, doc = coded_store
    w = _window(qtbot, store, doc)
    w.push(CreateAnnotation(doc, "Call phase", 1000, 5000, ""))
    qtbot.mouseDClick(w.timeline.viewport(), Qt.MouseButton.LeftButton, pos=_at(w, "Call phase", 3000))
    editor = w.timeline.editor()
    assert editor is not None and editor.hasFocus()
    qtbot.keyClicks(editor, "gath")  # typing does not code or split: the keys go to the field
    assert w.coder.open == {} and len(_tier(store, doc, "Call phase")) == 1
    popup = editor.completer().popup()
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert _tier(store, doc, "Call phase") == [("a1", 1000, 5000, "information gathering")]
    with store.session() as s:
        row = s.query(AnnotationRow).filter_by(document_id=doc, ann_id="a1").one()
        assert row.cve_ref == "cveid_call_phase_information_gathering"  # as ELAN links a vocabulary value
    assert [s.value for s in w.timeline.segments_in("Call phase", 0, 6000)] == ["information gathering"]

    qtbot.keyClick(w.timeline, Qt.Key.Key_F2)  # F2 edits the selection in place too
    editor = w.timeline.editor()
    assert editor is not None
    editor.setText("Decision")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert _tier(store, doc, "Call phase")[0][3] == "decision"
    qtbot.keyClick(w.timeline, Qt.Key.Key_Z, CTRL)
    assert _tier(store, doc, "Call phase")[0][3] == "information gathering"


def _speech_document(store: Store) -> int:
    lt = [
        {"LINGUISTIC_TYPE_ID": "utterance", "TIME_ALIGNABLE": "true"},
        {"LINGUISTIC_TYPE_ID": "assoc", "TIME_ALIGNABLE": "false", "CONSTRAINTS": "Symbolic_Association"},
    ]
    doc = EafDocument(
        time_slots=[TimeSlot(f"ts{i}", t) for i, t in enumerate((500, 2000, 3000, 5000), 1)],
        linguistic_types=lt,
        tiers=[
            Tier(
                {"TIER_ID": "Speech", "LINGUISTIC_TYPE_REF": "utterance"},
                [
                    Annotation("a1", "can I speak to the duty worker", "ts1", "ts2"),
                    Annotation("a2", "yes", "ts3", "ts4"),
                ],
            ),
            Tier(
                {"TIER_ID": "Translation", "LINGUISTIC_TYPE_REF": "assoc", "PARENT_REF": "Speech"},
                [Annotation("a3", "kann ich den Bereitschaftsdienst sprechen", ref="a1")],
            ),
        ],
    )
    with store.session() as s:
        return store_document(s, doc, "speech")


def test_a_referring_annotation_is_made_and_typed_in_place(qtbot: QtBot, tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path / "speech.sqlite"))
    doc = _speech_document(store)
    w = _window(qtbot, store, doc)
    qtbot.mouseDClick(w.timeline.viewport(), Qt.MouseButton.LeftButton, pos=_at(w, "Translation", 4000))
    editor = w.timeline.editor()
    assert editor is not None
    made = [s for s in document_display(store, doc)["Translation"] if s.parent == "a2"]
    assert [(s.start, s.end, s.value) for s in made] == [(3000, 5000, "")]
    assert editor.ann_id == made[0].ann_id
    qtbot.keyClicks(editor, "ja")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert [(s.parent, s.value) for s in document_display(store, doc)["Translation"]] == [
        ("a1", "kann ich den Bereitschaftsdienst sprechen"),
        ("a2", "ja"),
    ]
    w.undo_stack.undo()
    w.undo_stack.undo()
    assert [s.parent for s in document_display(store, doc)["Translation"]] == ["a1"]
    assert [s.parent for s in w.timeline.segments_in("Translation", 0, 6000)] == ["a1"]


def test_an_edit_refreshes_only_the_tiers_and_rows_it_touched(
    qtbot: QtBot, coded_store: tuple[Store, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, doc = coded_store
    for tier, s, e, v in [("Call phase", 0, 2000, "opening"), ("Concern", 500, 4000, "neglect")]:
        from annotation.services import apply_edit

        apply_edit(store, CreateAnnotation(doc, tier, s, e, v))
    w = _window(qtbot, store, doc)

    def no_reload(*_args: Any) -> Any:
        raise AssertionError("an edit reloaded the whole document")

    monkeypatch.setattr("app.gui.window_documents.document_display", no_reload)
    concern = w.timeline._data["Concern"]
    concern_segments = w.timeline.segments_in("Concern", 0, 6000)
    edits: list[Any] = [
        lambda: w.push(CreateAnnotation(doc, "Call phase", 2000, 3000, "closing")),
        lambda: w.set_value("a1", "reason for call", "Call phase"),
        lambda: w._on_split("Call phase", "a3", 2480),
        lambda: w._on_merge("Call phase", "a3", "a4"),
        w.undo_stack.undo,
        w.undo_stack.undo,
        w.undo_stack.redo,
    ]
    for edit in edits:
        edit()
        assert w.message.text() == ""
        full = document_display(store, doc)
        shown = sorted((s.ann_id, s.start, s.end, s.value) for s in w.timeline.segments_in("Call phase", 0, 6000))
        assert shown == sorted((s.ann_id, s.start, s.end, s.value) for s in full["Call phase"])
        assert w.timeline._data["Concern"] is concern  # the other tier was not rebuilt
        assert w.timeline.segments_in("Concern", 0, 6000) == concern_segments
        rows = [w.table_model.segment(i) for i in range(w.table_model.rowCount())]
        assert rows == sorted((s for segs in full.values() for s in segs), key=lambda s: (s.start, s.tier_id, s.end))


def test_delete_loop_and_link_act_on_the_annotation_selected_on_the_timeline(
    qtbot: QtBot, coded_store: tuple[Store, int]
) -> None:
    """With the table filtered to another tier, an annotation clicked on the timeline is selected there but
    has no row in the table: Delete deleted the table's current row instead (and L looped it, and a record
    was linked to it), while S, M and F2 acted on the one selected on the timeline."""
    store, doc = coded_store
    w = _window(qtbot, store, doc)
    w.push(CreateAnnotation(doc, "Call phase", 1000, 2000, "opening"))
    w.push(CreateAnnotation(doc, "Concern", 3000, 4000, "neglect"))
    w.tier_filter.setCurrentIndex(w.tier_filter.findData("Call phase"))
    w.table.selectRow(0)
    qtbot.mouseClick(w.timeline.viewport(), Qt.MouseButton.LeftButton, pos=_at(w, "Concern", 3500))
    assert w.timeline.selected() == ("Concern", "a2")
    assert w._selected_annotation() == (doc, "a2")  # what a record would be linked to
    qtbot.keyClick(w.timeline, Qt.Key.Key_L)
    assert w.player.loop == (3000, 4000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_L)
    qtbot.keyClick(w.timeline, Qt.Key.Key_Delete)
    assert _tier(store, doc, "Concern") == [] and _tier(store, doc, "Call phase") == [("a1", 1000, 2000, "opening")]
    assert w.timeline.selected() is None
