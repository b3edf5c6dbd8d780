"""App benchmark (run by hand): opening a 100,000-annotation document until the timeline is interactive,
against importing the same .eaf, and the time one edit takes to show.

    .venv/bin/python bench/app_bench.py [--annotations 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store_bench import generate_eaf

from annotation.commands import CreateAnnotation
from annotation.services import import_file
from annotation.store import open_store, sqlite_url


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=100_000)
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="frontdoor-app-bench-"))
    eaf = d / "big.eaf"
    generate_eaf(eaf, args.annotations, 1)
    store = open_store(sqlite_url(d / "store.sqlite"))
    t = time.perf_counter()
    doc = import_file(store, eaf).doc_id
    t_import = time.perf_counter() - t

    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication([])
    t = time.perf_counter()
    w = MainWindow(store, doc)
    w.show()
    app.processEvents()
    t_open = time.perf_counter() - t
    tier = w._tiers[0].tier_id
    t = time.perf_counter()
    w.push(CreateAnnotation(doc, tier, 10, 20, "x"))
    app.processEvents()
    t_edit = time.perf_counter() - t
    print(f"{args.annotations} annotations: import {t_import:.2f} s; open until interactive {t_open:.2f} s "
          f"(ratio {t_open / t_import:.2f}); one edit shown {t_edit:.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
