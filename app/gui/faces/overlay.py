"""Face boxes drawn over the exact still of the player, and moved or resized there with the mouse.

Where they are drawn: on the player's still view (``PlayerWidget.still_view``), after the still itself,
through its ``overlays`` hook. The still is the exact frame at the paused playhead (and, with no libvlc or
QtMultimedia, every frame while playing), painted by Qt on every platform: under X11 with libvlc it is a
native window stacked over libvlc's (a child widget painted by Qt could not lie over libvlc's window, and a
translucent top-level window is see-through only with a compositing manager, which Xvfb has not), on ``offscreen``
and with QtMultimedia an ordinary widget. While libvlc or QtMultimedia plays, the still is hidden and so
are the boxes: boxes are looked at and corrected paused, frame by frame.

Each box is labelled with its track id and whose face it is, and coloured by the frame's state: green
found by the detector (or followed between two finds), amber bridged over a short miss, red uncertain (the
gate stops a clip on it), blue confirmed or fixed by hand. The selected track is drawn thicker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QWidget

from annotation.faces import FrameBox
from media_tools.faces import Box

STATE_COLOURS = {
    "detected": QColor(46, 204, 64),
    "tracked": QColor(46, 204, 64),
    "bridged": QColor(255, 176, 0),
    "uncertain": QColor(255, 48, 48),
    "confirmed": QColor(58, 160, 255),
    "fixed": QColor(58, 160, 255),
}
GRIP_PX = 10  # a press this close to a box's lower right corner resizes it; elsewhere inside, moves it
MIN_SIDE = 0.01  # a box is never made smaller than 1 % of the picture


def box_label(b: FrameBox, names: Mapping[int, str]) -> str:
    """``12 · A`` (track id, whose face), with the frame's state when it is not a plain find."""
    who = names.get(b.participant_id, f"participant {b.participant_id}") if b.participant_id else "unassigned"
    state = b.frame.state
    return f"{b.track_id} · {who}" + ("" if state in ("detected", "tracked") else f" · {state}")


def _clamped(box: Box) -> Box:
    x, y, w, h = box
    w, h = min(max(w, MIN_SIDE), 1.0), min(max(h, MIN_SIDE), 1.0)
    return min(max(x, 0.0), 1.0 - w), min(max(y, 0.0), 1.0 - h), w, h


class FaceOverlay(QObject):
    """The boxes of one frame over a still view. ``boxMoved(track_id, box)`` when a box was dragged to a new
    place or size (fractions of the picture), ``trackClicked(track_id)`` when one was clicked."""

    boxMoved = Signal(int, object)
    trackClicked = Signal(int)

    def __init__(self, view: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.boxes: list[FrameBox] = []
        self.names: dict[int, str] = {}
        self.frame: int | None = None
        self.selected: int | None = None
        self.visible = True
        self._rect = QRect()  # where the still lies in the view (from the last paint)
        self._drag: tuple[int, str, QPointF, Box] | None = None  # track, "move"/"size", press point, box then
        self._dragged: Box | None = None
        painters = getattr(view, "overlays", None)
        if isinstance(painters, list):
            painters.append(self.paint)
        view.installEventFilter(self)

    # ---- what is shown ------------------------------------------------------------------------------------

    def set_boxes(self, frame: int | None, boxes: Sequence[FrameBox], names: Mapping[int, str]) -> None:
        if self._drag is not None and frame != self.frame:
            self._drag = self._dragged = None  # the frame moved under a drag: it is dropped
        self.frame, self.boxes, self.names = frame, list(boxes), dict(names)
        self.view.update()

    def set_selected(self, track_id: int | None) -> None:
        self.selected = track_id
        self.view.update()

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        self.view.update()

    def box_rect(self, box: Box) -> QRectF:
        """A box (fractions of the picture) in the view's pixels."""
        r = self._rect
        x, y, w, h = box
        return QRectF(r.x() + x * r.width(), r.y() + y * r.height(), w * r.width(), h * r.height())

    # ---- painting -----------------------------------------------------------------------------------------

    def paint(self, painter: QPainter, rect: QRect) -> None:
        self._rect = QRect(rect)
        if not self.visible or not self.boxes:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(painter.font())
        font.setPixelSize(max(11, min(16, rect.height() // 30)))
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        for b in self.boxes:
            box = self._dragged if self._drag is not None and self._drag[0] == b.track_id else b.frame.box
            colour = STATE_COLOURS.get(b.frame.state, QColor(255, 255, 255))
            r = self.box_rect(box or b.frame.box)
            pen = QPen(colour, 4 if b.track_id == self.selected else 2)
            if b.frame.state == "bridged":
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(r)
            text = box_label(b, self.names)
            tw, th = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
            ty = r.top() - th if r.top() - th >= rect.top() else r.bottom()
            label = QRectF(r.left(), ty, tw, th)
            painter.fillRect(label, colour)
            painter.setPen(QColor(0, 0, 0))
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, text)
            if b.track_id == self.selected:  # the grip that resizes
                painter.fillRect(QRectF(r.right() - GRIP_PX / 2, r.bottom() - GRIP_PX / 2, GRIP_PX, GRIP_PX), colour)
        painter.restore()

    # ---- the mouse ----------------------------------------------------------------------------------------

    def hit(self, pos: QPointF) -> tuple[int, str] | None:
        """The box under a point of the view (the smallest, when boxes overlap) and what a drag does there."""
        found: list[tuple[float, int, str]] = []
        for b in self.boxes:
            r = self.box_rect(b.frame.box)
            corner = QPointF(r.right(), r.bottom())
            if (pos - corner).manhattanLength() <= GRIP_PX:
                found.append((0.0, b.track_id, "size"))
            elif r.contains(pos):
                found.append((r.width() * r.height(), b.track_id, "move"))
        if not found:
            return None
        _, track, how = min(found)
        return track, how

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is not self.view or not self.visible or self.frame is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            if event.button() != Qt.MouseButton.LeftButton:
                return False
            got = self.hit(event.position())
            if got is None:
                return False
            track, how = got
            box = next(b.frame.box for b in self.boxes if b.track_id == track)
            self._drag, self._dragged = (track, how, event.position(), box), box
            return True
        if kind == QEvent.Type.MouseMove and isinstance(event, QMouseEvent) and self._drag is not None:
            self._dragged = self._moved(event.position())
            self.view.update()
            return True
        if kind == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent) and self._drag is not None:
            track, _, start, box = self._drag
            moved = self._moved(event.position())
            self._drag = self._dragged = None
            self.view.update()
            if (event.position() - start).manhattanLength() < 3:
                self.trackClicked.emit(track)
            elif moved != box:
                self.boxMoved.emit(track, moved)
            return True
        return False

    def _moved(self, pos: QPointF) -> Box:
        assert self._drag is not None
        _, how, start, (x, y, w, h) = self._drag
        r = self._rect
        dx = (pos.x() - start.x()) / max(r.width(), 1)
        dy = (pos.y() - start.y()) / max(r.height(), 1)
        if how == "size":
            return _clamped((x, y, w + dx, h + dy))
        return _clamped((x + dx, y + dy, w, h))
