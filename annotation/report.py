"""The referral report: tables, plots and the method, from the store alone, as HTML (and PDF).

``build_report`` reads a project's referral records (all, one period, or two periods to compare) and its
coded video documents, computes the statistics (:mod:`annotation.record_analysis`) and the coded-video time
budgets (:func:`annotation.video_stats.code_stats`), and writes:

- ``report.html``: self-contained (styles inline, plots embedded as SVG), readable printed in greyscale;
- ``report_data/``: every table as CSV exactly as published (small cells suppressed), the numbers behind
  every plot as CSV (unsuppressed: for the research team) and the plots as PNG;
- ``report.pdf`` with ``pdf=True`` (reportlab, A4; :mod:`annotation.report_pdf`).

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from annotation import report_figures as figs
from annotation.errors import ReportError
from annotation.record_analysis import (
    MONTE_CARLO_RESAMPLES,
    PROFESSIONAL,
    CrossTab,
    Frequency,
    PeriodComparison,
    Proportion,
    RecordAnalysis,
    TimeSummary,
    analyse,
    compare_periods,
)
from annotation.record_models import RecordSegment, ReferralRecord
from annotation.records import RecordView, Vocabularies, list_records, load_vocabularies, record_periods
from annotation.scheme import REFERRAL_SCHEME
from annotation.store import Store, schema_revision
from annotation.store_models import Document, Project, Recording
from annotation.suppression import MARK, SECONDARY, THRESHOLD, cell_text, is_small, suppress

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


def frequency_table(
    key: str, title: str, label: str, freqs: Sequence[Frequency], extra: dict[str, str] | None = None
) -> Table:
    """Categories by period: count and share, small counts suppressed within each period's column."""
    cats = [c.category for c in freqs[0].counts]
    for f in freqs[1:]:
        cats += [c.category for c in f.counts if c.category not in cats]
    counts = [[f.count(c) for f in freqs] for c in cats]
    sup = suppress(counts, row_totals=False, col_totals=True)
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
            hidden = sup.cells[i][j]
            row += [
                cell_text(counts[i][j], hidden, sup.primary[i][j]),
                "" if hidden else pct(counts[i][j] / f.total if f.total else 0),
            ]
        rows.append(tuple(row))
    total = ["total"] + ([""] if extra is not None else [])
    for f in freqs:
        total += [str(f.total), "100.0%"]
    rows.append(tuple(total))
    return Table(key, title, tuple(header), tuple(rows))


def crosstab_table(key: str, title: str, t: CrossTab) -> Table:
    counts = [list(r) for r in t.counts]
    sup = suppress(counts)
    rows = []
    for i, r in enumerate(t.rows):
        total = t.row_totals[i]
        rows.append(
            (
                r,
                *(cell_text(counts[i][j], sup.cells[i][j], sup.primary[i][j]) for j in range(len(t.cols))),
                cell_text(total, sup.row_totals[i], True),
            )
        )
    rows.append(
        (
            "total",
            *(cell_text(n, sup.col_totals[j], True) for j, n in enumerate(t.col_totals)),
            str(t.total),
        )
    )
    return Table(key, title, (t.row_field.replace("_", " "), *t.cols, "total"), tuple(rows))


def _prop_cells(p: Proportion) -> tuple[str, str, str]:
    """(yes, share, CI), hidden when the yes or the no count is 1 to 4."""
    if is_small(p.successes) or is_small(p.n - p.successes):
        return MARK if is_small(p.successes) else SECONDARY, "", ""
    return str(p.successes), pct(p.share), _ci(p.ci_low, p.ci_high)


def laming_table(analyses: Sequence[RecordAnalysis]) -> Table:
    rows = []
    for attr in ("ia_after_professional", "feedback_to_professional", "manager_consulted"):
        for a in analyses:
            p: Proportion = getattr(a, attr)
            yes, share, ci = _prop_cells(p)
            rows.append((p.label, a.label, yes, str(p.n), share, ci, str(p.missing)))
    return Table(
        "table09_laming",
        "Laming recommendations 19 and 11",
        ("measure", "period", "yes", "n (recorded)", "share", "95% CI (Wilson)", "not recorded"),
        tuple(rows),
        "Of professional referrals for the two recommendation 19 measures, of all referrals for recommendation 11.",
    )


def time_table(summaries: Sequence[TimeSummary]) -> Table:
    rows = []
    for s in summaries:
        if is_small(s.n):
            rows.append((s.label, MARK, "", "", "", "", str(s.missing)))
            continue
        w = s.within_24h
        within = pct(w.share) if not (is_small(w.successes) or is_small(w.n - w.successes)) else ""
        rows.append(
            (
                s.label,
                str(s.n),
                num(s.median, 1),
                f"{num(s.q1, 1)} to {num(s.q3, 1)}",
                num(s.mean, 1),
                within,
                str(s.missing),
            )
        )
    return Table(
        "table10_decision_time",
        "Time to decision (hours)",
        ("period", "n", "median", "interquartile range", "mean", "within 24 hours", "not recorded"),
        tuple(rows),
    )


def comparison_tables(c: PeriodComparison) -> list[Table]:
    a, b = c.period_a, c.period_b
    prop_rows = []
    for pc in c.proportions:
        cells = []
        for p in (pc.a, pc.b):
            yes, share, _ = _prop_cells(p)
            cells.append(f"{share} ({yes} of {p.n})" if share else f"{yes} of {p.n}")
        if pc.statistic is None:
            test = pc.test
        elif pc.test == "chi-square":
            test = f"chi-square = {pc.statistic:.2f}"
        else:
            test = f"{pc.test}, odds ratio {pc.statistic:.2f}"
        rd = "–"
        if pc.risk_difference is not None and pc.rd_ci_low is not None and pc.rd_ci_high is not None:
            rd = f"{100 * pc.risk_difference:+.1f} ({100 * pc.rd_ci_low:+.1f} to {100 * pc.rd_ci_high:+.1f})"
        prop_rows.append((pc.measure, *cells, test, pval(pc.p_value), pval(pc.p_holm), num(pc.phi, 3), rd))
    dist_rows = [
        (
            dc.measure,
            dc.test,
            num(dc.statistic, 2),
            str(dc.dof) if dc.dof is not None else "–",
            pval(dc.p_value),
            pval(dc.p_holm),
            num(dc.cramers_v, 3),
            num(dc.min_expected, 1),
        )
        for dc in c.distributions
    ]
    time_rows = [
        (
            tc.measure,
            f"{num(tc.a.median, 1)} ({num(tc.a.q1, 1)} to {num(tc.a.q3, 1)}), n={tc.a.n}",
            f"{num(tc.b.median, 1)} ({num(tc.b.q1, 1)} to {num(tc.b.q3, 1)}), n={tc.b.n}",
            tc.test,
            num(tc.u, 1),
            pval(tc.p_value),
            pval(tc.p_holm),
            num(tc.rank_biserial, 3),
        )
        for tc in c.times
    ]
    return [
        Table(
            "table11_compare_proportions",
            f"{a} compared with {b}: proportions",
            ("measure", a, b, "test", "p", "p (Holm)", "phi", f"difference {a} − {b}, points (95% CI)"),
            tuple(prop_rows),
            "Chi-square without continuity correction when every expected count is 5 or more, else Fisher's exact "
            "test. The difference of the shares in percentage points, with Newcombe's interval.",
        ),
        Table(
            "table12_compare_distributions",
            f"{a} compared with {b}: distributions",
            ("measure", "test", "chi-square", "df", "p", "p (Holm)", "Cramér's V", "smallest expected count"),
            tuple(dist_rows),
            f"Categories with no referrals in either period left out; a Monte Carlo p ({MONTE_CARLO_RESAMPLES:,} "
            "tables) where Cochran's rule fails.",
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
) -> ReportContent:
    """The report's sections (tables, figures, method) for ``project``; see :func:`build_report`.

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
        analyses, selections, comparison, vocab, budgets, _links(store, pid, [d for d, _ in doc_list]), doc_list
    )
    meta = {
        "project": project,
        "selection": " and ".join(f"{label} ({len(rows)} records)" for label, rows in selections),
        "generated": (generated_at or datetime.now(UTC)).astimezone().isoformat(timespec="seconds"),
        "store": store.label,
        "schema": schema_revision(store.engine) or "",
        "fingerprint": fingerprint(all_rows),
        "command": command or _command(project, period, compare, out_name, pdf, documents),
        "versions": _versions(),
    }
    sections.insert(0, _method_section(meta, vocab))
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
) -> ReportResult:
    """Write the report for ``project`` to ``out`` (HTML), its data folder beside it, and the PDF if asked.

    ``period`` limits it to one period; with ``compare`` too, the two periods are shown side by side and
    tested against each other. ``documents`` picks the coded documents (default: all of the project's).

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
    )
    sections, meta = content.sections, content.meta
    data_dir = out_path.with_name(out_path.stem + "_data")
    files = _write_data(data_dir, sections)
    out_path.write_text(render_html(sections, meta, data_dir.name), encoding="utf-8")
    pdf_path = None
    if pdf:
        from annotation.report_pdf import render_pdf

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
    from annotation.video_stats import code_stats

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
) -> str:
    """The ``frontdoor report`` command line that makes this report again, quoted for a POSIX shell."""
    parts = ["frontdoor", "report", "--project", project]
    if period:
        parts += ["--period", period]
    if compare:
        parts += ["--compare", compare]
    parts += ["--out", out] + (["--pdf"] if pdf else [])
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
) -> list[Section]:
    prof = {c: ("yes" if vocab.is_professional(c) else "no") for c in vocab.referrer_types}
    out = []
    s = Section("referrals", "Who referred, about what, and the response")
    s.paragraphs.append(
        "; ".join(
            f"{a.label}: {a.n} referrals, {pct(a.referrer_group.count(PROFESSIONAL) / a.n if a.n else 0)} "
            "from professionals"
            for a in analyses
        )
        + "."
    )
    s.tables += [
        frequency_table(
            "table01_referrer_type",
            "Referrals by referrer type",
            "referrer type",
            [_renamed(a.referrer_type, a.label) for a in analyses],
            prof,
        ),
        frequency_table(
            "table02_referrer_group",
            "Referrals by referrer group",
            "referrer group",
            [_renamed(a.referrer_group, a.label) for a in analyses],
        ),
        frequency_table(
            "table03_concern",
            "Referrals by the concern as stated",
            "concern",
            [_renamed(a.concern, a.label) for a in analyses],
        ),
        frequency_table(
            "table04_response", "Referrals by response", "response", [_renamed(a.response, a.label) for a in analyses]
        ),
        frequency_table(
            "table05_outcome", "Referrals by outcome", "outcome", [_renamed(a.outcome, a.label) for a in analyses]
        ),
        frequency_table(
            "table06_age_band",
            "Referrals by the child's age band",
            "age band",
            [_renamed(a.age_band, a.label) for a in analyses],
        ),
    ]
    s.figures += [figs.referrer_figure(analyses, vocab), figs.concern_figure(analyses)]
    out.append(s)

    s = Section("cross-tabs", "Referrer and response")
    for i, a in enumerate(analyses):
        suffix = f": {a.label}" if len(analyses) > 1 else ""
        s.tables.append(
            crosstab_table(
                f"table07{'ab'[i]}_referrer_by_response", f"Referrer type by response{suffix}", a.referrer_by_response
            )
        )
        s.tables.append(
            crosstab_table(
                f"table08{'ab'[i]}_group_by_response", f"Referrer group by response{suffix}", a.group_by_response
            )
        )
    s.figures.append(figs.response_figure(analyses))
    out.append(s)

    s = Section("laming", "Professional referrals: assessment and feedback (Laming recommendation 19)")
    s.paragraphs.append(
        "Recommendation 19 asks that a referral from a professional is followed by an initial assessment and that "
        "the referrer is told what happens. Recommendation 11 asks that a manager or senior practitioner is "
        "available to consult."
    )
    s.tables.append(laming_table(analyses))
    s.figures.append(figs.laming_figure(analyses))
    out.append(s)

    s = Section("decision-time", "Time to decision")
    s.tables.append(time_table([a.decision_time for a in analyses]))
    s.figures.append(figs.decision_time_figure([(label, rows) for label, rows in selections]))
    out.append(s)

    if comparison is not None:
        s = Section("comparison", f"{comparison.period_a} compared with {comparison.period_b}")
        s.paragraphs.append(
            "Each measure is tested separately; the Holm column adjusts the p-values for the number of tests in "
            "this section. Effect sizes are given with every test: a small p-value with a tiny effect is not a "
            "practical difference."
        )
        s.tables += comparison_tables(comparison)
        out.append(s)

    out.append(_video_section(budgets, links, docs))
    return out


def _renamed(f: Frequency, label: str) -> Frequency:
    return Frequency(label, f.total, f.counts)


def _video_section(
    budgets: Sequence[tuple[str, Sequence[Any]]], links: Sequence[tuple[int, int, int]], docs: Sequence[tuple[int, str]]
) -> Section:
    s = Section("video", "Coded video: time budgets and referrals observed")
    if not docs:
        s.paragraphs.append("The project has no coded video documents.")
        return s
    s.paragraphs.append(
        "Time budgets from annotation.video_stats.code_stats: per tier and code, the number of segments, their "
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


def _method_section(meta: dict[str, str], vocab: Vocabularies) -> Section:
    s = Section("method", "Method")
    prof = ", ".join(r for r in vocab.referrer_types if vocab.is_professional(r))
    nonprof = ", ".join(r for r in vocab.referrer_types if vocab.is_professional(r) is False)
    s.paragraphs += [
        f"Data: the referral records of project {meta['project']} in the Frontdoor store ({meta['selection']}). "
        "Records were sampled from the authority's case records and hold no names, dates of birth, addresses or "
        "identifying numbers; their free-text notes are not used in this report.",
        f"Professional referrers: {prof}. Non-professional: {nonprof}.",
        "Shares in the frequency tables are of all referrals in the period; a value that was not recorded is counted "
        "as 'not recorded'. The recommendation 19 shares are of professional referrals where the item was recorded; "
        "each share has a 95% Wilson score interval. Time to decision runs from the referral's receipt to the "
        "decision on it, in hours; quartiles are linearly interpolated.",
        "Two periods are compared with Pearson's chi-square test (no continuity correction) for yes/no measures when "
        "every expected count is at least 5 and Fisher's exact test otherwise, with phi and the risk difference "
        "(Newcombe's hybrid score interval); with the chi-square test of the period × category table for "
        "distributions, with Cramér's V (a Monte Carlo p-value when Cochran's rule fails); and with the two-sided "
        "Mann-Whitney U test for time to decision, with the rank-biserial correlation. P-values are also shown "
        "adjusted by Holm's method for the number of tests.",
        f"Small cells: in the tables, counts of 1 to {THRESHOLD - 1} referrals are shown as '{MARK}' and a further "
        f"cell is hidden ('{SECONDARY}') where a total would otherwise give a hidden count away; shares of hidden "
        "counts are left blank. The plots and the CSV files of their numbers are not suppressed: they are for the "
        "research team, not for publication.",
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


def _write_data(data_dir: Path, sections: Sequence[Section]) -> list[Path]:
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
        "table*.csv: the report's tables as published (counts of 1 to 4 referrals suppressed).\n"
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
        f"<title>Referral report: {_esc(meta['project'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Referral report: {_esc(meta['project'])}</h1>",
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
