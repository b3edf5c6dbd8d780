"""A person blurred through their face tracks, end to end on SQLite and PostgreSQL: faces detected in a
generated recording, a track assigned to A, a clip made with A's face blurred, consent given (A asks for it as
a condition), and the export decoded: A's face is blurred on every frame and B's is not. The gate then stops
the clip, in one line naming the frames, while a frame of A's track is uncertain or no longer covered."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from annotation.errors import AccessDenied
from annotation.faces import FaceTrackRow, TrackEdit, TrackState, confirm_frames, detect_recording, fix_box, read_track
from annotation.services import add_recording, ensure_project
from annotation.store import Store
from consent.clips import create_clip
from consent.decisions import record_decision
from consent.errors import InvalidRequest
from consent.export import export_clips
from consent.faces import assign_track, blur_faces, with_faces_blurred
from consent.participants import add_appearance, add_participant
from media_tools.faces import TrackFrame
from tests.fixtures.faces import detail, two_faces_video
from tests.fixtures.team import ME, OTHER, Team

PROJECT = "Duty room study"


@pytest.fixture(scope="module")
def faces_mp4(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("faces") / "duty room faces.mp4"
    return out, two_faces_video(out)


def _grant(store: Store, clip: int, a_id: int) -> None:
    record_decision(
        store, clip, "A", "research_team", "granted", structured=[{"kind": "blur_face", "participant": a_id}]
    )
    record_decision(store, clip, "B", "research_team", "granted")


def test_a_person_is_blurred_through_their_tracks_and_the_gate_checks_every_frame(
    store: Store, faces_mp4: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    media, truth = faces_mp4
    rid = add_recording(store, ensure_project(store, PROJECT), media)
    a_id = add_participant(store, PROJECT, "A")
    add_participant(store, PROJECT, "B")
    for who in ("A", "B"):
        add_appearance(store, who, rid, 0, 2000)
    info = detect_recording(store, rid)
    top = min(info.tracks, key=lambda t: t.uncertain)  # A's face: the one at the top, never at an edge
    assert assign_track(store, top.id, "A").pseudonym == "A"

    with store.session() as s:
        reds = with_faces_blurred(s, rid, [], ["A"], 0.0, 2.0)
    clip = create_clip(store, rid, 0.0, 2.0, extra={"redactions": reds}).clip_id
    _grant(store, clip, a_id)
    out = tmp_path / "out"
    out.mkdir()
    report = export_clips(store, "research_team", out, clip_ids=[clip])
    assert [x["clip"] for x in report.exported] == [clip], report.skipped

    with av.open(str(media)) as x, av.open(str(out / report.exported[0]["output"])) as y:
        before = [f.to_ndarray(format="gray") for f in x.decode(video=0)]
        after = [f.to_ndarray(format="gray") for f in y.decode(video=0)]
    assert len(after) == len(before) == 50
    for i, faces in truth.items():
        for n, (fx, fy, fw, fh) in faces:
            x0, y0 = max(0, round(fx + 0.1 * fw)), max(0, round(fy + 0.1 * fh))
            x1, y1 = min(320, round(fx + 0.9 * fw)), round(fy + 0.9 * fh)
            # the watermark runs along the bottom: compare the upper part of B's face there
            y1 = min(y1, 200)
            ratio = detail(after[i][y0:y1, x0:x1]) / detail(before[i][y0:y1, x0:x1])
            assert ratio < 0.4 if n == 0 else ratio > 0.7, (i, n, ratio)

    # an uncertain stretch of A's track stops the clip until someone confirms it
    with store.session() as s:
        t = read_track(s, top.id)
        doubtful = tuple(
            f if not 20 <= f.frame <= 22 else type(f)(f.frame, f.ms, f.box, f.score, "uncertain") for f in t.frames
        )
        TrackEdit("doubt", {top.id: t}, {top.id: type(t)(t.scan_id, t.number, t.participant_id, doubtful)}).apply(s)
    report = export_clips(store, "research_team", out, clip_ids=[clip])
    assert not report.exported
    assert report.skipped[0]["why"] == [
        f"clip {clip}: the face of A (track {top.id}) is uncertain on frames 20-22 (0.80-0.88 s): "
        f"confirm or fix them (frontdoor faces confirm {top.id} 20 22)"
    ]
    confirm_frames(store, top.id, 20, 22)
    assert export_clips(store, "research_team", out, clip_ids=[clip]).exported

    # a box moved after the version was made is not covered by its redactions: blur again, consent again
    fix_box(store, top.id, 30, (0.0, 0.0, 0.2, 0.25))
    why = export_clips(store, "research_team", out, clip_ids=[clip]).skipped[0]["why"][0]
    assert why.startswith(f"clip {clip}: the face of A (track {top.id}) is not covered on frames ")
    assert why.endswith(f": blur again: frontdoor clip edit {clip} --blur-face A")
    v = blur_faces(store, clip, ["A"])
    assert v.number == 2
    _grant(store, clip, a_id)
    assert export_clips(store, "research_team", out, clip_ids=[clip]).exported


def test_a_blur_face_condition_is_unmet_until_a_version_blurs_the_person(
    store: Store, faces_mp4: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    rid = add_recording(store, ensure_project(store, PROJECT), faces_mp4[0])
    a_id = add_participant(store, PROJECT, "A")
    add_participant(store, PROJECT, "B")
    for who in ("A", "B"):
        add_appearance(store, who, rid, 0, 2000)
    clip = create_clip(store, rid, 0.0, 2.0).clip_id
    _grant(store, clip, a_id)
    report = export_clips(store, "research_team", tmp_path, clip_ids=[clip])
    assert not report.exported
    assert any("face of participant" in w and "--blur-face" in w for w in report.skipped[0]["why"])
    info = detect_recording(store, rid)
    with pytest.raises(InvalidRequest, match="no face track assigned"):
        blur_faces(store, clip, ["A"])
    assign_track(store, min(info.tracks, key=lambda t: t.uncertain).id, a_id)
    blur_faces(store, clip, ["A"])
    _grant(store, clip, a_id)
    assert export_clips(store, "research_team", tmp_path, clip_ids=[clip]).exported


def test_a_presenter_exports_a_blurred_person_on_a_shared_server(team: Team, tmp_path: Path) -> None:
    """On PostgreSQL a presenter runs the gate, face check included: it may read the face tracks (and
    nothing lets it change them)."""
    o = team.owner
    scan = detect_recording(o, team.recording_id)  # the generated picture has no face: a scan with no track
    assert scan.tracks == ()
    with o.session() as s:
        row = FaceTrackRow(scan_id=scan.id, number=1)
        s.add(row)
        s.flush()
        frames = tuple(TrackFrame(i, i * 40, (0.4, 0.3, 0.1, 0.2), 0.9, "detected") for i in range(20, 80))
        TrackEdit("found", {row.id: None}, {row.id: TrackState(scan.id, 1, None, frames)}).apply(s)
        track = row.id
    assign_track(o, track, ME)
    v = blur_faces(o, team.both.clip_id, [ME])
    for who in (ME, OTHER):
        record_decision(o, v.clip_id, who, "research_team", "granted")
    pr = team.as_("presenter")
    report = export_clips(pr, "research_team", tmp_path, clip_ids=[v.clip_id])
    assert [x["clip"] for x in report.exported] == [v.clip_id], report.skipped
    with pytest.raises(AccessDenied, match="UPDATE on face_box"):
        team.raw(pr, "UPDATE face_box SET x = 0")
    # a box moved since (by a researcher) stops the presenter's export of that clip, in one line
    fix_box(o, track, 50, (0.0, 0.0, 0.1, 0.1))
    why = export_clips(pr, "research_team", tmp_path, clip_ids=[v.clip_id]).skipped[0]["why"][0]
    assert f"the face of {ME} (track {track}) is not covered on frames 50-" in why
