"""The consent review station: what one participant is shown (private previews of their clips) and decides,
and the researcher's passphrase that locks a station."""

from __future__ import annotations

from consent.station import passphrase, review
from consent.station.review import PREVIEWS

__all__ = ["PREVIEWS", "passphrase", "review"]
