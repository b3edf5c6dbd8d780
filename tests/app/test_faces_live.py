"""Face boxes over the video while libvlc plays, on a real X server (Xvfb, no compositor): the main window with
the Faces panel open plays a generated two-face recording (4 s, 640x360); the screen, grabbed while playing,
shows the boxes' outlines in their state's colour over libvlc's picture and the video through them (the
shaped window of ``app.gui.faces.live``); paused, the shaped window is gone and the still with its boxes is
back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.app.test_player import x_display  # noqa: F401  (a fixture: a display of our own)

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QGuiApplication, QImage
    from PySide6.QtWidgets import QApplication

    from annotation.faces import detect_recording
    from annotation.services import add_recording, ensure_project, new_document
    from annotation.store.engine import open_store, sqlite_url
    from app.gui.faces import STATE_COLOURS
    from tests.fixtures.faces import Mover, linear, make_face_video

    out = Path(sys.argv[1])
    media = out / "two faces.mp4"
    movers = [Mover(80, linear(130, 100, 220, 110, 0, 4)), Mover(64, linear(470, 150, 410, 130, 0, 4), mirror=True)]
    make_face_video(media, movers, size=(640, 360), fps=25, seconds=4)
    store = open_store(sqlite_url(out / "store.sqlite"))
    rid = add_recording(store, ensure_project(store, "Duty room study"), media)
    detect_recording(store, rid)
    app = QApplication([])
    from app.gui.main_window import MainWindow

    def wait(ms):
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    w = MainWindow(store, new_document(store, recording_id=rid))
    w.resize(1200, 700)
    w.show()
    w.toggle_faces()
    wait(800)
    panel, player = w.faces, w.player
    report = {"backend_error": player.backend_error, "video_window": player.video_window,
              "live": panel.live is not None}
    if panel.live is None or player.backend_error:
        print(json.dumps(report))
        sys.exit(0)
    player.play()
    deadline = time.monotonic() + 10
    # until libvlc draws (it shows nothing for its first moments, longer on a busy machine): then the boxes
    # being shown and the screen, grabbed at once (no event handled between)
    live = panel.live
    origin = live.mapToGlobal(live.rect().topLeft())
    area = (origin.x(), origin.y(), live.width(), live.height())
    while time.monotonic() < deadline:
        wait(100)
        if not (live.isVisible() and live.boxes.boxes):
            continue
        boxes = []
        for b in live.boxes.boxes:
            r = live.boxes.box_rect(b.frame.box)
            c = STATE_COLOURS[b.frame.state]
            boxes.append({"x": origin.x() + r.x(), "y": origin.y() + r.y(), "w": r.width(), "h": r.height(),
                          "rgb": [c.red(), c.green(), c.blue()], "state": b.frame.state})
        shot = QGuiApplication.primaryScreen().grabWindow(0)
        video = shot.copy(*area).toImage().convertToFormat(QImage.Format.Format_Grayscale8)
        screen = shot.toImage()
        drawn_under_boxes = all(  # libvlc may expose its first picture a moment after the rest of the window
            len({screen.pixel(round(b["x"] + b["w"] / 2) + dx, round(b["y"] + b["h"] / 2) + dy)
                 for dx in (-6, 0, 6) for dy in (-6, 0, 6)}) > 1
            for b in boxes
        )
        if drawn_under_boxes and len(
            {video.pixel(x, y) for x in range(0, video.width(), 16) for y in range(0, video.height(), 16)}
        ) > 20:
            break
    report["playing"] = player.is_playing()
    report["live_visible"] = live.isVisible()
    report["still_visible"] = player.is_still_visible()
    report["frame"] = live.frame
    report["boxes"] = boxes
    shot.save(str(out / "playing.png"))
    frames = {live.frame}
    for _ in range(6):
        wait(120)
        frames.add(live.frame)
    report["frames_seen"] = sorted(f for f in frames if f is not None)
    player.pause()
    wait(600)
    report["live_after_pause"] = live.isVisible()
    report["still_after_pause"] = player.is_still_visible()
    print(json.dumps(report))
    player.release()
    """
)


def test_boxes_follow_the_video_while_libvlc_plays(x_display: str, tmp_path: Path) -> None:  # noqa: F811
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb", FRONTDOOR_NO_AUDIO="1")
    env["FRONTDOOR_CACHE"] = str(tmp_path / "cache")
    env["FRONTDOOR_HOME"] = str(tmp_path / "home")
    env["FRONTDOOR_USER"] = "researcher"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    if report["backend_error"]:
        if os.environ.get("CI"):
            pytest.fail(report["backend_error"])
        pytest.skip(report["backend_error"])
    assert report["video_window"] == "xwindow" and report["live"]
    assert report["playing"] and report["live_visible"] and not report["still_visible"]
    assert len(report["frames_seen"]) >= 3, "the boxes follow the playing video (about ten times a second)"
    assert report["boxes"], "the frame playing has boxes"

    screen = QImage(str(tmp_path / "playing.png"))
    for box in report["boxes"]:
        # the outline, in the state's colour, over libvlc's picture
        x, y, w, h = round(box["x"]), round(box["y"]), round(box["w"]), round(box["h"])
        edge = [screen.pixelColor(x + w // 2, y + dy) for dy in (-1, 0, 1)]
        want = box["rgb"]
        assert any(all(abs(c.getRgb()[i] - want[i]) <= 40 for i in range(3)) for c in edge), (
            f"{box['state']} box outline not on the screen at ({x + w // 2}, {y})"
        )
        # inside the box the video shows through (not the overlay's colour, not a flat fill)
        inside = [screen.pixelColor(x + w // 2 + dx, y + h // 2 + dy) for dx in (-6, 0, 6) for dy in (-6, 0, 6)]
        assert not all(all(abs(c.getRgb()[i] - want[i]) <= 40 for i in range(3)) for c in inside)
        assert len({c.rgb() for c in inside}) > 1, "the face in the video shows through the box"
    assert not report["live_after_pause"] and report["still_after_pause"]
