"""The review station's own widgets: the box a participant draws round themselves ("blur me") and the
yes / no / not now row for one use (scope), explained, with the conditions of a yes that fit the use."""

from __future__ import annotations

from PySide6.QtCore import QDate, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDateEdit,
    QGridLayout,
    QGroupBox,
    QLabel,
    QRadioButton,
    QWidget,
)

from app.gui.dates import show_days
from consent.station import explain, review

# ---- "blur me": a box drawn on the picture ----------------------------------------------------------------


class AreaPicker(QWidget):
    """The paused picture of the clip, on which the participant drags a box round themselves. The box is
    kept as fractions of the picture (x, y, w, h), as redactions are given."""

    boxChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 135)
        self._image: QImage | None = None
        self._box: tuple[float, float, float, float] | None = None
        self._anchor: QPointF | None = None

    def set_image(self, image: QImage | None) -> None:
        self._image = None if image is None or image.isNull() else image.copy()
        self.update()

    def has_image(self) -> bool:
        return self._image is not None

    def box(self) -> tuple[float, float, float, float] | None:
        return self._box

    def clear_box(self) -> None:
        self._box = None
        self.boxChanged.emit()
        self.update()

    def _frame(self) -> QRectF:
        """Where the picture is drawn: scaled to fit, centred."""
        if self._image is None:
            return QRectF(self.rect())
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def _fraction(self, pos: QPointF) -> QPointF:
        f = self._frame()
        x = min(max((pos.x() - f.x()) / f.width(), 0.0), 1.0)
        y = min(max((pos.y() - f.y()) / f.height(), 0.0), 1.0)
        return QPointF(x, y)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._image is not None:
            self._anchor = self._fraction(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._anchor is not None:  # while dragging (the button state is not relied on)
            self._set_from(self._anchor, self._fraction(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._anchor is not None:
            self._set_from(self._anchor, self._fraction(event.position()))
            self._anchor = None

    def _set_from(self, a: QPointF, b: QPointF) -> None:
        x0, x1 = sorted((a.x(), b.x()))
        y0, y1 = sorted((a.y(), b.y()))
        self._box = (x0, y0, x1 - x0, y1 - y0) if x1 - x0 > 0.01 and y1 - y0 > 0.01 else None
        self.boxChanged.emit()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#202020"))
        f = self._frame()
        if self._image is None:
            p.setPen(QColor("white"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Pause the clip where you are seen")
            return
        p.drawImage(f, self._image)
        if self._box is not None:
            x, y, w, h = self._box
            p.setPen(QPen(QColor("#ffcc00"), 3))
            p.drawRect(QRectF(f.x() + x * f.width(), f.y() + y * f.height(), w * f.width(), h * f.height()))


# ---- one use ----------------------------------------------------------------------------------------------


class ScopeRow(QGroupBox):
    """One use: its question, a sentence on who sees the clip, where and for how long, yes / no / not now, and
    the conditions of a yes that make sense for this use."""

    def __init__(self, scope: str, text: explain.UseText | None = None) -> None:
        text = text or explain.use_text(scope)
        super().__init__(text.question)
        self.scope = scope
        self.sentence = QLabel(text.sentence)
        self.sentence.setWordWrap(True)
        self.yes, self.no, self.later = QRadioButton("Yes"), QRadioButton("No"), QRadioButton("Not now")
        self.group = QButtonGroup(self)
        for b in (self.yes, self.no, self.later):
            self.group.addButton(b)
        self.later.setChecked(True)
        self.blur = QCheckBox("only with me blurred (mark where I am, below)")
        self.not_after = QCheckBox(text.not_after or "not after")
        self.until = QDateEdit(QDate.currentDate().addYears(1))
        show_days(self.until)
        self.until.setCalendarPopup(True)
        self.until.setMinimumDate(QDate.currentDate())
        self.internal = QCheckBox("only if everyone watching works for the authority")
        self.current = QLabel()
        grid = QGridLayout(self)
        grid.addWidget(self.sentence, 0, 0, 1, 5)
        grid.addWidget(self.yes, 1, 0)
        grid.addWidget(self.no, 1, 1)
        grid.addWidget(self.later, 1, 2)
        grid.addWidget(self.current, 1, 3, 1, 2)
        grid.addWidget(self.blur, 2, 0, 1, 2)
        grid.addWidget(self.not_after, 2, 2)
        grid.addWidget(self.until, 2, 3)
        grid.addWidget(self.internal, 3, 0, 1, 3)
        self.not_after.setVisible(text.not_after is not None)
        self.until.setVisible(text.not_after is not None)
        self.internal.setVisible(text.audience_inside)
        self.yes.toggled.connect(self._enable)
        self.not_after.toggled.connect(self._enable)
        self._enable()

    def _enable(self) -> None:
        for w in (self.blur, self.not_after, self.internal):
            w.setEnabled(self.yes.isChecked())
        self.until.setEnabled(self.yes.isChecked() and self.not_after.isChecked())

    def reset(self, recorded: review.OwnDecision | None) -> None:
        self.later.setChecked(True)
        for c in (self.blur, self.not_after, self.internal):
            c.setChecked(False)
        if recorded is None:
            self.current.setText("You have not decided on this version.")
        else:
            said = "yes" if recorded.decision == "granted" else "no"
            extra = f" ({'; '.join(recorded.described)})" if recorded.described else ""
            self.current.setText(f"Recorded so far: {said}{extra}")

    def decision(self) -> str | None:
        return "granted" if self.yes.isChecked() else "withheld" if self.no.isChecked() else None

    def touched(self) -> bool:
        """Whether a choice is made here that is not recorded yet."""
        return self.decision() is not None
