"""The video player: libvlc plays into a native child widget, and an exact PyAV still lies over it when paused.

Two decoders, because neither alone is enough for coding video frame by frame:

- libvlc plays smoothly, with sound kept at pitch when the rate changes. But its clock moves in steps of
  about 250 ms of media time (``get_time``), and after a seek while paused it shows a frame 3-4 frames before
  the one asked for while reporting the asked-for time.
- ``media_tools.frames.frame_at`` decodes the exact frame shown at a time (the largest pts <= t).

So while playing, the playhead is interpolated between libvlc's time reports (``Playhead``), and whenever the
player is paused (after a pause, a seek or a step) the frame at the playhead is decoded off the GUI thread and
shown over the video, scaled to fit. The playhead's frame comes from the source's real frame times
(``FrameTimes``): computed from the frame rate when it is constant, read from the packets when it varies.

Without libvlc (not installed, or a Qt platform it cannot draw into, such as native Wayland) the widget plays
through QtMultimedia when PySide6-Addons is installed (``app/gui/player/qtmm_backend.py``: the same interface, the same
interpolated playhead and exact stills); without either it runs "stills only": the still follows seeks and
steps, play advances it with a timer at the source's frame rate. ``backend_error`` says which, in one line.
On the ``offscreen``/``minimal`` platforms (tests, headless runs) libvlc plays with no picture
(``--vout=vdummy``) so the timing logic is still exercised.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from PySide6.QtCore import QElapsedTimer, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QStackedLayout, QWidget

from app.gui.player.engine import PlayerEngine
from app.gui.player.followers import Follower, FollowerSync
from app.gui.player.qtmm_backend import open_qt_multimedia
from app.gui.player.stills import StillOverlay, StillSink, StillView, paint_black
from app.gui.player.vlc_backend import INSTALL_HINT, open_vlc, release_vlc
from media_tools.clock import clock_text
from media_tools.errors import ProbeError
from media_tools.frame_times import FrameTimes, frame_times
from media_tools.playhead import Playhead
from media_tools.probe import ProbeResult, probe

log = logging.getLogger(__name__)

__all__ = ["INSTALL_HINT", "FrameTimes", "PlayerWidget", "Playhead", "format_time", "frame_times"]

MIN_RATE, MAX_RATE = 0.1, 4.0
DEFAULT_FPS = 25.0  # frames a step moves by when there is no recording to take real frame times from
TICK_MS = 33  # positionChanged about 30 times a second while playing
IDLE_GRACE_MS = 2000  # how long libvlc may take to leave its idle state after being told to play


def format_time(ms: int) -> str:
    """``ms`` as ``hh:mm:ss.mmm`` (the project's one clock format, ``media_tools.clock``)."""
    return clock_text(int(ms))


# ---- the widget -------------------------------------------------------------------------------------------


class PlayerWidget(FollowerSync, StillOverlay, QWidget):
    """The video of one recording, with a smooth playhead while playing and the exact frame when paused.

    Times are integer milliseconds from the start of the file. ``load`` raises on a file it cannot play;
    problems found later (a still that cannot be decoded, libvlc failing mid-play) go to ``errorOccurred``.
    """

    positionChanged = Signal(int)
    durationChanged = Signal(int)
    playingChanged = Signal(bool)
    errorOccurred = Signal(str)
    rateChanged = Signal(float)
    volumeChanged = Signal(int)
    stillShown = Signal(int)
    """The frame index of a still just laid over the video (the exact frame at the paused playhead)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path: str | None = None
        self._info: ProbeResult | None = None
        self._times: FrameTimes | None = None
        self._duration = 0
        self._origin = 0  # the file time at document time 0 (ELAN's TIME_ORIGIN); the public API is in document time
        self._nominal_frame_ms = 1000.0 / DEFAULT_FPS  # a step without a recording (show_without_media)
        self._followers: list[Follower] = []
        self._sync_check = 0.0  # wall ms of the last follower drift check
        self._playing = False
        self._rate = 1.0
        self._volume = 100
        self._loop: tuple[int, int | None] | None = None
        self._wall = QElapsedTimer()
        self._wall.start()
        self._playhead = Playhead(lambda: self._wall.nsecsElapsed() / 1e6)

        # Created before the sink, so it is destroyed first and waits for a running decode.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._sink = StillSink(self)
        self._sink.done.connect(self._on_still)
        self._still_gen = 0  # number of the latest still request; older results are dropped
        self._still_busy = False
        self._still_pending: tuple[int, int] | None = None  # (request number, ms) waiting for the decoder
        self._still_index: int | None = None  # frame index of the still in the view
        self._still_for: str | None = None  # and the file it came from
        self._still_wanted = False  # the overlay is to be shown when the still arrives

        self._surface = QWidget(self)
        paint_black(self._surface)
        self._view = StillView(self)
        layout = QStackedLayout(self)
        layout.setStackingMode(QStackedLayout.StackingMode.StackAll)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._surface)
        layout.addWidget(self._view)
        self.setMinimumSize(160, 90)

        app = QGuiApplication.instance()
        platform = QGuiApplication.platformName() if app is not None else ""
        self._engine: PlayerEngine | None
        self._engine, self._how, self.backend_error = open_vlc(platform)
        """Why video cannot be played with libvlc (and what is done instead), or None."""
        if self._engine is None:
            self._fall_back_to_qt(layout, headless=platform in ("offscreen", "minimal"))
        if self._engine is not None and self._how not in (None, "headless"):
            # Both native: libvlc draws into a window of its own inside the surface, which would cover any
            # non-native widget painted by Qt; the still must be a native window stacked above it.
            for w in (self._surface, self._view):
                w.setAttribute(Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
                w.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
            self._engine.attach(self._how, int(self._surface.winId()))
        if self._engine is not None:
            self.destroyed.connect(functools.partial(release_vlc, self._engine))
            if app is not None:
                app.aboutToQuit.connect(self.release)
        self._view.raise_()

        self._vlc_started = -1e9  # wall ms of the last libvlc start: it is idle for a moment after that
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def _fall_back_to_qt(self, layout: QStackedLayout, *, headless: bool) -> None:
        """Without libvlc, QtMultimedia plays (when PySide6-Addons is installed); else stills only."""
        engine, why = open_qt_multimedia(self, headless)
        if engine is None:
            log.info("no QtMultimedia fallback: %s", why)
            return
        self._engine = engine
        self._how = "headless" if headless else "qt"
        self.backend_error = (self.backend_error or "").replace(
            "showing stills only", "playing through QtMultimedia instead"
        )
        if engine.widget is not None:
            layout.removeWidget(self._surface)
            self._surface.deleteLater()
            self._surface = engine.widget
            paint_black(self._surface)
            layout.insertWidget(0, self._surface)

    # ---- state --------------------------------------------------------------------------------------------

    @property
    def duration_ms(self) -> int:
        """The recording's length after its time origin (0 before ``load``)."""
        return max(0, self._duration - self._origin)

    @property
    def origin_ms(self) -> int:
        """Where in the file document time 0 falls (ELAN's TIME_ORIGIN of the medium)."""
        return self._origin

    @property
    def fps(self) -> float | None:
        """The nominal frame rate (the average, for variable-frame-rate video)."""
        return self._info.fps if self._info else None

    @property
    def frame_count(self) -> int:
        return self._times.count if self._times else 0

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def volume(self) -> int:
        return self._volume

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def loop(self) -> tuple[int, int | None] | None:
        if self._loop is None:
            return None
        start, end = self._loop
        return start - self._origin, None if end is None else end - self._origin

    def is_playing(self) -> bool:
        return self._playing

    def position_ms(self) -> int:
        """The playhead: interpolated and never going backwards while playing, exact while paused."""
        return self._playhead.position() - self._origin

    def frame_at_position(self) -> int:
        """The index of the frame shown at the playhead (from the source's real frame times)."""
        return self._times.index_at(self._playhead.position()) if self._times else 0

    def frame_start_ms(self, index: int) -> int:
        """The first millisecond at which frame ``index`` is shown."""
        return self._times.start_ms(index) - self._origin if self._times else 0

    def nearest_frame_ms(self, ms: float) -> int:
        """The frame boundary nearest document time ``ms`` (not before 0), from the video's real frame times:
        with a time origin that is not a whole number of frames, or variable-frame-rate video, frames do not
        start at multiples of the frame duration in document time. ``ms`` rounded when nothing is loaded."""
        if self._times is None:
            return max(0, round(ms))
        t = ms + self._origin
        i = self._times.index_at(t)
        here = self._times.start_ms(i)
        if i + 1 < self._times.count:
            after = self._times.start_ms(i + 1)
            if after - t < t - here:
                here = after
        return max(0, here - self._origin)

    def still_image(self) -> QImage | None:
        """The still laid over the video (or last laid over it), at the source's size up to 1920 wide."""
        return self._view.image

    def still_frame_index(self) -> int | None:
        return self._still_index

    @property
    def video_window(self) -> str | None:
        """How libvlc shows the playing video: in a native window of its own ("xwindow" on X11, "hwnd",
        "nsobject"), or None (headless, QtMultimedia, stills only: all painted by Qt)."""
        return self._how if self._engine is not None and self._how not in (None, "headless") else None

    @property
    def still_view(self) -> StillView:
        """The view the still is painted in (``StillView.overlays`` draw over it: the face boxes)."""
        return self._view

    def is_still_visible(self) -> bool:
        """Whether the still lies over the video (on screen whenever the player itself is)."""
        return not self._view.isHidden()

    # ---- loading ------------------------------------------------------------------------------------------

    def load(self, path: str, origin_ms: int = 0) -> None:
        """Open a recording, paused at document time 0: its first frame, or the frame at ``origin_ms`` into
        the file when the document's time starts there (ELAN's TIME_ORIGIN). Followers are dropped.

        Raises:
            ProbeError: the file is missing, not media, truncated or has no video (one line naming it).
        """
        info = probe(path)
        if not info.has_video:
            raise ProbeError(f"{path}: no video stream")
        times = frame_times(path, info)
        if self._playing:
            self._set_playing(False)
        if self._engine is not None:
            self._engine.stop()
        self._path, self._info, self._times = str(path), info, times
        last = times.start_ms(times.count - 1)
        self._duration = max(info.duration_ms or 0, last)
        self._origin = min(max(int(origin_ms), 0), last)
        self.clear_followers()
        self._playhead.set(self._origin)
        self._still_index = self._still_for = None
        self._view.set_image(None)
        self.durationChanged.emit(self.duration_ms)
        self.positionChanged.emit(0)
        self._show_still(self._origin)

    def show_without_media(self, span_ms: int, fps: float = DEFAULT_FPS) -> None:
        """No recording (none linked, or its file missing): forget any loaded one, and let the playhead move
        over the document's own time span ``[0, span_ms]``, a frame step being ``1000 / fps`` ms."""
        if self._playing:
            self._set_playing(False)
        if self._engine is not None and self._path is not None:
            self._engine.stop()
        self.clear_followers()
        self._path, self._info, self._times = None, None, None
        self._origin, self._duration = 0, max(0, int(span_ms))
        self._nominal_frame_ms = 1000.0 / fps if fps > 0 else 1000.0 / DEFAULT_FPS
        self._playhead.set(0)
        self._still_index = self._still_for = None
        self._view.set_image(None)
        self.durationChanged.emit(self._duration)
        self.positionChanged.emit(0)

    # ---- transport ----------------------------------------------------------------------------------------

    def play(self) -> None:
        if self._path is None or self._times is None or self._playing:
            return
        pos = self._playhead.position()
        start, end = self._loop_bounds()
        if pos >= self._times.start_ms(self._times.count - 1) or not start <= pos < end:
            pos = start  # at the end, or outside the loop: from the start (of the loop)
        self._set_playing(True)
        if self._engine is not None:
            engine = self._engine.time()
            if self._engine.running():
                if engine != pos:
                    self._engine.seek(pos)
                    engine = pos
                self._engine.resume()
            else:
                self._start_vlc(pos)
            self._playhead.start(pos, self._rate, engine)
        else:
            self._playhead.start(pos, self._rate)
        self._follow_play(pos)
        self._emit(pos)

    def pause(self) -> None:
        if not self._playing:
            return
        pos = self._playhead.stop()
        self._set_playing(False)
        self._follow_pause(pos)
        if self._engine is not None and self._engine.running():
            self._engine.pause()
            self._engine.seek(pos)  # resume from where the still shows, not from where libvlc happened to be
            for delay in (150, 500):  # libvlc ignores a pause while it is still opening the file
                QTimer.singleShot(delay, self, self._enforce_pause)
        self._emit(pos)
        self._show_still(pos)

    def _enforce_pause(self) -> None:
        if not self._playing and self._engine is not None and self._engine.state() == "playing":
            self._engine.pause()
            self._engine.seek(self._playhead.position())

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def seek(self, ms: int) -> None:
        """Move the playhead to document time ``ms`` (clamped to the recording), playing on if playing."""
        self._seek(int(ms) + self._origin)

    def _seek(self, ms: int) -> None:
        """``seek`` in file time."""
        if self._path is None:
            if self._duration > 0:  # no recording: the playhead still moves over the document's span
                ms = min(max(int(ms), 0), self._duration)
                self._playhead.set(ms)
                self._emit(ms)
            return
        ms = min(max(int(ms), self._origin), self._duration)
        self._follow_seek(ms)
        if self._playing:
            if self._engine is not None:
                engine = self._engine.time()
                if self._engine.running():
                    self._engine.seek(ms)
                else:
                    self._start_vlc(ms)
                self._playhead.start(ms, self._rate, engine)
            else:
                self._playhead.start(ms, self._rate)
            self._emit(ms)
            return
        self._playhead.set(ms)
        if self._engine is not None and self._engine.running():
            self._engine.seek(ms)
        self._emit(ms)
        self._show_still(ms)

    def step(self, frames: int) -> None:
        """Pause and move exactly ``frames`` frames (negative: back), by the source's real frame times."""
        if self._times is None:
            if self._path is None and self._duration > 0:  # no recording: steps of the default frame rate
                frame = self._nominal_frame_ms
                self._seek(round((round(self._playhead.position() / frame) + int(frames)) * frame))
            return
        self.pause()
        index = self._times.index_at(self._playhead.position()) + int(frames)
        self._seek(self._times.start_ms(index))

    def jump(self, ms_delta: int) -> None:
        self.seek(self.position_ms() + int(ms_delta))

    def set_rate(self, rate: float) -> None:
        """Playback speed, clamped to 0.1-4.0 (libvlc keeps the pitch with its scaletempo filter)."""
        self._rate = min(max(float(rate), MIN_RATE), MAX_RATE)
        self.rateChanged.emit(self._rate)
        self._playhead.set_rate(self._rate)
        if self._engine is not None:
            self._engine.set_rate(self._rate)
        for f in self._followers:
            f.head.set_rate(self._rate)
            f.vlc.set_rate(self._rate)
        if self._playing and self._engine is None:
            self._timer.start(self._stills_interval())

    def set_volume(self, volume: int) -> None:
        self._volume = min(max(int(volume), 0), 100)
        self.volumeChanged.emit(self._volume)
        if self._engine is not None:
            self._engine.set_volume(self._volume)
        for f in self._followers:
            f.vlc.set_volume(self._volume)

    def set_loop(self, start_ms: int | None, end_ms: int | None = None) -> None:
        """Play ``start_ms`` to ``end_ms`` (None: the end of the recording) over and over; ``set_loop(None)``
        turns looping off.

        Raises:
            ValueError: the end is not after the start.
        """
        if start_ms is None:
            self._loop = None
            return
        start = max(int(start_ms), 0)
        if end_ms is not None and int(end_ms) <= start:
            raise ValueError(f"loop end {end_ms} ms: must be after its start {start} ms")
        self._loop = (start + self._origin, None if end_ms is None else int(end_ms) + self._origin)

    def release(self) -> None:
        """Stop playing and let go of libvlc (the window is closing)."""
        self._timer.stop()
        self._playing = False
        self.clear_followers()
        if self._engine is not None:
            vlc, self._engine = self._engine, None
            release_vlc(vlc)

    def closeEvent(self, event: Any) -> None:
        self.release()
        super().closeEvent(event)

    # ---- playing ------------------------------------------------------------------------------------------

    def _loop_bounds(self) -> tuple[int, int]:
        if self._loop is None:
            return self._origin, self._duration
        start, end = self._loop
        return start, self._duration if end is None else min(end, self._duration)

    def _start_vlc(self, ms: int) -> None:
        assert self._engine is not None and self._path is not None
        self._engine.start(self._path, ms, self._rate)
        self._vlc_started = self._wall.elapsed()

    def _stills_interval(self) -> int:
        """Without libvlc, the still advances once per source frame (at the current rate)."""
        fps = (self._info.fps if self._info else None) or 25.0
        return max(5, round(1000 / (fps * self._rate)))

    def _set_playing(self, playing: bool) -> None:
        self._playing = playing
        if playing:
            self._still_gen += 1  # a decode still running is for a paused playhead that is no more
            self._still_pending = None
            self._still_wanted = False
            if self._engine is not None:
                self._view.hide()
            self._timer.start(TICK_MS if self._engine is not None else self._stills_interval())
        else:
            self._timer.stop()
        self.playingChanged.emit(playing)

    def _tick(self) -> None:
        if not self._playing or self._times is None:
            return
        if self._engine is not None:
            state = self._engine.state()
            if state == "ended":
                self._at_end()
                return
            if state == "idle" and self._wall.elapsed() - self._vlc_started < IDLE_GRACE_MS:
                state = "waiting"
            if state in ("error", "idle"):
                self.errorOccurred.emit(f"{self._path}: libvlc stopped playing this file")
                self.pause()
                return
            self._playhead.observe(self._engine.time(), advancing=state == "playing")
        pos = self._playhead.position()
        self._follow_tick(pos)
        start, end = self._loop_bounds()
        if self._loop is not None and pos >= end:
            self._seek(start)
            return
        if self._engine is None and pos >= self._duration:
            self._at_end()
            return
        self._emit(pos)
        if self._engine is None and self._times.index_at(pos) != self._still_index:
            self._show_still(pos)

    def _at_end(self) -> None:
        """The recording played to its end: round again when looping, else pause on the last frame."""
        assert self._times is not None and self._path is not None
        if self._loop is not None:
            start = self._loop[0]
            if self._engine is not None:
                self._start_vlc(start)
            self._playhead.start(start, self._rate, self._engine.time() if self._engine else None)
            self._follow_seek(start)
            self._emit(start)
            return
        last = self._times.start_ms(self._times.count - 1)
        self._playhead.stop()
        self._playhead.set(last)
        self._set_playing(False)
        self._follow_pause(last)
        self._emit(last)
        self._show_still(last)

    def _emit(self, file_ms: int) -> None:
        self.positionChanged.emit(file_ms - self._origin)
