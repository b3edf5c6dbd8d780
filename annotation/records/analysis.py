"""Statistics of referral records: counts and proportions, cross-tabulations, the Laming recommendation 19
measures, time to decision, and a comparison of two periods.

Definitions (the report's method section says the same):

- Shares in frequency tables are of all records in the selection; a field not recorded is its own
  category ("not recorded"), so the shares add up to one.
- Laming recommendation 19: of the referrals from professionals, the share that led to an initial
  assessment and the share whose referrer got feedback; referrals where that was not recorded are left
  out of that share's denominator. The same for a manager or senior practitioner consulted (of all
  referrals; recommendation 11). Each share has a 95% Wilson score interval.
- Time to decision is in hours: median, quartiles (linear interpolation, numpy's default) and mean, and
  the share decided within 24 hours (the one-working-day rule).
- Two periods A and B are compared with: for a yes/no measure, Pearson's chi-square test (no continuity
  correction) when every expected count of the 2×2 table is at least 5, otherwise Fisher's exact test
  (two-sided); effect sizes phi and the risk difference A − B with Newcombe's hybrid score interval. For a
  distribution (response, concern, referrer type), the chi-square test of the period × category table,
  with Cramér's V; categories with no referrals in either period are left out, and when Cochran's rule
  fails (an expected count below 1, or more than a fifth below 5) the p-value is a Monte Carlo estimate
  (9,999 random tables with the same margins, seeded). For time to decision, the Mann-Whitney U test
  (two-sided) with the rank-biserial correlation r = 2U/(n_A n_B) − 1, positive when A's decisions
  take longer. The comparison's p-values are also given adjusted for the number of tests (Holm).

Functions take plain :class:`annotation.records.referrals.RecordView` rows (or anything with the same attributes)
and return frozen dataclasses; nothing here touches the store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from annotation.records.referrals import Vocabularies

NOT_RECORDED = "not recorded"
PROFESSIONAL = "professional"
NON_PROFESSIONAL = "non-professional"
Z95 = 1.959963984540054
MONTE_CARLO_RESAMPLES = 9999


class RecordLike(Protocol):
    @property
    def period(self) -> str: ...
    @property
    def referrer_type(self) -> str: ...
    @property
    def professional(self) -> bool | None: ...
    @property
    def concern(self) -> str: ...
    @property
    def age_band(self) -> str | None: ...
    @property
    def response(self) -> str | None: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def decision_minutes(self) -> int | None: ...
    @property
    def initial_assessment(self) -> bool | None: ...
    @property
    def feedback(self) -> bool | None: ...
    @property
    def manager_consulted(self) -> bool | None: ...


# ---- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    category: str
    count: int
    share: float


@dataclass(frozen=True)
class Frequency:
    """Counts of one field's categories (vocabulary order, then "not recorded" when any)."""

    field: str
    total: int
    counts: tuple[Count, ...]

    def count(self, category: str) -> int:
        return next((c.count for c in self.counts if c.category == category), 0)


@dataclass(frozen=True)
class CrossTab:
    row_field: str
    col_field: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def row_totals(self) -> tuple[int, ...]:
        return tuple(sum(r) for r in self.counts)

    @property
    def col_totals(self) -> tuple[int, ...]:
        return tuple(sum(r[j] for r in self.counts) for j in range(len(self.cols)))

    @property
    def total(self) -> int:
        return sum(self.row_totals)

    def cell(self, row: str, col: str) -> int:
        return self.counts[self.rows.index(row)][self.cols.index(col)]


@dataclass(frozen=True)
class Proportion:
    """``successes`` of ``n`` with a 95% Wilson interval; ``missing`` records had no value. Share None if n=0."""

    label: str
    successes: int
    n: int
    missing: int
    share: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class TimeSummary:
    """Time to decision in hours over ``n`` records (``missing`` had none)."""

    label: str
    n: int
    missing: int
    median: float | None
    q1: float | None
    q3: float | None
    mean: float | None
    within_24h: Proportion


@dataclass(frozen=True)
class RecordAnalysis:
    label: str
    n: int
    referrer_type: Frequency
    referrer_group: Frequency
    concern: Frequency
    response: Frequency
    outcome: Frequency
    age_band: Frequency
    referrer_by_response: CrossTab
    group_by_response: CrossTab
    ia_after_professional: Proportion
    feedback_to_professional: Proportion
    manager_consulted: Proportion
    decision_time: TimeSummary


@dataclass(frozen=True)
class ProportionComparison:
    measure: str
    a: Proportion
    b: Proportion
    test: str
    statistic: float | None
    p_value: float | None
    phi: float | None
    risk_difference: float | None
    rd_ci_low: float | None
    rd_ci_high: float | None
    min_expected: float | None
    p_holm: float | None = None


@dataclass(frozen=True)
class DistributionComparison:
    measure: str
    table: CrossTab
    test: str
    statistic: float | None
    dof: int | None
    p_value: float | None
    cramers_v: float | None
    min_expected: float | None
    p_holm: float | None = None


@dataclass(frozen=True)
class TimeComparison:
    measure: str
    a: TimeSummary
    b: TimeSummary
    test: str
    u: float | None
    p_value: float | None
    rank_biserial: float | None
    p_holm: float | None = None


@dataclass(frozen=True)
class PeriodComparison:
    period_a: str
    period_b: str
    proportions: tuple[ProportionComparison, ...]
    distributions: tuple[DistributionComparison, ...]
    times: tuple[TimeComparison, ...]


# ---- one selection ------------------------------------------------------------------------------------


def group_of(r: RecordLike) -> str:
    if r.professional is None:
        return NOT_RECORDED
    return PROFESSIONAL if r.professional else NON_PROFESSIONAL


def frequency(
    rows: Sequence[RecordLike], field: str, categories: Sequence[str], key: Callable[[Any], str | None] | None = None
) -> Frequency:
    get = key or (lambda r: getattr(r, field))
    tally: dict[str, int] = dict.fromkeys(categories, 0)
    missing = 0
    for r in rows:
        v = get(r)
        if v is None:
            missing += 1
        else:
            tally[v] = tally.get(v, 0) + 1
    if missing:
        tally[NOT_RECORDED] = tally.get(NOT_RECORDED, 0) + missing
    n = len(rows)
    return Frequency(field, n, tuple(Count(c, k, k / n if n else 0.0) for c, k in tally.items()))


def crosstab(
    rows: Sequence[Any],
    row_key: Callable[[Any], str | None],
    col_key: Callable[[Any], str | None],
    row_cats: Sequence[str],
    col_cats: Sequence[str],
    names: tuple[str, str],
) -> CrossTab:
    """A table of counts; a missing value counts under "not recorded" (added only when it occurs)."""
    r_cats, c_cats = list(row_cats), list(col_cats)
    cells: dict[tuple[str, str], int] = {}
    for r in rows:
        a, b = row_key(r) or NOT_RECORDED, col_key(r) or NOT_RECORDED
        if a not in r_cats:
            r_cats.append(a)
        if b not in c_cats:
            c_cats.append(b)
        cells[a, b] = cells.get((a, b), 0) + 1
    return CrossTab(
        names[0],
        names[1],
        tuple(r_cats),
        tuple(c_cats),
        tuple(tuple(cells.get((a, b), 0) for b in c_cats) for a in r_cats),
    )


def wilson(successes: int, n: int) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval of successes/n."""
    if n == 0:
        return None, None
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(label: str, values: Sequence[bool | None]) -> Proportion:
    known = [v for v in values if v is not None]
    k, n = sum(1 for v in known if v), len(known)
    lo, hi = wilson(k, n)
    return Proportion(label, k, n, len(values) - n, k / n if n else None, lo, hi)


def time_summary(label: str, rows: Sequence[RecordLike]) -> TimeSummary:
    minutes = [r.decision_minutes for r in rows if r.decision_minutes is not None]
    hours = np.asarray(minutes, dtype=float) / 60.0
    within = proportion("decided within 24 hours", [m <= 24 * 60 for m in minutes])
    if not len(hours):
        return TimeSummary(label, 0, len(rows), None, None, None, None, within)
    q1, med, q3 = (float(x) for x in np.percentile(hours, [25, 50, 75]))
    return TimeSummary(label, len(hours), len(rows) - len(hours), med, q1, q3, float(hours.mean()), within)


def analyse(rows: Sequence[RecordLike], vocab: Vocabularies, label: str = "all records") -> RecordAnalysis:
    """Every descriptive statistic of one selection of records."""
    prof = [r for r in rows if r.professional is True]
    groups = (PROFESSIONAL, NON_PROFESSIONAL)
    return RecordAnalysis(
        label=label,
        n=len(rows),
        referrer_type=frequency(rows, "referrer_type", vocab.referrer_types),
        referrer_group=frequency(rows, "referrer_group", groups, key=lambda r: group_of(r)),
        concern=frequency(rows, "concern", vocab.concerns),
        response=frequency(rows, "response", vocab.responses),
        outcome=frequency(rows, "outcome", vocab.outcomes),
        age_band=frequency(rows, "age_band", vocab.age_bands),
        referrer_by_response=crosstab(
            rows,
            lambda r: r.referrer_type,
            lambda r: r.response,
            vocab.referrer_types,
            vocab.responses,
            ("referrer_type", "response"),
        ),
        group_by_response=crosstab(
            rows, group_of, lambda r: r.response, groups, vocab.responses, ("referrer_group", "response")
        ),
        ia_after_professional=proportion(
            "initial assessment after a professional referral", [r.initial_assessment for r in prof]
        ),
        feedback_to_professional=proportion("feedback to the professional referrer", [r.feedback for r in prof]),
        manager_consulted=proportion("manager or senior practitioner consulted", [r.manager_consulted for r in rows]),
        decision_time=time_summary(label, rows),
    )


# ---- two periods --------------------------------------------------------------------------------------


def newcombe(a: Proportion, b: Proportion) -> tuple[float | None, float | None, float | None]:
    """Risk difference a − b with Newcombe's hybrid score 95% interval (method 10)."""
    if a.share is None or b.share is None or a.ci_low is None or b.ci_low is None:
        return None, None, None
    assert a.ci_high is not None and b.ci_high is not None
    d = a.share - b.share
    lo = d - math.sqrt((a.share - a.ci_low) ** 2 + (b.ci_high - b.share) ** 2)
    hi = d + math.sqrt((a.ci_high - a.share) ** 2 + (b.share - b.ci_low) ** 2)
    return d, lo, hi


def compare_proportions(measure: str, a: Proportion, b: Proportion) -> ProportionComparison:
    from scipy import stats

    table = np.array([[a.successes, a.n - a.successes], [b.successes, b.n - b.successes]], dtype=float)
    d, lo, hi = newcombe(a, b)
    if a.n == 0 or b.n == 0 or table.sum(axis=0).min() == 0:
        return ProportionComparison(
            measure, a, b, "not tested (a row or column is empty)", None, None, None, d, lo, hi, None
        )
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    min_exp = float(expected.min())
    (ta, tb), (tc, td) = table
    phi = float((ta * td - tb * tc) / math.sqrt(table.sum(axis=1).prod() * table.sum(axis=0).prod()))
    if min_exp >= 5:
        res = stats.chi2_contingency(table, correction=False)
        return ProportionComparison(
            measure, a, b, "chi-square", float(res.statistic), float(res.pvalue), phi, d, lo, hi, min_exp
        )
    res = stats.fisher_exact(table.astype(int), alternative="two-sided")
    return ProportionComparison(
        measure, a, b, "Fisher's exact", float(res.statistic), float(res.pvalue), phi, d, lo, hi, min_exp
    )


def compare_distribution(measure: str, table: CrossTab, *, seed: int = 19) -> DistributionComparison:
    """Chi-square test of a period × category table (zero categories dropped), with Cramér's V."""
    from scipy import stats

    keep = [j for j, t in enumerate(table.col_totals) if t > 0]
    obs = np.array([[row[j] for j in keep] for row in table.counts], dtype=float)
    trimmed = CrossTab(
        table.row_field,
        table.col_field,
        table.rows,
        tuple(table.cols[j] for j in keep),
        tuple(tuple(int(x) for x in row) for row in obs),
    )
    if obs.shape[1] < 2 or (obs.sum(axis=1) == 0).any():
        return DistributionComparison(
            measure, trimmed, "not tested (fewer than two categories)", None, None, None, None, None
        )
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / obs.sum()
    min_exp = float(expected.min())
    res = stats.chi2_contingency(obs, correction=False)
    chi2 = float(res.statistic)
    v = math.sqrt(chi2 / (obs.sum() * (min(obs.shape) - 1)))
    cochran = min_exp >= 1 and (expected < 5).mean() <= 0.2
    if cochran:
        return DistributionComparison(measure, trimmed, "chi-square", chi2, int(res.dof), float(res.pvalue), v, min_exp)
    mc = stats.chi2_contingency(
        obs.astype(int),
        correction=False,
        method=stats.MonteCarloMethod(n_resamples=MONTE_CARLO_RESAMPLES, rng=np.random.default_rng(seed)),
    )
    return DistributionComparison(
        measure, trimmed, "chi-square (Monte Carlo p)", chi2, int(res.dof), float(mc.pvalue), v, min_exp
    )


def compare_times(measure: str, a: Sequence[RecordLike], b: Sequence[RecordLike], la: str, lb: str) -> TimeComparison:
    from scipy import stats

    sa, sb = time_summary(la, a), time_summary(lb, b)
    xa = [r.decision_minutes / 60 for r in a if r.decision_minutes is not None]
    xb = [r.decision_minutes / 60 for r in b if r.decision_minutes is not None]
    if not xa or not xb:
        return TimeComparison(measure, sa, sb, "not tested (no times in a period)", None, None, None)
    res = stats.mannwhitneyu(xa, xb, alternative="two-sided")
    u = float(res.statistic)
    return TimeComparison(measure, sa, sb, "Mann-Whitney U", u, float(res.pvalue), 2 * u / (len(xa) * len(xb)) - 1)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (None stays None)."""
    idx = sorted((i for i, p in enumerate(p_values) if p is not None), key=lambda i: p_values[i] or 0.0)
    m = len(idx)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, i in enumerate(idx):
        p = p_values[i]
        assert p is not None
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def compare_periods(
    rows_a: Sequence[RecordLike], rows_b: Sequence[RecordLike], vocab: Vocabularies, label_a: str, label_b: str
) -> PeriodComparison:
    """Period A against period B on the measures the report shows (see the module docstring)."""

    def both(label: str, pick: Callable[[Sequence[RecordLike]], list[bool | None]]) -> ProportionComparison:
        return compare_proportions(label, proportion(label_a, pick(rows_a)), proportion(label_b, pick(rows_b)))

    def prof(rows: Sequence[RecordLike]) -> list[RecordLike]:
        return [r for r in rows if r.professional is True]

    props = [
        both("referral from a professional", lambda rs: [r.professional for r in rs]),
        both("initial assessment after a professional referral", lambda rs: [r.initial_assessment for r in prof(rs)]),
        both("feedback to the professional referrer", lambda rs: [r.feedback for r in prof(rs)]),
        both("manager or senior practitioner consulted", lambda rs: [r.manager_consulted for r in rs]),
        both(
            "decided within 24 hours",
            lambda rs: [r.decision_minutes <= 24 * 60 for r in rs if r.decision_minutes is not None],
        ),
    ]
    tagged = [(label_a, r) for r in rows_a] + [(label_b, r) for r in rows_b]

    def dist(measure: str, field: str, cats: Sequence[str]) -> DistributionComparison:
        known = [(p, r) for p, r in tagged if getattr(r, field) is not None]
        table = crosstab(
            known, lambda pr: pr[0], lambda pr: getattr(pr[1], field), (label_a, label_b), cats, ("period", field)
        )
        return compare_distribution(measure, table)

    dists = [
        dist("response", "response", vocab.responses),
        dist("concern", "concern", vocab.concerns),
        dist("referrer type", "referrer_type", vocab.referrer_types),
    ]
    times = [compare_times("time to decision (hours)", rows_a, rows_b, label_a, label_b)]
    adjusted = holm([c.p_value for c in props] + [c.p_value for c in dists] + [c.p_value for c in times])
    it = iter(adjusted)
    return PeriodComparison(
        label_a,
        label_b,
        tuple(_with_holm(c, next(it)) for c in props),
        tuple(_with_holm(c, next(it)) for c in dists),
        tuple(_with_holm(c, next(it)) for c in times),
    )


def _with_holm(c: Any, p: float | None) -> Any:
    from dataclasses import replace

    return replace(c, p_holm=p)
