"""Inter-coder agreement between two tiers: Cohen's kappa on matched segments and ELAN's modified kappa.

Two coders segment and label the same recording on two tiers (of one document, or of two documents on the
same recording). Before labels can be compared the segments must be paired. This module does what ELAN's
"Calculate inter-annotator reliability > modified Cohen's kappa" does (Holle & Rein 2015, "EasyDIAg: A tool
for easy determination of interrater agreement", Behavior Research Methods 47(3), 837-847; ELAN's classes
``AnnotatorCompareUtil2``, ``CompareAnnotationModKappaCommand``, ``GlobalCKappa`` and ``IPFUtil`` in
``mpi.eudico.client.annotator.interannotator``, read for the details below):

Matching
    Segments a (tier A) and b (tier B) may be paired when they overlap by at least ``min_overlap`` (default
    0.6; ELAN accepts 0.51-1.0) of the **longer** of the two: ``overlap / max(len a, len b)``. Pairs are
    taken greedily, the highest ratio first, a tie broken by the longer raw overlap and then, as ELAN's
    stable sort does, by the later segment of A and of B; each segment is in at most one pair. (ELAN pairs
    two fully aligned segments without checking that either is already paired, so a tier holding two
    identical segments can pair both with one partner there; here it cannot.) Above 0.5 a segment can
    qualify with at most one segment of a tier whose segments do not overlap each other, so on tiers coded
    the usual way the greedy choice is the only one there is.

The agreement table
    Rows are coder A's values, columns coder B's, in sorted order (ELAN sorts Java strings, i.e. by UTF-16
    code unit), and a last row and column "Unmatched": a segment of A without a partner counts in (its
    value, Unmatched), one of B in (Unmatched, its value). ELAN then **doubles the cells of matched pairs**
    (following Holle & Rein and GSEQ) so that the table's total is the number of segments of both coders.

What ELAN reports, and :class:`ModifiedKappa` holds
    Including unmatched segments: ``raw_agreement`` (diagonal / total), ``kappa_max`` (Cohen's maximum
    kappa for the table's marginals, with the ordinary chance agreement), and ``kappa_ipf``: Cohen's kappa
    whose chance agreement is the diagonal (without the Unmatched/Unmatched cell) of a table fitted to the
    observed marginals by iterative proportional fitting from a seed of ones whose Unmatched/Unmatched cell
    is empty, because no segment can be unmatched on both sides. ELAN's ``IPFUtil`` replaces zeros (that
    seed cell, and any zero marginal) by 0.001 and runs exactly 20 row-then-column iterations; that is
    reproduced here, so the numbers are ELAN's, not those of a converged fit.
    Excluding unmatched segments: ``kappa_excl``, ``kappa_max_excl`` and ``raw_agreement_excl`` on the
    table without the Unmatched row and column: the ordinary Cohen's kappa of the matched pairs (doubling
    changes no proportion).
    Per value: a 2x2 table (this value / any other, Unmatched included) with its kappa, kappa_max and raw
    agreement.
    ELAN prints kappas to four decimals, a negative kappa as "0" and a division by zero as "NaN";
    :func:`elan_number` formats a number that way. The values here are the real ones (NaN where undefined).

:class:`CohenKappa` is the textbook coefficient (Cohen 1960) for any square table, with its confusion
matrix, raw agreement, kappa_max and a 95% confidence interval from the large-sample standard error of
Fleiss, Cohen & Everitt (1969).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist

from annotation.elan import Segment, document_segments
from annotation.errors import AnalysisError, NotFound
from annotation.store import Store, get_document_row, load_document

UNMATCHED = "Unmatched"
DEFAULT_MIN_OVERLAP = 0.6
IPF_ITERATIONS = 20  # ELAN's IPFUtil: a fixed number, no convergence test
_IPF_ZERO = 0.001  # ELAN's IPFUtil.ZERO_REPLACE
#: More different values than this and the tiers hold free text, not codes: kappa would mean nothing and the
#: k x k table (and its fitting) would grow with the square of the number of values.
MAX_VALUES = 200


# ---- matching ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """A segment of coder A paired with one of coder B. ``ratio`` is overlap / the longer segment."""

    a: Segment
    b: Segment
    overlap_ms: int
    ratio: float


@dataclass(frozen=True, slots=True)
class Matching:
    """The outcome of pairing two tiers: pairs in time order, and the segments left without a partner."""

    pairs: tuple[Match, ...]
    only_a: tuple[Segment, ...]
    only_b: tuple[Segment, ...]
    min_overlap: float


def overlap_ratio(a: Segment, b: Segment) -> float:
    """Overlap as a part of the longer segment (0 when they do not overlap or both have no length)."""
    ov = min(a.end, b.end) - max(a.start, b.start)
    longest = max(a.end - a.start, b.end - b.start)
    return ov / longest if ov > 0 and longest > 0 else 0.0


def match_segments(
    segs_a: Sequence[Segment], segs_b: Sequence[Segment], min_overlap: float = DEFAULT_MIN_OVERLAP
) -> Matching:
    """Pair segments of two tiers the way ELAN's modified kappa does (see the module notes).

    Raises:
        AnalysisError: ``min_overlap`` is not in (0, 1].
    """
    if not 0 < min_overlap <= 1:
        raise AnalysisError(f"minimal overlap {min_overlap}: must be more than 0 and at most 1 (ELAN: 0.51-1)")
    a_sorted = sorted(segs_a, key=lambda s: (s.start, s.end))
    b_sorted = sorted(segs_b, key=lambda s: (s.start, s.end))
    candidates: list[tuple[float, int, int, int]] = []  # (ratio, overlap, ia, ib)
    active: list[int] = []
    j = 0
    for ia, a in enumerate(a_sorted):
        while j < len(b_sorted) and b_sorted[j].start < a.end:
            active.append(j)
            j += 1
        active = [ib for ib in active if b_sorted[ib].end > a.start]
        for ib in active:
            b = b_sorted[ib]
            ratio = overlap_ratio(a, b)
            if ratio > 0 and ratio >= min_overlap:
                ov = min(a.end, b.end) - max(a.start, b.start)
                candidates.append((ratio, ov, ia, ib))
    candidates.sort(key=lambda c: (-c[0], -c[1], -c[2], -c[3]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[Match] = []
    for ratio, ov, ia, ib in candidates:
        if ia in used_a or ib in used_b:
            continue
        used_a.add(ia)
        used_b.add(ib)
        pairs.append(Match(a_sorted[ia], b_sorted[ib], ov, ratio))
    pairs.sort(key=lambda m: (min(m.a.start, m.b.start), m.a.start, m.b.start))
    return Matching(
        tuple(pairs),
        tuple(s for i, s in enumerate(a_sorted) if i not in used_a),
        tuple(s for i, s in enumerate(b_sorted) if i not in used_b),
        min_overlap,
    )


# ---- Cohen's kappa ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CohenKappa:
    """Cohen's kappa of a square table: coder A in the rows, coder B in the columns.

    ``observed`` is the raw agreement (p_o), ``expected`` the chance agreement (p_e) from the marginals,
    ``kappa_max`` the largest kappa the marginals allow (Cohen 1960), ``se`` the large-sample standard error
    of Fleiss, Cohen & Everitt (1969) and ``ci95`` kappa ± 1.96 se, clipped to [-1, 1]. Undefined values are
    NaN (an empty table, or p_e = 1 when both coders used one and the same value throughout).
    """

    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    n: int
    observed: float
    expected: float
    kappa: float
    kappa_max: float
    se: float
    ci95: tuple[float, float]


def cohen_kappa(matrix: Sequence[Sequence[float]], labels: Sequence[str] | None = None) -> CohenKappa:
    """Cohen's kappa with raw agreement, kappa_max and a 95% confidence interval of a k x k table.

    Raises:
        AnalysisError: the table is not square, or holds a negative count.
    """
    k = len(matrix)
    if any(len(row) != k for row in matrix):
        raise AnalysisError("agreement table: must be square (as many columns as rows)")
    if any(c < 0 for row in matrix for c in row):
        raise AnalysisError("agreement table: counts cannot be negative")
    names = tuple(labels) if labels is not None else tuple(str(i) for i in range(k))
    if len(names) != k:
        raise AnalysisError(f"agreement table: {k} rows but {len(names)} labels")
    n = sum(sum(row) for row in matrix)
    nan = math.nan
    table = tuple(tuple(int(c) for c in row) for row in matrix)
    if n <= 0:
        return CohenKappa(names, table, 0, nan, nan, nan, nan, nan, (nan, nan))
    p = [[c / n for c in row] for row in matrix]
    rows = [sum(r) for r in p]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(p[i][i] for i in range(k))
    pe = sum(rows[i] * cols[i] for i in range(k))
    if _one(pe):
        return CohenKappa(names, table, int(n), po, pe, nan, nan, nan, (nan, nan))
    kappa = (po - pe) / (1 - pe)
    pmax = sum(min(rows[i], cols[i]) for i in range(k))
    kappa_max = (pmax - pe) / (1 - pe)
    # Fleiss, Cohen & Everitt (1969), the variance of kappa when it is not 0:
    # [sum_i p_ii (1 - (p_i. + p_.i)(1 - k))^2 + (1 - k)^2 sum_{i!=j} p_ij (p_.i + p_j.)^2
    #  - (k - p_e (1 - k))^2] / (n (1 - p_e)^2)
    diag = sum(p[i][i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(k))
    off = (1 - kappa) ** 2 * sum(p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(k) for j in range(k) if i != j)
    var = (diag + off - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    se = math.sqrt(max(var, 0.0))
    z = NormalDist().inv_cdf(0.975)
    ci = (max(kappa - z * se, -1.0), min(kappa + z * se, 1.0))  # kappa lies in [-1, 1]
    return CohenKappa(names, table, int(n), po, pe, kappa, kappa_max, se, ci)


def cohen_kappa_from_pairs(pairs: Iterable[tuple[str, str]]) -> CohenKappa:
    """Cohen's kappa of (coder A's value, coder B's value) pairs; labels are the values seen, sorted."""
    items = list(pairs)
    labels = _sorted_labels({v for pair in items for v in pair})
    index = {v: i for i, v in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for va, vb in items:
        m[index[va]][index[vb]] += 1
    return cohen_kappa(m, labels)


def _one(x: float) -> bool:
    return math.isclose(x, 1.0, rel_tol=0, abs_tol=1e-12)


def _sorted_labels(values: Iterable[str]) -> list[str]:
    # Java's String.compareTo, which ELAN's TreeSet uses, compares UTF-16 code units.
    return sorted(values, key=lambda v: v.encode("utf-16-be"))


# ---- ELAN's modified kappa (Holle & Rein) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueAgreement:
    """One value against all others (Unmatched included), as ELAN's per-value table.

    ``table`` is ((both coded the value, only A did), (only B did, neither did)).
    """

    value: str
    table: tuple[tuple[int, int], tuple[int, int]]
    kappa: float
    kappa_max: float
    raw_agreement: float


@dataclass(frozen=True, slots=True)
class ModifiedKappa:
    """What ELAN's modified Cohen's kappa reports for one pair of tiers (see the module notes).

    ``matrix`` is ELAN's agreement table: values sorted, Unmatched last, matched cells doubled, coder A in the
    rows. ``linked`` is the part of the table in matched cells (EasyDIAg's "% linked").
    """

    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    min_overlap: float
    linked: float
    raw_agreement: float
    kappa_ipf: float
    kappa_max: float
    raw_agreement_excl: float
    kappa_excl: float
    kappa_max_excl: float
    per_value: tuple[ValueAgreement, ...]


def agreement_table(matching: Matching) -> tuple[list[str], list[list[int]]]:
    """ELAN's table for a matching: labels (values sorted, then Unmatched) and counts, matched cells doubled.

    Raises:
        AnalysisError: more than :data:`MAX_VALUES` different values (free text rather than codes).
    """
    values = (
        {m.a.value for m in matching.pairs}
        | {m.b.value for m in matching.pairs}
        | {s.value for s in matching.only_a}
        | {s.value for s in matching.only_b}
    )
    if len(values) > MAX_VALUES:
        raise AnalysisError(
            f"{len(values)} different values: agreement is for coded tiers (at most {MAX_VALUES} values), not free text"
        )
    labels = [*_sorted_labels(values), UNMATCHED]
    index = {v: i for i, v in enumerate(labels[:-1])}
    u = len(labels) - 1
    m = [[0] * len(labels) for _ in labels]
    for pair in matching.pairs:
        m[index[pair.a.value]][index[pair.b.value]] += 2
    for s in matching.only_a:
        m[index[s.value]][u] += 1
    for s in matching.only_b:
        m[u][index[s.value]] += 1
    return labels, m


def modified_kappa(matching: Matching) -> ModifiedKappa:
    """ELAN's (Holle & Rein's) agreement figures for a matching."""
    labels, m = agreement_table(matching)
    return modified_kappa_of_table(m, labels, matching.min_overlap)


def modified_kappa_of_table(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], min_overlap: float
) -> ModifiedKappa:
    """ELAN's figures for an agreement table whose last row and column are Unmatched.

    Raises:
        AnalysisError: the table is not square or has fewer than two rows.
    """
    k = len(matrix)
    if k < 1 or any(len(r) != k for r in matrix) or len(labels) != k:
        raise AnalysisError("agreement table: must be square with a last Unmatched row and column")
    nan = math.nan
    n = sum(sum(r) for r in matrix)
    rows = [sum(r) for r in matrix]
    cols = [sum(matrix[i][j] for i in range(k)) for j in range(k)]
    diag = sum(matrix[i][i] for i in range(k))
    raw = diag / n if n else nan
    pe = sum(rows[i] * cols[i] for i in range(k)) / n**2 if n else nan
    pmax = sum(min(rows[i], cols[i]) for i in range(k)) / n if n else nan
    kappa_max = (pmax - pe) / (1 - pe) if n and not _one(pe) else nan
    fitted = ipf(rows, cols, _ipf_seed(k), IPF_ITERATIONS)
    pe_ipf = sum(fitted[i][i] for i in range(k - 1)) / n if n else nan
    kappa_ipf = (raw - pe_ipf) / (1 - pe_ipf) if n and not _one(pe_ipf) else nan
    inner = [list(r[: k - 1]) for r in matrix[: k - 1]]
    excl = cohen_kappa(inner, labels[: k - 1])
    matched_total = sum(sum(r) for r in inner)
    return ModifiedKappa(
        labels=tuple(labels),
        matrix=tuple(tuple(int(c) for c in r) for r in matrix),
        min_overlap=min_overlap,
        linked=matched_total / n if n else nan,
        raw_agreement=raw,
        kappa_ipf=kappa_ipf,
        kappa_max=kappa_max,
        raw_agreement_excl=excl.observed,
        kappa_excl=excl.kappa,
        kappa_max_excl=excl.kappa_max,
        per_value=tuple(_per_value(matrix, labels, i, n) for i in range(k - 1)),
    )


def _per_value(matrix: Sequence[Sequence[int]], labels: Sequence[str], i: int, n: int) -> ValueAgreement:
    both = matrix[i][i]
    only_a = sum(matrix[i]) - both
    only_b = sum(row[i] for row in matrix) - both
    neither = n - both - only_a - only_b
    c = cohen_kappa([[both, only_a], [only_b, neither]])
    return ValueAgreement(labels[i], ((both, only_a), (only_b, neither)), c.kappa, c.kappa_max, c.observed)


def _ipf_seed(k: int) -> list[list[float]]:
    seed = [[1.0] * k for _ in range(k)]
    seed[k - 1][k - 1] = 0.0  # no segment is unmatched on both sides
    return seed


def ipf(
    rows: Sequence[float], cols: Sequence[float], seed: Sequence[Sequence[float]], iterations: int
) -> list[list[float]]:
    """Iterative proportional fitting as ELAN's ``IPFUtil`` does it: zeros in the seed and the marginals
    become 0.001, then ``iterations`` times every row is scaled to its marginal, then every column."""
    m = [[c if c != 0 else _IPF_ZERO for c in row] for row in seed]
    rm = [r if r != 0 else _IPF_ZERO for r in rows]
    cm = [c if c != 0 else _IPF_ZERO for c in cols]
    k_rows, k_cols = len(m), len(cm)
    for _ in range(iterations):
        for i in range(k_rows):
            total = sum(m[i])
            m[i] = [c / total * rm[i] for c in m[i]]
        for j in range(k_cols):
            total = sum(m[i][j] for i in range(k_rows))
            for i in range(k_rows):
                m[i][j] = m[i][j] / total * cm[j]
    return m


def elan_number(x: float) -> str:
    """A kappa as ELAN writes it: "NaN", "0" for a negative value, else four decimals."""
    if math.isnan(x):
        return "NaN"
    if x < 0:
        return "0"
    return f"{x:.4f}"


# ---- on the store -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierAgreement:
    """Agreement of two coded tiers: the pairing, Cohen's kappa of the matched pairs, ELAN's figures."""

    doc_a: int
    tier_a: str
    doc_b: int
    tier_b: str
    matching: Matching
    cohen: CohenKappa
    modified: ModifiedKappa


def agreement_of_segments(
    segs_a: Sequence[Segment], segs_b: Sequence[Segment], min_overlap: float
) -> tuple[Matching, CohenKappa, ModifiedKappa]:
    """Match two lists of segments and compute both kappas. Raises AnalysisError for a bad ``min_overlap``."""
    matching = match_segments(segs_a, segs_b, min_overlap)
    cohen = cohen_kappa_from_pairs((m.a.value, m.b.value) for m in matching.pairs)
    return matching, cohen, modified_kappa(matching)


def tier_segments(
    store: Store, doc_id: int, tiers: Sequence[str], *, recording_time: bool = False
) -> tuple[dict[str, list[Segment]], int | None]:
    """The named tiers' segments of a stored document and the id of its recording, in one unit of work.

    With ``recording_time`` the segments are moved by the document's time origin (``media_origin_ms``) to
    the recording's time: two documents on one recording with different time origins are compared there.

    Raises:
        NotFound: no such document, or no tier of one of the names.
    """
    with store.session() as s:
        row = get_document_row(s, doc_id)
        recording, origin = row.recording_id, int(row.media_origin_ms or 0)
        doc = load_document(s, doc_id)
    segments = document_segments(doc)
    for t in tiers:
        if t not in segments:
            names = ", ".join(repr(n) for n in segments) or "none"
            raise NotFound(f"document {doc_id}: no tier {t!r} (tiers: {names})")
    if recording_time and origin:
        return {
            t: [replace(x, start=x.start + origin, end=x.end + origin) for x in segments[t]] for t in tiers
        }, recording
    return {t: segments[t] for t in tiers}, recording


def tier_agreement(
    store: Store,
    doc_a: int,
    tier_a: str,
    tier_b: str,
    *,
    doc_b: int | None = None,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> TierAgreement:
    """Agreement between ``tier_a`` of document ``doc_a`` and ``tier_b`` of ``doc_b`` (default: the same).

    Two documents are compared in the recording's time (each document's time origin added), so the matching's
    segments are then in recording time.

    Raises:
        NotFound: no such document or tier.
        AnalysisError: the two documents are linked to different recordings, the same tier of the same
            document is named twice, or ``min_overlap`` is out of range.
    """
    other = doc_a if doc_b is None else doc_b
    if other == doc_a and tier_a == tier_b:
        raise AnalysisError(f"document {doc_a}: tier {tier_a!r} compared with itself; name two tiers")
    if other == doc_a:
        segs, _ = tier_segments(store, doc_a, [tier_a, tier_b])
        segs_a, segs_b = segs[tier_a], segs[tier_b]
    else:
        sa, rec_a = tier_segments(store, doc_a, [tier_a], recording_time=True)
        sb, rec_b = tier_segments(store, other, [tier_b], recording_time=True)
        if rec_a is not None and rec_b is not None and rec_a != rec_b:
            raise AnalysisError(
                f"documents {doc_a} and {other}: they code different recordings ({rec_a} and {rec_b}); "
                "agreement needs two codings of the same recording"
            )
        segs_a, segs_b = sa[tier_a], sb[tier_b]
    n_values = len({s.value for s in segs_a} | {s.value for s in segs_b})
    if n_values > MAX_VALUES:
        raise AnalysisError(
            f"tiers {tier_a!r} and {tier_b!r}: {n_values} different values; agreement is for coded tiers "
            f"(at most {MAX_VALUES} values), not free text"
        )
    matching, cohen, modified = agreement_of_segments(segs_a, segs_b, min_overlap)
    return TierAgreement(doc_a, tier_a, other, tier_b, matching, cohen, modified)
