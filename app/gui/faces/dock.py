"""The Faces panel as a dock of the main window, closed until View > Faces panel opens it, following the
document the window shows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from app.gui.faces.panel import FacesPanel


def add_faces_dock(window: Any) -> tuple[QDockWidget, FacesPanel]:
    """Add the dock to ``window`` (a ``MainWindow``: its store, player, timeline, undo stack and message line).

    The panel learns of each document the window loads from the player's ``durationChanged``, which every
    load emits (with a recording or without)."""
    panel = FacesPanel(window.store, window.player, window.undo_stack.push, window.show_error)
    dock = QDockWidget("Faces", window)
    dock.setObjectName("faces")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    window.player.durationChanged.connect(lambda _ms: panel.follow_document(window.doc_id))
    # the face tracks as rows of the timeline while the panel is open; a click on one selects it here
    panel.rowsChanged.connect(window.timeline.set_face_rows)
    panel.trackSelected.connect(window.timeline.set_face_selected)
    window.timeline.faceTrackClicked.connect(panel.select_track)
    return dock, panel
