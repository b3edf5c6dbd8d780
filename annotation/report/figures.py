"""The report's plots, drawn with matplotlib (no pyplot, no GUI backend) to read in greyscale print.

Periods and groups are told apart by fill (dark grey or white), hatching, marker shape and line style,
never by colour alone. Each plot comes with the numbers it draws (``csv_header``/``csv_rows``), which the
report writes beside it. SVG output is made reproducible (a fixed hash salt, no date), so the same store
gives the same files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from annotation.records import NON_PROFESSIONAL, PROFESSIONAL, RecordAnalysis, RecordLike, Vocabularies

_RC: Any = {  # matplotlib types the keys as a Literal of every rc name
    "svg.hashsalt": "frontdoor-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.7,
    "hatch.color": "black",
    "legend.frameon": False,
}
#: (fill, hatch, marker, line style) per series: period A, period B, a third.
SERIES = (("0.3", "", "o", "-"), ("white", "////", "s", "--"), ("0.75", "..", "^", ":"))
DPI = 200


@dataclass(frozen=True)
class FigureOut:
    key: str
    title: str
    caption: str
    svg: bytes
    png: bytes
    csv_header: tuple[str, ...]
    csv_rows: tuple[tuple[Any, ...], ...]


def _render(fig: Figure) -> tuple[bytes, bytes]:
    svg, png = io.BytesIO(), io.BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None})
    fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
    return svg.getvalue(), png.getvalue()


def _out(
    key: str, title: str, caption: str, fig: Figure, header: Sequence[str], rows: Sequence[Sequence[Any]]
) -> FigureOut:
    svg, png = _render(fig)
    return FigureOut(key, title, caption, svg, png, tuple(header), tuple(tuple(r) for r in rows))


def _hbars(ax: Any, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, xlabel: str) -> None:
    """Grouped horizontal bars, the first category at the top."""
    n = len(series)
    height = 0.8 / n
    y = np.arange(len(labels))[::-1].astype(float)
    for i, (name, values) in enumerate(series):
        fill, hatch, _, _ = SERIES[i % len(SERIES)]
        ax.barh(
            y + (n - 1 - 2 * i) * height / 2,
            values,
            height=height,
            color=fill,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.6,
            label=name,
        )
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", length=0)
    if n > 1:
        ax.legend(loc="lower right")


def referrer_figure(analyses: Sequence[RecordAnalysis], vocab: Vocabularies) -> FigureOut:
    with matplotlib.rc_context(_RC):
        cats = [c.category for c in analyses[0].referrer_type.counts]
        prof = [c for c in cats if vocab.is_professional(c) is True]
        order = prof + [c for c in cats if c not in prof]
        labels = [f"{c} (P)" if c in prof else c for c in order]
        fig = Figure(figsize=(6.3, 0.28 * len(order) + 1.2), layout="constrained")
        ax = fig.add_subplot()
        _hbars(ax, labels, [(a.label, [a.referrer_type.count(c) for c in order]) for a in analyses], xlabel="referrals")
        ax.axhline(len(order) - len(prof) - 0.5, color="black", linewidth=0.6, linestyle=":")
        ax.set_title("Referrals by referrer type ((P) = professional)")
        rows = [
            (a.label, c, "yes" if c in prof else "no", a.referrer_type.count(c), _share(a.referrer_type.count(c), a.n))
            for a in analyses
            for c in order
        ]
        return _out(
            "fig01_referrer_type",
            "Referrals by referrer type",
            "Professional referrers above the dotted line.",
            fig,
            ("period", "referrer_type", "professional", "count", "share"),
            rows,
        )


def _share(k: int, n: int) -> float:
    return round(k / n, 6) if n else 0.0


def concern_figure(analyses: Sequence[RecordAnalysis]) -> FigureOut:
    with matplotlib.rc_context(_RC):
        cats = [c.category for c in analyses[0].concern.counts]
        fig = Figure(figsize=(6.3, 0.26 * len(cats) + 1.2), layout="constrained")
        ax = fig.add_subplot()
        _hbars(ax, cats, [(a.label, [a.concern.count(c) for c in cats]) for a in analyses], xlabel="referrals")
        ax.set_title("Referrals by the concern as stated")
        rows = [(a.label, c, a.concern.count(c), _share(a.concern.count(c), a.n)) for a in analyses for c in cats]
        return _out("fig02_concern", "Referrals by concern", "", fig, ("period", "concern", "count", "share"), rows)


def response_figure(analyses: Sequence[RecordAnalysis]) -> FigureOut:
    """Share of each response within professional and non-professional referrals, one panel per period."""
    with matplotlib.rc_context(_RC):
        cols = list(analyses[0].group_by_response.cols)
        fig = Figure(figsize=(6.3, 0.3 * len(cols) * len(analyses) + 1.4), layout="constrained")
        rows: list[tuple[Any, ...]] = []
        axes = fig.subplots(len(analyses), 1, squeeze=False, sharex=True)
        for ax, a in zip(axes[:, 0], analyses, strict=True):
            t = a.group_by_response
            series = []
            for g in (PROFESSIONAL, NON_PROFESSIONAL):
                if g not in t.rows:
                    continue
                total = t.row_totals[t.rows.index(g)]
                shares = [t.cell(g, c) / total if total else 0.0 for c in cols]
                series.append((f"{g} (n={total})", shares))
                rows += [(a.label, g, c, t.cell(g, c), total, _share(t.cell(g, c), total)) for c in cols]
            _hbars(ax, cols, series, xlabel="share of the group's referrals")
            ax.set_title(f"Response by referrer group: {a.label}")
            ax.set_xlim(0, 1)
        return _out(
            "fig03_response_by_group",
            "Response by referrer group",
            "Shares within each group; dark bars professional, hatched bars non-professional.",
            fig,
            ("period", "referrer_group", "response", "count", "group_total", "share_of_group"),
            rows,
        )


def laming_figure(analyses: Sequence[RecordAnalysis]) -> FigureOut:
    """The recommendation 19 (and 11) shares with 95% intervals, one marker shape per period."""
    with matplotlib.rc_context(_RC):
        names = (
            ("ia_after_professional", "initial assessment after\na professional referral (rec. 19)"),
            ("feedback_to_professional", "feedback to the\nprofessional referrer (rec. 19)"),
            ("manager_consulted", "manager or senior\npractitioner consulted (rec. 11)"),
        )
        fig = Figure(figsize=(6.3, 2.6), layout="constrained")
        ax = fig.add_subplot()
        k = len(analyses)
        rows = []
        for i, a in enumerate(analyses):
            _, _, marker, style = SERIES[i % len(SERIES)]
            for j, (attr, _label) in enumerate(names):
                p = getattr(a, attr)
                y = len(names) - 1 - j + (k - 1 - 2 * i) * 0.12
                if p.share is not None:
                    ax.plot([p.ci_low, p.ci_high], [y, y], color="black", linestyle=style, linewidth=1)
                    ax.plot(
                        [p.share],
                        [y],
                        marker=marker,
                        markersize=7,
                        markerfacecolor="black" if i == 0 else "white",
                        markeredgecolor="black",
                        linestyle="none",
                        label=a.label if j == 0 else None,
                    )
                rows.append((a.label, p.label, p.successes, p.n, p.missing, p.share, p.ci_low, p.ci_high))
        ax.set_yticks(range(len(names))[::-1], [lbl for _, lbl in names])
        ax.set_xlim(0, 1)
        ax.set_xlabel("share, with 95% Wilson interval")
        ax.grid(axis="x", color="0.85", linewidth=0.5)
        if k > 1 and ax.get_legend_handles_labels()[0]:  # a period with no share recorded has no marker
            ax.legend(loc="lower right")
        ax.set_title("Laming recommendations 19 and 11")
        return _out(
            "fig04_laming",
            "Laming recommendations 19 and 11",
            "Points are shares, lines their 95% intervals.",
            fig,
            ("period", "measure", "yes", "n", "not_recorded", "share", "ci_low", "ci_high"),
            rows,
        )


def decision_time_figure(selections: Sequence[tuple[str, Sequence[RecordLike]]]) -> FigureOut:
    """Empirical cumulative distribution of the hours to decision, one line style per period."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.3, 3.0), layout="constrained")
        ax = fig.add_subplot()
        rows: list[tuple[Any, ...]] = []
        for i, (label, recs) in enumerate(selections):
            _, _, marker, style = SERIES[i % len(SERIES)]
            hours = np.sort([r.decision_minutes / 60 for r in recs if r.decision_minutes is not None])
            if not len(hours):
                continue
            cum = np.arange(1, len(hours) + 1) / len(hours)
            ax.step(
                hours,
                cum,
                where="post",
                color="black",
                linestyle=style,
                linewidth=1.2,
                label=f"{label} (n={len(hours)})",
            )
            med = float(np.median(hours))
            ax.plot(
                [med], [0.5], marker=marker, color="black", markerfacecolor="white" if i else "black", linestyle="none"
            )
            rows += [(label, round(float(h), 6), round(float(c), 6)) for h, c in zip(hours, cum, strict=True)]
        ax.axvline(24, color="black", linestyle=":", linewidth=0.8)
        ax.text(24, 0.02, " 24 h", fontsize=7.5)
        ax.set_xscale("log")
        ax.set_xlabel("hours from referral to decision (log scale)")
        ax.set_ylabel("share decided")
        ax.set_ylim(0, 1.02)
        ax.grid(color="0.88", linewidth=0.5)
        ax.legend(loc="upper left")
        ax.set_title("Time to decision")
        return _out(
            "fig05_decision_time",
            "Time to decision",
            "Cumulative share of referrals decided by each time; markers at the medians.",
            fig,
            ("period", "hours", "cumulative_share"),
            rows,
        )


def time_budget_figure(budgets: Sequence[tuple[str, Sequence[Any]]], tier: str) -> FigureOut | None:
    """Share of recording time per value of ``tier``, one bar style per coded document."""
    values: list[str] = []
    for _, stats in budgets:
        for s in stats:
            if s.tier == tier and s.value not in values:
                values.append(s.value)
    if not values:
        return None
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.3, 0.3 * len(values) * max(1, len(budgets)) / 1.5 + 1.3), layout="constrained")
        ax = fig.add_subplot()
        series = []
        rows = []
        for name, stats in budgets:
            by_value = {s.value: s for s in stats if s.tier == tier}
            series.append((name, [by_value[v].share if v in by_value else 0.0 for v in values]))
            rows += [
                (name, tier, v, s.count, s.total_ms, round(s.mean_ms, 3), round(s.share, 6))
                for v in values
                if (s := by_value.get(v)) is not None
            ]
        _hbars(ax, values, series, xlabel="share of the recording's time")
        ax.set_title(f"Coded video time budget: {tier}")
        return _out(
            "fig06_time_budget",
            f"Coded video time budget: {tier}",
            "One bar style per coded recording.",
            fig,
            ("document", "tier", "value", "count", "total_ms", "mean_ms", "share"),
            rows,
        )
