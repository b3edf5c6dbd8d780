"""Benchmark how fast the command line starts, whole processes side by side (run by hand)::

    .venv/bin/python bench/cli_start_bench.py [--runs 20] [--baseline DIR]

Each row is one whole process, timed from ``fork`` to exit: ``python -c pass`` (the floor: the interpreter
alone), ``frontdoor --version``, ``--help``, ``clip --help``, ``report --help``, ``documents`` on a store
already at the newest schema (a fresh store in a temporary ``FRONTDOOR_HOME`` holding one document), and
every command's ``--help`` (the slowest of them). The runs are interleaved, one of each command per round,
so that a machine whose load changes during the run slows every row alike; each row shows the median and
the fastest run, and the ratio of its median to the floor's: read the ratios rather than the milliseconds.
Compiled modules are kept between runs as on an installed copy (in a temporary ``PYTHONPYCACHEPREFIX``, even
where ``PYTHONDONTWRITEBYTECODE`` is set); ``--no-bytecode-cache`` leaves that setting alone.

``--baseline DIR`` adds the same rows for another copy of the code (for example the code before a change:
``git archive HEAD annotation consent media_tools app | tar -x -C DIR``), run as ``python -m app.cli.main``
from that folder with this interpreter and these packages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLE = ROOT / "tests" / "data" / "elan" / "dopefishh__pympi__sample_3.0.eaf"
BUDGET_S = 0.2  # what a user should wait for help or the version


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _subcommands() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from app.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def _rows(baseline: Path | None) -> list[tuple[str, list[str], Path]]:
    """(label, command, folder to run it in) for each row."""
    frontdoor = [str(BIN / "frontdoor")]
    rows = [("python -c pass", [sys.executable, "-c", "pass"], ROOT)]
    trees = [("", frontdoor, ROOT)]
    if baseline is not None:
        trees.append(("before: ", [sys.executable, "-m", "app.cli.main"], baseline))
    for prefix, cmd, cwd in trees:
        for args in (["--version"], ["--help"], ["clip", "--help"], ["report", "--help"], ["documents"]):
            rows.append((f"{prefix}frontdoor {' '.join(args)}", cmd + args, cwd))
    return rows


def _time_rows(rows: list[tuple[str, list[str], Path]], runs: int, env: dict[str, str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for _label, cmd, cwd in rows:  # warm the file cache once
        _run(cmd, cwd, env)
    for _ in range(runs):
        for label, cmd, cwd in rows:
            times[label].append(_run(cmd, cwd, env))
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="rounds of the main rows (default 20)")
    ap.add_argument("--help-runs", type=int, default=3, help="rounds of every command's --help (default 3)")
    ap.add_argument("--baseline", type=Path, help="another copy of the code to time side by side")
    ap.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep $PYTHONDONTWRITEBYTECODE if set (every run then compiles the project's modules again)",
    )
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, FRONTDOOR_HOME=home, COLUMNS="100")
        env.pop("FRONTDOOR_DB", None)
        if not opts.no_bytecode_cache:  # as installed: compiled modules are kept (here apart from the tree)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(home) / "pycache")
        subprocess.run([str(BIN / "frontdoor"), "import-eaf", str(SAMPLE)], env=env, check=True, capture_output=True)
        rows = _rows(opts.baseline)
        times = _time_rows(rows, opts.runs, env)
        helps = [(f"frontdoor {c} --help", [str(BIN / "frontdoor"), c, "--help"], ROOT) for c in _subcommands()]
        help_times = _time_rows(helps, opts.help_runs, env)

    floor = statistics.median(times["python -c pass"])
    cache = "without" if opts.no_bytecode_cache and os.environ.get("PYTHONDONTWRITEBYTECODE") else "with"
    print(f"{opts.runs} interleaved runs per row, {cache} compiled modules kept")
    print("ratio = median / median of 'python -c pass'\n")
    print(f"{'process':<34} {'median ms':>10} {'min ms':>8} {'ratio':>7}")
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"{label:<34} {med * 1000:>10.1f} {min(ts) * 1000:>8.1f} {med / floor:>7.2f}")
    medians = {label: statistics.median(ts) for label, ts in help_times.items()}
    slowest = max(medians, key=lambda k: medians[k])
    print(
        f"\nevery command's --help ({len(medians)} commands, {opts.help_runs} runs each): median of medians "
        f"{statistics.median(medians.values()) * 1000:.1f} ms, slowest {slowest} "
        f"{medians[slowest] * 1000:.1f} ms (ratio {medians[slowest] / floor:.2f})"
    )
    over = [k for k, v in medians.items() if v > BUDGET_S]
    print(f"over {BUDGET_S * 1000:.0f} ms: {', '.join(over) if over else 'none'}")
    if floor > 0.05:  # an idle machine starts Python in about 30 ms
        print(f"(the machine is busy: 'python -c pass' took {floor * 1000:.0f} ms; read the ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
