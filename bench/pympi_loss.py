"""Measure what pympi-ling loses on a parse + to_eaf round trip of each corpus file, next to Frontdoor.

Run by hand: ``.venv/bin/python bench/pympi_loss.py [CORPUS_DIR]``. Prints one row per file: the number of
differences an ELAN user would see (annotation.elan.compare) after pympi's round trip and after Frontdoor's
codec round trip, and the first difference pympi makes.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import pympi

from annotation.elan.compare import compare_eaf
from annotation.elan.reader import read_eaf
from annotation.elan.writer import write_eaf


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[1].parent / "shared" / "corpus")
    files = sorted(p for p in corpus.glob("*/*") if p.suffix in (".eaf", ".etf"))
    tmp = Path(tempfile.mkdtemp())
    print(f"{'file':62} {'pympi':>6} {'ours':>5}  first pympi difference")
    lost_total = 0
    for f in files:
        out_p = tmp / f"pympi{f.suffix}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pympi.Elan.to_eaf(str(out_p), pympi.Elan.Eaf(str(f)))
            d_p = compare_eaf(f, out_p, limit=10_000)
        except Exception as exc:  # pympi's own failures are part of the measurement
            d_p = [f"pympi failed: {type(exc).__name__}: {exc}"]
        out_o = tmp / f"ours{f.suffix}"
        write_eaf(read_eaf(f), out_o)
        d_o = compare_eaf(f, out_o, limit=10_000)
        lost_total += bool(d_p)
        print(f"{f.name[:62]:62} {len(d_p):>6} {len(d_o):>5}  {(d_p[0] if d_p else '')[:140]}")
    print(f"\npympi changed {lost_total} of {len(files)} files; Frontdoor's codec is checked by the test suite.")


if __name__ == "__main__":
    main()
