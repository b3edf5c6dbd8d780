"""The project's setting ``blur-withheld`` in the app: whether its ethics approval allows offering someone who
withheld a version of a clip with their face blurred. Changed only with a reason, which goes to the audit log
with the change (``consent.faces.set_blur_withheld``, as ``frontdoor project set-blur-withheld`` does)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget


class BlurWithheldDialog(QDialog):
    """``chosen(allowed, reason)`` when accepted with a reason (OK stays disabled without one)."""

    chosen = Signal(bool, str)

    def __init__(self, project: str, allowed: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Project {project}: blur-withheld")
        form = QFormLayout(self)
        text = QLabel(
            "Where the project's ethics approval allows it, someone who withheld their consent to a clip can be "
            "offered a new version with their face blurred (frontdoor clip blur-withheld CLIP). Everyone "
            "in the clip decides on that version afresh; only the face is blurred, not the voice."
        )
        text.setWordWrap(True)
        form.addRow(text)
        self.allowed = QCheckBox("The project allows it")
        self.allowed.setChecked(allowed)
        form.addRow(self.allowed)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. ethics amendment 3, approved 2026-11-20")
        form.addRow("Reason (audit log)", self.reason)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.reason.textChanged.connect(self._enable)
        self._enable()

    def _enable(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.reason.text().strip()))

    def accept(self) -> None:
        if not self.reason.text().strip():
            return
        self.chosen.emit(self.allowed.isChecked(), self.reason.text())
        super().accept()
