"""Face tracks in the store: the tables, detection once per recording (cached by its SHA-256), reading tracks,
and undoable corrections (merge, split, fix a box, confirm uncertain frames). Whose face a track is, is a
participant id kept here but checked and audited by ``consent.faces``. ``track_spans``: each track's runs of
frames and of uncertain frames in time (the app's timeline rows)."""

from __future__ import annotations

from annotation.faces import models
from annotation.faces.models import FaceBoxRow, FaceScan, FaceTrackRow
from annotation.faces.service import (
    FrameBox,
    ScanInfo,
    TrackEdit,
    TrackInfo,
    TrackState,
    boxes_at,
    confirm_frames,
    current_scan,
    detect_recording,
    fix_box,
    merge_tracks,
    participant_tracks,
    read_track,
    recording_tracks,
    redo,
    set_participant,
    split_track,
    track_frames,
    track_recording,
    uncertain_runs,
    undo,
)
from annotation.faces.spans import Run, TrackSpans, track_spans

__all__ = [
    "FaceBoxRow",
    "FaceScan",
    "FaceTrackRow",
    "FrameBox",
    "Run",
    "ScanInfo",
    "TrackEdit",
    "TrackInfo",
    "TrackSpans",
    "TrackState",
    "boxes_at",
    "confirm_frames",
    "current_scan",
    "detect_recording",
    "fix_box",
    "merge_tracks",
    "models",
    "participant_tracks",
    "read_track",
    "recording_tracks",
    "redo",
    "set_participant",
    "split_track",
    "track_frames",
    "track_recording",
    "track_spans",
    "uncertain_runs",
    "undo",
]
