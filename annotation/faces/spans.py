"""Where each face track of a scan lies in time: its runs of consecutive frames with a box, and its runs of
uncertain frames, in frames and in milliseconds of the recording (what the app's timeline draws as one row
per track). Computed in the database (consecutive frames grouped by ``frame - row_number()``), so a long
recording returns a few runs per track, not a row per frame."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from annotation.faces.models import FaceBoxRow, FaceScan, FaceTrackRow
from annotation.store import Store, get_or_not_found


@dataclass(frozen=True)
class Run:
    """Frames ``first``..``last`` (inclusive), shown from ``start_ms`` until ``end_ms`` (the last frame's start
    plus the scan's typical frame duration)."""

    first: int
    last: int
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class TrackSpans:
    """One track's runs of frames with a box, and its runs of uncertain frames, each in time order."""

    track_id: int
    runs: tuple[Run, ...]
    uncertain: tuple[Run, ...]


def track_spans(store: Store, scan_id: int) -> dict[int, TrackSpans]:
    """Every track of a scan with its runs (tracks in number order).

    Raises:
        NotFound: no such scan.
    """
    with store.session() as s:
        frame_ms = get_or_not_found(s, FaceScan, scan_id, "face scan").frame_ms
        order = [tid for (tid,) in s.execute(
            select(FaceTrackRow.id).where(FaceTrackRow.scan_id == scan_id).order_by(FaceTrackRow.number)
        )]  # fmt: skip
        found: dict[tuple[int, bool], list[Run]] = {}
        for uncertain in (False, True):
            rank = func.row_number().over(partition_by=FaceBoxRow.track_id, order_by=FaceBoxRow.frame)
            boxes = (
                select(FaceBoxRow.track_id, FaceBoxRow.frame, FaceBoxRow.time_ms, (FaceBoxRow.frame - rank).label("g"))
                .join(FaceTrackRow, FaceTrackRow.id == FaceBoxRow.track_id)
                .where(FaceTrackRow.scan_id == scan_id)
            )
            if uncertain:
                boxes = boxes.where(FaceBoxRow.state == "uncertain")
            sub = boxes.subquery()
            q = (
                select(sub.c.track_id, func.min(sub.c.frame), func.max(sub.c.frame), func.min(sub.c.time_ms),
                       func.max(sub.c.time_ms))
                .group_by(sub.c.track_id, sub.c.g)
                .order_by(sub.c.track_id, func.min(sub.c.frame))
            )  # fmt: skip
            for tid, f0, f1, t0, t1 in s.execute(q):
                end = int(t1) + max(1, round(frame_ms))
                found.setdefault((tid, uncertain), []).append(Run(int(f0), int(f1), int(t0), end))
    return {
        tid: TrackSpans(tid, tuple(found.get((tid, False), ())), tuple(found.get((tid, True), ()))) for tid in order
    }
