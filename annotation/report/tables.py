"""The report's tables: frequency tables, cross-tabulations, the Laming shares, time to decision and the
comparison of two periods, each with its small cells suppressed.

Which counts the publication tables hide is worked out once for all of them and for every selection
(:func:`annotation.report.disclosure.plan_hiding`); the table builders here only mark the cells, and say what
share of the referrals the cells they show hold (:attr:`annotation.report.model.Table.shown`). The number
formatting every table shares (:func:`pct`, :func:`num`, :func:`pval`) is here too.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from annotation.records import (
    MARK,
    MONTE_CARLO_RESAMPLES,
    NON_PROFESSIONAL,
    NOT_RECORDED,
    OPEN_MARK,
    PROFESSIONAL,
    SECONDARY,
    THRESHOLD,
    CrossTab,
    Frequency,
    PeriodComparison,
    Proportion,
    RecordAnalysis,
    TimeSummary,
    cell_text,
    is_small,
    suppress,
)
from annotation.report.disclosure import TIMES, WITHIN, Hiding
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


def frequency_table(
    key: str,
    title: str,
    label: str,
    freqs: Sequence[Frequency],
    extra: dict[str, str] | None = None,
    hidden: Sequence[Collection[str]] | None = None,
) -> Table:
    """Categories by period: count and share. ``hidden[j]`` names the categories hidden in period ``j``
    (from :func:`annotation.report.disclosure.plan_hiding`: a hidden count of 5 or more is then marked 'x',
    any number from 0 up); without it small counts are suppressed within each period's column by the line
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
                cell_text(counts[i][j], hide[i][j], open=hidden is not None and counts[i][j] >= THRESHOLD),
                "" if hide[i][j] else pct(counts[i][j] / f.total if f.total else 0),
            ]
        rows.append(tuple(row))
    total = ["total"] + ([""] if extra is not None else [])
    for f in freqs:
        total += [cell_text(f.total, is_small(f.total), True), "100.0%"]
    rows.append(tuple(total))
    shown = tuple(
        sum(counts[i][j] for i in range(len(cats)) if not hide[i][j]) / f.total if f.total else 1.0
        for j, f in enumerate(freqs)
    )
    return Table(key, title, tuple(header), tuple(rows), shown=shown)


def crosstab_table(
    key: str,
    title: str,
    t: CrossTab,
    hidden_cells: Collection[tuple[str, str]] | None = None,
    hidden_rows: Collection[str] = (),
    hidden_cols: Collection[str] = (),
) -> Table:
    """A cross-tabulation with its totals. ``hidden_cells`` (row, column), ``hidden_rows`` and ``hidden_cols``
    (totals) say what to hide (from :func:`annotation.report.disclosure.plan_hiding`: a hidden inner cell is
    then marked 'x', any number from 0 up, and so is a hidden total of 5 or more); without them the line rule
    decides."""
    counts = [list(r) for r in t.counts]
    planned = hidden_cells is not None
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
                *(cell_text(counts[i][j], cell_hidden[i][j], open=planned) for j in range(len(t.cols))),
                cell_text(total, row_hidden[i], open=planned and total >= THRESHOLD),
            )
        )
    rows.append(
        (
            "total",
            *(cell_text(n, col_hidden[j], open=planned and n >= THRESHOLD) for j, n in enumerate(t.col_totals)),
            str(t.total),
        )
    )
    inner = sum(counts[i][j] for i in range(len(t.rows)) for j in range(len(t.cols)) if not cell_hidden[i][j])
    return Table(
        key,
        title,
        (t.row_field.replace("_", " "), *t.cols, "total"),
        tuple(rows),
        shown=(inner / t.total,) if t.total else (1.0,),
    )


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
    number (``hidden[k]``, see :func:`annotation.report.disclosure.plan_hiding`), ``not recorded`` is hidden
    too. With ``publication``, where
    ``n (recorded)`` or ``not recorded`` is 1 to 4 both are hidden (:func:`_recorded_hidden`), and so are
    the yes count, the share and its interval (they would give ``n`` back); and so they are in every period
    and all records for a measure the plan withholds (``Hiding.withheld``: a small count in any of them)."""
    rows = []
    for attr in ("ia_after_professional", "feedback_to_professional", "manager_consulted"):
        for k, a in enumerate(analyses):
            p: Proportion = getattr(a, attr)
            yes, share, ci = _prop_cells(p)
            group = hidden[k].categories["referrer_group"] if hidden else frozenset()
            hide_missing = attr != "manager_consulted" and PROFESSIONAL in group and p.missing > 0
            n, missing = str(p.n), cell_text(p.missing, hide_missing, False)
            withheld = bool(hidden) and p.label in hidden[k].withheld  # type: ignore[index]
            if publication and (withheld or _recorded_hidden(p.n, p.missing)):
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


def time_table(summaries: Sequence[TimeSummary], *, publication: bool = False, withheld: Collection[str] = ()) -> Table:
    """Time to decision per period. ``n`` plus ``not recorded`` is the period's referrals: with
    ``publication``, where either is 1 to 4 both are hidden (:func:`_recorded_hidden`), and in every period
    when the plan withholds them (``withheld``, see ``Hiding.withheld``), and so is the share decided within
    24 hours."""
    rows = []
    for s in summaries:
        hide = publication and (TIMES in withheld or _recorded_hidden(s.n, s.missing))
        missing = _hidden_count(s.missing) if hide else str(s.missing)
        if is_small(s.n):
            rows.append((s.label, MARK, "", "", "", "", missing))
            continue
        w = s.within_24h
        small = is_small(w.successes) or is_small(w.n - w.successes) or (publication and WITHIN in withheld)
        within = "" if small else pct(w.share)
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
        any(_recorded_hidden(tc.a.n, tc.a.missing) for tc in c.times) or bool(hidden and TIMES in hidden[0].withheld),
        any(_recorded_hidden(tc.b.n, tc.b.missing) for tc in c.times) or bool(hidden and TIMES in hidden[1].withheld),
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
            also = also or (bool(hidden) and pc.measure in hidden[k].withheld)  # type: ignore[index]
            yes, share, _ = _prop_cells(p, also)
            if pc.measure == "referral from a professional" and yes == SECONDARY:
                yes = OPEN_MARK  # table 2's count, marked as table 2 marks it (any number: no band to read)
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


#: The comparison's distributions and the field of the one-way table that each tests.
_DIST_FIELDS = {"response": "response", "concern": "concern", "referrer type": "referrer_type"}
POOLED = "categories hidden"


def _prop_hides(pc: Any, hidden: Sequence[Hiding] | None) -> list[bool]:
    """Per period, whether a yes/no comparison's count is hidden (1 to 4, or hidden in table 2)."""
    out = []
    for k, p in enumerate((pc.a, pc.b)):
        group = hidden[k].categories["referrer_group"] if hidden else frozenset()
        also = pc.measure == "referral from a professional" and bool({PROFESSIONAL, NON_PROFESSIONAL} & group)
        out.append(_hides(p, also))
    return out


def safe_tests(c: PeriodComparison, hidden: Sequence[Hiding]) -> PeriodComparison:
    """The comparison as the research version shows it: no test result that rests on a hidden count.

    A yes/no measure with a hidden count keeps no test (its statistic and p-value are functions of that
    count). A distribution is tested on the published-safe collapse: the categories hidden in either period
    pooled into one column, whose counts a reader can work out from what is shown (the period's total less
    its shown categories), so the statistic tells nothing more; where 'not recorded' is hidden, which the
    test leaves out, its sample size would give that count back: not tested. Time to decision is not tested
    when a period has fewer than 5 times. Holm's adjustment is then over the tests shown."""
    from dataclasses import replace

    from annotation.records import compare_distribution, holm

    props = [
        replace(pc, test=f"not shown (a count is hidden): {pc.test}", p_value=None, statistic=None)
        if any(_prop_hides(pc, hidden))
        else pc
        for pc in c.proportions
    ]
    dists = []
    for dc in c.distributions:
        field = _DIST_FIELDS.get(dc.measure)
        gone = set().union(*(h.categories.get(field, frozenset()) for h in hidden)) if field else set()
        if NOT_RECORDED in gone:
            dists.append(
                replace(
                    dc,
                    test="not tested ('not recorded' is hidden)",
                    statistic=None,
                    dof=None,
                    p_value=None,
                    cramers_v=None,
                    min_expected=None,
                )
            )
            continue
        t = dc.table
        keep = [j for j, col in enumerate(t.cols) if col not in gone]
        pool = [j for j, col in enumerate(t.cols) if col in gone]
        if not pool:
            dists.append(dc)
            continue
        counts = tuple((*(row[j] for j in keep), sum(row[j] for j in pool)) for row in t.counts)
        pooled = CrossTab(t.row_field, t.col_field, t.rows, (*(t.cols[j] for j in keep), POOLED), counts)
        redone = compare_distribution(dc.measure, pooled)
        dists.append(replace(redone, test=f"{redone.test}, hidden categories pooled"))
    times = [
        replace(tc, test=f"not shown (fewer than 5 times): {tc.test}", p_value=None, u=None, rank_biserial=None)
        if is_small(tc.a.n) or is_small(tc.b.n)
        else tc
        for tc in c.times
    ]
    tested: list[Any] = [*props, *dists, *times]
    adjusted = iter(holm([x.p_value for x in tested]))
    return PeriodComparison(
        c.period_a,
        c.period_b,
        tuple(replace(x, p_holm=next(adjusted)) for x in props),
        tuple(replace(x, p_holm=next(adjusted)) for x in dists),
        tuple(replace(x, p_holm=next(adjusted)) for x in times),
    )


def comparison_tables(c: PeriodComparison, hidden: Sequence[Hiding] | None = None) -> list[Table]:
    """The comparison of two periods (research version; pass it through :func:`safe_tests` first). Where a
    count of a comparison is hidden (1 to 4, or hidden in another table: ``hidden`` per period, see
    :func:`annotation.report.disclosure.plan_hiding`), its share and n are not shown, and nor are the
    estimates that would give it back by arithmetic (the difference of the shares, phi, the odds ratio or
    chi-square statistic; for times U and r) or its test's p-value."""
    a, b = c.period_a, c.period_b
    prop_rows = []
    for pc in c.proportions:
        cells = []
        hides = _prop_hides(pc, hidden)
        for k, p in enumerate((pc.a, pc.b)):
            also = hides[k] and not _hides(p)
            yes, share, _ = _prop_cells(p, also)
            cells.append(yes if hides[k] else f"{share} ({yes} of {p.n})")
        if any(hides):
            test, phi, rd = pc.test, SECONDARY, SECONDARY
            prop_rows.append((pc.measure, *cells, test, SECONDARY, SECONDARY, phi, rd))
            continue
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
                SECONDARY if small else num(tc.u, 1),
                SECONDARY if small else pval(tc.p_value),
                SECONDARY if small else pval(tc.p_holm),
                SECONDARY if small else num(tc.rank_biserial, 3),
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
