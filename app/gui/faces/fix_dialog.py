"""Fixing a face track's box on one frame by numbers: X, Y, width and height as fractions of the picture
(for a frame with no box yet, past a track's end, where there is nothing over the video to drag)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget

from media_tools.faces import Box


class FixBoxDialog(QDialog):
    """``fixed(box)`` when accepted."""

    fixed = Signal(object)

    def __init__(self, track_id: int, frame: int, box: Box, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Fix face track {track_id}")
        form = QFormLayout(self)
        form.addRow(QLabel(f"The box on frame {frame}; the frames up to the nearest found box each side follow."))
        self.spins: list[QDoubleSpinBox] = []
        for name, value in zip(("X", "Y", "Width", "Height"), box, strict=True):
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 1.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.01)
            spin.setValue(value)
            form.addRow(name, spin)
            self.spins.append(spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def box(self) -> Box:
        x, y, w, h = (s.value() for s in self.spins)
        return x, y, w, h

    def accept(self) -> None:
        self.fixed.emit(self.box())
        super().accept()
