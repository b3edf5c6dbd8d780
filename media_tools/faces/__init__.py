"""Faces found and followed: CenterFace detection on the CPU, SORT-style tracks with each frame's state, and
the keyframed redactions that blur a track (with the check that a spec covers one). No database, no Qt."""

from __future__ import annotations

from media_tools.faces.model import MODEL_NAME, FaceModel, load_model
from media_tools.faces.redaction import PAD, Run, in_clip, track_redactions, uncovered_runs
from media_tools.faces.scan import ScanResult, ScanSettings, scan_faces
from media_tools.faces.tracks import (
    STATES,
    Box,
    FaceTrack,
    Tracker,
    TrackFrame,
    TrackSettings,
    at_edge,
    fill_track,
    lerp,
    reinterpolate,
)

__all__ = [
    "MODEL_NAME",
    "PAD",
    "STATES",
    "Box",
    "FaceModel",
    "FaceTrack",
    "Run",
    "ScanResult",
    "ScanSettings",
    "TrackFrame",
    "TrackSettings",
    "Tracker",
    "at_edge",
    "fill_track",
    "in_clip",
    "lerp",
    "load_model",
    "reinterpolate",
    "scan_faces",
    "track_redactions",
    "uncovered_runs",
]
