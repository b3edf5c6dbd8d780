"""The Faces panel in the main window, on a generated recording with two faces and a real SQLite store:
detection runs on a worker thread, the boxes are drawn over the player's still (coloured by state), a track
is assigned to A in the app, corrections go on the window's undo stack, and a clip blurring A, exported
through the app's export dialog, has A's face blurred on every frame and B's not (checked by decoding)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import av
import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from annotation.faces import recording_tracks, track_frames
from annotation.services import add_recording, ensure_project, new_document
from annotation.store.engine import Store, open_store, sqlite_url
from consent.audit import entries
from consent.clips import create_clip
from consent.decisions import record_decision
from consent.faces import with_faces_blurred
from consent.participants import add_appearance, add_participant
from tests.fixtures.faces import detail, two_faces_video

PROJECT = "Duty room study"


@pytest.fixture(scope="module")
def faces_mp4(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("faces") / "duty room faces.mp4"
    return out, two_faces_video(out)


@pytest.fixture
def world(
    faces_mp4: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Store, int, int, dict[str, int]]:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    rid = add_recording(store, ensure_project(store, PROJECT), faces_mp4[0])
    people = {who: add_participant(store, PROJECT, who) for who in ("A", "B")}
    for who in people:
        add_appearance(store, who, rid, 0, 2000)
    return store, rid, new_document(store, recording_id=rid), people


def _window(qtbot: QtBot, store: Store, doc: int):
    from app.gui.main_window import MainWindow

    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    w.toggle_faces()
    assert w.faces_dock.isVisible()
    return w


def _detect(qtbot: QtBot, w) -> list[tuple[int, int]]:
    panel = w.faces
    seen: list[tuple[int, int]] = []
    panel.detector.progress.connect(lambda done, total: seen.append((done, total)))
    with qtbot.waitSignal(panel.detector.finished, timeout=120_000):
        panel.detect_button.click()
        assert panel.progress.isVisible() and not panel.detect_button.isEnabled()
    assert not panel.progress.isVisible() and panel.detect_button.isEnabled()
    return seen


def _row(panel, track_id: int) -> int:
    return next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == str(track_id))


def test_a_track_assigned_in_the_app_is_blurred_in_the_exported_clip(
    qtbot: QtBot, world: tuple[Store, int, int, dict[str, int]], faces_mp4: tuple[Path, dict], tmp_path: Path
) -> None:
    store, rid, doc, people = world
    w = _window(qtbot, store, doc)
    panel = w.faces
    assert panel.status.text().endswith("faces not detected yet (Detect faces)")
    seen = _detect(qtbot, w)
    assert seen[-1] == (50, 50)  # progress came back from the worker thread, to the last frame
    scan = recording_tracks(store, rid)
    assert scan is not None and panel.table.rowCount() == len(scan.tracks) >= 2
    assert panel.status.text().endswith("— detected")
    top = min(scan.tracks, key=lambda t: t.uncertain)  # A's face: at the top, never at an edge

    # the boxes of the frame shown are drawn over the still, in the state's colour, labelled with the track
    w.player.seek(w.player.frame_start_ms(15))
    qtbot.waitUntil(lambda: panel.frame == 15 and len(panel.overlay.boxes) == 2, timeout=10_000)
    box = next(b for b in panel.overlay.boxes if b.track_id == top.id)
    shot = w.player.still_view.grab().toImage()
    r = panel.overlay.box_rect(box.frame.box)
    edge = shot.pixelColor(round(r.center().x()), round(r.bottom()))
    assert edge.green() > 150 and edge.red() < 120 and edge.blue() < 120, "a detected frame's box is green"

    # clicking the box over the video selects its row; the panel assigns it to A (undoable, audited)
    centre = r.center().toPoint()
    qtbot.mouseClick(w.player.still_view, Qt.MouseButton.LeftButton, pos=centre)
    assert panel.selected_tracks() == [top.id]
    panel.who.setCurrentIndex(panel.who.findData(people["A"]))
    panel.assign_button.click()
    assert panel.table.item(_row(panel, top.id), 6).text() == "A"
    assert next(b for b in panel.overlay.boxes if b.track_id == top.id).participant_id == people["A"]
    w.undo_stack.undo()
    assert track_frames(store, top.id).participant_id is None
    assert panel.table.item(_row(panel, top.id), 6).text() == "–"
    w.undo_stack.redo()
    assert track_frames(store, top.id).participant_id == people["A"]
    with store.session() as s:
        kinds = [e.event for e in entries(s) if e.event.startswith("face_track_")]
    assert kinds == ["face_track_assigned", "face_track_unassigned", "face_track_assigned"]

    # a clip with A's face blurred through the tracks, consented to, exported through the app's dialog
    with store.session() as s:
        reds = with_faces_blurred(s, rid, [], ["A"], 0.0, 2.0)
    clip = create_clip(store, rid, 0.0, 2.0, extra={"redactions": reds}).clip_id
    record_decision(
        store, clip, "A", "research_team", "granted", structured=[{"kind": "blur_face", "participant": people["A"]}]
    )
    record_decision(store, clip, "B", "research_team", "granted")
    from app.gui.dialogs import ExportDialog

    out = tmp_path / "out"
    out.mkdir()
    d = ExportDialog(store, w, folder=out)
    qtbot.addWidget(d)
    d.scope.setCurrentIndex(d.scope.findData("research_team"))
    with qtbot.waitSignal(d.exported, timeout=60_000) as got:
        d.export_button.click()
    report = got.args[0]
    assert [x["clip"] for x in report.exported] == [clip], report.skipped
    media, truth = faces_mp4
    with av.open(str(media)) as x, av.open(str(out / report.exported[0]["output"])) as y:
        before = [f.to_ndarray(format="gray") for f in x.decode(video=0)]
        after = [f.to_ndarray(format="gray") for f in y.decode(video=0)]
    assert len(after) == len(before) == 50
    for i, faces in truth.items():
        for n, (fx, fy, fw, fh) in faces:
            x0, y0 = max(0, round(fx + 0.1 * fw)), max(0, round(fy + 0.1 * fh))
            x1, y1 = min(320, round(fx + 0.9 * fw)), min(round(fy + 0.9 * fh), 200)  # the watermark: bottom
            ratio = detail(after[i][y0:y1, x0:x1]) / detail(before[i][y0:y1, x0:x1])
            assert ratio < 0.4 if n == 0 else ratio > 0.7, (i, n, ratio)


def test_corrections_in_the_panel_are_undoable(qtbot: QtBot, world: tuple[Store, int, int, dict[str, int]]) -> None:
    store, rid, doc, _ = world
    w = _window(qtbot, store, doc)
    panel = w.faces
    _detect(qtbot, w)
    scan = recording_tracks(store, rid)
    assert scan is not None
    top = min(scan.tracks, key=lambda t: t.uncertain)
    n = len(scan.tracks)

    # split at the playhead: a new track from frame 25; undo joins it again, redo splits it again
    panel.select_track(top.id)
    w.player.seek(w.player.frame_start_ms(25))
    qtbot.waitUntil(lambda: panel.frame == 25, timeout=10_000)
    panel.split_button.click()
    assert panel.table.rowCount() == n + 1
    assert track_frames(store, top.id).frames[-1].frame == 24
    w.undo_stack.undo()
    assert panel.table.rowCount() == n and track_frames(store, top.id).frames[-1].frame == top.last_frame
    w.undo_stack.redo()
    assert panel.table.rowCount() == n + 1

    # merge the two pieces back (selected in the table)
    new = next(t.id for t in panel.scan.tracks if t.id != top.id and t.first_frame == 25)  # type: ignore[union-attr]
    panel._select([top.id, new])
    panel.merge_button.click()
    assert panel.table.rowCount() == n and track_frames(store, top.id).frames[-1].frame == top.last_frame

    # drag the box over the video: the track is fixed on this frame, the frames around it follow
    panel.select_track(top.id)
    box = next(b for b in panel.overlay.boxes if b.track_id == top.id)
    r = panel.overlay.box_rect(box.frame.box)
    start = r.center().toPoint()
    view = w.player.still_view
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, start + QPoint(20, 10))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start + QPoint(20, 10))
    fixed = {f.frame: f for f in track_frames(store, top.id).frames}[25]
    assert fixed.state == "fixed"
    assert fixed.box[0] == pytest.approx(box.frame.box[0] + 20 / panel.overlay._rect.width(), abs=1e-6)
    assert w.undo_stack.undoText() == f"fix face track {top.id} on frame 25"
    drawn = next(b for b in panel.overlay.boxes if b.track_id == top.id)
    assert drawn.frame.state == "fixed"
    w.undo_stack.undo()
    assert {f.frame: f for f in track_frames(store, top.id).frames}[25].state != "fixed"

    # or typed in: Fix box… opens on the box of this frame
    from app.gui.faces import FixBoxDialog

    panel.fix_button.click()
    [dialog] = panel.findChildren(FixBoxDialog)
    assert dialog.box() == pytest.approx(box.frame.box, abs=1e-3)
    dialog.spins[0].setValue(0.5)
    dialog.accept()
    typed = {f.frame: f for f in track_frames(store, top.id).frames}[25]
    assert typed.state == "fixed" and typed.box[0] == pytest.approx(0.5)
    w.undo_stack.undo()

    # uncertain frames: Next uncertain goes to them, Confirm accepts the run under the playhead (undoable)
    other = max(scan.tracks, key=lambda t: t.uncertain)  # B's face, entering at the picture's edge
    assert other.uncertain > 0
    panel.select_track(other.id)
    panel.next_button.click()
    first = next(f.frame for f in track_frames(store, other.id).frames if f.state == "uncertain")
    assert panel.uncertain[other.id][0][0] == first and top.id not in panel.uncertain
    qtbot.waitUntil(lambda: panel.frame == first, timeout=10_000)
    assert next(b for b in panel.overlay.boxes if b.track_id == other.id).frame.state == "uncertain"
    panel.confirm_button.click()
    assert track_frames(store, other.id).frames[first - other.first_frame].state == "confirmed"
    w.undo_stack.undo()
    assert track_frames(store, other.id).frames[first - other.first_frame].state == "uncertain"

    # a refused correction says why in one line and leaves nothing on the stack
    last = w.undo_stack.undoText()
    panel.select_track(top.id)
    assert not panel.fix(top.id, (0.9, 0.9, 0.5, 0.5))
    assert "must lie inside the picture" in w.message.text()
    assert w.undo_stack.undoText() == last and w.undo_stack.index() == w.undo_stack.count()


def test_detection_can_be_cancelled_and_stores_nothing_then_comes_back_from_the_store(
    qtbot: QtBot, world: tuple[Store, int, int, dict[str, int]]
) -> None:
    store, rid, doc, _ = world
    # the window closed (and deleted) while faces are being found: the detection stops, nothing is stored
    from app.gui.main_window import MainWindow

    gone = MainWindow(store, doc)  # not handed to qtbot: deleted here
    gone.show()
    gone.toggle_faces()
    gone.faces.detect_button.click()
    assert gone.faces.detector.running
    with qtbot.waitSignal(gone.destroyed, timeout=60_000):
        gone.close()
        gone.deleteLater()
    assert recording_tracks(store, rid) is None

    w = _window(qtbot, store, doc)
    panel = w.faces
    with qtbot.waitSignal(panel.detector.failed, timeout=60_000) as got:
        panel.detect_button.click()
        panel.cancel_button.click()  # the model is still loading: the scan stops at its first frame
    assert got.args == ["face detection cancelled: nothing was stored"]
    assert recording_tracks(store, rid) is None and panel.table.rowCount() == 0
    _detect(qtbot, w)
    n = panel.table.rowCount()
    assert n >= 2
    # a second window on the same recording shows the stored tracks at once, and Detect gives them back
    w.close()
    again = _window(qtbot, store, doc)
    assert again.faces.table.rowCount() == n
    _detect(qtbot, again)
    assert again.faces.status.text().endswith("— stored tracks (detected before)")
