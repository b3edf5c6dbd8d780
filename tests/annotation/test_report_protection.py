"""Secondary suppression by optimisation (issue 15): the one-way tables show at least 90% of the referrals and
hide no count of 20 or more, on the demo sample and on extracts of realistic shape (a generator below); and an
independent reader of the published tables (its own linear programmes, not the optimiser's) finds no count of
1 to 4 that is narrowed, across every table of both periods and of all records together, including what the
all-records table less a period's gives. Also the cases the issue names: a total of k over k cells, a period
subtracted from all records, random tables (Hypothesis), and the research version's tests."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import csr_array

from annotation.records import (
    Quantity,
    Vocabularies,
    analyse,
    load_vocabularies,
    protect_optimal,
    store_sample,
    unprotected,
)
from annotation.records.protection import interval
from annotation.report.builder import build_report
from annotation.report.disclosure import ALL_RECORDS, Plan, plan_hiding
from annotation.report.recoding import recode_periods, recode_vocab
from annotation.report.tables import crosstab_table, frequency_table
from annotation.store.engine import Store

V = load_vocabularies()
PROF = {c: ("yes" if V.is_professional(c) else "no") for c in V.referrer_types}
ONE_WAY = ("referrer_type", "referrer_group", "concern", "response", "outcome", "age_band")


@dataclass
class Rec:
    period: str
    referrer_type: str
    professional: bool | None
    concern: str
    age_band: str | None
    response: str | None
    outcome: str | None
    decision_minutes: int | None = None
    initial_assessment: bool | None = None
    feedback: bool | None = None
    manager_consulted: bool | None = None


# ---- extracts of realistic shape ------------------------------------------------------------------------------


#: A duty desk's shares (the demo sample's, roughly): police and schools refer most, a tail of rare referrers.
_REFERRERS = (18, 5, 3.5, 4.5, 33, 3, 2.5, 5.5, 11, 6, 4, 4)
_RESPONSES = (24, 14, 17, 31, 7.5, 4.5)
_CONCERNS = (15, 9, 9, 4, 25, 7, 6, 7, 3, 4, 4, 2, 1.5, 1.5, 2, 1)
_OUTCOMES = (48, 25, 12, 5.5, 0.5, 4, 2)
_AGES = (4, 7, 24, 25, 29, 9)


def extract(seed: int, n: int, periods: Sequence[str] = ("A", "B")) -> list[Rec]:
    """``n`` referrals over ``periods``, shaped like a duty desk's extract: the shares above, each moved by
    up to a half either way per seed (so the skew and which categories are rare differ), and a few 'not
    recorded' (1% of responses, 3% of outcomes and age bands)."""
    rng = random.Random(seed)

    def jitter(w: Sequence[float]) -> list[float]:
        return [x * rng.uniform(0.5, 1.5) for x in w]

    w_rt, w_c, w_rs, w_o, w_a = (jitter(w) for w in (_REFERRERS, _CONCERNS, _RESPONSES, _OUTCOMES, _AGES))
    out = []
    for i in range(n):
        rt = rng.choices(V.referrer_types, w_rt)[0]
        out.append(
            Rec(
                periods[i * len(periods) // n],
                rt,
                V.is_professional(rt),
                rng.choices(V.concerns, w_c)[0],
                None if rng.random() < 0.03 else rng.choices(V.age_bands, w_a)[0],
                None if rng.random() < 0.01 else rng.choices(V.responses, w_rs)[0],
                None if rng.random() < 0.03 else rng.choices(V.outcomes, w_o)[0],
            )
        )
    return out


def by_period(rows: Sequence[Rec]) -> dict[str, list[Rec]]:
    out: dict[str, list[Rec]] = {}
    for r in rows:
        out.setdefault(r.period, []).append(r)
    return out


# ---- the tables as published, and an independent reader -----------------------------------------------------

Grid = list[list[str]]


def recoded(periods: dict[str, list[Rec]], plan: Plan) -> tuple[dict[str, list[Rec]], Vocabularies]:
    """The records and vocabularies with the plan's combined categories, as the report publishes them."""
    return recode_periods(periods, plan.recodings), recode_vocab(V, plan.recodings)


def published(periods: dict[str, list[Rec]], plan: Plan) -> dict[str, dict[str, Grid]]:
    """Tables 1 to 8 of every selection (each period, all records) as the report makes them (from the records
    as recoded)."""
    out = {}
    periods, v = recoded(periods, plan)
    prof = {c: ("yes" if v.is_professional(c) else "no") for c in v.referrer_types}
    every = [r for rows in periods.values() for r in rows]
    for label, rows in [*periods.items(), (ALL_RECORDS, every)]:
        a, h = analyse(rows, v, label), plan.hiding[label]

        def grid(t: object) -> Grid:
            return [list(t.header), *[list(r) for r in t.rows]]  # type: ignore[attr-defined]

        c = h.categories
        tables = {
            f: grid(frequency_table(f, f, f, [getattr(a, f)], prof if f == "referrer_type" else None, [c[f]]))
            for f in ONE_WAY
        }
        tables["t7"] = grid(
            crosstab_table("t7", "t7", a.referrer_by_response, h.referrer_cells, c["referrer_type"], c["response"])
        )
        tables["t8"] = grid(
            crosstab_table("t8", "t8", a.group_by_response, h.group_cells, c["referrer_group"], c["response"])
        )
        out[label] = tables
    return out


def _reader_bounds(text: str) -> tuple[float, float | None]:
    """What a reader knows of a published count: the number, '<5' 0 to 4, 'c' 5 or more, 'x' (a cross-tab's
    hidden inner cell) anything from 0 up."""
    if text == "<5":
        return 0, 4
    if text == "c":
        return 5, None
    if text == "x":
        return 0, None
    return int(text), int(text)


def narrowed(nvars: int, stated: list[tuple[list[int], str]], targets: list[tuple[list[int], str]]) -> list[str]:
    """The targets (sums of unknowns, each a hidden count of 1 to 4) whose interval, given the stated counts,
    is narrower than the band 1 to 4 (fewer than four possible values): the reader's linear programmes,
    written here apart from the optimiser's."""
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for ks, text in dict.fromkeys((tuple(sorted(ks)), text) for ks, text in stated):  # tables repeat counts
        row = np.zeros(nvars)
        row[list(ks)] = 1
        lo, hi = _reader_bounds(text)
        if lo == hi:
            a_eq.append(row)
            b_eq.append(lo)
            continue
        a_ub.append(-row)
        b_ub.append(-lo)
        if hi is not None:
            a_ub.append(row)
            b_ub.append(hi)
    kw = {
        "A_eq": csr_array(np.array(a_eq)),
        "b_eq": np.array(b_eq),
        "A_ub": csr_array(np.array(a_ub)),
        "b_ub": np.array(b_ub),
    }
    out = []
    for ks, name in targets:
        c = np.zeros(nvars)
        c[ks] = 1
        least, most = linprog(c, bounds=(0, None), **kw), linprog(-c, bounds=(0, None), **kw)
        assert least.status == 0, (name, least.message)  # the tables are consistent
        if most.status == 0 and -most.fun - least.fun < 3 - 1e-6:
            out.append(f"{name}: {least.fun:.2f} to {-most.fun:.2f}")
    return out


def audit(tables: dict[str, dict[str, Grid]], periods: dict[str, list[Rec]]) -> list[str]:
    """Every count of 1 to 4 of tables 1 to 8, of every selection, that the published tables (all of them
    together) narrow. Unknowns: referrals by period, referrer type and response (a reader knows the group of
    each referrer type from table 1), and by period and category for concern, outcome and age band."""
    ps = list(periods)
    sel = {p: [p] for p in ps} | {ALL_RECORDS: ps}
    t7 = tables[ALL_RECORDS]["t7"]
    rr, cc = [r[0] for r in t7[1:-1]], t7[0][1:-1]
    group = {
        r[0]: "professional" if r[1] == "yes" else "non-professional"
        for r in tables[ALL_RECORDS]["referrer_type"][1:-1]
    }

    def var(p: str, i: int, j: int) -> int:
        return (ps.index(p) * len(rr) + i) * len(cc) + j

    def cells(label: str, rows: Sequence[int], cols: Sequence[int]) -> list[int]:
        return [var(p, i, j) for p in sel[label] for i in rows for j in cols]

    truth = np.zeros(len(ps) * len(rr) * len(cc))
    for p, rows in periods.items():
        for r in rows:
            truth[var(p, rr.index(r.referrer_type), cc.index(r.response or "not recorded"))] += 1
    stated: list[tuple[list[int], str]] = []
    every_r, every_c = range(len(rr)), range(len(cc))

    def at(table: Grid, row: list[str], j: int) -> str:
        """Column ``cc[j]`` of a row (a period whose table has no such column: its rows add up without it, 0)."""
        return row[table[0].index(cc[j])] if cc[j] in table[0][1:-1] else "0"

    for label in sel:
        t, g8 = tables[label]["t7"], tables[label]["t8"]
        for row in t[1:-1]:
            i = rr.index(row[0])
            stated += [(cells(label, [i], [j]), at(t, row, j)) for j in every_c]
            stated.append((cells(label, [i], every_c), row[-1]))
        stated += [(cells(label, every_r, [j]), at(t, t[-1], j)) for j in every_c]
        stated.append((cells(label, every_r, every_c), t[-1][-1]))
        for row in g8[1:-1]:
            members = [i for i, r in enumerate(rr) if group.get(r) == row[0]]
            stated += [(cells(label, members, [j]), at(g8, row, j)) for j in every_c]
            stated.append((cells(label, members, every_c), row[-1]))
        for row in tables[label]["referrer_type"][1:-1]:
            stated.append((cells(label, [rr.index(row[0])], every_c), row[2]))
        for row in tables[label]["referrer_group"][1:-1]:
            stated.append((cells(label, [i for i, r in enumerate(rr) if group.get(r) == row[0]], every_c), row[1]))
        for row in tables[label]["response"][1:-1]:
            stated.append((cells(label, every_r, [cc.index(row[0])]), row[1]))
    small = [(ks, text) for ks, text in stated if 0 < truth[ks].sum() < 5]
    assert all(text in ("<5", "x") for _, text in small), "a count of 1 to 4 is shown"
    targets = [(ks, f"{text} {ks[:3]}") for ks, text in small]
    found = narrowed(len(truth), stated, targets)
    for field in ("concern", "outcome", "age_band"):
        cats = [r[0] for r in tables[ALL_RECORDS][field][1:-1]]
        n = len(ps) * len(cats)
        true = np.zeros(n)
        for p, rows in periods.items():
            for r in rows:
                true[ps.index(p) * len(cats) + cats.index(getattr(r, field) or "not recorded")] += 1
        vec: list[tuple[list[int], str]] = []
        for label in sel:
            body = tables[label][field]
            for row in body[1:-1]:
                vec.append(([ps.index(p) * len(cats) + cats.index(row[0]) for p in sel[label]], row[1]))
            vec.append(([ps.index(p) * len(cats) + k for p in sel[label] for k in range(len(cats))], body[-1][1]))
        small = [(ks, f"{field} {ks}") for ks, text in vec if text == "<5" and 0 < true[ks].sum() < 5]
        found += narrowed(n, vec, small)
    return found


def one_way_loss(periods: dict[str, list[Rec]], plan: Plan) -> list[str]:
    """Where a one-way table of a selection shows less than 90% of its referrals or hides a count of 20 or
    more (a combined category's count is a count shown)."""
    out = []
    periods, v = recoded(periods, plan)
    every = [r for rows in periods.values() for r in rows]
    for label, rows in [*periods.items(), (ALL_RECORDS, every)]:
        a = analyse(rows, v, label)
        for f in ONE_WAY:
            freq = getattr(a, f)
            hidden = plan.hiding[label].categories[f]
            gone = [c for c in freq.counts if c.category in hidden or 0 < c.count < 5]
            if sum(c.count for c in gone) > 0.1 * freq.total:
                out.append(f"{label} {f}: {sum(c.count for c in gone)} of {freq.total} hidden")
            out += [f"{label} {f}: {c.category} {c.count} hidden" for c in gone if c.count >= 20]
    return out


# ---- the demo sample and realistic extracts --------------------------------------------------------------------


#: The generated extracts where hiding alone cannot meet the bar (a lone 'not recorded' of 1 beside counts
#: all of 20 or more, a period's small counts over a tenth of its table, another period's small count), so
#: categories are combined first. The other twelve of seeds 1 to 6 at 400, 1,500 and 5,000 need no combining
#: and meet the bar too, as does seed 2 at 1,500 (combined like seed 6 at 1,500): checked by hand with these
#: helpers, too slow to run each time; the demo sample's test is one more without.
EXTRACTS = [(2, 400), (4, 400), (5, 400), (3, 1500), (6, 1500)]


@pytest.mark.parametrize(("seed", "n"), EXTRACTS)
def test_realistic_extracts_show_their_one_way_tables_and_give_nothing_away(seed: int, n: int) -> None:
    periods = by_period(extract(seed, n))
    plan = plan_hiding(periods, V)
    assert plan.recodings
    assert one_way_loss(periods, plan) == []
    assert audit(published(periods, plan), recoded(periods, plan)[0]) == []


def test_a_lone_small_count_beside_large_ones_is_combined_with_the_smallest_category() -> None:
    """Where hiding alone cannot meet the bar. Seed 5, 400 records: all records' responses are 67, 36, 92,
    157, 22, 25 and one 'not recorded'. The total is published, so hiding the 1 alone would need a second
    hidden count in its table, and every other is 20 or more. Instead the 'not recorded' is combined with the
    smallest response (22; there is no 'other'), in every selection: each period's and all records' tables
    and cross-tab columns show the combined label and neither part; nothing of 20 or more is hidden, and the
    independent reader finds nothing."""
    periods = by_period(extract(5, 400))
    freq = analyse([r for rows in periods.values() for r in rows], V, ALL_RECORDS).response
    counts = {c.category: c.count for c in freq.counts}
    assert all(0 < n < 5 or n >= 20 for n in counts.values()) and sum(0 < n < 5 for n in counts.values()) == 1
    smallest_large = min((n, c) for c, n in counts.items() if n >= 20)[1]
    plan = plan_hiding(periods, V)
    assert [(rc.field, rc.small, rc.partner) for rc in plan.recodings] == [("response", None, smallest_large)]
    label = plan.recodings[0].label
    assert label == f"{smallest_large} or not recorded"
    tables = published(periods, plan)
    for sel in (*periods, ALL_RECORDS):
        for cats in ([row[0] for row in tables[sel]["response"][1:-1]], tables[sel]["t7"][0], tables[sel]["t8"][0]):
            assert label in cats and smallest_large not in cats and "not recorded" not in cats
    assert one_way_loss(periods, plan) == []
    assert audit(tables, recoded(periods, plan)[0]) == []


def _reports(store: Store, tmp_path: Path) -> tuple[dict[str, dict[str, Grid]], dict[str, list[Any]], str, str]:
    """The project's all-records report and its two periods compared (publication versions), tables 1 to 8
    of each selection read back from their CSV files; the records by period; the two HTML pages."""
    from annotation.records import list_records, record_periods

    everything = build_report(store, "D", tmp_path / "all" / "r.html", publication=True)
    a, b = record_periods(store, "D")
    both = build_report(store, "D", tmp_path / "ab" / "r.html", period=a, compare=b, publication=True)

    def read(folder: Path, name: str) -> Grid:
        with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.reader(f))

    names = {
        "referrer_type": "table01_referrer_type",
        "referrer_group": "table02_referrer_group",
        "concern": "table03_concern",
        "response": "table04_response",
        "outcome": "table05_outcome",
        "age_band": "table06_age_band",
    }
    tables: dict[str, dict[str, Grid]] = {ALL_RECORDS: {f: read(everything.data_dir, n) for f, n in names.items()}}
    tables[ALL_RECORDS]["t7"] = read(everything.data_dir, "table07a_referrer_by_response")
    tables[ALL_RECORDS]["t8"] = read(everything.data_dir, "table08a_group_by_response")
    for k, p in enumerate((a, b)):
        tables[p] = {}
        for f, n in names.items():
            g = read(both.data_dir, n)
            first = g[0].index(f"n ({p})")
            tables[p][f] = [[row[0], *([row[1]] if f == "referrer_type" else []), row[first]] for row in g]
        tables[p]["t7"] = read(both.data_dir, f"table07{'ab'[k]}_referrer_by_response")
        tables[p]["t8"] = read(both.data_dir, f"table08{'ab'[k]}_group_by_response")
    records = list_records(store, "D")
    periods = {p: [r for r in records if r.period == p] for p in (a, b)}
    html = [r.html.read_text(encoding="utf-8") for r in (everything, both)]
    return tables, periods, html[0], html[1]


def test_the_demo_sample_reports_show_their_one_way_tables_and_give_nothing_away(store: Store, tmp_path: Path) -> None:
    """The issue's case: 'records demo-sample 400', the all-records report and the two periods compared,
    read back from their CSV files and audited together."""
    store_sample(store, "D", 400)
    tables, periods, html, _ = _reports(store, tmp_path)
    plan = plan_hiding(periods, V)
    assert plan.recodings == ()  # the demo needs no combined categories
    assert tables[ALL_RECORDS]["referrer_type"][1][2] != "c"  # the issue: every referrer count was hidden
    assert audit(tables, periods) == []  # type: ignore[arg-type]
    assert one_way_loss(periods, plan) == []  # type: ignore[arg-type]
    assert "Information loss" in html and "of referrals in cells shown" in html


def test_a_combined_category_is_the_same_in_every_table_and_selection(store: Store, tmp_path: Path) -> None:
    """Global recoding end to end (sample seed 2027, 400 records): its all-records 'not recorded' response
    and age band are 1 to 4 beside large counts, so each is combined with another category. Both reports'
    CSV files carry the combined label, and only it, in every selection's one-way table and the
    cross-tabulations' columns; the method lists each combination and why; the independent reader, given
    the records as combined, finds nothing, and every one-way table meets the bar."""
    store_sample(store, "D", 400, seed=2027, coded_documents=0)
    tables, periods, html, html_ab = _reports(store, tmp_path)
    plan = plan_hiding(periods, V)
    combined = {(rc.field, rc.label, rc.small, rc.partner) for rc in plan.recodings}
    assert {(f, s) for f, _, s, _ in combined} == {("response", None), ("age_band", None)}
    for field, label, small, partner in combined:
        parts = {partner, small or "not recorded"}
        for sel, t in tables.items():
            cats = [row[0] for row in t[field][1:-1]]
            assert label in cats and not parts & set(cats), (sel, field, cats)
            if field == "response":
                for x in ("t7", "t8"):
                    assert label in t[x][0] and not parts & set(t[x][0]), (sel, x, t[x][0])
        for page in (html, html_ab):
            text = unescape(page)
            assert "Combined categories" in text and f"as '{label}'" in text
    assert audit(tables, recoded(periods, plan)[0]) == []  # type: ignore[arg-type]
    assert one_way_loss(periods, plan) == []  # type: ignore[arg-type]


# ---- the cases the issue names ---------------------------------------------------------------------------------


def _table(counts: list[list[int]]) -> tuple[list[Quantity], list[float], set[int]]:
    """A two-way table with its margins and grand total as quantities (cells first), margins dear."""
    rows, cols = len(counts), len(counts[0])
    q = [Quantity(frozenset({i * cols + j}), counts[i][j]) for i in range(rows) for j in range(cols)]
    w = [float(x.value) for x in q]
    for i in range(rows):
        q.append(Quantity(frozenset(i * cols + j for j in range(cols)), sum(counts[i])))
        w.append(20.0 * q[-1].value)
    for j in range(cols):
        q.append(Quantity(frozenset(i * cols + j for i in range(rows)), sum(r[j] for r in counts)))
        w.append(20.0 * q[-1].value)
    q.append(Quantity(frozenset(range(rows * cols)), sum(map(sum, counts))))
    w.append(1.0)
    return q, w, {len(q) - 1}


def test_a_total_of_k_over_k_cells_is_protected() -> None:
    """A column of total 4 over four cells of 1: a reader who took '<5' for 1 to 4 would know each is 1. '<5'
    stands for 0 to 4 (a zero may be hidden), so each can still be anything from 0 to 4."""
    counts = [[30, 1, 12], [25, 1, 9], [40, 1, 14], [22, 1, 30]]
    q, w, never = _table(counts)
    p = protect_optimal(q, 12, w, never=never)
    assert unprotected(q, 12, p.hidden) == []
    least, most = interval(q, 12, p.hidden, 1)
    assert least <= 1 and most == 4
    assert all(k in p.hidden for k in (1, 4, 7, 10))


def test_a_period_subtracted_from_all_records_gives_nothing_away() -> None:
    """Concern X: 3 in period A, 10 in B, 13 in all records. Protected one report at a time, B's 10 and all's
    13 were both shown and gave A's 3 back; protected together, they are not."""

    def recs(period: str, counts: dict[str, int]) -> list[Rec]:
        return [
            Rec(period, "police", True, c, "5 to 9", "early help", "early help")
            for c, n in counts.items()
            for _ in range(n)
        ]

    periods = {
        "A": recs("A", {"neglect": 3, "domestic abuse": 50, "physical abuse": 60}),
        "B": recs("B", {"neglect": 10, "domestic abuse": 40, "physical abuse": 70}),
    }
    plan = plan_hiding(periods, V, recode=False)  # the hiding itself (recoded, neglect is combined)
    assert "neglect" in plan.hiding["A"].categories["concern"]
    assert (
        "neglect" in plan.hiding["B"].categories["concern"]
        or "neglect" in plan.hiding[ALL_RECORDS].categories["concern"]
    )
    assert audit(published(periods, plan), periods) == []  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    st.integers(2, 4).flatmap(
        lambda r: st.integers(2, 5).flatmap(
            lambda c: st.lists(
                st.lists(st.one_of(st.integers(0, 4), st.integers(5, 60)), min_size=c, max_size=c),
                min_size=r,
                max_size=r,
            )
        )
    )
)
def test_random_tables_are_protected_by_an_independent_reader(counts: list[list[int]]) -> None:
    q, w, never = _table(counts)
    if any(0 < q[k].value < 5 for k in never):  # a grand total of 1 to 4 is not published at all
        return
    cells = len(counts) * len(counts[0])
    p = protect_optimal(q, cells, w, never=never)
    stated = [
        (sorted(x.support), "<5" if k in p.hidden and x.value < 5 else "c" if k in p.hidden else str(x.value))
        for k, x in enumerate(q)
    ]
    targets = [(sorted(x.support), str(k)) for k, x in enumerate(q) if 0 < x.value < 5]
    assert narrowed(cells, stated, targets) == []
    assert not (p.hidden & never)


def test_the_research_version_tests_nothing_that_rests_on_a_hidden_count(store: Store, tmp_path: Path) -> None:
    """The comparison's distribution tests pool the hidden categories (what they pool, a reader can work out);
    a yes/no measure with a hidden count shows no p-value."""
    store_sample(store, "D", 400)
    from annotation.records import record_periods

    a, b = record_periods(store, "D")
    r = build_report(store, "D", tmp_path / "r.html", period=a, compare=b)
    with (r.data_dir / "table12_compare_distributions.csv").open(encoding="utf-8", newline="") as f:
        dist = {row[0]: row for row in csv.reader(f)}
    assert "pooled" in dist["response"][1] or "not tested" in dist["response"][1]
    with (r.data_dir / "table11_compare_proportions.csv").open(encoding="utf-8", newline="") as f:
        props = list(csv.reader(f))
    for row in props[1:]:
        if "<5" in row[1:3] or "c" in row[1:3]:
            assert row[4:6] == ["c", "c"], row


def test_a_plan_is_kept_for_the_same_records_and_made_again_when_one_changes() -> None:
    """A report and its periods (and the Analysis tab's views) share one optimisation; an edited record is a
    new plan, never a stale one."""

    def periods() -> dict[str, list[Rec]]:
        return {
            p: [
                Rec(p, "police", True, c, "5 to 9", "early help", "early help")
                for c, n in {"neglect": k, "domestic abuse": 40, "physical abuse": 50}.items()
                for _ in range(n)
            ]
            for p, k in (("A", 3), ("B", 12))
        }

    first = plan_hiding(periods(), V, recode=False)
    assert plan_hiding(periods(), V, recode=False) is first  # equal records, other objects
    assert plan_hiding(periods(), V) is not first  # the publication's plan (categories combined) is another
    changed = periods()
    changed["B"][0].concern = "domestic abuse"  # B: neglect 11, domestic abuse 41
    again = plan_hiding(changed, V, recode=False)
    assert again is not first
    assert "neglect" in again.hiding["A"].categories["concern"]


def test_tables_9_and_10_give_no_small_count_back_by_subtraction(store: Store, tmp_path: Path) -> None:
    """Laming's shares (table 9) and the times recorded (table 10) of all records and of each period, from the
    two reports' CSV files: a period's count is all records' less the other period's, so a count of 1 to 4
    hidden in one selection only came back (the demo's Q1 'manager consulted, not recorded': 13 - 9 = 4). A
    measure with a small count anywhere is withheld everywhere; the reader finds nothing."""
    from annotation.records import list_records, record_periods

    store_sample(store, "D", 400)
    everything = build_report(store, "D", tmp_path / "all" / "r.html", publication=True)
    a, b = record_periods(store, "D")
    both = build_report(store, "D", tmp_path / "ab" / "r.html", period=a, compare=b, publication=True)

    def rows(folder: Path, name: str) -> list[dict[str, str]]:
        with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    records = list_records(store, "D")
    ps = [a, b]
    sel = {a: [a], b: [b], ALL_RECORDS: ps}
    laming = rows(everything.data_dir, "table09_laming") + rows(both.data_dir, "table09_laming")
    times = rows(everything.data_dir, "table10_decision_time") + rows(both.data_dir, "table10_decision_time")
    prof = {r["referrer group"]: r for r in rows(everything.data_dir, "table02_referrer_group")}
    prof_ab = rows(both.data_dir, "table02_referrer_group")
    totals = {ALL_RECORDS: len(records)} | {p: sum(r.period == p for r in records) for p in ps}
    professional = {ALL_RECORDS: prof["professional"]["n"]} | {
        p: next(r[f"n ({p})"] for r in prof_ab if r["referrer group"] == "professional") for p in ps
    }
    pick = {
        "initial assessment after a professional referral": (True, lambda r: r.initial_assessment),
        "feedback to the professional referrer": (True, lambda r: r.feedback),
        "manager or senior practitioner consulted": (False, lambda r: r.manager_consulted),
    }
    found = []
    for measure, (only_prof, value) in pick.items():
        truth = np.zeros(3 * len(ps))  # per period: yes, no, not recorded
        for r in records:
            if only_prof and r.professional is not True:
                continue
            v = value(r)
            truth[3 * ps.index(r.period) + (0 if v is True else 1 if v is False else 2)] += 1
        stated: list[tuple[list[int], str]] = []
        for row in (r for r in laming if r["measure"] == measure):
            idx = [ps.index(p) for p in sel[row["period"]]]
            stated += [([3 * i for i in idx], row["yes"]), ([3 * i + 2 for i in idx], row["not recorded"])]
            stated.append(([3 * i + k for i in idx for k in (0, 1)], row["n (recorded)"]))
            total = professional[row["period"]] if only_prof else str(totals[row["period"]])
            stated.append(([3 * i + k for i in idx for k in range(3)], total))
        small = [[k] for k in range(len(truth)) if 0 < truth[k] < 5]  # a count of 1 to 4, shown or not
        small += [ks for ks, _ in stated if 0 < truth[ks].sum() < 5]
        found += narrowed(len(truth), stated, [(ks, f"{measure} {ks}") for ks in small])
    truth = np.zeros(2 * len(ps))  # per period: times recorded, not recorded
    for r in records:
        truth[2 * ps.index(r.period) + (r.decision_minutes is None)] += 1
    stated = []
    for row in times:
        idx = [ps.index(p) for p in sel[row["period"]]]
        stated += [([2 * i for i in idx], row["n"]), ([2 * i + 1 for i in idx], row["not recorded"])]
        stated.append(([2 * i + k for i in idx for k in (0, 1)], str(totals[row["period"]])))
    small = [ks for ks, _ in stated if 0 < truth[ks].sum() < 5] + [[k] for k in range(len(truth)) if 0 < truth[k] < 5]
    found += narrowed(len(truth), stated, [(ks, f"times {ks}") for ks in small])
    assert found == []
