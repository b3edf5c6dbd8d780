"""QtMultimedia behind the same small interface as ``VlcPlayer``: the player's fallback when libvlc is missing.

Qt's FFmpeg-based ``QMediaPlayer`` (in the ``PySide6-Addons`` wheel: ``pip install 'frontdoor[qtmultimedia]'``)
plays video into a ``QVideoWidget`` with sound at pitch (its pitch compensation) when the rate changes.
Like libvlc, its clock is not what the frame-exact still needs, so the player treats it the same way:
the playhead is interpolated while playing and the exact PyAV still lies over the video when paused.

``load_qt_multimedia`` is the seam tests replace to simulate a machine without it.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.gui.player.engine import PlayerEngine

log = logging.getLogger(__name__)

QT_MULTIMEDIA_HINT = "pip install 'frontdoor[qtmultimedia]'"


def load_qt_multimedia() -> tuple[ModuleType, ModuleType]:
    """Import QtMultimedia and QtMultimediaWidgets.

    Raises:
        ImportError: PySide6-Addons is not installed.
    """
    from PySide6 import QtMultimedia, QtMultimediaWidgets

    return QtMultimedia, QtMultimediaWidgets


class QtMediaEngine:
    """One ``QMediaPlayer``. With ``video_widget`` it shows the picture there; without, it plays sound only."""

    def __init__(self, mm: ModuleType, mmw: ModuleType, video_widget: Any | None, *, sound: bool) -> None:
        self._mm, self._mmw = mm, mmw
        self._player = mm.QMediaPlayer()
        self._audio = mm.QAudioOutput() if sound else None
        if self._audio is not None:
            self._player.setAudioOutput(self._audio)
        self._widget = video_widget
        if video_widget is not None:
            self._player.setVideoOutput(video_widget)
        else:
            self._player.setVideoOutput(None)
        availability = self._player.pitchCompensationAvailability()
        if availability != mm.QMediaPlayer.PitchCompensationAvailability.Unavailable:
            self._player.setPitchCompensation(True)
        self._path: str | None = None
        self._volume = 100
        self._released = False

    @property
    def widget(self) -> Any | None:
        return self._widget

    def sibling(self) -> QtMediaEngine:
        """Another engine that plays sound only (a second medium of a recording)."""
        return QtMediaEngine(self._mm, self._mmw, None, sound=self._audio is not None)

    def attach(self, how: str, win_id: int) -> None:
        """Nothing to do: the picture goes to the engine's own video widget."""

    def start(self, path: str, ms: int, rate: float) -> None:
        from PySide6.QtCore import QUrl

        if self._path != path:
            self._player.setSource(QUrl.fromLocalFile(path))
            self._path = path
        self._player.setPlaybackRate(rate)
        self._player.setPosition(int(ms))
        self._player.play()
        self.set_volume(self._volume)

    def running(self) -> bool:
        s = self._player.mediaStatus()
        st = self._mm.QMediaPlayer.MediaStatus
        return self._path is not None and s not in (st.NoMedia, st.InvalidMedia, st.EndOfMedia)

    def state(self) -> str:
        p = self._player
        mp = self._mm.QMediaPlayer
        if p.error() != mp.Error.NoError:
            return "error"
        status = p.mediaStatus()
        if status == mp.MediaStatus.EndOfMedia:
            return "ended"
        loading = status in (mp.MediaStatus.LoadingMedia, mp.MediaStatus.BufferingMedia, mp.MediaStatus.StalledMedia)
        state = p.playbackState()
        if state == mp.PlaybackState.PlayingState:
            return "waiting" if loading else "playing"
        if state == mp.PlaybackState.PausedState:
            return "paused"
        return "waiting" if loading else "idle"

    def time(self) -> int:
        return int(self._player.position())

    def resume(self) -> None:
        self._player.play()

    def pause(self) -> None:
        self._player.pause()

    def seek(self, ms: int) -> None:
        self._player.setPosition(int(ms))

    def set_rate(self, rate: float) -> None:
        self._player.setPlaybackRate(rate)

    def set_volume(self, volume: int) -> None:
        self._volume = volume
        if self._audio is not None:
            self._audio.setVolume(volume / 100)

    def stop(self) -> None:
        self._player.stop()

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._player.stop()
        self._player.setSource(self._mm_url_empty())
        self._player.deleteLater()

    def _mm_url_empty(self) -> Any:
        from PySide6.QtCore import QUrl

        return QUrl()


def open_qt_multimedia(parent: Any, headless: bool) -> tuple[QtMediaEngine | None, str | None]:
    """A QtMultimedia engine drawing into a new ``QVideoWidget`` child of ``parent`` (none when headless),
    or None and the one-line reason."""
    try:
        mm, mmw = load_qt_multimedia()
    except ImportError as exc:
        return None, f"QtMultimedia unavailable ({exc}): {QT_MULTIMEDIA_HINT}"
    sound = os.environ.get("FRONTDOOR_NO_AUDIO", "") in ("", "0")
    widget = None if headless else mmw.QVideoWidget(parent)
    try:
        return QtMediaEngine(mm, mmw, widget, sound=sound), None
    except Exception as exc:  # a broken Qt multimedia plugin: stills only
        log.warning("QtMultimedia failed", exc_info=True)
        return None, f"QtMultimedia failed ({type(exc).__name__}: {exc})"


if TYPE_CHECKING:  # mypy checks that the engine has the interface the widget is written against
    _conforms: type[PlayerEngine] = QtMediaEngine
