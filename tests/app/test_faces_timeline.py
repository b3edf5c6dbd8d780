"""Face tracks as rows of the main window's timeline, and the project's setting blur-withheld in the Faces
panel, on a generated recording with two faces and a real SQLite store (real widgets, offscreen): a row per
track labelled by whose face it is, bars where the track has boxes and red marks on its uncertain frames
(checked in the painted pixels), a click seeking there and selecting the track in the panel, the rows
following assign / split / confirm and their undo, and gone while the panel is closed."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from annotation.faces import detect_recording, track_spans
from annotation.services import add_recording, ensure_project, new_document
from annotation.store.engine import open_store, sqlite_url
from consent.audit import entries
from consent.faces import blur_withheld_allowed
from consent.participants import add_participant
from tests.fixtures.faces import two_faces_video

PROJECT = "Duty room study"


@pytest.fixture(scope="module")
def faces_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faces") / "duty room faces.mp4"
    two_faces_video(out)
    return out


@pytest.fixture
def window(qtbot: QtBot, faces_mp4: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from app.gui.main_window import MainWindow

    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    rid = add_recording(store, ensure_project(store, PROJECT), faces_mp4)
    add_participant(store, PROJECT, "A")
    detect_recording(store, rid)  # stored before the window opens: the panel shows them at once
    w = MainWindow(store, new_document(store, recording_id=rid))
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    w.timeline.zoom_all()
    return w, store


def _pixel(w, x: float, y: int) -> QColor:
    return w.timeline.viewport().grab().toImage().pixelColor(round(x), y)


def _red(c: QColor) -> bool:
    return c.red() > 180 and c.green() < 90 and c.blue() < 90


def _green(c: QColor) -> bool:
    return c.green() > c.red() + 30 and c.green() > c.blue() + 30


def test_face_tracks_are_rows_of_the_timeline(qtbot: QtBot, window) -> None:
    w, store = window
    tl, panel = w.timeline, w.faces
    assert tl.face_rows() == []  # the panel is closed: no face rows, nothing read
    w.toggle_faces()
    qtbot.waitUntil(lambda: panel.scan is not None and len(tl.face_rows()) == len(panel.scan.tracks) >= 2)
    scan = panel.scan
    spans = track_spans(store, scan.id)
    rows = {r.track_id: r for r in tl.face_rows()}
    assert [r.track_id for r in tl.face_rows()] == [t.id for t in scan.tracks]
    assert {r.label for r in rows.values()} == {f"face {t.id}" for t in scan.tracks}
    for tid, r in rows.items():
        assert list(zip(r.starts.tolist(), r.ends.tolist(), strict=True)) == [
            (x.start_ms, x.end_ms) for x in spans[tid].runs
        ]

    tl.verticalScrollBar().setValue(tl.verticalScrollBar().maximum())  # the face rows follow the tiers
    # painted: the bar where the track has boxes, a red mark on its uncertain frames, nothing outside
    doubtful = next(t for t in scan.tracks if t.uncertain)
    clean = min(scan.tracks, key=lambda t: t.uncertain)
    run = spans[doubtful.id].uncertain[0]
    rect = tl.face_row_rect(doubtful.id)
    mid_y = rect.center().y()
    assert _red(_pixel(w, tl.x_for_ms(run.start_ms) + 1, mid_y))
    crect = tl.face_row_rect(clean.id)
    span = spans[clean.id].runs[0]
    sure = [
        ms
        for ms in range(span.start_ms, span.end_ms, 40)
        if not any(u.start_ms - 80 <= ms < u.end_ms + 80 for u in spans[clean.id].uncertain)
    ]
    assert sure, "the face at the top has frames that are not uncertain"
    assert _green(_pixel(w, tl.x_for_ms(sure[len(sure) // 2]), crect.center().y()))
    assert not _green(_pixel(w, tl.x_for_ms(span.start_ms) - 4, crect.center().y())) or span.start_ms < 100

    # the spans are computed once per change: a paint reads only what the view was handed
    before = tl.face_rows()
    tl.viewport().repaint()
    assert all(a is b for a, b in zip(before, tl.face_rows(), strict=True))

    # a click on a bar seeks there and selects the track in the panel (and highlights its row)
    at = sure[len(sure) // 2]
    qtbot.mouseClick(tl.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(tl.x_for_ms(at)), crect.center().y()))
    assert panel.selected_tracks() == [clean.id] and tl.face_selected() == clean.id
    qtbot.waitUntil(lambda: abs(w.player.position_ms() - at) <= 40, timeout=10_000)
    # a click on an uncertain mark goes to its first frame
    qtbot.mouseClick(tl.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(tl.x_for_ms(run.start_ms)) + 1, mid_y))
    assert panel.selected_tracks() == [doubtful.id]
    qtbot.waitUntil(lambda: panel.frame == run.first, timeout=10_000)
    # selecting in the panel highlights the row on the timeline
    panel.select_track(clean.id)
    assert tl.face_selected() == clean.id

    # assign: the row is labelled with whose face it is; undo: "face N" again
    panel.select_track(clean.id)
    panel.who.setCurrentIndex(panel.who.findText("A"))
    panel.assign_button.click()
    assert next(r.label for r in tl.face_rows() if r.track_id == clean.id) == f"A (face {clean.id})"
    w.undo_stack.undo()
    assert next(r.label for r in tl.face_rows() if r.track_id == clean.id) == f"face {clean.id}"
    w.undo_stack.redo()

    # split at the playhead: a new row from there on; undo: one row again
    n = len(tl.face_rows())
    panel.select_track(clean.id)
    w.player.seek(w.player.frame_start_ms(25))
    qtbot.waitUntil(lambda: panel.frame == 25, timeout=10_000)
    panel.split_button.click()
    assert len(tl.face_rows()) == n + 1
    first = next(r for r in tl.face_rows() if r.track_id == clean.id)
    assert first.max_end <= w.player.frame_start_ms(25) + 1
    w.undo_stack.undo()
    assert len(tl.face_rows()) == n
    assert next(r for r in tl.face_rows() if r.track_id == clean.id).max_end == span.end_ms

    # confirm the uncertain run: its red mark goes; undo: it is back
    panel.select_track(doubtful.id)
    w.player.seek(w.player.frame_start_ms(run.first))
    qtbot.waitUntil(lambda: panel.frame == run.first, timeout=10_000)
    panel.confirm_button.click()
    row = next(r for r in tl.face_rows() if r.track_id == doubtful.id)
    assert run.start_ms not in row.doubt_starts.tolist()
    assert not _red(_pixel(w, tl.x_for_ms(run.start_ms) + 1, tl.face_row_rect(doubtful.id).center().y()))
    w.undo_stack.undo()
    row = next(r for r in tl.face_rows() if r.track_id == doubtful.id)
    assert run.start_ms in row.doubt_starts.tolist()

    # closed, the panel takes its rows off the timeline; opened again, they are back
    w.toggle_faces()
    assert tl.face_rows() == []
    w.toggle_faces()
    assert len(tl.face_rows()) == n


def test_the_project_setting_blur_withheld_is_changed_in_the_panel(qtbot: QtBot, window) -> None:
    w, store = window
    panel = w.faces
    w.toggle_faces()
    qtbot.waitUntil(lambda: panel.project == PROJECT)
    assert "blur-withheld: <b>off</b>" in panel.setting_label.text()
    d = panel.open_setting_dialog()
    assert d is not None
    qtbot.addWidget(d)
    ok = d.buttons.button(QDialogButtonBox.StandardButton.Ok)
    d.allowed.setChecked(True)
    assert not ok.isEnabled()  # no reason, no change
    d.reason.setText("ethics amendment 3")
    assert ok.isEnabled()
    ok.click()
    assert blur_withheld_allowed(store, PROJECT)
    assert "blur-withheld: <b>on</b>" in panel.setting_label.text()
    with store.session() as s:
        logged = [json.loads(e.payload) for e in entries(s) if e.event == "policy_changed"]
    assert logged == [{"project": PROJECT, "blur_withheld": True, "reason": "ethics amendment 3"}]
    # a refusal is one line in the message bar, and the setting is shown as it is
    assert not panel.set_blur_withheld(False, "   ")
    assert w.message.text() == f"project {PROJECT!r}: say why the setting blur-withheld changes (--reason)"
    assert "blur-withheld: <b>on</b>" in panel.setting_label.text()
