"""The smooth playhead of a player whose engine reports its time coarsely (libvlc: in ~250 ms steps)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Playhead"]


class Playhead:
    """The smooth playhead: while running, media time interpolated from the last engine time report by the
    wall clock times the rate; never backwards between two (re)starts; exact while stopped.

    ``clock`` returns wall milliseconds (a ``QElapsedTimer`` in the widget, a fake in tests). Engine reports
    (``observe``) re-anchor the interpolation only when they change: libvlc repeats its last value between
    its ~250 ms steps, and keeps reporting the previous time for a while after (re)starting. When the engine
    stops reporting (a stall), the interpolation stops too after ``lead_ms``, so it cannot run far ahead.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._running = False
        self._rate = 1.0
        self._anchor_ms = 0.0
        self._anchor_at = 0.0
        self._floor = 0
        self._last_engine: int | None = None

    @property
    def running(self) -> bool:
        return self._running

    def start(self, pos_ms: int, rate: float, engine_ms: int | None = None) -> None:
        """Run from ``pos_ms``; ``engine_ms`` is what the engine reports now, a stale value to ignore."""
        self._running = True
        self._rate = rate
        self._anchor_ms = float(pos_ms)
        self._anchor_at = self._clock()
        self._floor = int(pos_ms)
        self._last_engine = engine_ms

    def stop(self) -> int:
        """Freeze at the current position and return it."""
        pos = self.position()
        self._running = False
        return pos

    def set(self, pos_ms: int) -> None:
        """Stand still at ``pos_ms`` (a seek while stopped)."""
        self._running = False
        self._floor = int(pos_ms)

    def set_rate(self, rate: float) -> None:
        if self._running:
            self._anchor_ms = float(self.position())
            self._anchor_at = self._clock()
        self._rate = rate

    def observe(self, engine_ms: int, *, advancing: bool = True) -> None:
        """An engine time report; ``advancing`` is False while the engine is opening or buffering."""
        if not self._running:
            return
        if not advancing:
            self._anchor_ms = float(self.position())
            self._anchor_at = self._clock()
            return
        if engine_ms == self._last_engine or engine_ms < 0:
            return
        self._last_engine = engine_ms
        self._anchor_ms = float(engine_ms)
        self._anchor_at = self._clock()

    def lead_ms(self) -> float:
        """How long (wall ms) to interpolate past the last report: three of libvlc's 250 ms media-time steps,
        and at least a second (at high rates it reports about every 300 ms of wall time instead)."""
        return max(1000.0, 750.0 / self._rate)

    def position(self) -> int:
        if not self._running:
            return self._floor
        elapsed = min(max(self._clock() - self._anchor_at, 0.0), self.lead_ms())
        pos = max(self._floor, int(self._anchor_ms + elapsed * self._rate))
        self._floor = pos
        return pos
