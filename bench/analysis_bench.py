"""Benchmark the analysis of coded video on big documents (run by hand)::

    .venv/bin/python bench/analysis_bench.py [--annotations 100000] [--runs 3]

Two documents in a fresh SQLite store:

- the store benchmark's generated EAF (``store_bench.generate_eaf``: 6 tiers, free-text values, N annotations),
  for ``code_stats`` over every tier and ``co_occurrence`` of two speakers' tiers, side by side with
  ``services.document_display`` (load the document and place every annotation in time), which both of them
  do first: the ratio row shows what the statistics themselves add;
- a double-coded document: two tiers of N/2 segments each, coded from an 8-value vocabulary, coder B a
  jittered copy of coder A with 10% of the values changed, 3% of the segments left out and 3% added, for
  ``tier_agreement``, ``disagreements`` and ``build_consensus`` (every disagreement settled as "take A"
  with a rationale).

Each measurement is the median of ``--runs`` runs (min and max shown); the machine may be noisy, so read
the ratio rows rather than the seconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store_bench import generate_eaf

from annotation.coding.agreement import tier_agreement
from annotation.coding.consensus import Decision, disagreements
from annotation.coding.consensus_tier import build_consensus
from annotation.coding.video_stats import co_occurrence, code_stats
from annotation.elan.model import Annotation, EafDocument, Tier, TimeSlot
from annotation.services import document_display, import_file
from annotation.store.documents import store_document
from annotation.store.engine import Store, open_store, sqlite_url

VALUES = ["opening", "reason", "gathering", "consultation", "decision", "feedback", "closing", "other"]


def double_coded(n_each: int, seed: int) -> EafDocument:
    rng = random.Random(seed)
    doc = EafDocument(linguistic_types=[{"LINGUISTIC_TYPE_ID": "phase", "TIME_ALIGNABLE": "true"}])
    a_tier = Tier({"LINGUISTIC_TYPE_REF": "phase", "TIER_ID": "Coder A"})
    b_tier = Tier({"LINGUISTIC_TYPE_REF": "phase", "TIER_ID": "Coder B"})
    doc.tiers = [a_tier, b_tier]
    n = 0

    def add(tier: Tier, start: int, end: int, value: str) -> None:
        nonlocal n
        n += 1
        doc.time_slots += [TimeSlot(f"ts{2 * n - 1}", start), TimeSlot(f"ts{2 * n}", end)]
        tier.annotations.append(Annotation(f"a{n}", value, f"ts{2 * n - 1}", f"ts{2 * n}"))

    spans: list[tuple[int, int, str]] = []
    b_spans: list[tuple[int, int, str]] = []
    t = 0
    for _ in range(n_each):
        t += rng.randint(0, 500)
        if rng.random() < 0.03:  # a stretch only coder B codes
            b_spans.append((t, t + 2_500, rng.choice(VALUES)))
            t += 3_000
        length = rng.randint(1_000, 8_000)
        spans.append((t, t + length, rng.choice(VALUES)))
        t += length
    for start, end, value in spans:
        add(a_tier, start, end, value)
        r = rng.random()
        if r < 0.03:
            continue  # B left it out
        if r < 0.13:
            value = rng.choice(VALUES)
        b_spans.append((max(0, start + rng.randint(-200, 200)), end + rng.randint(-200, 200), value))
    for start, end, value in sorted(b_spans):
        add(b_tier, start, end, value)
    doc.properties = [("lastUsedAnnotationId", str(n))]
    return doc


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return times, result


def row(label: str, times: list[float]) -> str:
    return f"{label:<52} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="frontdoor-analysis-bench-"))
    eaf = d / "big.eaf"
    generate_eaf(eaf, args.annotations, 1)
    store: Store = open_store(sqlite_url(d / "store.sqlite"))
    big = import_file(store, eaf).doc_id
    with store.session() as s:
        coded = store_document(s, double_coded(args.annotations // 2, 2), "double-coded")

    print(f"{'seconds (median, min, max)':<52} {'median':>8} {'min':>8} {'max':>8}")
    t_display, _ = timed(lambda: document_display(store, big), args.runs)
    t_stats, stats = timed(lambda: code_stats(store, big), args.runs)
    t_co, co = timed(lambda: co_occurrence(store, big, "speech SW1", "speech SW2"), args.runs)
    n_big = sum(s.count for s in stats)
    print(row(f"document_display ({n_big:,} annotations)", t_display))
    print(row(f"code_stats, every tier ({len(stats):,} rows)", t_stats))
    print(row(f"co_occurrence speech SW1 x speech SW2 ({len(co):,} pairs)", t_co))
    print(
        f"{'ratio code_stats / document_display':<52} {statistics.median(t_stats) / statistics.median(t_display):8.2f}"
    )
    print(
        f"{'ratio co_occurrence / document_display':<52} {statistics.median(t_co) / statistics.median(t_display):8.2f}"
    )

    t_coded_display, segs = timed(lambda: document_display(store, coded), args.runs)
    n_coded = sum(len(v) for v in segs.values())
    t_agree, agreement = timed(lambda: tier_agreement(store, coded, "Coder A", "Coder B"), args.runs)
    t_dis, comparison = timed(lambda: disagreements(store, coded, "Coder A", "Coder B"), args.runs)
    decisions = {x.key: Decision("b" if x.a is None else "a", "bench") for x in comparison.disagreements}
    counter = iter(range(10**6))
    t_build, result = timed(
        lambda: build_consensus(store, coded, "Coder A", "Coder B", decisions, new_tier=f"C{next(counter)}"),
        args.runs,
    )
    print(row(f"document_display, double-coded ({n_coded:,} annotations)", t_coded_display))
    print(
        row(
            f"tier_agreement (kappa {agreement.cohen.kappa:.3f}, ipf {agreement.modified.kappa_ipf:.3f})",
            t_agree,
        )
    )
    print(row(f"disagreements ({len(comparison.disagreements):,})", t_dis))
    print(row(f"build_consensus ({result.annotations:,} annotations, {result.notes:,} notes)", t_build))
    print(
        f"{'ratio tier_agreement / document_display':<52} "
        f"{statistics.median(t_agree) / statistics.median(t_coded_display):8.2f}"
    )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
