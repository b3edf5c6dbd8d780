"""The report's building blocks: a table and a section, as every output (HTML, PDF, CSV) reads them.

They live apart from the code that fills them so that the writers (:mod:`annotation.report.html_page`,
:mod:`annotation.report.pdf`, :mod:`annotation.report.data_folder`) and the app's Analysis tab depend on
these plain records, not on the report's assembly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from annotation.report.figures import FigureOut


@dataclass(frozen=True)
class Table:
    """One table as published: ``rows`` are the cells' text (suppressed cells already marked); ``publication``
    is False for a table that is not suppressed (counts of video segments). ``shown``, for a table of counts
    of referrals, is the share of its referrals in the cells it shows (one per period column; 1.0: nothing
    hidden): what suppression costs, as the method section and the app state it."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    publication: bool = True
    shown: tuple[float, ...] = ()


def shown_text(t: Table, labels: tuple[str, ...] = ()) -> str:
    """'98.5% of referrals in cells shown' (per period when there are several), or '' for other tables."""
    if not t.shown:
        return ""
    if len(t.shown) == 1 or len(labels) != len(t.shown):
        return f"{100 * min(t.shown):.1f}% of referrals in cells shown"
    return "referrals in cells shown: " + ", ".join(
        f"{label} {100 * x:.1f}%" for label, x in zip(labels, t.shown, strict=True)
    )


@dataclass
class Section:
    """One section of the report: its anchor, title, paragraphs, tables and plots, in that order."""

    anchor: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureOut] = field(default_factory=list)
