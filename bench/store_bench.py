"""Benchmark a whole-document round trip through the annotation store against pympi-ling's parse + write.

Run by hand::

    .venv/bin/python bench/store_bench.py [--annotations N] [--runs 3] [--seed 1] [--profile] [--keep]

It generates (seeded, so every run sees the same bytes) an EAF 3.0 file with N annotations (default 100,000)
on 6 tiers: 4 top-level time-alignable tiers (two time slots per annotation, some slots shared between
consecutive annotations, a few unaligned slots without TIME_VALUE) and 2 Symbolic_Association tiers whose
REF_ANNOTATIONs refer to about two thirds of a parent tier's annotations; values are short words, some of them
non-ASCII or with characters XML must escape. The file is checked with ``read_eaf``. Then, side by side, each
run in a fresh subprocess:

- pympi-ling: ``pympi.Elan.Eaf(path)`` (parse) and ``pympi.Elan.to_eaf(out, eaf)`` (write);
- Frontdoor: ``read_eaf`` (parse) and ``store_document`` into a fresh SQLite store (insert) = import, then
  ``load_document`` (load) and ``write_eaf`` (write) = export. Opening the store (schema migration of the
  fresh file) is timed on its own row, not in the total;
- peak RSS of each side (``ru_maxrss`` of its subprocess, next to the RSS after imports);
- ``services.document_display`` (load one document and place every annotation in time), after the peak
  RSS was read.

Every timed measurement runs ``--runs`` times (fresh subprocess, fresh database), the two sides interleaved;
the table shows median, min and max. The machine may be noisy, so compare the ratio rows rather than seconds.
Finally ``eaf_compare.compare_eaf`` checks that Frontdoor's output is the generated document ("lossless").
``--profile`` adds one cProfile run of the Frontdoor side (cumulative, top 25).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import random
import resource
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_WORDS = [
    "ja", "nein", "okay", "genau", "Mutter", "Vater", "Kita", "Schule", "Jugendamt", "Meldung", "Gefährdung",
    "größer", "über", "Straße", "Kinderschutz", "Rückruf", "Hausbesuch", "café", "naïve", "Zoë", "Ærø",
    "Łódź", "São", "Paulo", "привет", "семья", "東京", "家族", "schön", "weiß", "the", "child", "school",
    "referral", "mum", "dad", "police", "GP", "visit", "today", "tomorrow", "urgent", "safe", "concern",
    "Mum & Dad", "<unclear>", "hmm", "yeah", "right", "so", "well", "uh", "erm",
]  # fmt: skip
_GLOSSES = ["yes", "no", "mother", "father", "nursery", "school", "youth office", "report", "risk", "home visit"]
_COMMENTS = ["overlap", "laughs", "pause", "unclear", "gestures", "points at screen", "phone rings", "sighs"]

# (TIER_ID, PARTICIPANT, LINGUISTIC_TYPE_REF, PARENT_REF); dependent tiers come after their parents.
_TIERS = [
    ("speech SW1", "SW1", "utterance", None),
    ("speech SW2", "SW2", "utterance", None),
    ("speech MGR", "MGR", "utterance", None),
    ("activity", "", "activity", None),
    ("translation SW1", "SW1", "translation", "speech SW1"),
    ("comment SW2", "SW2", "comment", "speech SW2"),
]
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="bench" DATE="2024-05-01T10:00:00+01:00" FORMAT="3.0" VERSION="3.0" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">
    <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">
        <MEDIA_DESCRIPTOR MEDIA_URL="file:///data/frontdoor/session01.mp4" MIME_TYPE="video/mp4" \
RELATIVE_MEDIA_URL="./session01.mp4"/>
        <PROPERTY NAME="URN">urn:nl-mpi-tools-elan-eaf:5b0c6a5e-bench-4f3e-9c1a-000000000001</PROPERTY>
        <PROPERTY NAME="lastUsedAnnotationId">{last_id}</PROPERTY>
    </HEADER>
"""
_TAIL = """\
    <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="utterance" TIME_ALIGNABLE="true"/>
    <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="activity" TIME_ALIGNABLE="true"/>
    <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" GRAPHIC_REFERENCES="false" \
LINGUISTIC_TYPE_ID="translation" TIME_ALIGNABLE="false"/>
    <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" GRAPHIC_REFERENCES="false" \
LINGUISTIC_TYPE_ID="comment" TIME_ALIGNABLE="false"/>
    <LOCALE COUNTRY_CODE="GB" LANGUAGE_CODE="en"/>
    <CONSTRAINT DESCRIPTION="Time subdivision of parent annotation's time interval, no time gaps allowed within \
this interval" STEREOTYPE="Time_Subdivision"/>
    <CONSTRAINT DESCRIPTION="Symbolic subdivision of a parent annotation. Annotations refering to the same parent \
are ordered" STEREOTYPE="Symbolic_Subdivision"/>
    <CONSTRAINT DESCRIPTION="1-1 association with a parent annotation" STEREOTYPE="Symbolic_Association"/>
    <CONSTRAINT DESCRIPTION="Time alignable annotations within the parent annotation's time interval, gaps are \
allowed" STEREOTYPE="Included_In"/>
</ANNOTATION_DOCUMENT>
"""


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def generate_eaf(path: Path, n: int, seed: int) -> dict[str, int]:
    """Write the benchmark document (see the module docstring) to ``path``; returns a few counts."""
    rng = random.Random(seed)
    # Each dependent tier gets n/8 annotations, i.e. about 2 of every 3 parent annotations have a child.
    dependent = n // 8
    rest = n - 2 * dependent
    counts = [rest // 4 + (i < rest % 4) for i in range(4)] + [dependent, dependent]
    # A slot is [time, tier, seq, aligned]; ids are given after sorting all slots by time, as ELAN orders them.
    slots: list[list[Any]] = []
    spans: list[list[tuple[int, int, str]]] = []  # per top-level tier: (slot index 1, slot index 2, value)
    for k in range(4):
        t = rng.randint(0, 3000)
        tier_spans: list[tuple[int, int, str]] = []
        end = -1
        force_share = False
        for j in range(counts[k]):
            if end >= 0 and (force_share or rng.random() < 0.3):
                start = end  # shares the previous annotation's end slot
            else:
                t += rng.randint(50, 3000)
                start = len(slots)
                slots.append([t, k, start, True])
            t += rng.randint(200, 4000)
            end = len(slots)
            force_share = j < counts[k] - 1 and rng.random() < 0.01
            slots.append([t, k, end, not force_share])  # an unaligned boundary is always shared with the next
            value = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 4)))
            tier_spans.append((start, end, value))
        spans.append(tier_spans)
    order = sorted(range(len(slots)), key=lambda i: (slots[i][0], slots[i][1], slots[i][2]))
    slot_id = {i: f"ts{pos + 1}" for pos, i in enumerate(order)}

    out: list[str] = [_HEAD.format(last_id=n), "    <TIME_ORDER>\n"]
    for i in order:
        time_value = f' TIME_VALUE="{slots[i][0]}"' if slots[i][3] else ""
        out.append(f'        <TIME_SLOT TIME_SLOT_ID="{slot_id[i]}"{time_value}/>\n')
    out.append("    </TIME_ORDER>\n")
    next_id = 1
    tier_ann_ids: list[list[str]] = []
    for k, (tier_id, participant, ltype, parent) in enumerate(_TIERS):
        parent_attr = f' PARENT_REF="{_esc(parent)}"' if parent else ""
        out.append(
            f'    <TIER LINGUISTIC_TYPE_REF="{ltype}"{parent_attr} PARTICIPANT="{_esc(participant)}"'
            f' TIER_ID="{_esc(tier_id)}">\n'
        )
        ids = [f"a{next_id + j}" for j in range(counts[k])]
        next_id += counts[k]
        tier_ann_ids.append(ids)
        if parent is None:
            for aid, (s1, s2, value) in zip(ids, spans[k], strict=True):
                out.append(
                    "        <ANNOTATION>\n"
                    f'            <ALIGNABLE_ANNOTATION ANNOTATION_ID="{aid}" TIME_SLOT_REF1="{slot_id[s1]}"'
                    f' TIME_SLOT_REF2="{slot_id[s2]}">\n'
                    f"                <ANNOTATION_VALUE>{_esc(value)}</ANNOTATION_VALUE>\n"
                    "            </ALIGNABLE_ANNOTATION>\n"
                    "        </ANNOTATION>\n"
                )
        else:
            parent_ids = tier_ann_ids[[t[0] for t in _TIERS].index(parent)]
            targets = sorted(rng.sample(range(len(parent_ids)), counts[k]))  # at most one child per parent
            words = _GLOSSES if ltype == "translation" else _COMMENTS
            for aid, p in zip(ids, targets, strict=True):
                value = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
                out.append(
                    "        <ANNOTATION>\n"
                    f'            <REF_ANNOTATION ANNOTATION_ID="{aid}" ANNOTATION_REF="{parent_ids[p]}">\n'
                    f"                <ANNOTATION_VALUE>{_esc(value)}</ANNOTATION_VALUE>\n"
                    "            </REF_ANNOTATION>\n"
                    "        </ANNOTATION>\n"
                )
        out.append("    </TIER>\n")
    out.append(_TAIL)
    path.write_text("".join(out), encoding="utf-8")
    return {"slots": len(slots), "unaligned": sum(not s[3] for s in slots), "bytes": path.stat().st_size}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_pympi(src: str, out: str) -> dict[str, float]:
    """One pympi-ling round trip; runs in its own process."""
    import pympi

    base = _rss_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        eaf = pympi.Elan.Eaf(src)
        t1 = time.perf_counter()
        pympi.Elan.to_eaf(out, eaf)
        t2 = time.perf_counter()
    return {"parse": t1 - t0, "write": t2 - t1, "total": t2 - t0, "rss_base": base, "rss_peak": _rss_mb()}


def _frontdoor_roundtrip(store: Any, src: str | Path, out: str | Path) -> tuple[int, dict[str, float]]:
    """Read, store, load and write once; returns the document id and each phase's seconds."""
    from annotation.elan.reader import read_eaf
    from annotation.elan.writer import write_eaf
    from annotation.store.documents import load_document, store_document

    t0 = time.perf_counter()
    doc = read_eaf(src)
    t1 = time.perf_counter()
    with store.session() as s:
        did = store_document(s, doc, "bench")
    t2 = time.perf_counter()
    del doc  # import and export are separate operations in the app (services.import_file / export_eaf)
    with store.session() as s:
        doc2 = load_document(s, did)
    t3 = time.perf_counter()
    write_eaf(doc2, out)
    t4 = time.perf_counter()
    return did, {"parse": t1 - t0, "insert": t2 - t1, "load": t3 - t2, "write": t4 - t3}


def run_frontdoor(src: str, db: str, out: str) -> dict[str, float]:
    """One Frontdoor import + export through a fresh SQLite store; runs in its own process."""
    from annotation.services import document_display
    from annotation.store.engine import open_store, sqlite_url

    base = _rss_mb()
    t = time.perf_counter()
    store = open_store(sqlite_url(db))
    migration = time.perf_counter() - t
    did, ph = _frontdoor_roundtrip(store, src, out)
    peak = _rss_mb()

    gc.collect()
    t5 = time.perf_counter()
    segments = document_display(store, did)
    display = time.perf_counter() - t5
    assert sum(len(v) for v in segments.values()) > 0
    store.close()
    return {
        "migration": migration,
        **ph,
        "import": ph["parse"] + ph["insert"],
        "export": ph["load"] + ph["write"],
        "total": sum(ph.values()),
        "display": display,
        "rss_base": base,
        "rss_peak": peak,
    }


def prepare(src: str, n: int, seed: int) -> dict[str, int]:
    """Generate the document and check that Frontdoor's reader accepts it; runs in its own process."""
    from annotation.elan.reader import read_eaf

    info = generate_eaf(Path(src), n, seed)
    doc = read_eaf(src)
    assert doc.annotation_count() == n, (doc.annotation_count(), n)
    assert len(doc.tiers) == 6
    return info


def check(src: str, frontdoor_out: str, pympi_out: str) -> tuple[list[str], list[str]]:
    """Differences an ELAN user would see after Frontdoor's and after pympi's round trip."""
    from annotation.elan.compare import compare_eaf

    return compare_eaf(src, frontdoor_out), compare_eaf(src, pympi_out, limit=10_000)


def _in_subprocess(fn: Callable[..., T], *args: Any) -> T:
    # Everything big (generation, parsing, comparing) runs in children, so that the parent stays small: a child's
    # ru_maxrss starts at the parent's RSS at fork time (Linux carries the high-water mark across fork + exec).
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as ex:
        return ex.submit(fn, *args).result()


def profile_frontdoor(src: Path, tmp: Path, top: int = 25) -> None:
    """One cProfile run of the Frontdoor side (store opened and migrated before profiling starts)."""
    from annotation.store.engine import open_store, sqlite_url

    store = open_store(sqlite_url(tmp / "profile.sqlite"))
    prof = cProfile.Profile()
    prof.enable()
    _, phases = _frontdoor_roundtrip(store, src, tmp / "profile.eaf")
    prof.disable()
    store.close()
    total = sum(phases.values())
    print(f"\ncProfile of the Frontdoor side (one run, under the profiler: {total:.2f} s)")
    print("  " + "   ".join(f"{k} {v:.2f} s ({v / total:.0%})" for k, v in phases.items()))
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(top)
    print(buf.getvalue())


def _fmt_s(v: float) -> str:
    return f"{v:8.3f} s"


def _fmt_mb(v: float) -> str:
    return f"{v:7.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--annotations", type=int, default=100_000, help="annotations in the generated file")
    ap.add_argument("--runs", type=int, default=3, help="repetitions of each timed measurement (median shown)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated document")
    ap.add_argument("--profile", action="store_true", help="also profile the Frontdoor side once with cProfile")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (generated and written files)")
    args = ap.parse_args()
    if args.annotations < 8:
        ap.error("--annotations must be at least 8 (at least one per tier)")

    tmp = Path(tempfile.mkdtemp(prefix="store_bench-"))
    try:
        src = tmp / "generated.eaf"
        info = _in_subprocess(prepare, str(src), args.annotations, args.seed)

        pym: list[dict[str, float]] = []
        fd: list[dict[str, float]] = []
        for r in range(args.runs):
            pym.append(_in_subprocess(run_pympi, str(src), str(tmp / f"pympi-{r}.eaf")))
            fd.append(_in_subprocess(run_frontdoor, str(src), str(tmp / f"store-{r}.sqlite"), str(tmp / f"fd-{r}.eaf")))
        last = args.runs - 1
        diffs, pympi_diffs = _in_subprocess(
            check, str(src), str(tmp / f"fd-{last}.eaf"), str(tmp / f"pympi-{last}.eaf")
        )

        p_total = statistics.median(m["total"] for m in pym)
        print(
            f"\nStore benchmark: {args.annotations:,} annotations on 6 tiers, {info['slots']:,} time slots "
            f"({info['unaligned']} unaligned), {info['bytes'] / 1e6:.1f} MB EAF; {args.runs} run(s), each side "
            "in a fresh subprocess"
        )
        print(f"{'':40} {'median':>10} {'min':>10} {'max':>10}  {'÷ pympi total':>13}")

        def row(label: str, runs: list[dict[str, float]], key: str, unit: str = "s") -> None:
            vals = [m[key] for m in runs]
            fmt = _fmt_s if unit == "s" else _fmt_mb
            med = statistics.median(vals)
            rel = f"{med / p_total:13.2f}" if unit == "s" else ""
            print(f"{label:40} {fmt(med)} {fmt(min(vals))} {fmt(max(vals))}  {rel}".rstrip())

        row("pympi parse (Eaf)", pym, "parse")
        row("pympi write (to_eaf)", pym, "write")
        row("pympi total", pym, "total")
        print("-" * 88)
        row("frontdoor parse (read_eaf)", fd, "parse")
        row("frontdoor store insert (store_document)", fd, "insert")
        row("  = frontdoor import", fd, "import")
        row("frontdoor load (load_document)", fd, "load")
        row("frontdoor write (write_eaf)", fd, "write")
        row("  = frontdoor export", fd, "export")
        row("frontdoor total", fd, "total")
        print("-" * 88)
        per_run = [f["total"] / p["total"] for f, p in zip(fd, pym, strict=True)]
        ratio = statistics.median(m["total"] for m in fd) / p_total
        verdict = "OK" if ratio <= 1.0 else "ABOVE TARGET"
        print(
            f"{'ratio frontdoor total / pympi total':40} {ratio:10.2f}   per run: "
            f"{' '.join(f'{x:.2f}' for x in per_run)}   (target <= 1.0: {verdict})"
        )
        print("-" * 88)
        row("peak RSS pympi", pym, "rss_peak", "MB")
        row("  (RSS after imports, pympi)", pym, "rss_base", "MB")
        row("peak RSS frontdoor", fd, "rss_peak", "MB")
        row("  (RSS after imports, frontdoor)", fd, "rss_base", "MB")
        print("-" * 88)
        row("display load (services.document_display)", fd, "display")
        row("migration cost (open_store, fresh db)", fd, "migration")
        print()
        print(f"lossless: {'yes' if not diffs else 'no'}")
        for d in diffs[:10]:
            print(f"  {d}")
        print(f"(pympi round trip for comparison: {len(pympi_diffs)} difference(s) an ELAN user would see)")

        if args.profile:
            profile_frontdoor(src, tmp)
    finally:
        if args.keep:
            print(f"\nfiles kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
