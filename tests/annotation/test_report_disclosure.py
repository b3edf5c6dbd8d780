"""Small cells stay hidden across the report: an independent audit reads the published tables as a reader
would (a number, '<5' for 1 to 4, 'c' for 5 or more), puts every figure they state about one period into a
linear programme, and checks that no count of 1 to 4 has only one possible value. Also the paragraph, the
comparison tables and the line rule's margins, each shown giving a hidden count back before. And the
publication version (``--publication``): no plot, no test statistic and no count of 1 to 4 anywhere in its
HTML, PDF or CSV files, while the research team's version keeps its plots and says it is not for publication."""

from __future__ import annotations

import csv
import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from annotation.records.analysis import analyse
from annotation.records.importer import store_rows
from annotation.records.referrals import check_fields, load_vocabularies
from annotation.records.suppression import Quantity, exposed, protect, suppress
from annotation.report import builder as R
from annotation.report.builder import build_report
from annotation.report.content import AUDIENCE_PUBLICATION, AUDIENCE_RESEARCH
from annotation.report.disclosure import plan_hiding
from annotation.report.model import Table
from annotation.report.recoding import recode_rows, recode_vocab
from annotation.report.tables import crosstab_table, frequency_table
from annotation.store.engine import Store

V = load_vocabularies()
PROF = {c: ("yes" if V.is_professional(c) else "no") for c in V.referrer_types}


@dataclass
class Rec:
    period: str
    referrer_type: str
    professional: bool | None
    concern: str
    age_band: str | None
    response: str | None
    outcome: str | None
    decision_minutes: int | None
    initial_assessment: bool | None
    feedback: bool | None
    manager_consulted: bool | None


def _sample(rng: random.Random, n: int) -> list[Rec]:
    """A skewed sample: some categories common, many rare, so that small cells abound."""

    def weights(values: tuple[str, ...]) -> list[float]:
        return [rng.random() ** 3 for _ in values]

    w_rt, w_rs, w_c, w_o, w_a = (
        weights(V.referrer_types),
        weights(V.responses),
        weights(V.concerns),
        weights(V.outcomes),
        weights(V.age_bands),
    )
    out = []
    for _ in range(n):
        rt = rng.choices(V.referrer_types, w_rt)[0]
        out.append(
            Rec(
                "A",
                rt,
                V.is_professional(rt),
                rng.choices(V.concerns, w_c)[0],
                rng.choices([*V.age_bands, None], [*w_a, 0.05])[0],
                rng.choices([*V.responses, None], [*w_rs, 0.05])[0],
                rng.choices(V.outcomes, w_o)[0],
                None,
                None,
                None,
                None,
            )
        )
    return out


# ---- the independent audit --------------------------------------------------------------------------------

Grid = list[list[str]]


def _bounds(cell: str, floor: int) -> tuple[float, float | None]:
    if cell == "<5":
        return floor, 4
    if cell == "c":
        return 5, None
    if cell == "x":  # a cross-tab's hidden inner cell: any number
        return 0, None
    return int(cell), int(cell)


def _exposed(
    nvars: int, stated: list[tuple[list[int], str]], targets: list[tuple[list[int], str]], floor: int
) -> list[str]:
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for ks, cell in stated:
        row = np.zeros(nvars)
        row[ks] = 1
        lo, hi = _bounds(cell, floor)
        if lo == hi:
            a_eq.append(row)
            b_eq.append(lo)
        else:
            a_ub.append(-row)
            b_ub.append(-lo)
            if hi is not None:
                a_ub.append(row)
                b_ub.append(hi)
    kw = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
        "bounds": (0, None),
        "method": "highs",
    }
    out = []
    for ks, name in targets:
        c = np.zeros(nvars)
        c[ks] = 1
        lo, hi = linprog(c, **kw), linprog(-c, **kw)
        assert lo.status == 0, (name, lo.message)  # the tables are consistent
        if hi.status == 0 and math.ceil(lo.fun - 1e-7) >= math.floor(-hi.fun + 1e-7):
            out.append(f"{name} = {lo.fun:.0f}")
    return out


def audit(tables: dict[str, Grid], truth: list[list[int]], vectors: dict[str, list[int]], floor: int = 1) -> list[str]:
    """The counts of 1 to 4 that tables 1 to 8 of one period give away (first period of the frequency tables).

    ``tables[key]`` is a table as published, header first; ``truth`` the real referrer type x response counts
    and ``vectors`` the real counts of tables 3, 5 and 6 (to know which counts are small). Referrer type x
    response is the unknown (a reader knows which referrer types are professional from table 1); tables 1,
    2, 4, 7 and 8 state sums of it; tables 3, 5 and 6 are each a vector with its total. A reader takes '<5'
    for ``floor`` to 4 (1: zeros are shown, so a hidden small count is not 0) and 'c' for 5 or more.
    """
    t7, t8 = tables["table07"], tables["table08"]
    rr, cc = [r[0] for r in t7[1:-1]], t7[0][1:-1]
    group = {r[0]: "professional" if r[1] == "yes" else "non-professional" for r in tables["table01"][1:-1]}

    def idx(i: int, j: int) -> int:
        return i * len(cc) + j

    def rows_of(g: str) -> list[int]:
        return [i for i, r in enumerate(rr) if group.get(r) == g]

    every = list(range(len(rr) * len(cc)))
    stated: list[tuple[list[int], str]] = []
    for i, row in enumerate(t7[1:-1]):
        stated += [([idx(i, j)], row[1 + j]) for j in range(len(cc))]
        stated.append(([idx(i, j) for j in range(len(cc))], row[-1]))
    stated += [([idx(i, j) for i in range(len(rr))], t7[-1][1 + j]) for j in range(len(cc))]
    stated.append((every, t7[-1][-1]))
    for row in t8[1:-1]:
        stated += [([idx(i, j) for i in rows_of(row[0])], row[1 + j]) for j in range(len(cc))]
        stated.append(([idx(i, j) for i in rows_of(row[0]) for j in range(len(cc))], row[-1]))
    stated += [([idx(rr.index(r[0]), j) for j in range(len(cc))], r[2]) for r in tables["table01"][1:-1]]
    stated += [([idx(i, j) for i in rows_of(r[0]) for j in range(len(cc))], r[1]) for r in tables["table02"][1:-1]]
    stated += [([idx(i, cc.index(r[0])) for i in range(len(rr))], r[1]) for r in tables["table04"][1:-1]]
    sums: list[tuple[list[int], str]] = [
        ([idx(i, j)], f"{rr[i]} x {cc[j]}") for i in range(len(rr)) for j in range(len(cc))
    ]
    sums += [([idx(i, j) for j in range(len(cc))], rr[i]) for i in range(len(rr))]
    sums += [([idx(i, j) for i in range(len(rr))], cc[j]) for j in range(len(cc))]
    for g in ("professional", "non-professional"):
        sums += [([idx(i, j) for i in rows_of(g)], f"{g} x {cc[j]}") for j in range(len(cc))]
        sums.append(([idx(i, j) for i in rows_of(g) for j in range(len(cc))], g))
    targets = [(ks, name) for ks, name in sums if 0 < sum(truth[k // len(cc)][k % len(cc)] for k in ks) < 5]
    found = _exposed(len(every), stated, targets, floor)
    for key, counts in vectors.items():
        body, total = tables[key][1:-1], tables[key][-1][1]
        vector = [([i], r[1]) for i, r in enumerate(body)] + [(list(range(len(body))), total)]
        small = [([i], f"{key}: {r[0]}") for i, r in enumerate(body) if 0 < counts[i] < 5]
        found += _exposed(len(body), vector, small, floor)
    return found


def _published(
    rows: list[Rec], line_rule: bool = False
) -> tuple[dict[str, Grid], list[list[int]], dict[str, list[int]]]:
    """Tables 1 to 8 of one period as the report makes them (or as the line rule alone made them, each table
    on its own), with the true counts the audit needs."""
    plan = None if line_rule else plan_hiding({"A": rows}, V)
    v = V if plan is None else recode_vocab(V, plan.recodings)  # categories combined as the publication does
    a = analyse(rows if plan is None else recode_rows(rows, plan.recodings), v, "A")
    h = None if plan is None else plan.hiding["A"]
    prof = {c: ("yes" if v.is_professional(c) else "no") for c in v.referrer_types}

    def grid(t: Table) -> Grid:
        return [list(t.header), *[list(r) for r in t.rows]]

    def freq(field: str, extra: dict[str, str] | None = None) -> Grid:
        hidden = None if h is None else [h.categories[field]]
        return grid(frequency_table("f", "f", field, [getattr(a, field)], extra, hidden=hidden))

    if h is None:
        t7, t8 = crosstab_table("t", "t", a.referrer_by_response), crosstab_table("t", "t", a.group_by_response)
    else:
        c = h.categories
        t7 = crosstab_table("t", "t", a.referrer_by_response, h.referrer_cells, c["referrer_type"], c["response"])
        t8 = crosstab_table("t", "t", a.group_by_response, h.group_cells, c["referrer_group"], c["response"])
    tables = {
        "table01": freq("referrer_type", prof),
        "table02": freq("referrer_group"),
        "table03": freq("concern"),
        "table04": freq("response"),
        "table05": freq("outcome"),
        "table06": freq("age_band"),
        "table07": grid(t7),
        "table08": grid(t8),
    }
    truth = [list(r) for r in a.referrer_by_response.counts]
    vectors = {
        "table03": [x.count for x in a.concern.counts],
        "table05": [x.count for x in a.outcome.counts],
        "table06": [x.count for x in a.age_band.counts],
    }
    return tables, truth, vectors


# ---- the line rule -------------------------------------------------------------------------------------------


def test_a_hidden_row_total_is_protected_by_the_other_row_totals() -> None:
    """School 3 (all 'no further action'), police 50, GP 50: the school row total was hidden but it was the
    grand total less the other two row totals (103 - 50 - 50 = 3)."""
    sup = suppress([[3, 0], [20, 30], [25, 25]])
    assert sup.row_totals[0] and sum(sup.row_totals) == 2  # a second row total goes with it
    lines = [(*r, t) for r, t in zip(sup.cells, sup.row_totals, strict=True)]
    lines += [(*c, t) for c, t in zip(zip(*sup.cells, strict=True), sup.col_totals, strict=True)]
    lines += [sup.row_totals, sup.col_totals]  # they add up to the grand total, which is shown
    assert all(sum(line) != 1 for line in lines)


def test_a_c_is_known_to_be_5_or_more() -> None:
    """[1, 5, 50] of 56: the line rule hides 1 and 5, but '<5' is 1 to 4 and 'c' 5 or more, so the two add
    up to 6 only as 1 + 5. protect() hides the 50 as well."""
    quantities = [Quantity(frozenset({i}), v) for i, v in enumerate([1, 5, 50])] + [Quantity(frozenset({0, 1, 2}), 56)]
    assert exposed(quantities, 3, {0, 1}, 0)
    hidden = protect(quantities, 3, hidden={1}, never={3})
    assert hidden == {0, 1, 2} and not exposed(quantities, 3, hidden, 0)


# ---- the tables, audited ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_random_periods_give_no_small_count_away(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(4):
        published = _published(_sample(rng, rng.randint(20, 300)))
        # the one residual needs the reader to know that a hidden small count is not 0: a line whose total
        # k of 1 to 4 has k non-zero cells, each then 1 (not protectable while zeros are shown)
        assert audit(*published, floor=0) == []


def test_the_line_rule_alone_gave_counts_away() -> None:
    """The same audit on the tables as the line rule made them, each on its own (as the report did): counts
    of 1 to 4 come out exactly in most samples, even for a reader who allows a hidden count to be 0."""
    rng = random.Random(1)
    leaks = sum(bool(audit(*_published(_sample(rng, rng.randint(20, 300)), line_rule=True), floor=0)) for _ in range(8))
    assert leaks >= 4


# ---- a report from the store -------------------------------------------------------------------------------------


def _store_sample(store: Store) -> None:
    """Period A: 3 anonymous referrals (no further action), 53 police (3 of 40 recorded got feedback; 3 have
    a time to decision), 50 school; period B: 40 police, 60 school."""
    rows = []
    i = 0

    def add(period: str, n: int, rt: str, resp: str, fb: bool | None = None, dm: int | None = None) -> None:
        nonlocal i
        for _ in range(n):
            i += 1
            v = {
                "received_at": datetime(2026, 1 if period == "A" else 4, 5, 10) + timedelta(minutes=i),
                "period": period,
                "referrer_type": rt,
                "concern": "neglect",
                "response": resp,
                "feedback": fb,
                "manager_consulted": True,
                "decision_minutes": dm,
            }
            rows.append((i, f"R{i}", check_fields(v, V)))

    add("A", 3, "anonymous", "no further action")
    add("A", 3, "police", "early help", True, 600)
    add("A", 37, "police", "early help", False)
    add("A", 10, "police", "early help")
    add("A", 50, "school", "initial assessment")
    add("B", 20, "police", "early help", True, 100)
    add("B", 20, "police", "early help", False, 2000)
    add("B", 60, "school", "initial assessment")
    store_rows(store, "P", rows, "x")


def test_a_report_gives_no_hidden_count_back(store: Store, tmp_path: Path) -> None:
    """Before: 3 anonymous referrals were 103 - 50 - 50 in table 7a and 100 - 97.1% of 103 in the paragraph;
    3 of 40 got feedback was 50.0% - 42.5 points; 3 times to decision were 'n=3' in table 13 (with their
    median); the smallest expected count 1.5 was 3 x 103 / 203 - 0."""
    _store_sample(store)
    r = build_report(store, "P", tmp_path / "report.html", period="A", compare="B")

    def table(key: str) -> list[list[str]]:
        with (r.data_dir / f"{key}.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.reader(f))

    tables = {
        key: table(name)
        for key, name in (
            ("table01", "table01_referrer_type"),
            ("table02", "table02_referrer_group"),
            ("table03", "table03_concern"),
            ("table04", "table04_response"),
            ("table05", "table05_outcome"),
            ("table06", "table06_age_band"),
            ("table07", "table07a_referrer_by_response"),
            ("table08", "table08a_group_by_response"),
        )
    }
    cols = tables["table07"][0][1:-1]
    true = {("anonymous", "no further action"): 3, ("police", "early help"): 50, ("school", "initial assessment"): 50}
    truth = [[true.get((row[0], c), 0) for c in cols] for row in tables["table07"][1:-1]]
    vectors = {"table03": [0] * (len(tables["table03"]) - 2), "table05": [], "table06": []}
    vectors["table05"] = [0] * (len(tables["table05"]) - 2)
    vectors["table06"] = [0] * (len(tables["table06"]) - 2)
    assert audit(tables, truth, vectors, floor=0) == []  # '<5' is 0 to 4: a zero may be hidden
    html = r.html.read_text(encoding="utf-8")
    assert "A: 103 referrals;" in html  # the share from professionals would give the 3 back
    props = {row[0]: row for row in table("table11_compare_proportions")}
    feedback = props["feedback to the professional referrer"]
    assert feedback[1] == "<5" and feedback[-2:] == ["c", "c"]  # no phi, no difference
    assert props["referral from a professional"][1] == "c"
    assert props["decided within 24 hours"][1] == "<5"
    # the distributions are tested with the hidden categories pooled (anonymous, no further action in A)
    dist = table("table12_compare_distributions")[1:]
    assert [row[-1] for row in dist] == ["5 or more", "–", "5 or more"]
    assert "pooled" in dist[0][1] and "pooled" in dist[2][1]
    (times,) = table("table13_compare_times")[1:]
    assert times[1] == "<5" and times[4:] == ["c", "c", "c", "c"]  # no U, p or r resting on 3 times
    laming = {(row[0], row[1]): row for row in table("table09_laming")}
    # n recorded + not recorded was the professional count that table 2 hides
    assert laming["feedback to the professional referrer", "A"][-1] == "c"


# ---- the publication version -------------------------------------------------------------------------------------


def _store_small_missing(store: Store) -> None:
    """Like :func:`_store_sample`, with 'not recorded' counts of 1 to 4 in period A: feedback not recorded for
    3 police referrals, manager consulted for 2 referrals, time to decision for 4."""
    rows = []
    i = 0

    def add(period: str, n: int, rt: str, resp: str, fb: bool | None, mc: bool | None, dm: int | None) -> None:
        nonlocal i
        for _ in range(n):
            i += 1
            v = {
                "received_at": datetime(2026, 1 if period == "A" else 4, 5, 10) + timedelta(minutes=i),
                "period": period,
                "referrer_type": rt,
                "concern": "neglect",
                "response": resp,
                "feedback": fb,
                "manager_consulted": mc,
                "decision_minutes": dm,
            }
            rows.append((i, f"R{i}", check_fields(v, V)))

    add("A", 3, "anonymous", "no further action", None, True, 300)
    add("A", 3, "police", "early help", None, True, None)  # feedback: 3 not recorded
    add("A", 20, "police", "early help", True, True, 600)
    add("A", 27, "police", "early help", False, True, 2000)
    add("A", 48, "school", "initial assessment", True, True, 900)
    add("A", 2, "school", "initial assessment", True, None, 900)  # manager consulted: 2 not recorded
    add("A", 1, "school", "initial assessment", True, True, None)  # with the 3: 4 times not recorded
    add("B", 20, "police", "early help", True, True, 100)
    add("B", 20, "police", "early help", False, True, 2000)
    add("B", 60, "school", "initial assessment", None, True, 700)
    store_rows(store, "P", rows, "x")


class _Cells(HTMLParser):
    """The cells of every table of an HTML page, and the page's text outside them."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None
        self.text: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        (self.cell if self.cell is not None else self.text).append(data)


#: A count of 1 to 4 in running text: "n=3", "(n=3)", "3 of 40", "3 referrals", "3 records" (not the rule's
#: own "1 to 4 referrals").
SMALL_IN_TEXT = re.compile(r"\bn\s*=\s*[1-4]\b|(?<![\d.,])(?<!to )[1-4] (?:of|referrals?|records?)\b")


def _small_cells(tables: list[list[list[str]]]) -> list[str]:
    """Every cell (of tables with their header first) that is a count of 1 to 4, or holds one in text."""
    out = []
    for t in tables:
        header = t[0]
        for row in t[1:]:
            for h, cell in zip(header, row, strict=True):
                if re.fullmatch(r"\s*[1-4]\s*", cell) or SMALL_IN_TEXT.search(cell):
                    out.append(f"{row[0]} / {h}: {cell}")
    return out


def _csv_tables(folder: Path) -> list[list[list[str]]]:
    out = []
    for p in sorted(folder.glob("*.csv")):
        with p.open(encoding="utf-8", newline="") as f:
            out.append(list(csv.reader(f)))
    return out


@pytest.fixture
def both_versions(store: Store, tmp_path: Path) -> tuple[R.ReportResult, R.ReportResult]:
    _store_small_missing(store)
    research = build_report(store, "P", tmp_path / "research" / "report.html", period="A", compare="B", pdf=True)
    public = build_report(
        store, "P", tmp_path / "public" / "report.html", period="A", compare="B", pdf=True, publication=True
    )
    return research, public


def test_the_research_version_has_its_plots_and_says_it_is_not_for_publication(
    both_versions: tuple[R.ReportResult, R.ReportResult],
) -> None:
    from pypdf import PdfReader

    research, _ = both_versions
    text = research.html.read_text(encoding="utf-8")
    assert AUDIENCE_RESEARCH in text and "<figure" in text and "data:image/svg+xml" in text
    assert {p.name for p in research.data_dir.glob("fig*.png")} and {p.name for p in research.data_dir.glob("fig*.csv")}
    assert "not for publication" in (research.data_dir / "README.txt").read_text(encoding="utf-8").lower()
    pdf = PdfReader(str(research.pdf))
    assert sum(len(page.images) for page in pdf.pages) >= 4
    assert "not for publication" in pdf.pages[0].extract_text()
    # what the publication version leaves out is there: the check below would find it
    parser = _Cells()
    parser.feed(text)
    assert _small_cells(parser.tables)  # the 'not recorded' counts of 1 to 4 (and U's n=3)
    assert "chi-square" in {h for t in parser.tables for h in t[0]}


def test_the_publication_version_has_no_plot_no_test_and_no_small_count(
    both_versions: tuple[R.ReportResult, R.ReportResult],
) -> None:
    from pypdf import PdfReader

    _, public = both_versions
    text = public.html.read_text(encoding="utf-8")
    assert AUDIENCE_PUBLICATION in text and AUDIENCE_RESEARCH not in text
    assert "--publication" in text  # the command that makes it again
    for mark in ("<figure", "<img", "<svg", "data:image", "(not suppressed)"):
        assert mark not in text, mark
    # the data folder: the publication tables and the README, nothing else
    names = sorted(p.name for p in public.data_dir.iterdir())
    assert names and all(re.fullmatch(r"table\d\d[ab]?_\w+\.csv", n) or n == "README.txt" for n in names), names
    assert not any(n.startswith(("fig", "table14", "table15", "table12")) for n in names)
    # no test statistic or effect size, in any table
    parser = _Cells()
    parser.feed(text)
    headers = {h for t in parser.tables for h in t[0]} | {h for t in _csv_tables(public.data_dir) for h in t[0]}
    for h in ("test", "p", "p (Holm)", "phi", "chi-square", "df", "Cramér's V", "U", "rank-biserial r"):
        assert h not in headers, h
    assert not any(h.startswith("difference") or "expected" in h for h in headers)
    # no count of 1 to 4: the HTML tables, the CSV files, the text around them
    assert _small_cells(parser.tables) == []
    assert _small_cells(_csv_tables(public.data_dir)) == []
    assert not SMALL_IN_TEXT.search(" ".join(parser.text))
    # the 'not recorded' counts of 1 to 4 are '<5', and what adds up with them to a published count is hidden
    with (public.data_dir / "table09_laming.csv").open(encoding="utf-8", newline="") as f:
        laming = {(r[0], r[1]): r for r in csv.reader(f)}
    feedback = laming["feedback to the professional referrer", "A"]
    assert feedback[-1] == "<5" and feedback[3] == "c" and feedback[4:6] == ["", ""]
    manager = laming["manager or senior practitioner consulted", "A"]
    assert manager[-1] == "<5" and manager[3] == "c"
    with (public.data_dir / "table10_decision_time.csv").open(encoding="utf-8", newline="") as f:
        times = {r[0]: r for r in csv.reader(f)}
    assert times["A"][1] == "c" and times["A"][-1] == "<5"
    # A's 'not recorded' is 1 to 4, so the times recorded are withheld in every selection (B and all records add
    # up to A's): B's n is hidden too, its zero 'not recorded' shown
    assert times["B"][1] == "c" and times["B"][-1] == "0"
    # the PDF: no image, the same text
    pdf = PdfReader(str(public.pdf))
    assert all(not page.images for page in pdf.pages)
    pdf_text = " ".join(page.extract_text() for page in pdf.pages)
    assert "For publication: small cells suppressed, no plots." in " ".join(pdf_text.split())
    assert not SMALL_IN_TEXT.search(pdf_text)
    assert "Cramér" not in pdf_text and "chi-square =" not in pdf_text


def test_the_publication_content_for_the_app(store: Store) -> None:
    """report_content(..., publication=True), as the app would show it: no figure in any section."""
    _store_small_missing(store)
    content = R.report_content(store, "P", period="A", compare="B", publication=True)
    assert all(not s.figures for s in content.sections)
    assert all(t.publication for s in content.sections for t in s.tables)
    assert content.meta["audience"] == AUDIENCE_PUBLICATION
    research = R.report_content(store, "P", period="A", compare="B")
    assert any(s.figures for s in research.sections)


def test_the_cli_writes_the_publication_version(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from annotation.store.engine import sqlite_url
    from app.cli import records as cli_records

    _store_small_missing(store)
    monkeypatch.setattr(cli_records, "command_store", lambda args: store)
    from app.cli.main import main

    out = tmp_path / "pub.html"
    assert (
        main(
            [
                "--db",
                sqlite_url(tmp_path / "unused.sqlite"),
                "report",
                "--project",
                "P",
                "--out",
                str(out),
                "--publication",
            ]
        )
        == 0
    )
    assert "publication version" in capsys.readouterr().out
    assert "<figure" not in out.read_text(encoding="utf-8")
    assert not list((tmp_path / "pub_data").glob("fig*"))
