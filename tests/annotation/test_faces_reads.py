"""What the app reads of face tracks, on SQLite and PostgreSQL: every track's box on one frame (drawn over the
video), each track's runs of uncertain frames (the panel's strips) and its runs in time (the timeline's face
rows), all agreeing with the tracks as stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from annotation.faces import (
    Run,
    TrackEdit,
    boxes_at,
    detect_recording,
    read_track,
    track_frames,
    track_spans,
    uncertain_runs,
)
from annotation.services import add_recording, ensure_project
from annotation.store import Store
from tests.fixtures.faces import two_faces_video


@pytest.fixture(scope="module")
def faces_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faces") / "two faces.mp4"
    two_faces_video(out)
    return out


def test_the_boxes_of_a_frame_and_the_uncertain_runs_agree_with_the_tracks(store: Store, faces_mp4: Path) -> None:
    rid = add_recording(store, ensure_project(store, "Duty room study"), faces_mp4)
    scan = detect_recording(store, rid)
    with store.session() as s:
        tracks = {t.id: read_track(s, t.id) for t in scan.tracks}
    assert {tid: track_frames(store, tid) for tid in tracks} == tracks
    for frame in (0, 10, 30, 49):
        want = sorted(
            ((tid, t.number, f) for tid, t in tracks.items() for f in t.frames if f.frame == frame),
            key=lambda x: x[1],
        )
        got = boxes_at(store, scan.id, frame)
        assert [(b.track_id, b.number, b.frame) for b in got] == want
    assert boxes_at(store, scan.id, 50) == []
    runs = uncertain_runs(store, scan.id)
    for tid, t in tracks.items():
        doubt = [f.frame for f in t.frames if f.state == "uncertain"]
        flat = [f for a, b in runs.get(tid, []) for f in range(a, b + 1)]
        assert flat == doubt
        assert all(b + 1 < c for (_, b), (c, _) in zip(runs.get(tid, []), runs.get(tid, [])[1:], strict=False))
    assert any(runs.values()), "the face entering at the picture's edge has uncertain frames"


def _runs(frames: list, frame_ms: float) -> list[Run]:
    out: list[Run] = []
    for f in frames:
        if out and out[-1].last + 1 == f.frame:
            out[-1] = Run(out[-1].first, f.frame, out[-1].start_ms, f.ms + max(1, round(frame_ms)))
        else:
            out.append(Run(f.frame, f.frame, f.ms, f.ms + max(1, round(frame_ms))))
    return out


def test_the_timeline_runs_of_each_track_agree_with_its_frames(store: Store, faces_mp4: Path) -> None:
    """Runs are computed in the database (consecutive frames grouped): a track with a hole has two runs, its
    uncertain frames their own runs, and the tracks come in number order."""
    rid = add_recording(store, ensure_project(store, "Duty room study"), faces_mp4)
    scan = detect_recording(store, rid)
    tid = scan.tracks[0].id
    with store.session() as s:
        before = read_track(s, tid)
        holed = replace(before, frames=tuple(f for f in before.frames if not 20 <= f.frame <= 24))
        TrackEdit("a hole", {tid: before}, {tid: holed}).apply(s)
    spans = track_spans(store, scan.id)
    assert list(spans) == [t.id for t in scan.tracks]
    for t in scan.tracks:
        frames = list(track_frames(store, t.id).frames)
        assert list(spans[t.id].runs) == _runs(frames, scan.frame_ms)
        assert list(spans[t.id].uncertain) == _runs([f for f in frames if f.state == "uncertain"], scan.frame_ms)
    assert len(spans[tid].runs) == 2 and spans[tid].runs[0].last == 19 and spans[tid].runs[1].first == 25
    assert any(sp.uncertain for sp in spans.values())
