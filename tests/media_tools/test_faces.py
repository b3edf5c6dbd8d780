"""Faces found and followed on generated video: detection and tracking, frame states, cancel and progress,
and the redactions made from tracks (checked against the track, and in a rendered clip by decoding it)."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import pytest

from media_tools.errors import Cancelled
from media_tools.faces import (
    ScanResult,
    TrackFrame,
    TrackSettings,
    fill_track,
    reinterpolate,
    scan_faces,
    track_redactions,
    uncovered_runs,
)
from media_tools.frame_times import frame_times
from media_tools.render import render
from media_tools.spec import EditSpec
from tests.fixtures.faces import detail, two_faces_video

W, H, FPS = 320, 240, 25


@pytest.fixture(scope="session")
def faces_video(media_dir: Path) -> tuple[Path, dict[int, list[tuple[int, tuple[float, float, float, float]]]]]:
    out = media_dir / "faces.mp4"
    return out, two_faces_video(out)


@pytest.fixture(scope="session")
def scanned(faces_video: tuple[Path, object]) -> ScanResult:
    return scan_faces(faces_video[0])


def _px(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return b[0] * W, b[1] * H, b[2] * W, b[3] * H


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def test_each_face_is_one_track_that_follows_it(faces_video: tuple[Path, dict], scanned: ScanResult) -> None:
    path, truth = faces_video
    assert (scanned.width, scanned.height, scanned.frame_count) == (W, H, 2 * FPS)
    assert len(scanned.tracks) == 2
    for n in (0, 1):
        want = {i: box for i, faces in truth.items() for m, box in faces if m == n}
        # the track whose boxes overlap this face the most
        track = max(
            scanned.tracks, key=lambda t: sum(_iou(_px(f.box), want.get(f.frame, (0, 0, 1, 1))) for f in t.frames)
        )
        got = {f.frame: f for f in track.frames}
        followed = [i for i, box in want.items() if i in got and _iou(_px(got[i].box), box) > 0.5]
        assert len(followed) >= 0.9 * len(want), (n, sorted(set(want) - set(followed)))
    # frame-exact in the recording's time: the frame numbers and times frame_times gives
    times = frame_times(path)
    for t in scanned.tracks:
        for f in t.frames:
            assert f.ms == times.start_ms(f.frame)


def test_frames_entering_at_the_edge_are_uncertain(scanned: ScanResult) -> None:
    entering = min(scanned.tracks, key=lambda t: t.frames[0].box[0])
    assert entering.frames[0].state == "uncertain"  # touching the left edge
    assert any(f.state == "detected" for f in entering.frames)


def test_progress_and_cancel(faces_video: tuple[Path, object]) -> None:
    seen: list[tuple[int, int]] = []
    scan_faces(faces_video[0], on_progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (2 * FPS, 2 * FPS) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled, match="face detection cancelled"):
        scan_faces(faces_video[0], cancel=stop)


def test_states_from_gaps_scores_and_edges() -> None:
    settings = TrackSettings(stride=2, bridge_frames=6, low_score=0.5)
    ms = [i * 40 for i in range(40)]
    box = (0.4, 0.4, 0.1, 0.1)
    hits = [
        (2, box, 0.9),
        (4, box, 0.9),
        (8, box, 0.9),
        (20, box, 0.9),
        (22, box, 0.3),
        (24, (0.0, 0.4, 0.1, 0.1), 0.9),
    ]
    frames = {f.frame: f.state for f in fill_track(hits, ms, settings)}
    assert frames[1] == "bridged" and frames[3] == "tracked"  # held before the first; the normal stride
    assert frames[6] == "bridged" and frames[12] == "uncertain"  # one pass missed; a long gap
    assert frames[22] == "uncertain" and frames[24] == "uncertain"  # a low score; the frame's edge
    assert min(frames) == 1 and max(frames) == 25


def test_a_fixed_box_pulls_the_frames_up_to_the_next_detection() -> None:
    frames = tuple(
        TrackFrame(i, i * 40, (0.1, 0.1, 0.1, 0.1), 0.9, "detected" if i % 4 == 0 else "bridged") for i in range(9)
    )
    fixed = reinterpolate(frames, TrackFrame(2, 80, (0.3, 0.1, 0.1, 0.1), 1.0, "fixed"))
    xs = [round(f.box[0], 3) for f in fixed]
    assert xs == [0.1, 0.2, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]
    assert fixed[2].state == "fixed" and fixed[4].state == "detected"


def test_redactions_cover_every_frame_of_the_track(scanned: ScanResult) -> None:
    fs = 1 / FPS
    for t in scanned.tracks:
        reds = track_redactions(t.frames, 0.0, 2.0, fs)
        confirmed = [TrackFrame(f.frame, f.ms, f.box, f.score, "detected") for f in t.frames]
        assert uncovered_runs(confirmed, reds, 0.0, 2.0, fs) == []
        # fewer keyframes than frames: straight stretches are left to the spec's interpolation
        assert sum(len(r.keyframes) for r in reds) < len(t.frames)
        # a box moved after the redactions were made is caught, with its frame range
        moved = [
            TrackFrame(f.frame, f.ms, (0.0, 0.0, 0.05, 0.05), f.score, f.state) if f.frame == t.frames[5].frame else f
            for f in confirmed
        ]
        runs = uncovered_runs(moved, reds, 0.0, 2.0, fs)
        assert [(r.first, r.last, r.why) for r in runs] == [(t.frames[5].frame, t.frames[5].frame, "not covered")]
        # only the frames on screen during the clip count (the one shown just before its start too)
        assert uncovered_runs(moved, reds, t.frames[7].ms / 1000, 2.0, fs) == []


def test_the_rendered_clip_blurs_the_tracked_face_on_every_frame(
    faces_video: tuple[Path, dict], scanned: ScanResult, tmp_path: Path
) -> None:
    path, truth = faces_video
    top = min(scanned.tracks, key=lambda t: t.frames[0].box[1])  # the face at the top (mover 0)
    spec = EditSpec(source=path, start=0.0, end=2.0, redactions=tuple(track_redactions(top.frames, 0.0, 2.0, 1 / FPS)))
    out = render(spec, tmp_path / "blurred.mp4").output
    with av.open(str(path)) as a, av.open(str(out)) as b:
        before = [f.to_ndarray(format="gray") for f in a.decode(video=0)]
        after = [f.to_ndarray(format="gray") for f in b.decode(video=0)]
    assert len(after) == len(before)
    for i, faces in truth.items():
        for n, (x, y, w, h) in faces:
            x0, y0 = max(0, round(x + 0.1 * w)), max(0, round(y + 0.1 * h))
            x1, y1 = min(W, round(x + 0.9 * w)), min(H, round(y + 0.9 * h))
            ratio = detail(after[i][y0:y1, x0:x1]) / detail(before[i][y0:y1, x0:x1])
            if n == 0:
                assert ratio < 0.4, (i, ratio)  # blurred on every frame
            else:
                assert ratio > 0.7, (i, ratio)  # the other face is left as it was
