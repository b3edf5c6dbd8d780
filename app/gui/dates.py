"""How the app shows a date: ``6 Dec 2026`` (``consent.anchors.day_text`` writes the same), never ``6 12 2026``
or ``12/6/26``, whose order a reader has to guess."""

from __future__ import annotations

from PySide6.QtWidgets import QDateEdit

DAY_FORMAT = "d MMM yyyy"


def show_days(*edits: QDateEdit) -> None:
    """Make date fields show their dates as ``6 Dec 2026``."""
    for e in edits:
        e.setDisplayFormat(DAY_FORMAT)
