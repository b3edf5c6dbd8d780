"""The consent review station: a participant watches their clips full screen and decides, behind a
passphrase the researcher sets; its widgets (scope rows, the area picker)."""

from __future__ import annotations

from app.gui.review.station import ask_and_start_station, run_review_station

__all__ = ["ask_and_start_station", "run_review_station"]
