"""The report on a generated sample of 2,000 referrals (imported from a CSV extract) and two coded recordings:
its numbers against an independent computation (Counter, numpy, scipy called directly on the generated
sample), small cells suppressed, the same files from a second run and from PostgreSQL, and the PDF's pages
rendered and looked at."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from annotation.errors import ReportError
from annotation.records.importer import import_records
from annotation.records.referrals import link_segment, list_records
from annotation.records.sample import SampleReferral, coded_document, generate_sample, write_extract_csv
from annotation.report.builder import ReportResult, build_report, project_documents
from annotation.services import ensure_project
from annotation.store.documents import store_document
from annotation.store.engine import Store, open_store, sqlite_url

A, B = "2026-Q1", "2026-Q2"
VOCAB = json.loads((Path(__file__).resolve().parents[2] / "resources" / "records" / "vocabularies.json").read_text())
PROFESSIONAL = set(VOCAB["professional_referrers"])
WHEN = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Built:
    sample: list[SampleReferral]
    store: Store
    result: ReportResult
    linked: int
    docs: list[Any]
    import_seconds: float


def _build(url: str, out: Path, pdf: bool = True) -> Built:
    store = open_store(url)
    sample = generate_sample(2000)
    path = write_extract_csv(sample, out.parent / "extract.csv")
    t0 = time.perf_counter()
    import_records(store, path, "Study")
    import_seconds = time.perf_counter() - t0
    pid = ensure_project(store, "Study")
    docs, linked = [], 0
    first = {r.received_at: r.id for r in list_records(store, "Study")}
    ids = list(first.values())
    for k, seed in enumerate((11, 12)):
        doc, calls = coded_document(seed)
        with store.session() as s:
            did = store_document(s, doc, f"duty room {k + 1}", project_id=pid)
        docs.append(doc)
        for call in calls[:3]:
            link_segment(store, ids[linked], did, call.referrer_ann_id)
            linked += 1
    result = build_report(store, "Study", out, period=A, compare=B, pdf=pdf, generated_at=WHEN)
    return Built(sample, store, result, linked, docs, import_seconds)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("report")
    b = _build(sqlite_url(folder / "store.sqlite"), folder / "report.html")
    print(f"\nimport 2,000 rows: {b.import_seconds:.2f} s; report with PDF: {b.result.seconds:.2f} s")
    yield b
    b.store.close()


def _csv(b: Built, key: str) -> list[dict[str, str]]:
    with (b.result.data_dir / f"{key}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _period(b: Built, label: str) -> list[dict[str, Any]]:
    return [r.values for r in b.sample if r.values["period"] == label]


def _published(cell: str, count: int) -> None:
    """A published count is the count, '<5' for 0 to 4 (every count of 1 to 4, and a zero hidden to protect
    another), 'c' (5 or more, hidden to protect another cell), or 'x' (a cross-tab's hidden inner cell: any)."""
    if cell == "<5":
        assert 0 <= count <= 4
    elif cell == "c":
        assert count >= 5
    elif cell == "x":
        assert count >= 0
    else:
        assert int(cell) == count
        assert not 1 <= count <= 4


def test_files_are_written(built: Built) -> None:
    r = built.result
    assert r.html.is_file() and r.pdf is not None and r.pdf.is_file()
    assert r.records == 2000 and r.documents == 2
    names = {p.name for p in r.files}
    for key in (
        "fig01_referrer_type",
        "fig03_response_by_group",
        "fig04_laming",
        "fig05_decision_time",
        "fig06_time_budget",
    ):
        assert {f"{key}.csv", f"{key}.png"} <= names
    html = r.html.read_text(encoding="utf-8")
    assert html.count("data:image/svg+xml;base64,") == 6
    assert "Method" in html and "Holm" in html and "Laming" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html  # self-contained
    for referral in built.sample[:50]:
        assert referral.reference not in html  # no record is listed one by one
    assert r.seconds < 60


def test_counts_by_referrer_concern_and_response(built: Built) -> None:
    for label in (A, B):
        rows = _period(built, label)
        expected = Counter(v["referrer_type"] for v in rows)
        fig = {(x["period"], x["referrer_type"]): x for x in _csv(built, "fig01_referrer_type")}
        for ref, n in expected.items():
            assert int(fig[label, ref]["count"]) == n
            assert float(fig[label, ref]["share"]) == pytest.approx(n / len(rows), abs=1e-6)
            assert fig[label, ref]["professional"] == ("yes" if ref in PROFESSIONAL else "no")
        concerns = Counter(v["concern"] for v in rows)
        fig2 = {(x["period"], x["concern"]): int(x["count"]) for x in _csv(built, "fig02_concern")}
        assert {c: fig2[label, c] for c in concerns} == dict(concerns)

    table = {r["response"]: r for r in _csv(built, "table04_response")}
    for label in (A, B):
        responses = Counter(v["response"] or "not recorded" for v in _period(built, label))
        for resp, n in responses.items():
            _published(table[resp][f"n ({label})"], n)
        assert table["total"][f"n ({label})"] == str(len(_period(built, label)))


def test_referrer_by_response_crosstab_with_small_cells_suppressed(built: Built) -> None:
    rows = _period(built, A)
    expected = Counter((v["referrer_type"], v["response"] or "not recorded") for v in rows)
    table = _csv(built, "table07a_referrer_by_response")
    small = 0
    for row in table[:-1]:
        for resp in row:
            if resp in ("referrer type", "total"):
                continue
            n = expected.get((row["referrer type"], resp), 0)
            _published(row[resp], n)
            small += row[resp] == "x" and 0 < n < 5
        total = sum(c for (ref, _), c in expected.items() if ref == row["referrer type"])
        assert row["total"] == str(total)
    assert small > 0  # the sample has small cells, and they are hidden
    for row in table[:-1]:  # no row with exactly one hidden cell (it could be worked out from the total)
        assert sum(row[c] in ("<5", "c", "x") for c in row if c not in ("referrer type", "total")) != 1
    group = {r["referrer group"]: r for r in _csv(built, "table08a_group_by_response")}
    prof = Counter(v["response"] or "not recorded" for v in rows if v["referrer_type"] in PROFESSIONAL)
    for resp, n in prof.items():
        _published(group["professional"][resp], n)


def test_laming_shares_match_scipy(built: Built) -> None:
    fig = {(x["period"], x["measure"]): x for x in _csv(built, "fig04_laming")}
    for label in (A, B):
        prof = [v for v in _period(built, label) if v["referrer_type"] in PROFESSIONAL]
        for field, measure in (
            ("initial_assessment", "initial assessment after a professional referral"),
            ("feedback", "feedback to the professional referrer"),
        ):
            known = [v[field] for v in prof if v[field] is not None]
            k, n = sum(known), len(known)
            row = fig[label, measure]
            assert (int(row["yes"]), int(row["n"]), int(row["not_recorded"])) == (k, n, len(prof) - n)
            ci = stats.binomtest(k, n).proportion_ci(method="wilson")
            assert float(row["share"]) == pytest.approx(k / n)
            assert (float(row["ci_low"]), float(row["ci_high"])) == (pytest.approx(ci.low), pytest.approx(ci.high))
    table = _csv(built, "table09_laming")
    ia_a = next(r for r in table if r["period"] == A and r["measure"].startswith("initial assessment"))
    prof_a = [
        v for v in _period(built, A) if v["referrer_type"] in PROFESSIONAL and v["initial_assessment"] is not None
    ]
    assert ia_a["share"] == f"{100 * sum(v['initial_assessment'] for v in prof_a) / len(prof_a):.1f}%"


def test_time_to_decision_and_the_mann_whitney_test(built: Built) -> None:
    hours = {
        label: [v["decision_minutes"] / 60 for v in _period(built, label) if v["decision_minutes"] is not None]
        for label in (A, B)
    }
    table = {r["period"]: r for r in _csv(built, "table10_decision_time")}
    for label, h in hours.items():
        q1, med, q3 = np.percentile(h, [25, 50, 75])
        assert table[label]["n"] == str(len(h))
        assert table[label]["median"] == f"{med:.1f}"
        assert table[label]["interquartile range"] == f"{q1:.1f} to {q3:.1f}"
        within = sum(x <= 24 for x in h) / len(h)
        assert table[label]["within 24 hours"] == f"{100 * within:.1f}%"
    ecdf = [r for r in _csv(built, "fig05_decision_time") if r["period"] == A]
    assert [float(r["hours"]) for r in ecdf] == pytest.approx(sorted(hours[A]), abs=1e-6)

    res = stats.mannwhitneyu(hours[A], hours[B], alternative="two-sided")
    [row] = _csv(built, "table13_compare_times")
    assert row["U"] == f"{res.statistic:.1f}"
    r = 2 * res.statistic / (len(hours[A]) * len(hours[B])) - 1
    assert row["rank-biserial r"] == f"{r:.3f}"
    assert r > 0  # the sample's second period decides faster


def test_period_comparison_matches_scipy(built: Built) -> None:
    table = {r["measure"]: r for r in _csv(built, "table11_compare_proportions")}
    for field, measure in (
        ("initial_assessment", "initial assessment after a professional referral"),
        ("feedback", "feedback to the professional referrer"),
    ):
        counts = []
        for label in (A, B):
            known = [
                v[field] for v in _period(built, label) if v["referrer_type"] in PROFESSIONAL and v[field] is not None
            ]
            counts.append([sum(known), len(known) - sum(known)])
        ref = stats.chi2_contingency(np.array(counts), correction=False)
        assert ref.expected_freq.min() >= 5
        row = table[measure]
        assert row["test"] == f"chi-square = {ref.statistic:.2f}"
        assert row["p"] == ("<0.001" if ref.pvalue < 0.001 else f"{ref.pvalue:.3f}")
        (a1, a0), (b1, b0) = counts
        diff = a1 / (a1 + a0) - b1 / (b1 + b0)
        assert row[f"difference {A} − {B}, points (95% CI)"].startswith(f"{100 * diff:+.1f} (")
        phi = (a1 * b0 - a0 * b1) / np.sqrt((a1 + a0) * (b1 + b0) * (a1 + b1) * (a0 + b0))
        assert row["phi"] == f"{phi:.3f}"

    dist = {r["measure"]: r for r in _csv(built, "table12_compare_distributions")}
    responses = sorted({v["response"] for v in (r.values for r in built.sample) if v["response"]})
    obs = np.array([[Counter(v["response"] for v in _period(built, p))[x] for x in responses] for p in (A, B)])
    ref = stats.chi2_contingency(obs, correction=False)
    assert dist["response"]["chi-square"] == f"{ref.statistic:.2f}"
    assert dist["response"]["df"] == str(ref.dof)
    assert dist["response"]["Cramér's V"] == f"{np.sqrt(ref.statistic / obs.sum()):.3f}"


def test_video_time_budgets_and_links(built: Built) -> None:
    rows = _csv(built, "fig06_time_budget")
    for k, doc in enumerate(built.docs):
        times = {s.slot_id: s.time for s in doc.time_slots}
        extent = max(t for t in times.values() if t is not None)
        phases = next(t for t in doc.tiers if t.tier_id == "Call phase").annotations
        totals: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for a in phases:
            totals[a.value] += times[a.ts2] - times[a.ts1]
            counts[a.value] += 1
        mine = {r["value"]: r for r in rows if r["document"].endswith(f"duty room {k + 1}")}
        assert {v: int(r["total_ms"]) for v, r in mine.items()} == dict(totals)
        assert {v: int(r["count"]) for v, r in mine.items()} == dict(counts)
        for v, r in mine.items():
            assert float(r["share"]) == pytest.approx(totals[v] / extent, abs=1e-6)
    linked = _csv(built, "table15_records_observed")
    assert sum(int(r["records linked"]) for r in linked) == built.linked == 6
    html = built.result.html.read_text(encoding="utf-8")
    assert "Participants" not in html.split('id="video"')[1].split("</table>")[0]  # free-text tiers are left out


def test_a_second_run_and_postgresql_give_the_same_files(built: Built, tmp_path: Path, pg_url: str) -> None:
    again = build_report(
        built.store, "Study", tmp_path / "again" / "report.html", period=A, compare=B, pdf=True, generated_at=WHEN
    )
    for p in built.result.files:
        if p.suffix == ".csv":
            assert (again.data_dir / p.name).read_bytes() == p.read_bytes(), p.name
    assert again.html.read_text() == built.result.html.read_text().replace("report_data", "report_data")
    assert again.pdf is not None and built.result.pdf is not None
    assert again.pdf.read_bytes() == built.result.pdf.read_bytes()

    (tmp_path / "pg").mkdir()
    pg = _build(pg_url, tmp_path / "pg" / "report.html", pdf=False)
    try:
        for p in built.result.files:
            if p.suffix == ".csv":
                assert (pg.result.data_dir / p.name).read_bytes() == p.read_bytes(), p.name
    finally:
        pg.store.close()


def test_the_method_sections_command_reproduces_the_report(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command the method section names, run as a shell would split it, writes the same tables: with
    --doc (it was left out, so the rerun took every document) and a file name with a space (it was not quoted)."""
    import shlex

    from annotation.report.builder import report_content
    from annotation.store.engine import sqlite_url
    from app.cli.main import main

    doc = max(d for d, _ in project_documents(built.store, ensure_project(built.store, "Study")))
    first = build_report(built.store, "Study", tmp_path / "a" / "my report.html", period=A, documents=[doc])
    command = report_content(
        built.store, "Study", period=A, documents=[doc], out_name="my report.html", generated_at=WHEN
    ).meta["command"]
    assert "--doc" in command
    argv = shlex.split(command)
    assert argv[:2] == ["frontdoor", "report"]
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "b")
    assert main(["--db", sqlite_url(built.result.html.parent / "store.sqlite"), *argv[1:]]) == 0
    again = tmp_path / "b" / "my report_data"
    for p in first.files:
        if p.suffix == ".csv":
            assert (again / p.name).read_bytes() == p.read_bytes(), p.name
    assert sorted(x.name for x in again.iterdir()) == sorted(x.name for x in first.data_dir.iterdir())


def test_single_period_and_refusals(built: Built, tmp_path: Path) -> None:
    one = build_report(built.store, "Study", tmp_path / "one.html", period=A)
    assert [r["period"] for r in csv.DictReader((one.data_dir / "table10_decision_time.csv").open())] == [A]
    assert not (one.data_dir / "table11_compare_proportions.csv").exists()
    with pytest.raises(ReportError, match="periods: 2026-Q1, 2026-Q2"):
        build_report(built.store, "Study", tmp_path / "x.html", period="2025-Q4")
    with pytest.raises(ReportError, match="--compare needs --period"):
        build_report(built.store, "Study", tmp_path / "x.html", compare=B)
    with pytest.raises(ReportError, match="no such project"):
        build_report(built.store, "Nope", tmp_path / "x.html")


def test_pdf_pages_have_the_report_and_render(built: Built, tmp_path: Path) -> None:
    from pypdf import PdfReader

    assert built.result.pdf is not None
    reader = PdfReader(built.result.pdf)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert 6 <= len(reader.pages) <= 20
    for heading in (
        "Method",
        "Referrals by referrer type",
        "Laming recommendations 19 and 11",
        "Time to decision",
        f"{A} compared with {B}",
        "Coded video",
    ):
        assert heading in text, heading
    assert "<5" in text
    assert len(reader.pages[0].images) == 0 and sum(len(p.images) for p in reader.pages) == 6

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the pages were checked with pypdf only")
    subprocess.run([pdftoppm, "-r", "50", "-png", str(built.result.pdf), str(tmp_path / "page")], check=True)
    from PIL import Image

    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(reader.pages)
    for p in pages:
        with Image.open(p) as im:
            grey = np.asarray(im.convert("L"))
            assert grey.shape[0] > grey.shape[1]  # A4 portrait
            assert (grey < 128).mean() > 0.005  # something is drawn
            assert grey[:20].min() > 200  # and the top margin is empty


def test_plots_read_in_greyscale(built: Built) -> None:
    """The plots use no colour: every pixel's channels are (nearly) equal, so print in grey loses nothing."""
    from PIL import Image

    for p in built.result.files:
        if p.suffix == ".png":
            with Image.open(p) as im:
                rgb = np.asarray(im.convert("RGB")).astype(int)
            spread = rgb.max(axis=2) - rgb.min(axis=2)
            assert spread.max() <= 8, p.name
