"""Benchmark the sensitive-identifier scan (run by hand)::

    .venv/bin/python bench/identifiers_bench.py [--annotations 10000] [--terms 500] [--runs 3] [--db URL]

A document of the referral scheme plus a free-text Transcript tier of N segments (3 s each, 8-20 words of
duty-room talk), 1% of them naming someone on the watch list and 1% holding a phone number or a date of
birth; a watch list of T terms (names of one and two words with a variant, places, case numbers). Rows:

- ``document_display``: load the document and place every annotation in time (what a scan does first);
- ``match terms``: the watch-list matcher over every segment's text; the same with 5 terms;
- ``match patterns``: the identifier patterns over every segment's text;
- ``scan (first)``: ``scan_document`` storing the proposals; ``scan (again)``: the same, nothing new.

Each measurement is the median of ``--runs`` runs (min and max shown); read the ratio rows rather than
the seconds, the machine may be busy.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.elan.model import Annotation, Tier, TimeSlot
from annotation.elan.scheme import load_scheme
from annotation.identifiers.match import Term, WatchMatcher, pattern_matches
from annotation.identifiers.proposals import scan_document
from annotation.identifiers.watch_list import WatchEntry, add_watch_terms
from annotation.services import document_display, ensure_project
from annotation.store.documents import store_document
from annotation.store.engine import Store, open_store, sqlite_url

TALK = (
    "the duty worker asks the caller about the referral and what school said yesterday morning then she "
    "explains the threshold and what happens next with early help or an assessment and who will ring back"
)
WORDS = TALK.split()
SYLLABLES = ["ka", "ry", "den", "mo", "li", "sha", "ron", "ja", "mes", "zo", "ë", "wi", "tek", "ber", "an", "el"]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def watch_list(n: int, rng: random.Random) -> list[WatchEntry]:
    out: list[WatchEntry] = []
    seen: set[str] = set()
    while len(out) < n:
        r = rng.random()
        if r < 0.6:
            term, kind = f"{_name(rng)} {_name(rng)}" if rng.random() < 0.5 else _name(rng), "name"
        elif r < 0.8:
            term, kind = f"{_name(rng)} Road", "place"
        else:
            term, kind = f"CN-{rng.randint(2015, 2026)}-{rng.randint(0, 99999):05d}", "case number"
        if term.lower() in seen:
            continue
        seen.add(term.lower())
        variants = (term + "e",) if kind == "name" and rng.random() < 0.3 else ()
        out.append(WatchEntry(kind, term, variants))
    return out


def texts(n: int, terms: list[WatchEntry], rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
        r = rng.random()
        if r < 0.01:
            words.insert(rng.randrange(len(words)), rng.choice(terms).term + "'s")
        elif r < 0.015:
            words.insert(rng.randrange(len(words)), "ring 07700 900123")
        elif r < 0.02:
            words.insert(rng.randrange(len(words)), "born 12/03/2015")
        out.append(" ".join(words))
    return out


def store_long_document(store: Store, lines: list[str], project_id: int) -> int:
    doc = load_scheme("referral")
    doc.kind = "eaf"
    doc.linguistic_types.append({"LINGUISTIC_TYPE_ID": "utterance", "TIME_ALIGNABLE": "true"})
    tier = Tier({"LINGUISTIC_TYPE_REF": "utterance", "TIER_ID": "Transcript"})
    doc.tiers.append(tier)
    for i, text in enumerate(lines):
        doc.time_slots += [TimeSlot(f"ts{2 * i + 1}", i * 3000), TimeSlot(f"ts{2 * i + 2}", i * 3000 + 2900)]
        tier.annotations.append(Annotation(f"a{i + 1}", text, ts1=f"ts{2 * i + 1}", ts2=f"ts{2 * i + 2}"))
    with store.session() as s:
        return store_document(s, doc, "long call", project_id=project_id)


def measure(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations", type=int, default=10_000)
    ap.add_argument("--terms", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", help="a database URL (default: a new SQLite file)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.db or sqlite_url(Path(tmp) / "bench.sqlite"))
        try:
            project = f"identifiers bench {time.time():.0f}"
            pid = ensure_project(store, project)
            entries = watch_list(args.terms, rng)
            lines = texts(args.annotations, entries, rng)
            add_watch_terms(store, project, entries)
            doc = store_long_document(store, lines, pid)
            many = [Term(i, e.kind, (e.term, *e.variants)) for i, e in enumerate(entries)]
            few = many[:5]
            rows: list[tuple[str, tuple[float, float, float]]] = []
            rows.append(("document_display", measure(lambda: document_display(store, doc), args.runs)))
            matcher, small = WatchMatcher(many), WatchMatcher(few)
            rows.append((f"match terms ({len(many)})", measure(lambda: [matcher.find(t) for t in lines], args.runs)))
            rows.append((f"match terms ({len(few)})", measure(lambda: [small.find(t) for t in lines], args.runs)))
            rows.append(("match patterns", measure(lambda: [pattern_matches(t) for t in lines], args.runs)))
            first = measure(lambda: scan_document(store, doc), 1)
            rows.append(("scan (first)", first))
            rows.append(("scan (again)", measure(lambda: scan_document(store, doc), args.runs)))
            summary = scan_document(store, doc)
        finally:
            store.close()
    print(f"{args.annotations} transcript annotations, {args.terms} watch-list terms, {store.dialect}")
    print(f"{'':<24} {'median s':>9} {'min':>7} {'max':>7}")
    for name, (med, lo, hi) in rows:
        print(f"{name:<24} {med:9.3f} {lo:7.3f} {hi:7.3f}")
    base = rows[0][1][0]
    print(f"{'scan again / display':<24} {rows[-1][1][0] / base:9.2f}")
    print(f"{'terms 500 / 5':<24} {rows[1][1][0] / rows[2][1][0]:9.2f}")
    print(f"proposals pending: {summary.pending} (of {summary.annotations} annotations searched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
