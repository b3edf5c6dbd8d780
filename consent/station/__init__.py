"""The consent review station: what one participant is shown (private previews of their clips) and decides,
what it says about each use and each clip to someone who has never seen the tool, and the researcher's
passphrase that locks a station."""

from __future__ import annotations

from consent.station import explain, passphrase, review
from consent.station.review import PREVIEWS

__all__ = ["PREVIEWS", "explain", "passphrase", "review"]
