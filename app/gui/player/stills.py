"""The exact still over the video: the frame at the paused playhead, decoded with PyAV off the GUI thread
(``StillJob`` on the widget's pool, back through ``StillSink``), shown scaled to fit by ``StillView``.

``StillOverlay`` is a mixin of ``PlayerWidget``: it asks for the newest wanted still (older requests are
dropped), and lays it over the video when it arrives, unless the player is playing by then.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal, SignalInstance
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

from app.gui.player.engine import PlayerEngine
from app.gui.worker import deliver
from media_tools.clock import clock_text
from media_tools.errors import MediaError
from media_tools.frame_times import FrameTimes
from media_tools.frames import Still, frame_at
from media_tools.probe import ProbeResult

log = logging.getLogger("app.gui.player.widget")

MAX_STILL_WIDTH = 1920  # stills of wider video are decoded at this width (the view scales them anyway)


class StillSink(QObject):
    """Carries a decoded still (or a one-line error) from a pool thread back to the GUI thread."""

    done = Signal(int, object, object)  # request number, Still | None, error message | None


class StillJob(QRunnable):
    """Decodes the exact frame at a time on a pool thread and hands it to a ``StillSink``."""

    def __init__(self, sink: StillSink, gen: int, path: str, ms: int, width: int | None) -> None:
        super().__init__()
        self._sink, self._gen, self._path, self._ms, self._width = sink, gen, path, ms, width

    def run(self) -> None:
        still: Still | None = None
        error: str | None = None
        try:
            still = frame_at(self._path, self._ms / 1000, width=self._width)
        except MediaError as exc:
            error = exc.message
        except Exception as exc:  # a bug, or PyAV failing in a new way: logged, and one line for the user
            log.exception("decoding the still at %d ms of %s", self._ms, self._path)
            error = f"{self._path}: cannot decode the frame at {clock_text(self._ms)} ({exc})"
        with contextlib.suppress(RuntimeError):  # the widget went away while decoding
            deliver(self._sink.done, self._gen, still, error)


def still_qimage(still: Still) -> QImage:
    """A decoded still as a QImage that owns its pixels."""
    image = QImage(still.data, still.width, still.height, 3 * still.width, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: ``still.data`` may go away


def _fit(image: QSize, box: QSize) -> QRect:
    """The largest rectangle of ``image``'s aspect ratio centred in ``box``."""
    size = image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio)
    return QRect((box.width() - size.width()) // 2, (box.height() - size.height()) // 2, size.width(), size.height())


class StillView(QWidget):
    """A still scaled to fit, keeping its aspect ratio, on black."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.image: QImage | None = None
        self.overlays: list[Callable[[QPainter, QRect], None]] = []
        """Drawn over the still, with the rectangle it fills (the face boxes of ``app.gui.faces``)."""

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self.image is not None and not self.image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            target = _fit(self.image.size(), self.size())
            painter.drawImage(target, self.image)
            for paint in self.overlays:
                paint(painter, target)
        painter.end()


def paint_black(widget: QWidget) -> None:
    """Give ``widget`` a black background (the video's surface before and between pictures)."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(0, 0, 0))
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)


class StillOverlay:
    """``PlayerWidget``'s still requests and their arrival (a mixin: the widget holds the state)."""

    # the widget's state and signals this mixin uses (declared for type checkers; set by the widget)
    _path: str | None
    _info: ProbeResult | None
    _times: FrameTimes | None
    _engine: PlayerEngine | None
    _playing: bool
    _pool: QThreadPool
    _sink: StillSink
    _view: StillView
    _still_gen: int
    _still_busy: bool
    _still_pending: tuple[int, int] | None
    _still_index: int | None
    _still_for: str | None
    _still_wanted: bool
    errorOccurred: SignalInstance
    stillShown: SignalInstance

    def _show_still(self, ms: int) -> None:
        """Lay the exact frame at ``ms`` over the video, decoding it off the GUI thread if need be."""
        if self._path is None or self._times is None:
            return
        self._still_gen += 1
        self._still_wanted = True
        index = self._times.index_at(ms)
        if index == self._still_index and self._still_for == self._path and self._view.image is not None:
            self._still_pending = None
            self._reveal(index)
            return
        self._still_pending = (self._still_gen, ms)
        self._next_still()

    def _next_still(self) -> None:
        """Start the newest wanted decode, unless one is running (its result will call back here)."""
        if self._still_busy or self._still_pending is None or self._path is None:
            return
        gen, ms = self._still_pending
        self._still_pending = None
        self._still_busy = True
        width = None
        v = self._info.video if self._info else None
        if v is not None and v.width and v.width > MAX_STILL_WIDTH:
            width = MAX_STILL_WIDTH
        self._pool.start(StillJob(self._sink, gen, self._path, ms, width))

    def _on_still(self, gen: int, still: Still | None, error: str | None) -> None:
        self._still_busy = False
        if gen == self._still_gen:  # the newest request: anything older is stale
            if error is not None:
                self.errorOccurred.emit(error)
            elif still is not None and self._times is not None and self._still_wanted:
                index = self._times.index_at(still.pts_s * 1000)
                self._still_index, self._still_for = index, self._path
                self._view.set_image(still_qimage(still))
                self._reveal(index)
        self._next_still()

    def _reveal(self, index: int) -> None:
        if self._playing and self._engine is not None:
            return
        self._view.show()
        self._view.raise_()
        self.stillShown.emit(index)
