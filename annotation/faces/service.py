"""Face tracks in the store: detect once per recording (cached by its SHA-256), list and read tracks, and
correct them (merge, split, fix a box, confirm uncertain frames) as undoable edits.

Every correction is a :class:`TrackEdit` holding the tracks it touched as they were and as they are after:
``apply`` and ``revert`` write one or the other in the caller's unit of work (the edit model of
``annotation.edits``: the app wraps them in its undo stack). The functions here apply them and commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotation.errors import InvalidEdit, NotFound
from annotation.faces.models import FaceBoxRow, FaceScan, FaceTrackRow
from annotation.store import Recording, Store, get_or_not_found
from media_tools import cache
from media_tools.faces import (
    MODEL_NAME,
    Box,
    FaceTrack,
    ScanSettings,
    TrackFrame,
    TrackSettings,
    lerp,
    reinterpolate,
    scan_faces,
)


@dataclass(frozen=True)
class TrackInfo:
    id: int
    scan_id: int
    number: int
    participant_id: int | None
    first_frame: int
    last_frame: int
    first_ms: int
    last_ms: int
    frames: int
    uncertain: int


@dataclass(frozen=True)
class ScanInfo:
    id: int
    recording_id: int
    model: str
    width: int
    height: int
    frame_count: int
    frame_ms: float
    reused: bool
    tracks: tuple[TrackInfo, ...]


@dataclass(frozen=True)
class TrackState:
    """A track as stored: its scan, number, participant and frames."""

    scan_id: int
    number: int
    participant_id: int | None
    frames: tuple[TrackFrame, ...]


@dataclass
class TrackEdit:
    """An edit of face tracks: each touched track before and after (None: it does not exist then)."""

    description: str
    before: dict[int, TrackState | None]
    after: dict[int, TrackState | None]

    def apply(self, session: Session) -> None:
        _write(session, self.after)

    def revert(self, session: Session) -> None:
        _write(session, self.before)


def _write(s: Session, states: dict[int, TrackState | None]) -> None:
    for track_id, st in states.items():
        s.execute(delete(FaceBoxRow).where(FaceBoxRow.track_id == track_id))
        row = s.get(FaceTrackRow, track_id)
        if st is None:
            if row is not None:
                s.delete(row)
            continue
        if row is None:
            s.add(FaceTrackRow(id=track_id, scan_id=st.scan_id, number=st.number, participant_id=st.participant_id))
        else:
            row.number, row.participant_id = st.number, st.participant_id
        s.flush()
        _insert_boxes(s, track_id, st.frames)
    s.flush()


def _insert_boxes(s: Session, track_id: int, frames: Iterable[TrackFrame]) -> None:
    rows = [
        {"track_id": track_id, "frame": f.frame, "time_ms": f.ms, "x": f.box[0], "y": f.box[1], "w": f.box[2],
         "h": f.box[3], "score": f.score, "state": f.state}
        for f in frames
    ]  # fmt: skip
    if rows:
        s.execute(insert(FaceBoxRow), rows)


def read_track(s: Session, track_id: int) -> TrackState:
    """A track as stored.

    Raises:
        NotFound: no such track.
    """
    row = get_or_not_found(s, FaceTrackRow, track_id, "face track")
    boxes = s.scalars(select(FaceBoxRow).where(FaceBoxRow.track_id == track_id).order_by(FaceBoxRow.frame))
    frames = tuple(TrackFrame(b.frame, b.time_ms, (b.x, b.y, b.w, b.h), b.score, b.state) for b in boxes)
    return TrackState(row.scan_id, row.number, row.participant_id, frames)


@dataclass(frozen=True)
class FrameBox:
    """One track's box on one frame (what the app draws over the video)."""

    track_id: int
    number: int
    participant_id: int | None
    frame: TrackFrame


def boxes_at(store: Store, scan_id: int, frame: int) -> list[FrameBox]:
    """Every track's box on one frame of a scan, by track number (one indexed look-up per track)."""
    q = (
        select(FaceTrackRow.id, FaceTrackRow.number, FaceTrackRow.participant_id, FaceBoxRow)
        .join(FaceBoxRow, FaceBoxRow.track_id == FaceTrackRow.id)
        .where(FaceTrackRow.scan_id == scan_id, FaceBoxRow.frame == frame)
        .order_by(FaceTrackRow.number)
    )
    with store.session() as s:
        return [
            FrameBox(tid, num, pid, TrackFrame(b.frame, b.time_ms, (b.x, b.y, b.w, b.h), b.score, b.state))
            for tid, num, pid, b in s.execute(q)
        ]


def uncertain_runs(store: Store, scan_id: int) -> dict[int, list[tuple[int, int]]]:
    """Each track's runs of uncertain frames (first, last, inclusive) in a scan (tracks with none left out)."""
    q = (
        select(FaceBoxRow.track_id, FaceBoxRow.frame)
        .join(FaceTrackRow, FaceBoxRow.track_id == FaceTrackRow.id)
        .where(FaceTrackRow.scan_id == scan_id, FaceBoxRow.state == "uncertain")
        .order_by(FaceBoxRow.track_id, FaceBoxRow.frame)
    )
    out: dict[int, list[tuple[int, int]]] = {}
    with store.session() as s:
        for track_id, frame in s.execute(q):
            runs = out.setdefault(track_id, [])
            if runs and runs[-1][1] + 1 == frame:
                runs[-1] = (runs[-1][0], frame)
            else:
                runs.append((frame, frame))
    return out


def track_frames(store: Store, track_id: int) -> TrackState:
    """A track as stored, in a unit of work of its own (:func:`read_track` for callers with a session).

    Raises:
        NotFound: no such track.
    """
    with store.session() as s:
        return read_track(s, track_id)


def current_scan(s: Session, sha256: str) -> FaceScan | None:
    """The latest scan of a recording's content with the detector this version uses, or None."""
    return s.scalars(
        select(FaceScan)
        .where(FaceScan.recording_sha256 == sha256, FaceScan.model == MODEL_NAME)
        .order_by(FaceScan.id.desc())
        .limit(1)
    ).first()


def _track_infos(s: Session, scan_id: int) -> tuple[TrackInfo, ...]:
    q = (
        select(
            FaceTrackRow.id,
            FaceTrackRow.number,
            FaceTrackRow.participant_id,
            func.min(FaceBoxRow.frame),
            func.max(FaceBoxRow.frame),
            func.min(FaceBoxRow.time_ms),
            func.max(FaceBoxRow.time_ms),
            func.count(),
            func.sum((FaceBoxRow.state == "uncertain").cast(FaceBoxRow.frame.type)),
        )
        .join(FaceBoxRow, FaceBoxRow.track_id == FaceTrackRow.id)
        .where(FaceTrackRow.scan_id == scan_id)
        .group_by(FaceTrackRow.id, FaceTrackRow.number, FaceTrackRow.participant_id)
        .order_by(FaceTrackRow.number)
    )
    return tuple(
        TrackInfo(tid, scan_id, num, pid, int(f0), int(f1), int(m0), int(m1), int(n), int(u or 0))
        for tid, num, pid, f0, f1, m0, m1, n, u in s.execute(q)
    )


def _scan_info(s: Session, scan: FaceScan, recording_id: int, reused: bool) -> ScanInfo:
    return ScanInfo(
        scan.id, recording_id, scan.model, scan.width, scan.height, scan.frame_count, scan.frame_ms, reused,
        _track_infos(s, scan.id),
    )  # fmt: skip


def recording_tracks(store: Store, recording_id: int) -> ScanInfo | None:
    """The current scan of a recording and its tracks, or None when its faces were never detected.

    Raises:
        NotFound: no such recording.
    """
    with store.session() as s:
        rec = get_or_not_found(s, Recording, recording_id, "recording")
        scan = current_scan(s, rec.sha256)
        return None if scan is None else _scan_info(s, scan, rec.id, True)


def detect_recording(
    store: Store,
    recording_id: int,
    *,
    settings: ScanSettings | None = None,
    again: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ScanInfo:
    """Find and follow the faces in a recording, once: a recording whose content was scanned before with
    this detector gets its stored tracks back (``again`` scans anew and replaces them, unless a track is
    assigned to someone).

    Raises:
        NotFound: no such recording.
        InvalidEdit: the recording's file is missing or changed, or ``again`` with assigned tracks.
        ProbeError, FaceModelMissing, Cancelled: from the scan (nothing is stored).
    """
    with store.session() as s:
        rec = get_or_not_found(s, Recording, recording_id, "recording")
        path, sha = Path(rec.abs_path), rec.sha256
        scan = current_scan(s, sha)
        if scan is not None and not again:
            return _scan_info(s, scan, rec.id, True)
        if scan is not None:
            assigned = s.scalar(
                select(func.count())
                .select_from(FaceTrackRow)
                .where(FaceTrackRow.scan_id == scan.id, FaceTrackRow.participant_id.is_not(None))
            )
            if assigned:
                raise InvalidEdit(
                    f"recording {recording_id}: {assigned} of its face tracks are assigned to participants; "
                    "unassign them before detecting again (frontdoor faces assign TRACK --none)"
                )
    if not path.is_file():
        raise InvalidEdit(f"{path}: recording file missing (frontdoor recording relink)")
    if cache.file_hash(path) != sha:
        raise InvalidEdit(f"{path}: the recording file has changed since it was added (its SHA-256 differs)")
    result = scan_faces(path, settings, on_progress=on_progress, cancel=cancel)
    steps = sorted(b - a for a, b in zip(result.frame_ms, result.frame_ms[1:], strict=False))
    frame_ms = float(steps[len(steps) // 2]) if steps else 40.0
    with store.session() as s:
        if again:
            s.execute(delete(FaceScan).where(FaceScan.recording_sha256 == sha, FaceScan.model == MODEL_NAME))
        scan = FaceScan(
            recording_sha256=sha,
            model=result.model,
            settings=result.settings.to_dict(),
            width=result.width,
            height=result.height,
            frame_count=result.frame_count,
            frame_ms=frame_ms,
        )
        s.add(scan)
        s.flush()
        for t in result.tracks:
            row = FaceTrackRow(scan_id=scan.id, number=t.number)
            s.add(row)
            s.flush()
            _insert_boxes(s, row.id, t.frames)
        s.flush()
        return _scan_info(s, scan, recording_id, False)


def _frame_s(s: Session, scan_id: int) -> float:
    scan = s.get(FaceScan, scan_id)
    assert scan is not None
    return scan.frame_ms / 1000


def _settings(s: Session, scan_id: int) -> TrackSettings:
    scan = s.get(FaceScan, scan_id)
    assert scan is not None
    known = {k: v for k, v in (scan.settings or {}).get("tracking", {}).items() if k in TrackSettings.__annotations__}
    return TrackSettings(**known)


def _gap(a: TrackFrame, b: TrackFrame, settings: TrackSettings) -> list[TrackFrame]:
    """Frames between a and b, interpolated (times too), bridged or uncertain by the gap's length."""
    n = b.frame - a.frame
    state = "bridged" if n <= settings.bridge_frames else "uncertain"
    return [
        TrackFrame(f, round(a.ms + (b.ms - a.ms) * (f - a.frame) / n), lerp(a.box, b.box, (f - a.frame) / n),
                   min(a.score, b.score), state)
        for f in range(a.frame + 1, b.frame)
    ]  # fmt: skip


def _joined(frames: Sequence[TrackFrame], settings: TrackSettings) -> tuple[TrackFrame, ...]:
    out: list[TrackFrame] = []
    for f in sorted(frames, key=lambda x: x.frame):
        if out and f.frame > out[-1].frame + 1:
            out += _gap(out[-1], f, settings)
        out.append(f)
    return tuple(out)


def _run(store: Store, make: Callable[[Session], TrackEdit]) -> TrackEdit:
    with store.session() as s:
        edit = make(s)
        edit.apply(s)
        return edit


def merge_tracks(store: Store, keep: int, other: int) -> TrackEdit:
    """Make two tracks of one face one track (``keep``): frames both have keep the better score, and the
    gap between them is interpolated (bridged, or uncertain when long).

    Raises:
        NotFound: either track.
        InvalidEdit: the same track twice, tracks of different scans, or of different participants.
    """

    def make(s: Session) -> TrackEdit:
        if keep == other:
            raise InvalidEdit(f"face track {keep}: cannot be merged with itself")
        a, b = read_track(s, keep), read_track(s, other)
        if a.scan_id != b.scan_id:
            raise InvalidEdit(f"face tracks {keep} and {other}: belong to different recordings or scans")
        if a.participant_id is not None and b.participant_id is not None and a.participant_id != b.participant_id:
            raise InvalidEdit(f"face tracks {keep} and {other}: are assigned to different participants")
        best: dict[int, TrackFrame] = {f.frame: f for f in a.frames}
        for f in b.frames:
            if f.frame not in best or f.score > best[f.frame].score:
                best[f.frame] = f
        frames = _joined(list(best.values()), _settings(s, a.scan_id))
        merged = TrackState(a.scan_id, a.number, a.participant_id or b.participant_id, frames)
        return TrackEdit(f"merge face track {other} into {keep}", {keep: a, other: b}, {keep: merged, other: None})

    return _run(store, make)


def split_track(store: Store, track_id: int, at_frame: int) -> tuple[TrackEdit, int]:
    """Split a track before ``at_frame``: the frames from there on become a new track (same participant).
    Returns the edit and the new track's id.

    Raises:
        NotFound: no such track.
        InvalidEdit: ``at_frame`` is not after the track's first frame and within it.
    """
    box: list[int] = []

    def make(s: Session) -> TrackEdit:
        t = read_track(s, track_id)
        if not t.frames[0].frame < at_frame <= t.frames[-1].frame:
            raise InvalidEdit(
                f"face track {track_id}: frame {at_frame} is not inside it after its first frame "
                f"({t.frames[0].frame}-{t.frames[-1].frame})"
            )
        number = (s.scalar(select(func.max(FaceTrackRow.number)).where(FaceTrackRow.scan_id == t.scan_id)) or 0) + 1
        row = FaceTrackRow(scan_id=t.scan_id, number=number, participant_id=t.participant_id)
        s.add(row)
        s.flush()  # its id from the database (a sequence on PostgreSQL); the edit fills it
        new_id = row.id
        box.append(new_id)
        head = replace(t, frames=tuple(f for f in t.frames if f.frame < at_frame))
        tail = TrackState(t.scan_id, number, t.participant_id, tuple(f for f in t.frames if f.frame >= at_frame))
        return TrackEdit(f"split face track {track_id} at frame {at_frame}", {track_id: t, new_id: None},
                         {track_id: head, new_id: tail})  # fmt: skip

    edit = _run(store, make)
    return edit, box[0]


def fix_box(store: Store, track_id: int, frame: int, box: Box, *, time_ms: int | None = None) -> TrackEdit:
    """Set a track's box on one frame by hand (state ``fixed``); the frames up to the nearest detected,
    confirmed or fixed frame on each side follow it. A frame past either end of the track extends it
    (``time_ms`` is then when that frame is shown; by default it is counted from the scan's frame rate).

    Raises:
        NotFound: no such track.
        InvalidEdit: the box is not inside the picture, or the frame is negative.
    """
    x, y, w, h = box
    if frame < 0:
        raise InvalidEdit(f"frame {frame}: frames count from 0")
    if not (w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9):
        raise InvalidEdit(f"box {x:g},{y:g},{w:g},{h:g}: must lie inside the picture (fractions 0..1, w and h > 0)")

    def make(s: Session) -> TrackEdit:
        t = read_track(s, track_id)
        known = {f.frame: f for f in t.frames}
        if frame in known:
            ms = known[frame].ms
        elif time_ms is not None:
            ms = time_ms
        else:
            near = min(t.frames, key=lambda f: abs(f.frame - frame))
            ms = round(near.ms + (frame - near.frame) * _frame_s(s, t.scan_id) * 1000)
        fixed = TrackFrame(frame, ms, box, 1.0, "fixed")
        frames = t.frames if frame in known else _joined([*t.frames, fixed], _settings(s, t.scan_id))
        after = replace(t, frames=reinterpolate(frames, fixed))
        return TrackEdit(f"fix face track {track_id} on frame {frame}", {track_id: t}, {track_id: after})

    return _run(store, make)


def confirm_frames(store: Store, track_id: int, first: int, last: int) -> TrackEdit:
    """Accept a track's uncertain frames from ``first`` to ``last`` (inclusive) as they are (``confirmed``).

    Raises:
        NotFound: no such track.
        InvalidEdit: no uncertain frame of the track lies in the range.
    """

    def make(s: Session) -> TrackEdit:
        t = read_track(s, track_id)
        frames = tuple(
            replace(f, state="confirmed") if first <= f.frame <= last and f.state == "uncertain" else f
            for f in t.frames
        )
        if frames == t.frames:
            raise InvalidEdit(f"face track {track_id}: no uncertain frame between {first} and {last}")
        return TrackEdit(
            f"confirm face track {track_id}, frames {first}-{last}",
            {track_id: t},
            {track_id: replace(t, frames=frames)},
        )

    return _run(store, make)


def set_participant(s: Session, track_id: int, participant_id: int | None) -> TrackEdit:
    """Whose face a track is (None: nobody's), applied in the caller's unit of work (``consent.faces`` checks
    the participant and records the assignment in the audit log).

    Raises:
        NotFound: no such track.
    """
    t = read_track(s, track_id)
    edit = TrackEdit(
        f"assign face track {track_id}", {track_id: t}, {track_id: replace(t, participant_id=participant_id)}
    )
    row = s.get(FaceTrackRow, track_id)
    assert row is not None
    row.participant_id = participant_id
    s.flush()
    return edit


def undo(store: Store, edit: TrackEdit) -> None:
    """Revert an edit made by one of the functions here (in a unit of work of its own)."""
    with store.session() as s:
        edit.revert(s)


def redo(store: Store, edit: TrackEdit) -> None:
    with store.session() as s:
        edit.apply(s)


def participant_tracks(s: Session, sha256: str, participant_id: int) -> list[FaceTrack]:
    """Every track of the current scan of a recording's content assigned to a participant, with its frames."""
    scan = current_scan(s, sha256)
    if scan is None:
        return []
    ids = s.scalars(
        select(FaceTrackRow.id)
        .where(FaceTrackRow.scan_id == scan.id, FaceTrackRow.participant_id == participant_id)
        .order_by(FaceTrackRow.number)
    )
    out = []
    for tid in ids:
        t = read_track(s, tid)
        out.append(FaceTrack(tid, t.frames))
    return out


def track_recording(s: Session, track_id: int) -> str:
    """The SHA-256 of the recording a track was found in.

    Raises:
        NotFound: no such track.
    """
    row = get_or_not_found(s, FaceTrackRow, track_id, "face track")
    scan = s.get(FaceScan, row.scan_id)
    if scan is None:
        raise NotFound(f"face track {track_id}: its scan is gone")
    return scan.recording_sha256
