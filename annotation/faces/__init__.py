"""Face tracks in the store: the tables, detection once per recording (cached by its SHA-256), reading tracks,
and undoable corrections (merge, split, fix a box, confirm uncertain frames). Whose face a track is, is a
participant id kept here but checked and audited by ``consent.faces``."""

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

__all__ = [
    "FaceBoxRow",
    "FaceScan",
    "FaceTrackRow",
    "FrameBox",
    "ScanInfo",
    "TrackEdit",
    "TrackInfo",
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
    "uncertain_runs",
    "undo",
]
