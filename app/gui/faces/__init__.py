"""Faces in the app: the Faces panel (a dock of the main window) with the recording's face tracks, detection
in the background, and the corrections on the undo stack; the boxes drawn over the player's still, coloured
by state and dragged to fix them."""

from __future__ import annotations

from app.gui.faces.commands import AssignCommand, TrackEditCommand
from app.gui.faces.dock import add_faces_dock
from app.gui.faces.fix_dialog import FixBoxDialog
from app.gui.faces.jobs import FaceDetector
from app.gui.faces.overlay import STATE_COLOURS, FaceOverlay, box_label
from app.gui.faces.panel import FacesPanel

__all__ = [
    "STATE_COLOURS",
    "AssignCommand",
    "FaceDetector",
    "FaceOverlay",
    "FacesPanel",
    "FixBoxDialog",
    "TrackEditCommand",
    "add_faces_dock",
    "box_label",
]
