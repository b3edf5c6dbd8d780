"""The window opens every medium of a recording: the video at its time origin, a desk microphone's sound
in step with it, the waveform computed off the GUI thread, and a missing file named, not fatal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from pytestqt.qtbot import QtBot

from annotation.services import add_recording, ensure_project, import_file
from annotation.store.engine import Store, open_store, sqlite_url
from media_tools.synth import make_coded_recording
from media_tools.waveform import peaks

EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-11-29T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">
    <MEDIA_DESCRIPTOR MEDIA_URL="file:///old/camera.mp4" MIME_TYPE="video/mp4" TIME_ORIGIN="1000"/>
    <MEDIA_DESCRIPTOR MEDIA_URL="file:///old/desk%20mic.wav" MIME_TYPE="audio/x-wav" TIME_ORIGIN="2500"/>
    <MEDIA_DESCRIPTOR MEDIA_URL="file:///old/hall.wav" MIME_TYPE="audio/x-wav"/>
  </HEADER>
  <TIME_ORDER/>
  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="Phase"/>
  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, int]:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "recordings"
    folder.mkdir()
    video = make_coded_recording(folder / "camera.mp4", seconds=4)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=6", str(folder / "desk mic.wav")], check=True
    )
    eaf = folder / "session.eaf"
    eaf.write_text(EAF, "utf-8")
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    rec = add_recording(store, ensure_project(store, "Study"), video)
    return store, import_file(store, eaf, recording_id=rec).doc_id


def test_the_window_plays_every_medium_at_its_origin(qtbot: QtBot, session: tuple[Store, int]) -> None:
    from app.gui.main_window import MainWindow

    store, doc = session
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    assert w.player.origin_ms == 1000 and w.player.duration_ms == 3000
    if w.player.backend_error is None:
        [(path, pos)] = w.player.follower_positions()
        assert path.endswith("desk mic.wav") and pos == 2500  # document time 0 is 2.5 s into the microphone
    # the one medium not found is named, the others still open
    assert "hall.wav: media file not found" in w.message.text()
    # the waveform arrives from a worker thread, shifted to document time
    qtbot.waitUntil(lambda: w.timeline._peaks is not None, timeout=10_000)
    whole = peaks(w.player.path)
    assert w.timeline._peaks.duration_ms == whole.duration_ms - 1000
    assert (w.timeline._peaks.mins == whole.mins[200:]).all()  # 200 buckets a second: 1 s dropped


def test_edits_snap_to_the_frames_of_the_video_at_a_time_origin_between_frames(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TIME_ORIGIN 1010 ms into a 25 fps video: frames start at 30, 70, 110 ... ms of document time, not at
    multiples of 40. Split at the playhead on a frame used to cut 10 ms into that frame (at 1040, with the
    playhead's frame 51 starting at 1030), so the frame on screen still belonged to the first half."""
    from annotation.edits.commands import CreateAnnotation
    from annotation.services import document_display
    from app.gui.main_window import MainWindow

    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    video = make_coded_recording(tmp_path / "camera.mp4", seconds=4)
    eaf = tmp_path / "session.eaf"
    eaf.write_text(EAF.replace('TIME_ORIGIN="1000"', 'TIME_ORIGIN="1010"'), "utf-8")
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    doc = import_file(store, eaf, recording_id=add_recording(store, ensure_project(store, "Study"), video)).doc_id
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    p = w.player
    assert p.origin_ms == 1010
    p.seek(1000)
    p.step(1)
    frame = p.frame_at_position()
    assert p.position_ms() == p.frame_start_ms(frame) == 1030
    assert w.push(CreateAnnotation(doc, "Phase", 0, 3000, "x"))
    w.table.selectRow(0)
    w.split_at_playhead()
    assert [(s.start, s.end) for s in document_display(store, doc)["Phase"]] == [(0, 1030), (1030, 3000)]
    assert w.timeline.snap(1045) == 1030 and w.timeline.snap(1055) == 1070 and w.timeline.snap(2) == 0


def test_an_annotation_after_the_end_of_the_recording_is_not_looped(qtbot: QtBot, session: tuple[Store, int]) -> None:
    """A loop starting after the end of the video had the player restart libvlc at the end on every tick,
    'playing' for ever with its clock jumping past the recording."""
    from annotation.edits.commands import CreateAnnotation
    from app.gui.main_window import MainWindow

    store, doc = session
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    assert w.player.duration_ms == 3000
    assert w.push(CreateAnnotation(doc, "Phase", 5000, 6000, "late"))
    w.table.selectRow(0)
    w.toggle_loop()
    assert w.player.loop is None and "after the end of the recording" in w.message.text()
    w.play_span(5000, 6000)
    assert w.player.loop is None and not w.player.is_playing()
    w.play_span(1000, 2000)
    assert w.player.loop == (1000, 2000)
    w.player.pause()
