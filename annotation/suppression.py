"""Small-cell suppression for tables meant for publication.

A count of 1 to 4 referrals is not shown (primary suppression): it could identify a child or family when
put together with what a reader already knows. Zero is shown: it describes nobody. Where a table publishes
row or column totals, a single suppressed cell in a row or column could be worked out by subtraction, so
the smallest other non-zero count of that row or column is suppressed too (secondary suppression), and a
total that is itself 1 to 4 is suppressed, repeated until nothing changes. This protects each table on its
own; figures published elsewhere from the same data are not taken into account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 5
MARK = "<5"
SECONDARY = "c"


def is_small(n: int) -> bool:
    return 0 < n < THRESHOLD


@dataclass(frozen=True)
class Suppressed:
    """Which cells and totals to hide: ``cells[i][j]``, ``row_totals[i]``, ``col_totals[j]``; ``primary``
    tells a small count (shown as ``<5``) from a cell hidden only to protect another (shown as ``c``)."""

    cells: tuple[tuple[bool, ...], ...]
    primary: tuple[tuple[bool, ...], ...]
    row_totals: tuple[bool, ...]
    col_totals: tuple[bool, ...]


def suppress(counts: Sequence[Sequence[int]], *, row_totals: bool = True, col_totals: bool = True) -> Suppressed:
    """The suppression pattern of a table of counts whose row and/or column totals are published."""
    rows, cols = len(counts), len(counts[0]) if counts else 0
    primary = [[is_small(counts[i][j]) for j in range(cols)] for i in range(rows)]
    hide = [row[:] for row in primary]
    rt = [is_small(sum(counts[i])) for i in range(rows)]
    ct = [is_small(sum(counts[i][j] for i in range(rows))) for j in range(cols)]

    def protect(line: list[tuple[int, int]], total_hidden: bool) -> bool:
        """Hide one more cell of a line with exactly one hidden cell; True when something changed."""
        hidden = [(i, j) for i, j in line if hide[i][j]]
        if len(hidden) != 1 or total_hidden:
            return False
        others = [(counts[i][j], i, j) for i, j in line if not hide[i][j] and counts[i][j] > 0]
        if not others:
            return False
        _, i, j = min(others)
        hide[i][j] = True
        return True

    changed = True
    while changed:
        changed = False
        if row_totals:
            for i in range(rows):
                changed |= protect([(i, j) for j in range(cols)], rt[i])
        if col_totals:
            for j in range(cols):
                changed |= protect([(i, j) for i in range(rows)], ct[j])
    return Suppressed(
        tuple(tuple(r) for r in hide),
        tuple(tuple(r) for r in primary),
        tuple(rt) if row_totals else tuple(False for _ in range(rows)),
        tuple(ct) if col_totals else tuple(False for _ in range(cols)),
    )


def cell_text(n: int, hidden: bool, primary: bool) -> str:
    if not hidden:
        return str(n)
    return MARK if primary else SECONDARY
