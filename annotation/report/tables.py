"""The report's tables: frequency tables, cross-tabulations, the Laming shares, time to decision and the
comparison of two periods, each with its small cells suppressed.

Which counts a selection's publication tables hide is worked out once for all of them (:func:`hiding`), so
that no count of 1 to 4 can be recovered from everything the tables of a period publish together; the table
builders then only mark the cells. The number formatting every table shares (:func:`pct`, :func:`num`,
:func:`pval`) is here too.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from annotation.records import (
    MARK,
    MONTE_CARLO_RESAMPLES,
    NON_PROFESSIONAL,
    NOT_RECORDED,
    PROFESSIONAL,
    SECONDARY,
    CrossTab,
    Frequency,
    PeriodComparison,
    Proportion,
    Quantity,
    RecordAnalysis,
    TimeSummary,
    Vocabularies,
    cell_text,
    group_of,
    is_small,
    protect,
    suppress,
)
from annotation.report.model import Table

# ---- formatting ---------------------------------------------------------------------------------------


def pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def pval(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _ci(lo: float | None, hi: float | None) -> str:
    return "–" if lo is None or hi is None else f"{pct(lo)} to {pct(hi)}"


# ---- tables -------------------------------------------------------------------------------------------


#: Frequency tables whose counts a cross-tabulation publishes again as its margins.
SHARED = ("referrer_type", "referrer_group", "response")
#: Frequency tables that stand alone (their counts appear nowhere else).
ALONE = ("concern", "outcome", "age_band")


@dataclass(frozen=True)
class Hiding:
    """What one selection's publication tables hide: the categories of each frequency table (tables 1 to 6;
    the cross-tabs' margins are the same counts and hide the same ones) and the cells of the cross-tabs of
    referrer type (table 7) and referrer group (table 8) by response."""

    categories: dict[str, frozenset[str]]
    referrer_cells: frozenset[tuple[str, str]]
    group_cells: frozenset[tuple[str, str]]


def _line_rule(a: RecordAnalysis) -> tuple[dict[str, set[str]], set[tuple[str, str, str]]]:
    """A first pattern by the line rule alone (:func:`annotation.records.suppression.suppress`), the frequency tables
    and the cross-tabs' margins made to agree: the hidden categories per field, and the hidden cross-tab
    cells as (row field, row, column). Where :func:`hiding` starts."""
    hidden: dict[str, set[str]] = {f: set() for f in SHARED}
    cells: set[tuple[str, str, str]] = set()
    while True:
        before = {f: set(v) for f, v in hidden.items()}
        for f in SHARED:
            freq: Frequency = getattr(a, f)
            cats = [c.category for c in freq.counts]
            sup = suppress(
                [[c.count] for c in freq.counts],
                row_totals=False,
                hide_cells={(i, 0) for i, c in enumerate(cats) if c in hidden[f]},
            )
            hidden[f] |= {c for i, c in enumerate(cats) if sup.cells[i][0]}
        for t, rf in ((a.referrer_by_response, "referrer_type"), (a.group_by_response, "referrer_group")):
            sup = suppress(
                [list(r) for r in t.counts],
                hide_row_totals={i for i, r in enumerate(t.rows) if r in hidden[rf]},
                hide_col_totals={j for j, c in enumerate(t.cols) if c in hidden["response"]},
            )
            hidden[rf] |= {r for i, r in enumerate(t.rows) if sup.row_totals[i]}
            hidden["response"] |= {c for j, c in enumerate(t.cols) if sup.col_totals[j]}
            cells |= {(rf, r, c) for i, r in enumerate(t.rows) for j, c in enumerate(t.cols) if sup.cells[i][j]}
        if hidden == before:
            return hidden, cells


def hiding(a: RecordAnalysis, rows: Sequence[Any], vocab: Vocabularies) -> Hiding:
    """Which counts of one selection's publication tables to hide, so that no count of 1 to 4 can be worked
    out from everything those tables publish together (:func:`annotation.records.suppression.protect`).

    Referrer type, referrer group and response are one system: the referrals counted by (referrer type,
    group, response) are its cells, and table 7's cells and margins, table 8's cells and margins and tables
    1, 2 and 4 are sums of them (a reader knows which referrer types are professional: table 1 says). The
    concern, outcome and age band tables are each their own.
    """
    t7, t8 = a.referrer_by_response, a.group_by_response
    groups_of: dict[str, set[str]] = {r: set() for r in t7.rows}
    for r in t7.rows:
        p = vocab.is_professional(r)
        groups_of[r].add(NOT_RECORDED if p is None else PROFESSIONAL if p else NON_PROFESSIONAL)
    tally: dict[tuple[str, str, str], int] = {}
    for rec in rows:
        key = (rec.referrer_type, group_of(rec), rec.response or NOT_RECORDED)
        groups_of.setdefault(key[0], set()).add(key[1])
        tally[key] = tally.get(key, 0) + 1
    base = [(r, g, c) for r in t7.rows for g in sorted(groups_of[r]) if g in t8.rows for c in t7.cols]
    quantities: list[Quantity] = []
    names: list[tuple[str, str, str]] = []  # (what, row, column): "t7"/"t8" cell, "rt"/"grp"/"resp" margin

    def add(what: str, r: str, c: str, pick: Any) -> None:
        support = frozenset(i for i, b in enumerate(base) if pick(b))
        quantities.append(Quantity(support, sum(tally.get(base[i], 0) for i in support)))
        names.append((what, r, c))

    for r in t7.rows:
        for c in t7.cols:
            add("t7", r, c, lambda b, r=r, c=c: b[0] == r and b[2] == c)
        add("rt", r, "", lambda b, r=r: b[0] == r)
    for g in t8.rows:
        for c in t7.cols:
            add("t8", g, c, lambda b, g=g, c=c: b[1] == g and b[2] == c)
        add("grp", g, "", lambda b, g=g: b[1] == g)
    for c in t7.cols:
        add("resp", "", c, lambda b, c=c: b[2] == c)
    add("all", "", "", lambda b: True)
    start, start_cells = _line_rule(a)
    first = {
        k
        for k, (what, r, c) in enumerate(names)
        if (what == "rt" and r in start["referrer_type"])
        or (what == "grp" and r in start["referrer_group"])
        or (what == "resp" and c in start["response"])
        or (what == "t7" and ("referrer_type", r, c) in start_cells)
        or (what == "t8" and ("referrer_group", r, c) in start_cells)
    }
    hid = [names[k] for k in sorted(protect(quantities, len(base), hidden=first, never={len(quantities) - 1}))]
    categories = {
        "referrer_type": frozenset(r for what, r, _ in hid if what == "rt"),
        "referrer_group": frozenset(r for what, r, _ in hid if what == "grp"),
        "response": frozenset(c for what, _, c in hid if what == "resp"),
    }
    for f in ALONE:
        freq: Frequency = getattr(a, f)
        vector = [Quantity(frozenset({i}), c.count) for i, c in enumerate(freq.counts)]
        vector.append(Quantity(frozenset(range(len(freq.counts))), freq.total))
        alone = protect(vector, len(freq.counts), never={len(vector) - 1})
        categories[f] = frozenset(freq.counts[i].category for i in alone)
    return Hiding(
        categories,
        frozenset((r, c) for what, r, c in hid if what == "t7"),
        frozenset((r, c) for what, r, c in hid if what == "t8"),
    )


def frequency_table(
    key: str,
    title: str,
    label: str,
    freqs: Sequence[Frequency],
    extra: dict[str, str] | None = None,
    hidden: Sequence[Collection[str]] | None = None,
) -> Table:
    """Categories by period: count and share. ``hidden[j]`` names the categories hidden in period ``j``
    (from :func:`hiding`); without it small counts are suppressed within each period's column by the line
    rule."""
    cats = [c.category for c in freqs[0].counts]
    for f in freqs[1:]:
        cats += [c.category for c in f.counts if c.category not in cats]
    counts = [[f.count(c) for f in freqs] for c in cats]
    if hidden is None:
        hide = suppress(counts, row_totals=False, col_totals=True).cells
    else:
        hide = tuple(
            tuple(is_small(counts[i][j]) or c in hidden[j] for j in range(len(freqs))) for i, c in enumerate(cats)
        )
    header: list[str] = [label]
    if extra is not None:
        header.append("professional")
    multi = len(freqs) > 1
    for f in freqs:
        header += [f"n ({f.field})" if multi else "n", f"% ({f.field})" if multi else "%"]
    rows = []
    for i, c in enumerate(cats):
        row = [c] + ([extra.get(c, "")] if extra is not None else [])
        for j, f in enumerate(freqs):
            row += [
                cell_text(counts[i][j], hide[i][j], is_small(counts[i][j])),
                "" if hide[i][j] else pct(counts[i][j] / f.total if f.total else 0),
            ]
        rows.append(tuple(row))
    total = ["total"] + ([""] if extra is not None else [])
    for f in freqs:
        total += [cell_text(f.total, is_small(f.total), True), "100.0%"]
    rows.append(tuple(total))
    return Table(key, title, tuple(header), tuple(rows))


def crosstab_table(
    key: str,
    title: str,
    t: CrossTab,
    hidden_cells: Collection[tuple[str, str]] | None = None,
    hidden_rows: Collection[str] = (),
    hidden_cols: Collection[str] = (),
) -> Table:
    """A cross-tabulation with its totals. ``hidden_cells`` (row, column), ``hidden_rows`` and ``hidden_cols``
    (totals) say what to hide (from :func:`hiding`); without them the line rule decides."""
    counts = [list(r) for r in t.counts]
    if hidden_cells is None:
        sup = suppress(counts)
        cell_hidden, row_hidden, col_hidden = sup.cells, sup.row_totals, sup.col_totals
    else:
        cell_hidden = tuple(
            tuple(is_small(counts[i][j]) or (r, c) in hidden_cells for j, c in enumerate(t.cols))
            for i, r in enumerate(t.rows)
        )
        row_hidden = tuple(is_small(n) or r in hidden_rows for r, n in zip(t.rows, t.row_totals, strict=True))
        col_hidden = tuple(is_small(n) or c in hidden_cols for c, n in zip(t.cols, t.col_totals, strict=True))
    rows = []
    for i, r in enumerate(t.rows):
        total = t.row_totals[i]
        rows.append(
            (
                r,
                *(cell_text(counts[i][j], cell_hidden[i][j], is_small(counts[i][j])) for j in range(len(t.cols))),
                cell_text(total, row_hidden[i], is_small(total)),
            )
        )
    rows.append(
        (
            "total",
            *(cell_text(n, col_hidden[j], is_small(n)) for j, n in enumerate(t.col_totals)),
            str(t.total),
        )
    )
    return Table(key, title, (t.row_field.replace("_", " "), *t.cols, "total"), tuple(rows))


def _hides(p: Proportion, also: bool = False) -> bool:
    """Whether a proportion's counts are hidden: its yes or no count is 1 to 4 (or ``also``)."""
    return also or is_small(p.successes) or is_small(p.n - p.successes)


def _prop_cells(p: Proportion, also: bool = False) -> tuple[str, str, str]:
    """(yes, share, CI), hidden when the yes or the no count is 1 to 4 (or ``also``: hidden elsewhere)."""
    if _hides(p, also):
        return MARK if is_small(p.successes) else SECONDARY, "", ""
    return str(p.successes), pct(p.share), _ci(p.ci_low, p.ci_high)


def _recorded_hidden(n: int, missing: int) -> bool:
    """Publication version: whether ``n (recorded)`` and ``not recorded`` are hidden. They add up to a
    published count (the period's referrals, or its professional referrals), so where either is 1 to 4 both
    go: the small one as '<5', the other as 'c' (0 stays 0)."""
    return is_small(n) or is_small(missing)


def _hidden_count(n: int) -> str:
    """A count hidden in the publication version: '<5' for 1 to 4, 'c' for 5 or more, 0 as 0."""
    return cell_text(n, n > 0, is_small(n))


def laming_table(
    analyses: Sequence[RecordAnalysis], hidden: Sequence[Hiding] | None = None, *, publication: bool = False
) -> Table:
    """The recommendation 19 and 11 shares. For the two recommendation 19 measures ``n (recorded)`` plus
    ``not recorded`` is the number of professional referrals: where the referrer group table hides that
    number (``hidden[k]``, see :func:`hiding`), ``not recorded`` is hidden too. With ``publication``, where
    ``n (recorded)`` or ``not recorded`` is 1 to 4 both are hidden (:func:`_recorded_hidden`), and so are
    the yes count, the share and its interval (they would give ``n`` back)."""
    rows = []
    for attr in ("ia_after_professional", "feedback_to_professional", "manager_consulted"):
        for k, a in enumerate(analyses):
            p: Proportion = getattr(a, attr)
            yes, share, ci = _prop_cells(p)
            group = hidden[k].categories["referrer_group"] if hidden else frozenset()
            hide_missing = attr != "manager_consulted" and PROFESSIONAL in group and p.missing > 0
            n, missing = str(p.n), cell_text(p.missing, hide_missing, False)
            if publication and _recorded_hidden(p.n, p.missing):
                yes, share, ci = cell_text(p.successes, True, is_small(p.successes)), "", ""
                n, missing = _hidden_count(p.n), _hidden_count(p.missing)
            rows.append((p.label, a.label, yes, n, share, ci, missing))
    return Table(
        "table09_laming",
        "Laming recommendations 19 and 11",
        ("measure", "period", "yes", "n (recorded)", "share", "95% CI (Wilson)", "not recorded"),
        tuple(rows),
        "Of professional referrals for the two recommendation 19 measures, of all referrals for recommendation 11.",
    )


def time_table(summaries: Sequence[TimeSummary], *, publication: bool = False) -> Table:
    """Time to decision per period. ``n`` plus ``not recorded`` is the period's referrals: with
    ``publication``, where either is 1 to 4 both are hidden (:func:`_recorded_hidden`)."""
    rows = []
    for s in summaries:
        hide = publication and _recorded_hidden(s.n, s.missing)
        missing = _hidden_count(s.missing) if hide else str(s.missing)
        if is_small(s.n):
            rows.append((s.label, MARK, "", "", "", "", missing))
            continue
        w = s.within_24h
        within = pct(w.share) if not (is_small(w.successes) or is_small(w.n - w.successes)) else ""
        rows.append(
            (
                s.label,
                _hidden_count(s.n) if hide else str(s.n),
                num(s.median, 1),
                f"{num(s.q1, 1)} to {num(s.q3, 1)}",
                num(s.mean, 1),
                within,
                missing,
            )
        )
    return Table(
        "table10_decision_time",
        "Time to decision (hours)",
        ("period", "n", "median", "interquartile range", "mean", "within 24 hours", "not recorded"),
        tuple(rows),
    )


def _expected_band(x: float | None) -> str:
    """The smallest expected count as Cochran's rule reads it: the exact value would give away the smallest
    column total (a hidden count, with the other period's count beside it)."""
    if x is None:
        return "–"
    return "5 or more" if x >= 5 else "1 to 5" if x >= 1 else "below 1"


def _time_cell(t: TimeSummary, publication: bool = False) -> str:
    if is_small(t.n):  # a median or quartile of fewer than 5 is a referral's own time (as in the time table)
        return MARK
    median = f"{num(t.median, 1)} ({num(t.q1, 1)} to {num(t.q3, 1)})"
    return median if publication else f"{median}, n={t.n}"


def publication_comparison(c: PeriodComparison, hidden: Sequence[Hiding] | None) -> list[Table]:
    """The comparison as published: each period's shares and medians side by side, and no test statistic,
    p-value or effect size at all (they are computed from every cell, hidden ones included)."""
    a, b = c.period_a, c.period_b
    # the 'decided within 24 hours' share rests on the times the time table counts
    times_hidden = [
        any(_recorded_hidden(tc.a.n, tc.a.missing) for tc in c.times),
        any(_recorded_hidden(tc.b.n, tc.b.missing) for tc in c.times),
    ]
    prop_rows = []
    for pc in c.proportions:
        cells = []
        for k, p in enumerate((pc.a, pc.b)):
            group = hidden[k].categories["referrer_group"] if hidden else frozenset()
            also = pc.measure == "referral from a professional" and bool({PROFESSIONAL, NON_PROFESSIONAL} & group)
            also = also or _recorded_hidden(p.n, p.missing)
            if pc.measure == "decided within 24 hours":
                also = also or times_hidden[k]
            yes, share, _ = _prop_cells(p, also)
            cells.append(yes if _hides(p, also) else share)
        prop_rows.append((pc.measure, *cells))
    time_rows = [(tc.measure, _time_cell(tc.a, True), _time_cell(tc.b, True)) for tc in c.times]
    return [
        Table(
            "table11_compare_proportions",
            f"{a} compared with {b}: proportions",
            ("measure", a, b),
            tuple(prop_rows),
            f"Shares of the referrals where the item was recorded. Where a count is hidden ('{MARK}' or "
            f"'{SECONDARY}'), its share is hidden too. No tests in the publication version.",
        ),
        Table(
            "table13_compare_times",
            f"{a} compared with {b}: time to decision (hours)",
            ("measure", f"{a} median (IQR)", f"{b} median (IQR)"),
            tuple(time_rows),
            "No tests in the publication version.",
        ),
    ]


def comparison_tables(c: PeriodComparison, hidden: Sequence[Hiding] | None = None) -> list[Table]:
    """The comparison of two periods. Where a count of a comparison is hidden (1 to 4, or hidden in another
    table: ``hidden`` per period, see :func:`hiding`), its share and n are not shown, and nor are the
    estimates that would give it back by arithmetic (the difference of the shares, phi, the odds ratio or
    chi-square statistic; for times U and r); the test and its p-value are."""
    a, b = c.period_a, c.period_b
    prop_rows = []
    for pc in c.proportions:
        cells = []
        hides = []
        for k, p in enumerate((pc.a, pc.b)):
            group = hidden[k].categories["referrer_group"] if hidden else frozenset()
            also = pc.measure == "referral from a professional" and bool({PROFESSIONAL, NON_PROFESSIONAL} & group)
            hides.append(_hides(p, also))
            yes, share, _ = _prop_cells(p, also)
            cells.append(yes if hides[-1] else f"{share} ({yes} of {p.n})")
        if any(hides):
            test, phi, rd = pc.test, SECONDARY, SECONDARY
        else:
            if pc.statistic is None:
                test = pc.test
            elif pc.test == "chi-square":
                test = f"chi-square = {pc.statistic:.2f}"
            else:
                test = f"{pc.test}, odds ratio {pc.statistic:.2f}"
            phi, rd = num(pc.phi, 3), "–"
            if pc.risk_difference is not None and pc.rd_ci_low is not None and pc.rd_ci_high is not None:
                rd = f"{100 * pc.risk_difference:+.1f} ({100 * pc.rd_ci_low:+.1f} to {100 * pc.rd_ci_high:+.1f})"
        prop_rows.append((pc.measure, *cells, test, pval(pc.p_value), pval(pc.p_holm), phi, rd))
    dist_rows = [
        (
            dc.measure,
            dc.test,
            num(dc.statistic, 2),
            str(dc.dof) if dc.dof is not None else "–",
            pval(dc.p_value),
            pval(dc.p_holm),
            num(dc.cramers_v, 3),
            _expected_band(dc.min_expected),
        )
        for dc in c.distributions
    ]
    time_rows = []
    for tc in c.times:
        small = is_small(tc.a.n) or is_small(tc.b.n)
        time_rows.append(
            (
                tc.measure,
                _time_cell(tc.a),
                _time_cell(tc.b),
                tc.test,
                SECONDARY if small and tc.u is not None else num(tc.u, 1),
                pval(tc.p_value),
                pval(tc.p_holm),
                SECONDARY if small and tc.rank_biserial is not None else num(tc.rank_biserial, 3),
            )
        )
    return [
        Table(
            "table11_compare_proportions",
            f"{a} compared with {b}: proportions",
            ("measure", a, b, "test", "p", "p (Holm)", "phi", f"difference {a} − {b}, points (95% CI)"),
            tuple(prop_rows),
            "Chi-square without continuity correction when every expected count is 5 or more, else Fisher's exact "
            "test. The difference of the shares in percentage points, with Newcombe's interval. Where a count is "
            f"hidden ('{MARK}' or '{SECONDARY}'), the estimates that would give it back are hidden too.",
        ),
        Table(
            "table12_compare_distributions",
            f"{a} compared with {b}: distributions",
            ("measure", "test", "chi-square", "df", "p", "p (Holm)", "Cramér's V", "smallest expected count"),
            tuple(dist_rows),
            f"Categories with no referrals in either period left out; a Monte Carlo p ({MONTE_CARLO_RESAMPLES:,} "
            "tables) where Cochran's rule fails (the smallest expected count below 1, or more than a fifth below 5).",
        ),
        Table(
            "table13_compare_times",
            f"{a} compared with {b}: time to decision (hours)",
            ("measure", f"{a} median (IQR)", f"{b} median (IQR)", "test", "U", "p", "p (Holm)", "rank-biserial r"),
            tuple(time_rows),
            f"r > 0: decisions in {a} tend to take longer.",
        ),
    ]
