"""The referral report: tables, plots and the method, from the store alone, as HTML (and PDF).

``build_report`` reads a project's referral records (all, one period, or two periods to compare) and its
coded video documents, computes the statistics (:mod:`annotation.records.analysis`) and the coded-video time
budgets (:func:`annotation.coding.video_stats.code_stats`), and writes:

- ``report.html``: self-contained (styles inline, plots embedded as SVG), readable printed in greyscale;
- ``report_data/``: every table as CSV exactly as published (small cells suppressed), the numbers behind
  every plot as CSV (unsuppressed: for the research team) and the plots as PNG;

That default version is for the research team (it says so). With ``publication=True`` it is the version
safe to publish: suppressed tables only, no plots, no test statistics, "not recorded" counts suppressed.
- ``report.pdf`` with ``pdf=True`` (reportlab, A4; :mod:`annotation.report.pdf`).

Only aggregates leave the store: no record is listed one by one and notes are never read into the report.
Everything but the "generated" time is a function of the store's contents and the options, so a second run
on an unchanged store gives identical tables and CSV files; the method section names a fingerprint of the
records used so a reader can tell whether two reports rest on the same data.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import shlex
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from annotation.elan.scheme import REFERRAL_SCHEME
from annotation.errors import ReportError
from annotation.records.analysis import (
    MONTE_CARLO_RESAMPLES,
    NON_PROFESSIONAL,
    NOT_RECORDED,
    PROFESSIONAL,
    CrossTab,
    Frequency,
    PeriodComparison,
    Proportion,
    RecordAnalysis,
    TimeSummary,
    analyse,
    compare_periods,
    group_of,
)
from annotation.records.models import RecordSegment, ReferralRecord
from annotation.records.referrals import RecordView, Vocabularies, list_records, load_vocabularies, record_periods
from annotation.records.suppression import MARK, SECONDARY, THRESHOLD, Quantity, cell_text, is_small, protect, suppress
from annotation.report import figures as figs
from annotation.store.engine import Store, schema_revision
from annotation.store.tables import Document, Project, Recording

#: The frequency tables of the first section: (key, title, column label, field of the analysis).
FREQUENCY_TABLES = (
    ("table01_referrer_type", "Referrals by referrer type", "referrer type", "referrer_type"),
    ("table02_referrer_group", "Referrals by referrer group", "referrer group", "referrer_group"),
    ("table03_concern", "Referrals by the concern as stated", "concern", "concern"),
    ("table04_response", "Referrals by response", "response", "response"),
    ("table05_outcome", "Referrals by outcome", "outcome", "outcome"),
    ("table06_age_band", "Referrals by the child's age band", "age band", "age_band"),
)

#: Coded-video tiers the report shows time budgets for: the scheme's tiers with a vocabulary (free-text
#: tiers such as Notes and Participants are never shown).
VIDEO_TIERS = tuple(spec.tier_id for spec in REFERRAL_SCHEME if spec.values)
BUDGET_PLOT_TIER = "Call phase"


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    publication: bool = True


@dataclass
class Section:
    anchor: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[figs.FigureOut] = field(default_factory=list)


@dataclass(frozen=True)
class ReportResult:
    html: Path
    pdf: Path | None
    data_dir: Path
    files: tuple[Path, ...]
    records: int
    documents: int
    seconds: float


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


def _publication_comparison(c: PeriodComparison, hidden: Sequence[Hiding] | None) -> list[Table]:
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


# ---- data from the store --------------------------------------------------------------------------------


def _project(store: Store, project: str) -> int:
    with store.session() as s:
        pid = s.scalar(select(Project.id).where(Project.name == project))
    if pid is None:
        raise ReportError(f"project {project!r}: no such project")
    return pid


def project_documents(store: Store, project_id: int) -> list[tuple[int, str]]:
    """The project's ELAN documents (by their own project or their recording's), oldest first."""
    with store.session() as s:
        q = (
            select(Document.id, Document.name)
            .outerjoin(Recording, Recording.id == Document.recording_id)
            .where(Document.kind == "eaf", or_(Document.project_id == project_id, Recording.project_id == project_id))
            .order_by(Document.id)
        )
        return [(i, n) for i, n in s.execute(q)]


def _links(store: Store, project_id: int, doc_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(document, linked records, linked segments) per document."""
    out = []
    with store.session() as s:
        for did in doc_ids:
            pairs = s.execute(
                select(RecordSegment.record_id, RecordSegment.ann_id)
                .join(ReferralRecord, ReferralRecord.id == RecordSegment.record_id)
                .where(RecordSegment.document_id == did, ReferralRecord.project_id == project_id)
            ).all()
            out.append((did, len({r for r, _ in pairs}), len(pairs)))
    return out


def fingerprint(rows: Sequence[RecordView]) -> str:
    """SHA-256 of the analysed fields of the records (by id), to tell whether two reports rest on the same data."""
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r.id):
        item = [
            r.id,
            r.period,
            r.received_at.isoformat(),
            r.referrer_type,
            r.professional,
            r.concern,
            r.age_band,
            r.previous_referrals,
            r.response,
            r.outcome,
            r.decision_minutes,
            r.initial_assessment,
            r.feedback,
            r.manager_consulted,
        ]
        h.update(json.dumps(item, separators=(",", ":")).encode() + b"\n")
    return h.hexdigest()


# ---- the report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportContent:
    """What the report says, before it is written anywhere: the app's Analysis tab shows these sections."""

    sections: list[Section]
    meta: dict[str, str]
    records: int
    documents: int


def report_content(
    store: Store,
    project: str,
    *,
    period: str | None = None,
    compare: str | None = None,
    documents: Sequence[int] | None = None,
    command: str | None = None,
    out_name: str = "report.html",
    pdf: bool = False,
    generated_at: datetime | None = None,
    vocab: Vocabularies | None = None,
    publication: bool = False,
) -> ReportContent:
    """The report's sections (tables, figures, method) for ``project``; see :func:`build_report` (and for
    ``publication``, :func:`_sections`).

    Raises:
        ReportError: no such project, no records, an unknown period, or ``compare`` without ``period``.
        NotFound: a document in ``documents`` does not exist.
    """
    vocab = vocab or load_vocabularies()
    if compare is not None and period is None:
        raise ReportError("--compare needs --period: the report compares period A (--period) with B (--compare)")
    if compare is not None and compare == period:
        raise ReportError(f"period {period!r}: compare it with a different period")
    pid = _project(store, project)
    known = record_periods(store, project)
    if not known:
        raise ReportError(f"project {project!r}: no referral records (import some with 'frontdoor records import')")
    for p in (period, compare):
        if p is not None and p not in known:
            raise ReportError(f"period {p!r}: no records in project {project!r} (periods: {', '.join(known)})")

    selections: list[tuple[str, list[RecordView]]]
    if period is None:
        selections = [("all records", list_records(store, project))]
    else:
        selections = [(period, list_records(store, project, periods=[period]))]
        if compare is not None:
            selections.append((compare, list_records(store, project, periods=[compare])))
    analyses = [analyse(rows, vocab, label) for label, rows in selections]
    comparison = (
        compare_periods(selections[0][1], selections[1][1], vocab, selections[0][0], selections[1][0])
        if compare is not None
        else None
    )
    all_rows = [r for _, rows in selections for r in rows]
    doc_list = project_documents(store, pid) if documents is None else _named_documents(store, documents)
    budgets = _budgets(store, doc_list)

    sections = _sections(
        analyses,
        selections,
        comparison,
        vocab,
        budgets,
        _links(store, pid, [d for d, _ in doc_list]),
        doc_list,
        publication,
    )

    def records(rows: Sequence[RecordView]) -> str:
        return MARK if publication and is_small(len(rows)) else str(len(rows))

    meta = {
        "project": project,
        "version": "publication version" if publication else "research team version",
        "audience": AUDIENCE_PUBLICATION if publication else AUDIENCE_RESEARCH,
        "selection": " and ".join(f"{label} ({records(rows)} records)" for label, rows in selections),
        "generated": (generated_at or datetime.now(UTC)).astimezone().isoformat(timespec="seconds"),
        "store": store.label,
        "schema": schema_revision(store.engine) or "",
        "fingerprint": fingerprint(all_rows),
        "command": command or _command(project, period, compare, out_name, pdf, documents, publication),
        "versions": _versions(),
    }
    sections.insert(0, _method_section(meta, vocab, publication))
    return ReportContent(sections, meta, len(all_rows), len(doc_list))


def build_report(
    store: Store,
    project: str,
    out: str | Path,
    *,
    period: str | None = None,
    compare: str | None = None,
    pdf: bool = False,
    documents: Sequence[int] | None = None,
    command: str | None = None,
    generated_at: datetime | None = None,
    vocab: Vocabularies | None = None,
    publication: bool = False,
) -> ReportResult:
    """Write the report for ``project`` to ``out`` (HTML), its data folder beside it, and the PDF if asked.

    ``period`` limits it to one period; with ``compare`` too, the two periods are shown side by side and
    tested against each other. ``documents`` picks the coded documents (default: all of the project's).

    By default the report is for the research team: its plots, their CSVs, the test statistics, the "not
    recorded" counts and the coded video's tables are not suppressed. ``publication=True`` writes the version
    safe to publish: the suppressed tables only, no plots (none in the HTML, PDF or data folder), no test
    statistics, p-values or effect sizes, and "not recorded" counts of 1 to 4 hidden like the others.

    Raises:
        ReportError: no such project, no records, an unknown period, or ``compare`` without ``period``.
        NotFound: a document in ``documents`` does not exist.
    """
    t0 = time.perf_counter()
    out_path = Path(out)
    content = report_content(
        store,
        project,
        period=period,
        compare=compare,
        documents=documents,
        command=command,
        out_name=out_path.name,
        pdf=pdf,
        generated_at=generated_at,
        vocab=vocab,
        publication=publication,
    )
    sections, meta = content.sections, content.meta
    data_dir = out_path.with_name(out_path.stem + "_data")
    files = _write_data(data_dir, sections, publication)
    out_path.write_text(render_html(sections, meta, data_dir.name), encoding="utf-8")
    pdf_path = None
    if pdf:
        from annotation.report.pdf import render_pdf

        pdf_path = out_path.with_suffix(".pdf")
        pdf_path.write_bytes(render_pdf(sections, meta))
    return ReportResult(
        out_path, pdf_path, data_dir, tuple(files), content.records, content.documents, time.perf_counter() - t0
    )


def _named_documents(store: Store, ids: Sequence[int]) -> list[tuple[int, str]]:
    from annotation.errors import NotFound

    with store.session() as s:
        out = []
        for i in ids:
            d = s.get(Document, i)
            if d is None:
                raise NotFound(f"document {i}: no such document")
            out.append((d.id, d.name))
        return out


def _budgets(store: Store, docs: Sequence[tuple[int, str]]) -> list[tuple[str, list[Any]]]:
    from annotation.coding.video_stats import code_stats

    out = []
    for did, name in docs:
        stats = [s for s in code_stats(store, did) if s.tier in VIDEO_TIERS]
        out.append((f"{did}: {name}", stats))
    return out


def _command(
    project: str,
    period: str | None,
    compare: str | None,
    out: str,
    pdf: bool,
    documents: Sequence[int] | None = None,
    publication: bool = False,
) -> str:
    """The ``frontdoor report`` command line that makes this report again, quoted for a POSIX shell."""
    parts = ["frontdoor", "report", "--project", project]
    if period:
        parts += ["--period", period]
    if compare:
        parts += ["--compare", compare]
    parts += ["--out", out] + (["--pdf"] if pdf else []) + (["--publication"] if publication else [])
    for d in documents or ():
        parts += ["--doc", str(d)]
    return shlex.join(parts)


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("frontdoor", "numpy", "scipy", "matplotlib"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} (unknown version)")
    return ", ".join(out)


def _sections(
    analyses: Sequence[RecordAnalysis],
    selections: Sequence[tuple[str, Sequence[RecordView]]],
    comparison: PeriodComparison | None,
    vocab: Vocabularies,
    budgets: Sequence[tuple[str, Sequence[Any]]],
    links: Sequence[tuple[int, int, int]],
    docs: Sequence[tuple[int, str]],
    publication: bool = False,
) -> list[Section]:
    """The report's sections. With ``publication``: no plots, no test statistics, p-values or effect sizes,
    the "not recorded" counts suppressed like the others, and only the tables meant for publication."""
    prof = {c: ("yes" if vocab.is_professional(c) else "no") for c in vocab.referrer_types}
    hidden = [hiding(a, rows, vocab) for a, (_, rows) in zip(analyses, selections, strict=True)]
    out = []
    s = Section("referrals", "Who referred, about what, and the response")

    def from_professionals(a: RecordAnalysis, h: Hiding) -> str:
        if PROFESSIONAL in h.categories["referrer_group"]:  # the share would give back what table 2 hides
            return ""
        return f", {pct(a.referrer_group.count(PROFESSIONAL) / a.n if a.n else 0)} from professionals"

    def total(a: RecordAnalysis) -> str:
        return MARK if publication and is_small(a.n) else str(a.n)

    s.paragraphs.append(
        "; ".join(
            f"{a.label}: {total(a)} referrals{from_professionals(a, h)}" for a, h in zip(analyses, hidden, strict=True)
        )
        + "."
    )
    s.tables += [
        frequency_table(
            key,
            title,
            label,
            [_renamed(getattr(a, field), a.label) for a in analyses],
            prof if field == "referrer_type" else None,
            hidden=[h.categories[field] for h in hidden],
        )
        for key, title, label, field in FREQUENCY_TABLES
    ]
    if not publication:
        s.figures += [figs.referrer_figure(analyses, vocab), figs.concern_figure(analyses)]
    out.append(s)

    s = Section("cross-tabs", "Referrer and response")
    for i, a in enumerate(analyses):
        suffix = f": {a.label}" if len(analyses) > 1 else ""
        s.tables.append(
            crosstab_table(
                f"table07{'ab'[i]}_referrer_by_response",
                f"Referrer type by response{suffix}",
                a.referrer_by_response,
                hidden[i].referrer_cells,
                hidden[i].categories["referrer_type"],
                hidden[i].categories["response"],
            )
        )
        s.tables.append(
            crosstab_table(
                f"table08{'ab'[i]}_group_by_response",
                f"Referrer group by response{suffix}",
                a.group_by_response,
                hidden[i].group_cells,
                hidden[i].categories["referrer_group"],
                hidden[i].categories["response"],
            )
        )
    if not publication:
        s.figures.append(figs.response_figure(analyses))
    out.append(s)

    s = Section("laming", "Professional referrals: assessment and feedback (Laming recommendation 19)")
    s.paragraphs.append(
        "Recommendation 19 asks that a referral from a professional is followed by an initial assessment and that "
        "the referrer is told what happens. Recommendation 11 asks that a manager or senior practitioner is "
        "available to consult."
    )
    s.tables.append(laming_table(analyses, hidden, publication=publication))
    if not publication:
        s.figures.append(figs.laming_figure(analyses))
    out.append(s)

    s = Section("decision-time", "Time to decision")
    s.tables.append(time_table([a.decision_time for a in analyses], publication=publication))
    if not publication:
        s.figures.append(figs.decision_time_figure([(label, rows) for label, rows in selections]))
    out.append(s)

    if comparison is not None:
        s = Section("comparison", f"{comparison.period_a} compared with {comparison.period_b}")
        if publication:
            s.paragraphs.append(
                "The two periods side by side. No test statistics, p-values or effect sizes are published: they "
                "are computed from every cell, the hidden ones included, and would let a reader try the possible "
                "values of a hidden count. The research team's version of this report has them."
            )
            s.tables += _publication_comparison(comparison, hidden)
            out.append(s)
            out.append(_video_section(budgets, links, docs, publication=True))
            return out
        s.paragraphs.append(
            "Each measure is tested separately; the Holm column adjusts the p-values for the number of tests in "
            "this section. Effect sizes are given with every test: a small p-value with a tiny effect is not a "
            "practical difference."
        )
        s.tables += comparison_tables(comparison, hidden)
        out.append(s)

    out.append(_video_section(budgets, links, docs, publication=publication))
    return out


def _renamed(f: Frequency, label: str) -> Frequency:
    return Frequency(label, f.total, f.counts)


def _video_section(
    budgets: Sequence[tuple[str, Sequence[Any]]],
    links: Sequence[tuple[int, int, int]],
    docs: Sequence[tuple[int, str]],
    publication: bool = False,
) -> Section:
    s = Section("video", "Coded video: time budgets and referrals observed")
    if publication:  # its tables are not suppressed (segments, and records linked: counts of referrals)
        s.paragraphs.append(
            "Not in the publication version: the coded video's time budgets and the number of records observed "
            "on video are not suppressed and are in the research team's version only."
        )
        return s
    if not docs:
        s.paragraphs.append("The project has no coded video documents.")
        return s
    s.paragraphs.append(
        "Time budgets from annotation.coding.video_stats.code_stats: per tier and code, the number of segments, their "
        "total and mean length and their share of the recording (segments of one tier that overlap are added, "
        "not merged). Only tiers with a controlled vocabulary are shown; notes and participants are not."
    )
    names = dict(docs)
    for name, stats in budgets:
        rows = tuple(
            (st.tier, st.value, str(st.count), _clock(st.total_ms), num(st.mean_ms / 1000, 1), pct(st.share))
            for st in stats
        )
        key = "table14_time_budget_" + name.split(":", 1)[0]
        s.tables.append(
            Table(
                key,
                f"Time budget: document {name}",
                ("tier", "code", "segments", "total", "mean (s)", "share of recording"),
                rows,
                publication=False,
            )
        )
    fig = figs.time_budget_figure(budgets, BUDGET_PLOT_TIER)
    if fig is not None:
        s.figures.append(fig)
    s.tables.append(
        Table(
            "table15_records_observed",
            "Referral records linked to video segments",
            ("document", "records linked", "segments linked"),
            tuple((f"{d}: {names.get(d, '')}", str(r), str(n)) for d, r, n in links),
            publication=False,
        )
    )
    return s


def _clock(ms: int) -> str:
    sec = ms // 1000
    return f"{sec // 3600}:{sec // 60 % 60:02d}:{sec % 60:02d}"


#: What each version is for: shown under the report's title and at the head of the method.
AUDIENCE_RESEARCH = "For the research team: contains unsuppressed plots and statistics — not for publication."
AUDIENCE_PUBLICATION = "For publication: small cells suppressed, no plots."


def _method_section(meta: dict[str, str], vocab: Vocabularies, publication: bool = False) -> Section:
    s = Section("method", "Method")
    prof = ", ".join(r for r in vocab.referrer_types if vocab.is_professional(r))
    nonprof = ", ".join(r for r in vocab.referrer_types if vocab.is_professional(r) is False)
    if publication:
        tests = (
            "Two periods are shown side by side (shares, and medians with the interquartile range). This version "
            "publishes no test statistic, p-value or effect size at all, not only those computed from a hidden "
            "count: every test uses all the cells of its table, and its result would let a reader try the few "
            "possible values of a hidden count. The research team's version has them."
        )
        small = (
            f"Small cells: counts of 1 to {THRESHOLD - 1} referrals are shown as '{MARK}', and further counts "
            f"(of {THRESHOLD} or more) are hidden ('{SECONDARY}') until no hidden count can be worked out from "
            "everything the tables of a period publish together (tables that repeat the same counts hide the same "
            "ones); shares of hidden counts are left blank. 'Not recorded' counts are suppressed like the others: "
            "where it or the number recorded is 1 to 4, both are hidden (they add up to a published count). There "
            "are no plots, and the coded video's tables are left out (they are not suppressed)."
        )
    else:
        tests = (
            "Two periods are compared with Pearson's chi-square test (no continuity correction) for yes/no measures "
            "when every expected count is at least 5 and Fisher's exact test otherwise, with phi and the risk "
            "difference (Newcombe's hybrid score interval); with the chi-square test of the period × category table "
            "for distributions, with Cramér's V (a Monte Carlo p-value when Cochran's rule fails); and with the "
            "two-sided Mann-Whitney U test for time to decision, with the rank-biserial correlation. P-values are "
            "also shown adjusted by Holm's method for the number of tests."
        )
        small = (
            f"Small cells: in the tables, counts of 1 to {THRESHOLD - 1} referrals are shown as '{MARK}', and "
            f"further counts (of {THRESHOLD} or more) are hidden ('{SECONDARY}') until no hidden count can be worked "
            "out from everything the tables of a period publish together (tables that repeat the same counts hide "
            "the same ones); shares of hidden counts are left blank, and so are the comparison's estimates that "
            "would give a hidden count back. The plots and the CSV files of their numbers, the test statistics, the "
            "'not recorded' counts and the coded video's tables are not suppressed: this version is for the research "
            "team, not for publication (write that with --publication)."
        )
    s.paragraphs += [
        AUDIENCE_PUBLICATION if publication else AUDIENCE_RESEARCH,
        f"Data: the referral records of project {meta['project']} in the Frontdoor store ({meta['selection']}). "
        "Records were sampled from the authority's case records and hold no names, dates of birth, addresses or "
        "identifying numbers; their free-text notes are not used in this report.",
        f"Professional referrers: {prof}. Non-professional: {nonprof}.",
        "Shares in the frequency tables are of all referrals in the period; a value that was not recorded is counted "
        "as 'not recorded'. The recommendation 19 shares are of professional referrals where the item was recorded; "
        "each share has a 95% Wilson score interval. Time to decision runs from the referral's receipt to the "
        "decision on it, in hours; quartiles are linearly interpolated.",
        tests,
        small,
        f"Reproduce: {meta['command']} (store {meta['store']}, schema {meta['schema']}). Records fingerprint "
        f"{meta['fingerprint'][:16]}; software: {meta['versions']}.",
    ]
    return s


# ---- output ---------------------------------------------------------------------------------------------


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _write_data(data_dir: Path, sections: Sequence[Section], publication: bool = False) -> list[Path]:
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in [*data_dir.glob("table*.csv"), *data_dir.glob("fig*.csv"), *data_dir.glob("fig*.png")]:
        old.unlink()
    files = []
    for s in sections:
        for t in s.tables:
            p = data_dir / f"{t.key}.csv"
            _write_csv(p, t.header, t.rows)
            files.append(p)
        for fig in s.figures:
            p = data_dir / f"{fig.key}.csv"
            _write_csv(p, fig.csv_header, fig.csv_rows)
            png = data_dir / f"{fig.key}.png"
            png.write_bytes(fig.png)
            files += [p, png]
    readme = data_dir / "README.txt"
    readme.write_text(
        "Publication version: small cells suppressed, no plots.\n"
        "table*.csv: the report's tables as published (counts of 1 to 4 referrals suppressed).\n"
        if publication
        else "Research team version: contains unsuppressed plots and statistics, NOT for publication.\n"
        "table*.csv: the report's tables (counts of 1 to 4 referrals suppressed; the tests, 'not recorded' and\n"
        "  the coded video's tables are not).\n"
        "fig*.csv: the numbers behind each plot, NOT suppressed: for the research team only.\n"
        "fig*.png: the plots.\n",
        encoding="utf-8",
    )
    return files


_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:10.5pt;color:#000;max-width:60em;margin:2em auto;
padding:0 1em}
h1{font-size:17pt;margin-bottom:.2em} h2{font-size:13pt;border-bottom:1px solid #000;margin-top:1.8em}
h3{font-size:10.5pt;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.3em 0 .2em;font-size:9pt}
th,td{border:1px solid #555;padding:2px 6px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left} th{background:#e6e6e6}
tr.total td{font-weight:bold}
p.note,p.data{font-size:8.5pt;margin:.1em 0 .8em} p.meta{font-size:9pt}
figure{margin:1em 0;page-break-inside:avoid} figure img{max-width:100%} figcaption{font-size:8.5pt}
.internal{font-style:italic}
@media print{body{margin:0;max-width:none} a{color:#000;text-decoration:none} section{page-break-inside:auto}}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_html(sections: Sequence[Section], meta: dict[str, str], data_dir: str) -> str:
    """The report as one self-contained HTML page (plots embedded as SVG; links to the data CSVs beside it)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Referral report: {_esc(meta['project'])} ({_esc(meta['version'])})</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Referral report: {_esc(meta['project'])}</h1>",
        f'<p class="audience"><strong>{_esc(meta["audience"])}</strong></p>',
        f'<p class="meta">{_esc(meta["selection"])}. Generated {_esc(meta["generated"])}.</p>',
        "<nav><ol>" + "".join(f'<li><a href="#{s.anchor}">{_esc(s.title)}</a></li>' for s in sections) + "</ol></nav>",
    ]
    for s in sections:
        out.append(f'<section id="{s.anchor}"><h2>{_esc(s.title)}</h2>')
        out += [f"<p>{_esc(p)}</p>" for p in s.paragraphs]
        for t in s.tables:
            out.append(f"<h3>{_esc(t.title)}</h3>")
            out.append(_html_table(t))
            bits = [_esc(t.note)] if t.note else []
            if not t.publication:
                bits.append('<span class="internal">Counts of video segments, not of referrals.</span>')
            bits.append(f'Data: <a href="{_esc(data_dir)}/{_esc(t.key)}.csv">{_esc(t.key)}.csv</a>')
            out.append(f'<p class="note">{" ".join(bits)}</p>')
        for f in s.figures:
            b64 = base64.b64encode(f.svg).decode("ascii")
            out.append(
                f'<figure id="{_esc(f.key)}"><img alt="{_esc(f.title)}" src="data:image/svg+xml;base64,{b64}">'
                f"<figcaption>{_esc(f.title)}. {_esc(f.caption)} Numbers: "
                f'<a href="{_esc(data_dir)}/{_esc(f.key)}.csv">{_esc(f.key)}.csv</a> (not suppressed).'
                "</figcaption></figure>"
            )
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_table(t: Table) -> str:
    buf = io.StringIO()
    buf.write("<table><thead><tr>")
    buf.write("".join(f"<th>{_esc(h)}</th>" for h in t.header))
    buf.write("</tr></thead><tbody>")
    for r in t.rows:
        cls = ' class="total"' if r and r[0] == "total" else ""
        buf.write(f"<tr{cls}>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>")
    buf.write("</tbody></table>")
    return buf.getvalue()
