"""What the report says: its sections in order, the method section and the coded video's tables.

:func:`report_sections` turns the analyses of one or two selections (:mod:`annotation.records.analysis`),
the coded-video time budgets and the record-to-segment links into :class:`~annotation.report.model.Section`
objects; :func:`method_section` writes the method from the report's metadata. Nothing here reads the store
or writes a file: the builder gathers the data and the writers lay it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotation.elan import REFERRAL_SCHEME
from annotation.records import (
    MARK,
    OPEN_MARK,
    PROFESSIONAL,
    SECONDARY,
    THRESHOLD,
    Frequency,
    PeriodComparison,
    RecordAnalysis,
    RecordView,
    Vocabularies,
    is_small,
)
from annotation.report import figures as figs
from annotation.report.disclosure import Hiding, Plan
from annotation.report.model import Section, Table, shown_text
from annotation.report.recoding import describe
from annotation.report.tables import (
    comparison_tables,
    crosstab_table,
    frequency_table,
    laming_table,
    num,
    pct,
    publication_comparison,
    safe_tests,
    time_table,
)
from media_tools.clock import clock_text

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


#: What each version is for: shown under the report's title and at the head of the method.
AUDIENCE_RESEARCH = "For the research team: contains unsuppressed plots and statistics — not for publication."
AUDIENCE_PUBLICATION = "For publication: small cells suppressed, no plots."


def report_sections(
    analyses: Sequence[RecordAnalysis],
    selections: Sequence[tuple[str, Sequence[RecordView]]],
    comparison: PeriodComparison | None,
    vocab: Vocabularies,
    budgets: Sequence[tuple[str, Sequence[Any]]],
    links: Sequence[tuple[int, int, int]],
    docs: Sequence[tuple[int, str]],
    publication: bool = False,
    *,
    hidden: Sequence[Hiding],
) -> list[Section]:
    """The report's sections. With ``publication``: no plots, no test statistics, p-values or effect sizes,
    the "not recorded" counts suppressed like the others, and only the tables meant for publication.
    ``hidden[k]`` is what selection ``k``'s tables hide
    (:func:`annotation.report.disclosure.plan_hiding`)."""
    prof = {c: ("yes" if vocab.is_professional(c) else "no") for c in vocab.referrer_types}
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
    withheld = hidden[0].withheld if hidden else frozenset()
    s.tables.append(time_table([a.decision_time for a in analyses], publication=publication, withheld=withheld))
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
            s.tables += publication_comparison(comparison, hidden)
            out.append(s)
            out.append(_video_section(budgets, links, docs, publication=True))
            return out
        s.paragraphs.append(
            "Each measure is tested separately; the Holm column adjusts the p-values for the number of tests in "
            "this section. Effect sizes are given with every test: a small p-value with a tiny effect is not a "
            "practical difference."
        )
        s.tables += comparison_tables(safe_tests(comparison, hidden), hidden)
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
            (
                st.tier,
                st.value,
                str(st.count),
                clock_text(st.total_ms, digits=0, hours="always"),
                num(st.mean_ms / 1000, 1),
                pct(st.share),
            )
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


def method_section(
    meta: dict[str, str],
    vocab: Vocabularies,
    publication: bool = False,
    sections: Sequence[Section] = (),
    plan: Plan | None = None,
) -> Section:
    """The method, from the report's metadata; with ``sections`` and ``plan``, the information loss of each
    table and how the hidden counts were chosen."""
    s = Section("method", "Method")
    prof = ", ".join(r for r in vocab.referrer_types if vocab.is_professional(r))
    nonprof = ", ".join(r for r in vocab.referrer_types if vocab.is_professional(r) is False)
    rule = (
        f"Small cells: no count of 1 to {THRESHOLD - 1} referrals is shown. A hidden count is marked '{MARK}' "
        f"(0 to {THRESHOLD - 1}: every count of 1 to {THRESHOLD - 1}, and a zero where hiding it protects another) "
        f"or, in tables 1 to 8, '{OPEN_MARK}' (any other hidden count, and every hidden inner cell of a "
        f"cross-tabulation: any number from 0 up); tables 9 to 13 mark a hidden count of {THRESHOLD} or more "
        f"'{SECONDARY}'. The further counts to hide are "
        "chosen by optimisation over tables 1 to 8 of all records and of every period of the project together, "
        "the same for every report of the project, so that reports of different periods and of all records can be "
        "read side by side: from everything they publish and the sums that tie them (a row and its total, a "
        "period's table and the all-records table), each hidden count of 1 to 4 can still be any of 1, 2, 3 or 4 "
        "(checked by linear programming; where the published totals allow no more, any of at least four values), "
        "and as few referrals as possible are hidden. The one-way tables are chosen first (each within a tenth of "
        "its referrals where the arithmetic allows, a count of 20 or more only where a small count has no other "
        "partner; where hiding alone cannot keep that, categories are first combined), then the cross-tabulations' "
        "inner cells with those margins fixed, so the cross-tabulations "
        "absorb the protection; a total is never hidden. Shares of hidden counts are left blank."
    )
    if publication:
        tests = (
            "Two periods are shown side by side (shares, and medians with the interquartile range). This version "
            "publishes no test statistic, p-value or effect size at all, not only those computed from a hidden "
            "count: every test uses all the cells of its table, and its result would let a reader try the few "
            "possible values of a hidden count. The research team's version has them."
        )
        small = rule + (
            " 'Not recorded' counts are suppressed like the others: where it or the number recorded is 1 to 4, both "
            "are hidden (they add up to a published count). A measure of the recommendation 19 and 11 table, the "
            "times recorded of the time table and the share decided within 24 hours are hidden in every period and "
            "in all records where any of their counts (yes, no, not recorded) is 1 to 4 in any of them: the "
            "periods add up to all records, so hiding it in one alone would let the others give it back. There "
            "are no plots, and the coded video's tables are left out (they are not suppressed)."
        )
    else:
        tests = (
            "Two periods are compared with Pearson's chi-square test (no continuity correction) for yes/no measures "
            "when every expected count is at least 5 and Fisher's exact test otherwise, with phi and the risk "
            "difference (Newcombe's hybrid score interval); with the chi-square test of the period × category table "
            "for distributions, with Cramér's V (a Monte Carlo p-value when Cochran's rule fails); and with the "
            "two-sided Mann-Whitney U test for time to decision, with the rank-biserial correlation. P-values are "
            "also shown adjusted by Holm's method for the number of tests shown. No test result rests on a hidden "
            "count: a yes/no measure with a hidden count shows no statistic or p-value; a distribution is tested "
            "with the categories hidden in either period pooled into one (counts a reader can work out from the "
            "tables, so the statistic gives nothing more away), and not at all where its 'not recorded' count is "
            "hidden; time to decision is not tested when a period has fewer than 5 times."
        )
        small = rule + (
            " The plots and the CSV files of their numbers, the 'not recorded' counts and the coded video's tables "
            "are not suppressed: this version is for the research team, not for publication (write that with "
            "--publication)."
        )
    loss = _loss_paragraph(sections, plan)
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
        *([_recoding_paragraph(plan)] if plan is not None and plan.recodings else []),
        *([loss] if loss else []),
        f"Reproduce: {meta['command']} (store {meta['store']}, schema {meta['schema']}). Records fingerprint "
        f"{meta['fingerprint'][:16]}; software: {meta['versions']}.",
    ]
    return s


def _recoding_paragraph(plan: Plan) -> str:
    """The categories combined before any count was hidden, and why."""
    return (
        "Combined categories: where hiding counts alone would have hidden a count of 20 or more, or over a tenth "
        "of a frequency table's referrals, a small category was combined with another (global recoding) before "
        "the counts to hide were chosen. The combination holds in every table, period and report of the "
        "project, the cross-tabulations' rows and columns included, so no two published figures can be "
        "subtracted to split it: " + "; ".join(describe(rc) for rc in plan.recodings) + "."
    )


def _loss_paragraph(sections: Sequence[Section], plan: Plan | None) -> str:
    """Information loss: per table of counts, the share of its referrals in the cells it shows."""
    parts = []
    for sec in sections:
        for t in sec.tables:
            if not t.shown:
                continue
            labels = tuple(h[3:-1] for h in t.header if h.startswith("n (") and h.endswith(")"))
            parts.append(f"{t.title}: {shown_text(t, labels)}")
    if not parts:
        return ""
    how = ""
    if plan is not None:
        how = (
            f" The hidden counts were found in {plan.seconds:.1f} s"
            + ("" if all(m == "optimal" for m in plan.methods) else " (partly by the fall-back heuristic)")
            + "."
        )
    return (
        "Information loss (the share of each table's referrals in the cells it shows): " + "; ".join(parts) + "." + how
    )
