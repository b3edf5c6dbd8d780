"""The timeline ruler's labels: the round step between ticks for a zoom level, and each tick's text.

``format_time`` is a ruler-label formatter (its precision follows the tick step), not the project's clock
text (``media_tools.clock``)."""

from __future__ import annotations

import math

from app.gui.timeline.style import LABEL_GAP_PX

_NICE_STEPS_MS: tuple[int, ...] = (
    *(m * 10**e for e in range(3) for m in (1, 2, 5)),
    *(s * 1000 for s in (1, 2, 5, 10, 15, 30)),
    *(m * 60_000 for m in (1, 2, 5, 10, 15, 30, 60, 120, 300)),
)


def format_time(ms: float, step_ms: float, long: bool = False) -> str:
    """A ruler label: ``mm:ss`` for steps of whole seconds, ``mm:ss.mmm`` below; ``h:mm:ss`` when ``long``."""
    total = round(ms)
    sign = "-" if total < 0 else ""
    total = abs(total)
    h, rest = divmod(total, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    head = f"{sign}{h}:{m:02d}" if long or h else f"{sign}{m:02d}"
    return f"{head}:{s:02d}" if step_ms >= 1000 else f"{head}:{s:02d}.{milli:03d}"


def tick_step(ms_per_px: float, gap_px: float = LABEL_GAP_PX) -> int:
    """The smallest round ruler step (in ms) whose labels stand at least ``gap_px`` apart."""
    want = ms_per_px * gap_px
    for step in _NICE_STEPS_MS:
        if step >= want:
            return step
    return _NICE_STEPS_MS[-1] * math.ceil(want / _NICE_STEPS_MS[-1])
