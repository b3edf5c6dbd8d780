"""Benchmark the referral report and its disclosure control at 400, 5,000 and 20,000 records (run by hand)::

    .venv/bin/python bench/report_bench.py [--sizes 400 5000 20000] [--runs 3]

For each size, a fresh SQLite store holds the synthetic sample (``store_sample``: two periods, no coded
video) and the script times, side by side:

- ``plan``: choosing the hidden counts (``plan_hiding``: tables 1 to 8 of both periods and all records, one
  optimisation per group of linked tables), with its rounds and method (optimal, or the heuristic);
- ``content A vs B``: the whole publication report's content for the two periods compared (``report_content``,
  which reads the records, analyses them and plans the hiding);
- ``report all``: the research version written to disk (HTML, CSV and the plots) for all records.

Every timed run plans afresh (``forget_plans``: a report otherwise reuses the plan it made for the same
records). The ratio row is the plan's share of the content's time. Each measurement is the median of ``--runs`` runs
(min and max shown); the machine may be noisy, so read the ratios rather than the seconds. It also prints
each one-way and cross-tab table's information loss (share of referrals in cells shown) for all records.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.records import list_records, load_vocabularies, record_periods, store_sample
from annotation.report import build_report, report_content, shown_text
from annotation.report.disclosure import forget_plans, plan_hiding
from annotation.store import open_store
from annotation.store.engine import sqlite_url


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float, Any]:
    times, result = [], None
    for _ in range(runs):
        forget_plans()  # each run plans afresh (the report keeps the plan for the same records)
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[400, 5000, 20000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    vocab = load_vocabularies()
    print(f"{'records':>8} {'what':<16} {'median s':>9} {'min':>7} {'max':>7}  notes")
    for n in args.sizes:
        folder = Path(tempfile.mkdtemp(prefix="frontdoor-report-bench-"))
        store = open_store(sqlite_url(folder / "bench.sqlite"))
        store_sample(store, "B", n, coded_documents=0)
        rows = list_records(store, "B")
        periods: dict[str, list[Any]] = {}
        for r in rows:
            periods.setdefault(r.period, []).append(r)
        a, b = record_periods(store, "B")[:2]
        plan_t = timed(lambda: plan_hiding(periods, vocab), args.runs)  # noqa: B023
        plan = plan_t[3]
        content_t = timed(
            lambda: report_content(store, "B", period=a, compare=b, publication=True),  # noqa: B023
            args.runs,
        )
        report_t = timed(lambda: build_report(store, "B", folder / "r.html"), args.runs)  # noqa: B023
        print(
            f"{n:>8} {'plan':<16} {plan_t[0]:>9.2f} {plan_t[1]:>7.2f} {plan_t[2]:>7.2f}  "
            f"{plan.rounds} rounds, {'/'.join(sorted(set(plan.methods)))}"
        )
        print(f"{n:>8} {'content A vs B':<16} {content_t[0]:>9.2f} {content_t[1]:>7.2f} {content_t[2]:>7.2f}")
        print(f"{n:>8} {'report all':<16} {report_t[0]:>9.2f} {report_t[1]:>7.2f} {report_t[2]:>7.2f}")
        print(f"{n:>8} {'ratio':<16} {plan_t[0] / content_t[0]:>9.2f}  (plan / content A vs B)")
        content = report_content(store, "B")
        for s in content.sections:
            for t in s.tables:
                if t.shown:
                    print(f"{'':>8} {t.key:<36} {shown_text(t)}")
        store.close()


if __name__ == "__main__":
    main()
