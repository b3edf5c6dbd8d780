"""Face tracks in the store, on SQLite and PostgreSQL: detected once per recording (cached by its hash), and
corrected by merge, split, a fixed box and confirmed frames, each undone and redone exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.errors import InvalidEdit
from annotation.faces import (
    TrackEdit,
    confirm_frames,
    detect_recording,
    fix_box,
    merge_tracks,
    read_track,
    recording_tracks,
    redo,
    set_participant,
    split_track,
    undo,
)
from annotation.services import add_recording, ensure_project
from annotation.store import Store
from tests.fixtures.faces import two_faces_video


@pytest.fixture(scope="module")
def faces_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faces") / "two faces.mp4"
    two_faces_video(out)
    return out


@pytest.fixture
def recording(store: Store, faces_mp4: Path) -> int:
    return add_recording(store, ensure_project(store, "Duty room study"), faces_mp4)


def test_faces_are_detected_once_per_recording(store: Store, recording: int, faces_mp4: Path) -> None:
    assert recording_tracks(store, recording) is None
    first = detect_recording(store, recording)
    assert not first.reused and len(first.tracks) == 2 and first.frame_count == 50 and first.frame_ms == 40
    again = detect_recording(store, recording)
    assert again.reused and again.tracks == first.tracks and again.id == first.id
    # the same file registered again (another project) shares the tracks: they are kept by its content
    other = add_recording(store, ensure_project(store, "Another study"), faces_mp4)
    listed = recording_tracks(store, other)
    assert listed is not None and listed.tracks == first.tracks
    # detecting anew replaces the tracks, but not while one is someone's face
    with store.session() as s:
        set_participant(s, first.tracks[0].id, 7)
    with pytest.raises(InvalidEdit, match=r"recording \d+: 1 of its face tracks are assigned to participants"):
        detect_recording(store, recording, again=True)
    with store.session() as s:
        set_participant(s, first.tracks[0].id, None)
    fresh = detect_recording(store, recording, again=True)
    assert not fresh.reused and len(fresh.tracks) == 2


def _frames(store: Store, track: int) -> object:
    with store.session() as s:
        return read_track(s, track)


def test_corrections_are_undone_and_redone_exactly(store: Store, recording: int) -> None:
    info = detect_recording(store, recording)
    top = min(info.tracks, key=lambda t: t.first_ms if t.uncertain == 0 else 10**9)
    a = top.id
    original = _frames(store, a)

    split, b = split_track(store, a, top.first_frame + 20)
    assert _frames(store, a).frames == original.frames[:20]  # type: ignore[attr-defined]
    assert _frames(store, b).frames == original.frames[20:]  # type: ignore[attr-defined]
    merged = merge_tracks(store, a, b)
    assert _frames(store, a) == original
    undo(store, merged)
    undo(store, split)
    assert _frames(store, a) == original
    assert recording_tracks(store, recording).tracks == info.tracks  # type: ignore[union-attr]
    redo(store, split)
    assert _frames(store, b).frames == original.frames[20:]  # type: ignore[attr-defined]
    undo(store, split)

    frame = top.first_frame + 10
    fixed = fix_box(store, a, frame, (0.5, 0.5, 0.2, 0.2))
    after = {f.frame: f for f in _frames(store, a).frames}  # type: ignore[attr-defined]
    assert after[frame].box == (0.5, 0.5, 0.2, 0.2) and after[frame].state == "fixed"
    before = {f.frame: f for f in original.frames}  # type: ignore[attr-defined]
    moved = [f for f in after if after[f].box != before[f].box]
    assert frame in moved and 1 < len(moved) <= 2 * 5  # the frames up to the next detection each side follow
    undo(store, fixed)
    assert _frames(store, a) == original

    # an uncertain stretch (as a long gap leaves) is confirmed as it is
    t = _frames(store, a)
    doubt = TrackEdit(
        "doubt", {a: t}, {a: type(t)(t.scan_id, t.number, t.participant_id, tuple(  # type: ignore[attr-defined,call-arg]
            f if not 5 <= f.frame - top.first_frame <= 7 else type(f)(f.frame, f.ms, f.box, f.score, "uncertain")
            for f in t.frames  # type: ignore[attr-defined]
        ))},
    )  # fmt: skip
    with store.session() as s:
        doubt.apply(s)
    done = confirm_frames(store, a, 0, 10_000)
    states = [f.state for f in _frames(store, a).frames]  # type: ignore[attr-defined]
    assert states.count("confirmed") == 3 and "uncertain" not in states
    with pytest.raises(InvalidEdit, match="no uncertain frame"):
        confirm_frames(store, a, 0, 10_000)
    undo(store, done)
    assert [f.state for f in _frames(store, a).frames].count("uncertain") == 3  # type: ignore[attr-defined]


def test_bad_corrections_are_refused_in_one_line(store: Store, recording: int) -> None:
    info = detect_recording(store, recording)
    a, b = (t.id for t in info.tracks)
    with pytest.raises(InvalidEdit, match=rf"face track {a}: cannot be merged with itself"):
        merge_tracks(store, a, a)
    with pytest.raises(InvalidEdit, match=r"box 0.9,0.9,0.2,0.2: must lie inside the picture"):
        fix_box(store, a, 3, (0.9, 0.9, 0.2, 0.2))
    with pytest.raises(InvalidEdit, match=rf"face track {a}: frame 0 is not inside it after its first frame"):
        split_track(store, a, 0)
    with store.session() as s:
        set_participant(s, a, 1)
        set_participant(s, b, 2)
    with pytest.raises(InvalidEdit, match="are assigned to different participants"):
        merge_tracks(store, a, b)
