"""Consent benchmark (run by hand): how long the gate takes to decide over many clips, and audit verify.

    .venv/bin/python bench/consent_bench.py [--clips 500] [--db URL]

Builds a project with 5 participants and N clips of one generated recording (3 people present in each,
a decision each on a random scope), then times ``gate.plan`` for one scope and ``audit.check``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.services import add_recording, ensure_project
from annotation.store.engine import open_store, sqlite_url
from consent import audit
from consent.clips import create_clip
from consent.conditions import ExportContext
from consent.decisions import record_decision
from consent.export.gate import plan
from consent.participants import add_participant
from media_tools.synth import make_test_recording

SCOPES = ["research_team", "internal_training", "external_seminar", "publication"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=500)
    ap.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="frontdoor-consent-bench-"))
    store = open_store(args.db or sqlite_url(d / "bench.sqlite"))
    media = make_test_recording(d / "rec.mp4", seconds=60, size="160x90")
    rid = add_recording(store, ensure_project(store, "bench"), media, duration_ms=60_000)
    people = [f"P{i}" for i in range(5)]
    for p in people:
        add_participant(store, "bench", p)
    rnd = random.Random(1)
    t = time.perf_counter()
    for i in range(args.clips):
        a = (i * 0.1) % 55
        present = rnd.sample(people, 3)
        c = create_clip(store, rid, a, a + 2.0 + i * 1e-4, add_present=present).clip_id
        for p in present:
            record_decision(store, c, p, rnd.choice(SCOPES), "granted")
    build = time.perf_counter() - t
    t = time.perf_counter()
    planned = plan(store, ExportContext("internal_training", date.today()))
    t_plan = time.perf_counter() - t
    with store.session() as s:
        t = time.perf_counter()
        problem = audit.check(s)
        t_check = time.perf_counter() - t
        n = s.query(audit.AuditEntry).count()
    usable = sum(p.usable for p in planned)
    print(f"{store.label}: {args.clips} clips, {n} audit entries (built in {build:.1f} s)")
    print(f"gate plan: {t_plan:.2f} s ({t_plan / args.clips * 1000:.1f} ms per clip), {usable} usable")
    print(f"audit check: {t_check:.2f} s, {'ok' if problem is None else problem.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
