"""A screenshot of the Faces panel and the boxes over the video, for the manual
(``resources/screenshots/faces-panel.png``, served as ``assets/screenshots/``).

    Xvfb :78 -screen 0 1600x1000x24 &
    DISPLAY=:78 .venv/bin/python scripts/faces-screenshot.py [OUT.png]

A 4 s 960x540 recording with three faces is generated (``tests/fixtures/faces.py``: the public-domain
astronaut face, one of them rising into the picture from its bottom edge), its faces detected, two tracks
assigned (A and B) and B's box fixed on one frame; the window is shown paused on a frame where the third
face is still uncertain, A's track selected in the panel, the timeline scrolled down to the face tracks' rows
(under the tiers: a bar where each track has boxes, red where its frames are uncertain).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROJECT = "Duty room study"


def main() -> int:
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[1] / "resources" / "screenshots" / "faces-panel.png"
    )
    home = Path(tempfile.mkdtemp(prefix="frontdoor-faces-shot-"))
    os.environ["FRONTDOOR_HOME"] = str(home)
    os.environ["FRONTDOOR_CACHE"] = str(home / "cache")
    os.environ["FRONTDOOR_USER"] = "researcher"
    from PIL import Image
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from annotation.faces import detect_recording, fix_box, track_frames, uncertain_runs
    from annotation.services import add_recording, ensure_project, new_document
    from annotation.store.engine import open_store, sqlite_url
    from app.gui.launch import save_screenshot
    from app.gui.main_window import MainWindow
    from consent.faces import assign_track
    from consent.participants import add_appearance, add_participant
    from tests.fixtures.faces import Mover, linear, make_face_video

    try:
        media = home / "duty room.mp4"
        movers = [
            Mover(110, linear(260, 170, 330, 175, 0, 4)),
            Mover(90, linear(720, 200, 650, 190, 0, 4), mirror=True),
            Mover(80, linear(470, 600, 480, 330, 0, 2.5)),
        ]
        make_face_video(media, movers, size=(960, 540), fps=25, seconds=4)
        store = open_store(sqlite_url(home / "store.sqlite"))
        rid = add_recording(store, ensure_project(store, PROJECT), media)
        for who in ("A", "B", "C"):
            add_participant(store, PROJECT, who)
            add_appearance(store, who, rid, 0, 4000)
        doc = new_document(store, recording_id=rid, participants=["A", "B", "C"])
        scan = detect_recording(store, rid)
        a, b = sorted(scan.tracks, key=lambda t: t.id)[:2]
        assign_track(store, a.id, "A")
        assign_track(store, b.id, "B")
        runs = [r for rs in uncertain_runs(store, scan.id).values() for r in rs]
        at = (runs[0][0] + runs[0][1]) // 2 if runs else 40
        x, y, w, h = next(f.box for f in track_frames(store, b.id).frames if f.frame == at)
        fix_box(store, b.id, at, (x - 0.01, y - 0.01, w + 0.02, h + 0.02))

        app = QApplication(sys.argv[:1])
        window = MainWindow(store, doc)
        window.resize(1500, 900)
        window.show()
        window.toggle_faces()
        window.resizeDocks([window.faces_dock], [600], Qt.Orientation.Horizontal)
        QTimer.singleShot(
            800, lambda: (window.player.seek(window.player.frame_start_ms(at)), window.faces.select_track(a.id))
        )

        def shoot() -> None:
            bar = window.timeline.verticalScrollBar()
            bar.setValue(bar.maximum())
            app.processEvents()
            save_screenshot(window, out)
            app.quit()
            # 128 colours, not dithered: a quarter of the size, the same to the eye
            image = Image.open(out).convert("RGB")
            image.quantize(128, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)

        QTimer.singleShot(3500, shoot)
        app.exec()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
