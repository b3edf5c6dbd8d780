"""Face boxes over the video while libvlc plays it, on X11.

libvlc draws the playing video into a native X11 window of its own: a widget painted by Qt cannot lie over
it, and a translucent window is see-through only with a compositing manager (Xvfb and many kiosk setups have
none). What works without one is a native child window *shaped* to what it shows (the X11 SHAPE extension,
``QWidget.setMask``): ``LiveBoxes`` is such a window over the player, its shape the boxes' outlines and labels,
so the video shows through everywhere else. It is fed the boxes of the frame playing about ten times a second
(``FacesPanel`` reads them from the store at the player's position) and hidden when the player pauses, where
the exact still and its boxes (``FaceOverlay``) take over. The boxes are drawn by ``FaceOverlay.paint``, the
same as on the still, into a transparent image whose opaque pixels become the window's shape.

Only for libvlc's X11 window ("xwindow"): checked there (under Xvfb, the screen grabbed while playing). On
other platforms' native windows it is not used: boxes show on the paused still as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QBitmap, QImage, QPainter, QPaintEvent, QRegion
from PySide6.QtWidgets import QWidget

from annotation.faces import FrameBox
from app.gui.faces.overlay import FaceOverlay

HZ = 10  # how often the boxes follow the playing video
PLATFORMS = ("xwindow",)  # the video windows a shaped child window has been seen to lie over


def fitted(picture: QSize, area: QSize) -> QRect:
    """Where a picture of this size lies in the area when scaled to fit it, keeping its shape (centred), as
    libvlc shows it."""
    if picture.isEmpty() or area.isEmpty():
        return QRect(0, 0, area.width(), area.height())
    scale = min(area.width() / picture.width(), area.height() / picture.height())
    w, h = round(picture.width() * scale), round(picture.height() * scale)
    return QRect((area.width() - w) // 2, (area.height() - h) // 2, w, h)


Source = Callable[[int], tuple[Sequence[FrameBox], Mapping[int, str], QSize]]


class LiveBoxes(QWidget):
    """A native child window over ``player`` (a ``PlayerWidget``, the whole of it), shaped to the boxes it
    draws. While ``run(True)``, ``source(frame)`` gives the boxes of the frame at the player's position (the
    boxes, whose face each is, the video's size), asked ``HZ`` times a second when that frame changed. The
    timer belongs to ``owner`` (the panel ``source`` is a method of): it stops when the owner goes."""

    def __init__(self, player: QWidget, source: Source, owner: QObject) -> None:
        super().__init__(player)
        self.player, self.source = player, source
        self.timer = QTimer(owner)
        self.timer.setInterval(1000 // HZ)
        self.timer.timeout.connect(self.follow)
        self.setAttribute(Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
        self.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.overlays: list[Callable[[QPainter, QRect], None]] = []
        self.boxes = FaceOverlay(self, self)  # draws into ``overlays``; no mouse reaches this window
        self.picture = QSize()
        self.frame: int | None = None
        self._image = QImage()
        self.setGeometry(player.rect())
        player.installEventFilter(self)
        self.hide()

    def run(self, on: bool) -> None:
        """Follow the playing video (on) or stop and hide (off: paused, the panel closed, boxes off)."""
        if on:
            self.frame = None
            self.timer.start()
            self.follow()
        else:
            self.timer.stop()
            self.frame = None
            self.hide()

    def follow(self) -> None:
        """The boxes of the frame at the player's position, when it is not the one shown."""
        frame = int(self.player.frame_at_position())  # type: ignore[attr-defined]
        if frame != self.frame:
            boxes, names, picture = self.source(frame)
            self.set_boxes(frame, boxes, names, picture)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.parent() and event.type() == QEvent.Type.Resize:
            self.setGeometry(obj.rect())  # type: ignore[attr-defined]
            self._compose()
        return False

    def set_boxes(self, frame: int | None, boxes: Sequence[FrameBox], names: Mapping[int, str], picture: QSize) -> None:
        """Show these boxes of ``frame`` over a video of ``picture``'s size (shown at once, over the video)."""
        self.frame, self.picture = frame, QSize(picture)
        self.boxes.set_boxes(frame, boxes, names)
        self._compose()
        if not boxes:
            self.hide()  # a window with no shape would cover the whole video
        elif not self.isVisible():
            self.show()
            self.raise_()

    def set_selected(self, track_id: int | None) -> None:
        self.boxes.set_selected(track_id)
        self._compose()

    def _compose(self) -> None:
        """Paint the boxes into a transparent image the window's size; its opaque pixels are the shape."""
        size = self.size()
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        if self.boxes.boxes:
            painter = QPainter(image)
            for paint in self.overlays:
                paint(painter, fitted(self.picture, size))
            painter.end()
        self._image = image
        if self.boxes.boxes:
            self.setMask(QRegion(QBitmap.fromImage(image.createAlphaMask())))
        self.update()

    def image(self) -> QImage:
        """What the window shows (transparent where the video shows through)."""
        return QImage(self._image)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self._image)
