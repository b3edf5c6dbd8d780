"""libvlc behind a small interface: one media player drawing into a native window (or, headless, nowhere).

``load_libvlc`` is the seam tests replace to simulate a machine without libvlc.
"""

from __future__ import annotations

import functools
import logging
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.gui.player.engine import PlayerEngine

log = logging.getLogger(__name__)

INSTALL_HINT = "apt-get install libvlc5 vlc-plugin-base vlc-plugin-video-output"


def load_libvlc() -> ModuleType:
    """Import python-vlc, which loads libvlc (the seam tests replace to simulate a machine without it).

    Raises:
        ImportError, OSError, NotImplementedError: python-vlc or libvlc is missing or broken.
    """
    import vlc  # type: ignore[import-untyped]

    module: ModuleType = vlc
    return module


@functools.lru_cache(maxsize=4)
def _vlc_instance(vlc: ModuleType, args: tuple[str, ...]) -> Any:
    """One libvlc instance per set of arguments, shared by the players of this process (None: it failed)."""
    return vlc.Instance(list(args))


def _vlc_args(headless: bool) -> tuple[str, ...]:
    args = ["--quiet", "--no-video-title-show", "--no-snapshot-preview", "--no-osd"]
    if os.environ.get("FRONTDOOR_NO_AUDIO", "") not in ("", "0"):
        args.append("--aout=dummy")
    if headless:
        args.append("--vout=vdummy")
    # Not --no-xlib: Qt's xcb plugin calls XInitThreads before opening the display, so libvlc may use its
    # OpenGL output (scaled on the GPU) rather than falling back to plain xcb_x11.
    return tuple(args)


class VlcPlayer:
    """One libvlc media player, drawing into a native window or, headless, nowhere."""

    def __init__(self, vlc: ModuleType, instance: Any, *, video: bool = True) -> None:
        self._vlc = vlc
        self._instance = instance
        self._video = video
        self._player = instance.media_player_new()
        self._player.video_set_mouse_input(False)  # let Qt have the clicks and keys
        self._player.video_set_key_input(False)
        s = vlc.State
        self._running_states = {s.Opening, s.Buffering, s.Playing, s.Paused}
        self._volume = 100
        self._released = False

    def sibling(self) -> VlcPlayer:
        """Another player on the same libvlc instance that plays sound only (a second medium of a recording)."""
        return VlcPlayer(self._vlc, self._instance, video=False)

    def attach(self, how: str, win_id: int) -> None:
        if how == "xwindow":
            self._player.set_xwindow(win_id)
        elif how == "hwnd":
            self._player.set_hwnd(win_id)
        elif how == "nsobject":
            self._player.set_nsobject(win_id)

    def start(self, path: str, ms: int, rate: float) -> None:
        """Open ``path`` and play from ``ms``: the way to play when no input is running (never started, or
        ended: libvlc will not play an ended input again)."""
        if self._player.get_state() != self._vlc.State.NothingSpecial:
            self._player.stop()
        media = self._instance.media_new_path(path)
        media.add_option(f":start-time={ms / 1000:.3f}")
        if not self._video:
            media.add_option(":no-video")
        self._player.set_media(media)
        media.release()
        self._player.set_rate(rate)
        self._player.play()
        self._player.audio_set_volume(self._volume)

    def running(self) -> bool:
        return bool(self._player.get_state() in self._running_states)

    def state(self) -> str:
        """``playing``, ``paused``, ``waiting`` (opening, buffering), ``ended``, ``error`` or ``idle``."""
        s, st = self._player.get_state(), self._vlc.State
        return {
            st.Playing: "playing",
            st.Paused: "paused",
            st.Opening: "waiting",
            st.Buffering: "waiting",
            st.Ended: "ended",
            st.Error: "error",
        }.get(s, "idle")

    def time(self) -> int:
        return int(self._player.get_time())

    def resume(self) -> None:
        self._player.set_pause(0)

    def pause(self) -> None:
        self._player.set_pause(1)

    def seek(self, ms: int) -> None:
        self._player.set_time(int(ms))

    def set_rate(self, rate: float) -> None:
        self._player.set_rate(rate)

    def set_volume(self, volume: int) -> None:
        self._volume = volume
        self._player.audio_set_volume(volume)

    def stop(self) -> None:
        self._player.stop()

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._player.stop()
        self._player.release()


def _embedding(platform: str) -> str | None:
    """How libvlc draws into a native window on this Qt platform: ``xwindow``, ``hwnd``, ``nsobject``,
    ``headless`` (no picture at all), or None when it cannot."""
    return {
        "xcb": "xwindow",
        "windows": "hwnd",
        "cocoa": "nsobject",
        "offscreen": "headless",
        "minimal": "headless",
    }.get(platform)


def open_vlc(platform: str) -> tuple[VlcPlayer | None, str | None, str | None]:
    """The libvlc player for this platform and how it draws, or None and the one-line reason."""
    how = _embedding(platform)
    if how is None:
        if platform.startswith("wayland"):
            why = "libvlc cannot draw into Wayland windows: showing stills only (start with QT_QPA_PLATFORM=xcb)"
        else:
            why = f"libvlc cannot draw into windows of Qt's {platform!r} platform: showing stills only"
        return None, None, why
    try:
        vlc = load_libvlc()
        instance = _vlc_instance(vlc, _vlc_args(how == "headless"))
        if instance is None:
            raise OSError("libvlc_new failed (its plugins may be missing)")
        return VlcPlayer(vlc, instance), how, None
    except (ImportError, OSError, NotImplementedError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("libvlc unavailable: %s", exc)
        return None, None, f"video playback unavailable ({reason}): showing stills only; install it: {INSTALL_HINT}"


def release_vlc(backend: Any) -> None:
    """Let go of a player, quietly (libvlc may be going down with the process)."""
    try:
        backend.release()
    except Exception:  # nothing left to tell anyone
        log.debug("releasing libvlc", exc_info=True)


if TYPE_CHECKING:  # mypy checks that the engine has the interface the widget is written against
    _conforms: type[PlayerEngine] = VlcPlayer
