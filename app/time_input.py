"""Times as people type them (``1500``, ``1.5s``, ``01:02.5``, ``1:02:03.250``) read as milliseconds: the one
parser behind the command line's time arguments and the GUI's time fields.

A module of its own, below both front ends, so that the GUI need not import the command line (``app.gui``
and ``app.cli`` stay free of a cycle: the command line imports the GUI only on its launch paths).
"""

from __future__ import annotations

import argparse
import re

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d{1,3})?)$")


def parse_time(text: str) -> int:
    """Milliseconds from ``1500`` (ms), ``1.5s``, ``01:02.5`` (mm:ss) or ``1:02:03.250`` (h:mm:ss).

    Raises:
        argparse.ArgumentTypeError: the text is none of these (argparse reports it as a usage error).
    """
    t = text.strip()
    try:
        if t.endswith("ms"):
            return int(t[:-2])
        if t.endswith("s"):
            return round(float(t[:-1]) * 1000)
        if t.isdigit():
            return int(t)
    except ValueError:
        pass
    m = _CLOCK.match(t)
    if m:
        h, mi, s = m.groups()
        return (int(h or 0) * 3600 + int(mi) * 60) * 1000 + round(float(s) * 1000)
    raise argparse.ArgumentTypeError(f"{text!r} is not a time (use ms, 1.5s, mm:ss.mmm or h:mm:ss.mmm)")
