"""Small-cell suppression for tables meant for publication.

A count of 1 to 4 referrals is not shown (primary suppression): it could identify a child or family when
put together with what a reader already knows. Zero is shown: it describes nobody.

Where a table publishes totals, a hidden count could be worked out by subtraction, so every published sum
is a *line*: a row with its row total, a column with its column total, and, when the grand total is
published too, the row totals and the column totals themselves (they add up to it). A total of 1 to 4 is
hidden like any other count. A line with exactly one hidden entry gets a second one, the smallest other
non-zero entry of that line (a cell, or the line's total when the rest are zeros), and this is repeated
until nothing changes (secondary suppression). Entries hidden elsewhere (``hide_cells``,
``hide_row_totals``, ``hide_col_totals``) start out hidden, so that two tables publishing the same counts
(a frequency table and a cross-tabulation's margins) can be made to hide the same ones.

This is the usual "at least two hidden entries in every line" rule. It is not enough on its own: a hidden
count can still be the only unknown of a group of lines (a hidden cell whose row's other hidden cells add
up to what the column totals give away), a table of groups (professional or not) adds sums across rows,
and a reader knows that ``<5`` is 1 to 4 and ``c`` at least 5. :func:`protect` therefore checks, by linear
programming over everything the tables of one selection publish, that no count of 1 to 4 can be worked
out exactly, and hides more until none can. The report no longer uses it: it chooses the hidden counts by
optimisation over all its tables and every period together (:mod:`annotation.records.protection`); the line
rule and :func:`protect` remain for a table published on its own.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

THRESHOLD = 5
MARK = "<5"
SECONDARY = "c"
#: A cross-tabulation's hidden inner cell: any number from 0 up (the mark says nothing of its size).
OPEN_MARK = "x"
_TRIES = 12  # candidates tried for one hidden count before the nearest smallest is taken anyway


def is_small(n: int) -> bool:
    return 0 < n < THRESHOLD


@dataclass(frozen=True)
class Suppressed:
    """Which cells and totals to hide: ``cells[i][j]``, ``row_totals[i]``, ``col_totals[j]``; ``primary``
    tells a small count (shown as ``<5``) from a cell hidden only to protect another (shown as ``c``); a
    hidden total is primary when it is small (:func:`is_small`)."""

    cells: tuple[tuple[bool, ...], ...]
    primary: tuple[tuple[bool, ...], ...]
    row_totals: tuple[bool, ...]
    col_totals: tuple[bool, ...]


def suppress(
    counts: Sequence[Sequence[int]],
    *,
    row_totals: bool = True,
    col_totals: bool = True,
    hide_cells: Collection[tuple[int, int]] = (),
    hide_row_totals: Collection[int] = (),
    hide_col_totals: Collection[int] = (),
) -> Suppressed:
    """The suppression pattern of a table of counts whose row and/or column totals are published (and, when
    both are, the grand total). ``hide_*`` name entries hidden from the start (hidden in another table)."""
    rows, cols = len(counts), len(counts[0]) if counts else 0
    r_sum = [sum(counts[i]) for i in range(rows)]
    c_sum = [sum(counts[i][j] for i in range(rows)) for j in range(cols)]
    primary = [[is_small(counts[i][j]) for j in range(cols)] for i in range(rows)]
    hide = [[primary[i][j] or (i, j) in hide_cells for j in range(cols)] for i in range(rows)]
    rt = [row_totals and (is_small(r_sum[i]) or i in hide_row_totals) for i in range(rows)]
    ct = [col_totals and (is_small(c_sum[j]) or j in hide_col_totals) for j in range(cols)]

    # an entry: ("cell", i, j), ("row", i) for row total i, ("col", j) for column total j
    Entry = tuple[str, int, int]

    def value(e: Entry) -> int:
        kind, i, j = e
        return counts[i][j] if kind == "cell" else r_sum[i] if kind == "row" else c_sum[j]

    def hidden(e: Entry) -> bool:
        kind, i, j = e
        return hide[i][j] if kind == "cell" else rt[i] if kind == "row" else ct[j]

    def set_hidden(e: Entry) -> None:
        kind, i, j = e
        if kind == "cell":
            hide[i][j] = True
        elif kind == "row":
            rt[i] = True
        else:
            ct[j] = True

    lines: list[list[Entry]] = []
    if row_totals:
        lines += [[*(("cell", i, j) for j in range(cols)), ("row", i, 0)] for i in range(rows)]
    if col_totals:
        lines += [[*(("cell", i, j) for i in range(rows)), ("col", 0, j)] for j in range(cols)]
    if row_totals and col_totals:  # the grand total is published: the margins add up to it
        lines += [[("row", i, 0) for i in range(rows)], [("col", 0, j) for j in range(cols)]]
    order = {"cell": 0, "row": 1, "col": 1}

    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(hidden(e) for e in line) != 1:
                continue
            others = [(value(e), order[e[0]], e) for e in line if not hidden(e) and value(e) > 0]
            if others:
                set_hidden(min(others)[2])
                changed = True
    return Suppressed(
        tuple(tuple(r) for r in hide),
        tuple(tuple(r) for r in primary),
        tuple(rt),
        tuple(ct),
    )


def cell_text(n: int, hidden: bool, primary: bool = False, *, open: bool = False) -> str:
    """A count as published: the number, or '<5' when hidden and below 5 (a count of 1 to 4, or a zero hidden
    to protect another), or 'c' when hidden and 5 or more; with ``open`` (a cross-tabulation's inner cell)
    'x' whatever its size. ``primary`` is kept for old callers: the mark depends on the count alone."""
    if not hidden:
        return str(n)
    if open:
        return OPEN_MARK
    return MARK if n < THRESHOLD else SECONDARY


# ---- audited suppression over several tables --------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A published count: the sum of some base cells (a table's cell, a row or column total, a cell of a
    table of groups); tables that publish the same count share one quantity. ``open``: once hidden, its mark
    says nothing of its size (a cross-tabulation's inner cell, shown ``x``: any number from 0 up), where
    otherwise a hidden count reads as 0 to 4 (``<5``) or 5 or more (``c``)."""

    support: frozenset[int]
    value: int
    open: bool = False


def _bounds(q: Quantity, hidden: bool) -> tuple[float, float | None]:
    """What a reader knows of a quantity: its value, or 1 to 4 (``<5``), or at least 5 (``c``)."""
    if not hidden:
        return q.value, q.value
    return (1, THRESHOLD - 1) if is_small(q.value) else (THRESHOLD, None)


def exposed(quantities: Sequence[Quantity], cells: int, hidden: Collection[int], target: int) -> bool:
    """Whether the hidden quantity ``target`` has only one possible value given every other quantity (as a
    reader knows it: shown, 1 to 4, or at least 5) and non-negative cells: the least and the most it can
    be, by linear programming, leave one whole number."""
    import numpy as np
    from scipy.optimize import linprog

    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for k, q in enumerate(quantities):
        row = np.zeros(cells)
        row[list(q.support)] = 1.0
        lo, hi = _bounds(q, k in hidden)
        if lo == hi:
            a_eq.append(row)
            b_eq.append(lo)
            continue
        a_ub.append(-row)
        b_ub.append(-lo)
        if hi is not None:
            a_ub.append(row)
            b_ub.append(hi)
    objective = np.zeros(cells)
    objective[list(quantities[target].support)] = 1.0
    kw = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
        "bounds": (0, None),
        "method": "highs",
    }
    least = linprog(objective, **kw)
    most = linprog(-objective, **kw)
    if least.status != 0 or most.status != 0:  # unbounded above (or, never for real data, infeasible)
        return False
    return bool(math.ceil(least.fun - 1e-7) >= math.floor(-most.fun + 1e-7))


def protect(
    quantities: Sequence[Quantity],
    cells: int,
    *,
    hidden: Collection[int] = (),
    never: Collection[int] = (),
) -> set[int]:
    """The quantities to hide: the counts of 1 to 4, those in ``hidden``, and more (the smallest that do it,
    near the count they protect), until no count of 1 to 4 can be worked out exactly from the rest (see
    :func:`exposed`). ``never`` are always shown (the grand total, which the report states anyway)."""
    out = set(hidden) | {k for k, q in enumerate(quantities) if is_small(q.value)}
    # hiding more only widens what a reader can tell, so a count found safe stays safe: one pass will do
    for target in sorted(k for k, q in enumerate(quantities) if is_small(q.value)):
        while exposed(quantities, cells, out, target):
            # candidates: what shares a line with the count (a row, a column, a group), smallest first, then
            # the rest (related only through the grand total); the first whose hiding protects it is taken
            near = set(quantities[target].support)
            for k, q in enumerate(quantities):
                if k not in never and q.support & quantities[target].support:
                    near |= q.support
            candidates = sorted(
                (not q.support & near, q.value, k)
                for k, q in enumerate(quantities)
                if k not in out and k not in never and q.value > 0
            )
            if not candidates:
                break
            tried = candidates[:_TRIES]
            out.add(next((k for *_, k in tried if not exposed(quantities, cells, out | {k}, target)), tried[0][2]))
    return out
