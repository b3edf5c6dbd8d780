"""Benchmark the whole ``frontdoor roundtrip IN OUT`` process against a whole pympi-ling process.

Run by hand::

    .venv/bin/python bench/roundtrip_bench.py [--annotations 80000] [--runs 5] [--seed 1] [--baseline DIR] [--keep]

It generates (seeded: every run sees the same bytes) the EAF of ``bench/store_bench.py`` with 80,000
annotations on 6 tiers, two of them referring tiers (about 24 MB), then runs, alternating, each side as a
whole process started from scratch, as a user would:

- pympi-ling: ``python -c "import pympi; pympi.Elan.to_eaf(OUT, pympi.Elan.Eaf(IN))"``;
- Frontdoor, fresh store: ``frontdoor --db sqlite:///NEW.sqlite roundtrip IN OUT`` (creates the store: a
  user's first import);
- Frontdoor, existing store: the same on a copy of a store already at the newest schema (the usual case);
- with ``--baseline DIR``, another copy of the code (``git archive`` of a commit) run the same two ways.

Both sides run from cached bytecode, as an installed copy does (a first run of each fills a cache in the
temporary folder, whatever ``PYTHONDONTWRITEBYTECODE`` says). Each process's wall time is measured around
it, its CPU time and peak memory (``ru_maxrss``) read from its own ``wait4`` resource usage; the document is
generated in a child, so that no child inherits a large high-water mark from this process. The table shows
medians, min and max, and the ratio of each Frontdoor median to the pympi median (the machine may be noisy
and shared: compare ratios, not seconds; CPU time is the steadier on a busy machine). Finally the output is
checked: byte-identical to the generated file, and no difference an ELAN user would see (``compare_eaf``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_PYTHON = Path(sys.executable)
_FRONTDOOR = _PYTHON.parent / "frontdoor"
_GENERATE = (  # the same generated document as bench/store_bench.py
    "import json, sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
    "from store_bench import generate_eaf; "
    "print(json.dumps(generate_eaf(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))"
)
_WARM = b"""<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2024-05-01T10:00:00+01:00" FORMAT="3.0" VERSION="3.0" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">
    <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
    <TIME_ORDER/>
    <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="t"/>
    <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""
_BASELINE = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from app.cli.main import main; sys.exit(main(sys.argv[1:]))"
)
_PYMPI = (
    "import sys, warnings; warnings.simplefilter('ignore'); import pympi; "
    "pympi.Elan.to_eaf(sys.argv[2], pympi.Elan.Eaf(sys.argv[1]))"
)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Run one whole process; returns its wall seconds, peak RSS in MB and CPU seconds (its own ``wait4``
    usage: on a busy machine CPU time is the steadier of the two times)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=_ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {err.strip()}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: kilobytes on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--annotations", type=int, default=80_000, help="annotations in the generated file")
    ap.add_argument("--runs", type=int, default=5, help="runs of each side, alternating (median shown)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated document")
    ap.add_argument("--baseline", metavar="DIR", help="also time another copy of the code (git archive of a commit)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (generated and written files)")
    args = ap.parse_args()
    if args.annotations < 8:
        ap.error("--annotations must be at least 8 (at least one per tier)")

    tmp = Path(tempfile.mkdtemp(prefix="roundtrip_bench-"))
    env = {
        k: v for k, v in os.environ.items() if k not in ("FRONTDOOR_DB", "FRONTDOOR_HOME", "PYTHONDONTWRITEBYTECODE")
    }
    env["FRONTDOOR_HOME"] = str(tmp / "home")  # never the user's own store
    # both sides run from cached bytecode, as an installed copy does (kept in the temporary folder, not the tree)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    try:
        src = tmp / "generated.eaf"
        # generated in a child: a child's ru_maxrss starts at its parent's RSS (Linux carries the high-water
        # mark across fork and exec), so the parent never holds the document
        made = subprocess.run(
            [
                str(_PYTHON),
                "-c",
                _GENERATE,
                str(Path(__file__).parent),
                str(src),
                str(args.annotations),
                str(args.seed),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        info = json.loads(made.stdout)
        frontdoor = {"fresh": [str(_FRONTDOOR)], "existing": [str(_FRONTDOOR)]}
        if args.baseline:  # another copy of the code, first on sys.path: on a new store, and on a store at its
            # own newest schema
            frontdoor["baseline"] = [str(_PYTHON), "-c", _BASELINE, str(Path(args.baseline).resolve())]
            frontdoor["baseline-fresh"] = frontdoor["baseline"]
        warm = tmp / "warm.eaf"  # a first run of each side fills the bytecode cache
        warm.write_bytes(_WARM)
        run([str(_PYTHON), "-c", _PYMPI, str(warm), str(tmp / "warm-pympi.eaf")], env)
        for side in ("existing", "baseline") if args.baseline else ("existing",):
            run([*frontdoor[side], "--db", f"sqlite:///{tmp / f'{side}-head.sqlite'}", "documents"], env)
            db = tmp / f"warm-{side}.sqlite"
            run([*frontdoor[side], "--db", f"sqlite:///{db}", "roundtrip", str(warm), str(tmp / "warm-out.eaf")], env)

        names = ["pympi", "fresh", "existing", *(["baseline-fresh", "baseline"] if args.baseline else [])]
        sides: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
        for r in range(args.runs):
            order = names if r % 2 == 0 else names[::-1]
            for side in order:
                out = tmp / f"{side}-{r}.eaf"
                if side == "pympi":
                    cmd = [str(_PYTHON), "-c", _PYMPI, str(src), str(out)]
                else:
                    db = tmp / f"{side}-{r}.sqlite"
                    if side not in ("fresh", "baseline-fresh"):
                        shutil.copyfile(tmp / f"{side}-head.sqlite", db)
                    cmd = [*frontdoor[side], "--db", f"sqlite:///{db}", "roundtrip", str(src), str(out)]
                sides[side].append(run(cmd, env))
                if side != "pympi":
                    for f in tmp.glob(f"{side}-{r}.sqlite*"):
                        f.unlink()

        print(
            f"\nRoundtrip benchmark: {args.annotations:,} annotations on 6 tiers (2 referring), {info['slots']:,} "
            f"time slots, {info['bytes'] / 1e6:.1f} MB EAF; {args.runs} run(s) of each whole process, alternating"
        )
        print(
            f"{'':44} {'median':>9} {'min':>9} {'max':>9}  {'÷ pympi':>8}  {'CPU':>7} {'÷ pympi':>8}  {'peak RSS':>9}"
        )
        p_med = statistics.median(w for w, _, _ in sides["pympi"])
        p_cpu = statistics.median(c for _, _, c in sides["pympi"])
        p_rss = statistics.median(m for _, m, _ in sides["pympi"])
        labels = {
            "pympi": "python -c pympi Eaf() + to_eaf()",
            "fresh": "frontdoor roundtrip (new store)",
            "existing": "frontdoor roundtrip (store at newest schema)",
            "baseline": "baseline copy (store at its newest schema)",
            "baseline-fresh": "baseline copy (new store)",
        }
        for side in names:
            label = labels[side]
            walls = [w for w, _, _ in sides[side]]
            med = statistics.median(walls)
            cpu = statistics.median(c for _, _, c in sides[side])
            rss = statistics.median(m for _, m, _ in sides[side])
            print(
                f"{label:44} {med:7.2f} s {min(walls):7.2f} s {max(walls):7.2f} s  {med / p_med:8.2f}  "
                f"{cpu:5.2f} s {cpu / p_cpu:8.2f}  {rss:6.0f} MB"
            )
        per_run = {
            side: " ".join(f"{w / p[0]:.2f}" for (w, _, _), p in zip(sides[side], sides["pympi"], strict=True))
            for side in names[1:]
        }
        print(
            "wall-time ratio of each run (to the pympi run beside it): "
            + "; ".join(f"{labels[side].split('(')[0].strip()} ({side}) {per_run[side]}" for side in names[1:])
        )
        print(
            f"peak RSS ÷ pympi's: new store {statistics.median(m for _, m, _ in sides['fresh']) / p_rss:.2f}, "
            f"existing store {statistics.median(m for _, m, _ in sides['existing']) / p_rss:.2f}"
        )

        from annotation.elan.compare import compare_eaf

        last = args.runs - 1
        for side in ("fresh", "existing"):
            out = tmp / f"{side}-{last}.eaf"
            same = out.read_bytes() == src.read_bytes()
            diffs = compare_eaf(src, out)
            print(
                f"{side} store output: byte-identical {'yes' if same else 'no'}, "
                f"differences an ELAN user would see: {len(diffs)}"
            )
            for d in diffs[:5]:
                print(f"  {d}")
    finally:
        if args.keep:
            print(f"\nfiles kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
