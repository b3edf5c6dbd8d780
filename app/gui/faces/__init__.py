"""Faces in the app: the Faces panel (a dock of the main window) with the recording's face tracks, detection
in the background, and the corrections on the undo stack; the boxes drawn over the player's still, coloured
by state and dragged to fix them, and over libvlc's playing video on X11 (a shaped window); the tracks as rows
of the timeline; the project's setting blur-withheld."""

from __future__ import annotations

from app.gui.faces.commands import AssignCommand, TrackEditCommand
from app.gui.faces.dock import add_faces_dock
from app.gui.faces.fix_dialog import FixBoxDialog
from app.gui.faces.jobs import FaceDetector
from app.gui.faces.live import LiveBoxes
from app.gui.faces.overlay import STATE_COLOURS, FaceOverlay, box_label
from app.gui.faces.panel import FacesPanel
from app.gui.faces.project_setting import BlurWithheldDialog

__all__ = [
    "STATE_COLOURS",
    "AssignCommand",
    "BlurWithheldDialog",
    "FaceDetector",
    "FaceOverlay",
    "FacesPanel",
    "FixBoxDialog",
    "LiveBoxes",
    "TrackEditCommand",
    "add_faces_dock",
    "box_label",
]
