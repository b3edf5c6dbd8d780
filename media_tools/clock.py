"""Milliseconds as clock text: the one formatter behind every time a person reads (exports, the report, the
consent forms, the review station, the command line).

The shapes differ by reader: subtitle files need ``00:01:02.345`` (``,`` for SRT), a table of durations
``1:02:03``, a form ``1:02.3``. They are options of :func:`clock_text`, not separate copies.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["clock_text"]

Hours = Literal["padded", "always", "auto", "never"]


def clock_text(
    ms: float,
    *,
    digits: int = 3,
    hours: Hours = "padded",
    sep: str = ".",
    rounding: Literal["floor", "nearest"] = "floor",
) -> str:
    """``ms`` as clock text.

    Args:
        ms: the time in milliseconds (a float is taken to the shown precision by ``rounding``).
        digits: digits after the seconds (0 to 3): 3 for ms, 1 for tenths, 0 for none.
        hours: ``"padded"`` ``01:02:03``; ``"always"`` ``1:02:03``; ``"auto"`` hours only when there are
            any (``2:03`` or ``1:02:03``); ``"never"`` minutes past 59 (``62:03``).
        sep: between seconds and their fraction (``","`` for SRT).
        rounding: ``"floor"`` truncates to the shown precision (a clock), ``"nearest"`` rounds half to even.

    Raises:
        ValueError: ``digits`` is not 0 to 3.
    """
    if not 0 <= digits <= 3:
        raise ValueError(f"digits must be 0 to 3, not {digits}")
    unit = 10 ** (3 - digits)  # ms per shown unit
    sign = "-" if ms < 0 else ""
    units = int(abs(ms) // unit) if rounding == "floor" else round(abs(ms) / unit)
    per_second = 1000 // unit
    total_s, frac = divmod(units, per_second)
    m, s = divmod(total_s, 60)
    h, m_in_h = divmod(m, 60)
    tail = f"{sep}{frac:0{digits}d}" if digits else ""
    if hours == "padded":
        return f"{sign}{h:02d}:{m_in_h:02d}:{s:02d}{tail}"
    if hours == "always" or (hours == "auto" and h):
        return f"{sign}{h}:{m_in_h:02d}:{s:02d}{tail}"
    if hours == "auto":
        return f"{sign}{m_in_h}:{s:02d}{tail}"
    return f"{sign}{m}:{s:02d}{tail}"
