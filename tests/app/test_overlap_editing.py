"""The window keeps a tier free of overlaps whatever the gesture: rapid coding at an annotation already there
ends it where the new one starts (and the timeline repaints both in their own colours), a drag stops at its
neighbour; and a document with no recording can still be walked through with the keys and the timeline."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from annotation.edits import CreateAnnotation
from annotation.services import add_recording, apply_edit, document_display, ensure_project, new_document
from annotation.store.engine import Store, open_store, sqlite_url
from app.gui.timeline.style import FILLS
from media_tools.probe import probe
from media_tools.synth import make_coded_recording


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_recording(tmp_path_factory.mktemp("app") / "duty room.mp4", seconds=6)


@pytest.fixture
def coded_store(tmp_path: Path, media: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, int]:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    info = probe(media)
    rid = add_recording(store, ensure_project(store, "Study"), media, duration_ms=info.duration_ms, fps=info.fps)
    doc = new_document(store, "referral", name="call 1", recording_id=rid)
    apply_edit(store, CreateAnnotation(doc, "Call phase", 1000, 5000, "information gathering"))
    return store, doc


def _call_phase(store: Store, doc: int) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.value) for s in document_display(store, doc).get("Call phase", [])]


def _window(qtbot: object, store: Store, doc: int):  # type: ignore[no-untyped-def]
    from app.gui.main_window import MainWindow

    w = MainWindow(store, doc)
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)  # type: ignore[attr-defined]
    w.timeline.setFocus()
    return w


def test_rapid_coding_inside_a_segment_ends_it_and_repaints_both(qtbot: object, coded_store: tuple[Store, int]) -> None:
    store, doc = coded_store
    w = _window(qtbot, store, doc)
    w.coding_tier.setCurrentIndex(w.coding_tier.findData("Call phase"))
    values = [part[2:] for part in w.coding_keys.text().split("   ")]
    assert values[3] == "consultation"
    w.player.seek(2000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_4)  # type: ignore[attr-defined]
    w.player.seek(3000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_4)  # type: ignore[attr-defined]
    assert _call_phase(store, doc) == [(1000, 2000, "information gathering"), (2000, 3000, "consultation")]
    assert [(s.start, s.end, s.value) for s in w.timeline.segments_in("Call phase", 0, 6000)] == _call_phase(store, doc)
    # painted: each in its own colour, and after the new one the tier is empty again (not consultation's)
    w.timeline.zoom_to(0, 6000)
    img = w.timeline.viewport().grab().toImage()
    y = w.timeline.row_rect("Call phase").center().y()
    colour = {v: QColor(FILLS[i]) for i, v in enumerate(values)}
    assert img.pixelColor(round(w.timeline.x_for_ms(1500)), y) == colour["information gathering"]
    assert img.pixelColor(round(w.timeline.x_for_ms(2500)), y) == colour["consultation"]
    after = img.pixelColor(round(w.timeline.x_for_ms(4000)), y)
    assert after not in (colour["consultation"], colour["information gathering"])
    qtbot.keyClick(w.timeline, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert _call_phase(store, doc) == [(1000, 5000, "information gathering")]  # undo gives it back whole
    assert [s.end for s in w.timeline.segments_in("Call phase", 0, 6000)] == [5000]


def test_a_drag_stops_at_the_neighbour(qtbot: object, coded_store: tuple[Store, int]) -> None:
    store, doc = coded_store
    apply_edit(store, CreateAnnotation(doc, "Call phase", 5400, 5800, "consultation"))
    w = _window(qtbot, store, doc)
    tl = w.timeline
    tl.zoom_to(0, 6000)
    y = tl.row_rect("Call phase").center().y()

    def drag(a: float, b: float) -> None:
        start, end = QPoint(round(tl.x_for_ms(a)), y), QPoint(round(tl.x_for_ms(b)), y)
        vp = tl.viewport()
        qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)  # type: ignore[attr-defined]
        qtbot.mouseMove(vp, (start + end) / 2)  # type: ignore[attr-defined]
        qtbot.mouseMove(vp, end)  # type: ignore[attr-defined]
        qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)  # type: ignore[attr-defined]

    drag(4990, 5750)  # the end of "information gathering" over "consultation": it stops at its start
    assert w.message.text() == ""
    assert _call_phase(store, doc) == [(1000, 5400, "information gathering"), (5400, 5800, "consultation")]
    w.undo_stack.undo()
    drag(5600, 2000)  # "consultation" moved left over "information gathering": it stops at its end
    assert w.message.text() == ""
    assert _call_phase(store, doc) == [(1000, 5000, "information gathering"), (5000, 5400, "consultation")]


def test_a_document_without_its_recording_can_be_walked_through(qtbot: object, tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path / "no media.sqlite"))
    doc = new_document(store, "referral", name="imported, no media")
    apply_edit(store, CreateAnnotation(doc, "Call phase", 1000, 80_000, "information gathering"))
    w = _window(qtbot, store, doc)
    assert w.player.path is None and w.player.duration_ms == 80_000
    qtbot.keyClick(w.timeline, Qt.Key.Key_Right)  # type: ignore[attr-defined]
    assert w.player.position_ms() == 40 and w.timeline.playhead() == 40  # a frame at 25 frames a second
    qtbot.keyClick(w.timeline, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # type: ignore[attr-defined]
    assert w.player.position_ms() == 1040
    qtbot.keyClick(w.timeline, Qt.Key.Key_Left)  # type: ignore[attr-defined]
    assert w.player.position_ms() == 1000
    tl = w.timeline
    tl.zoom_to(0, 80_000)
    x = round(tl.x_for_ms(60_000))
    qtbot.mouseClick(tl.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 10))  # type: ignore[attr-defined]
    assert abs(w.player.position_ms() - 60_000) < 200 and tl.playhead() == w.player.position_ms()
    w.player.seek(10**9)
    assert w.player.position_ms() == 80_000  # not past the document's span
