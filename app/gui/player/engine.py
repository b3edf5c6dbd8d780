"""What the player widget needs from a media engine: the one interface that libvlc (``VlcPlayer``) and
QtMultimedia (``QtMediaEngine``) both implement, so ``PlayerWidget`` and its followers are written against
``PlayerEngine`` and never ask which engine they have.

Times are integer milliseconds of the file. ``state`` is one of ``playing``, ``paused``, ``waiting`` (opening,
buffering), ``ended``, ``error`` or ``idle``.
"""

from __future__ import annotations

from typing import Protocol


class PlayerEngine(Protocol):
    """A media player the widget drives (structural: the engines do not inherit from it)."""

    def sibling(self) -> PlayerEngine:
        """Another engine of the same kind that plays sound only (a second medium of a recording)."""
        ...

    def attach(self, how: str, win_id: int) -> None:
        """Draw into the native window ``win_id`` (``how``: ``xwindow``, ``hwnd``, ``nsobject``)."""
        ...

    def start(self, path: str, ms: int, rate: float) -> None:
        """Open ``path`` and play from ``ms`` at ``rate``."""
        ...

    def running(self) -> bool:
        """Whether an input is open and not ended (so ``seek``/``resume`` work without ``start``)."""
        ...

    def state(self) -> str:
        """``playing``, ``paused``, ``waiting``, ``ended``, ``error`` or ``idle``."""
        ...

    def time(self) -> int:
        """The engine's own (possibly coarse) position in ms."""
        ...

    def resume(self) -> None:
        """Play on from a pause."""
        ...

    def pause(self) -> None:
        """Pause where it is."""
        ...

    def seek(self, ms: int) -> None:
        """Move to ``ms``."""
        ...

    def set_rate(self, rate: float) -> None:
        """Play at ``rate`` times normal speed."""
        ...

    def set_volume(self, volume: int) -> None:
        """Volume 0-100."""
        ...

    def stop(self) -> None:
        """Stop playing (the input closes)."""
        ...

    def release(self) -> None:
        """Let go of the engine for good (a second call does nothing)."""
        ...
