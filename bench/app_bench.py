"""App benchmark (run by hand): opening a large document until the timeline is interactive, against importing
the same .eaf, and how long one edit takes until the timeline and the table show it, at 1,000 against 100,000
annotations side by side.

    .venv/bin/python bench/app_bench.py [--sizes 1000 100000] [--runs 5]

The document is ``store_bench.generate_eaf``'s (4 top-level tiers, 2 Symbolic_Association tiers under two of
them, a few unaligned slots). Each edit is pushed through the main window's undo stack like a user's (applied,
committed, the views refreshed) and timed until the event loop has painted it; each kind runs ``--runs``
times on different annotations of a tier that has referring children ("speech SW1") and the table shows the
median milliseconds. The ratio column (100,000 / 1,000) is the number to watch: an edit should cost about the
same whatever the size of the document.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store_bench import generate_eaf

import annotation.edits.commands as commands
import annotation.edits.structure_edits as structure_edits
from annotation.services import document_display, import_file
from annotation.store.engine import open_store, sqlite_url

TIER = "speech SW1"


def _edits(doc: int, segs: list[Any], i: int) -> list[tuple[str, Any]]:
    """The edits timed on the i-th run: (name, command or "undo"/"redo")."""
    a = segs[10 + 7 * i]
    nxt = segs[11 + 7 * i]
    b = segs[14 + 7 * i]
    # a move stays in the room before the next annotation (annotations on one tier never overlap)
    room = segs[15 + 7 * i].start - b.end
    shift = min(40, room)
    moved = (b.start + shift, b.end + shift) if shift > 0 else (b.start + 40, b.end)
    out: list[tuple[str, Any]] = [
        ("create", commands.CreateAnnotation(doc, "activity", 5 + 30 * i, 25 + 30 * i, "x")),
        ("set value", commands.SetAnnotationValue(doc, a.ann_id, f"edited {i}")),
        ("move", commands.SetAnnotationTimes(doc, b.ann_id, *moved)),
        ("undo", "undo"),
        ("redo", "redo"),
        ("delete", commands.DeleteAnnotation(doc, b.ann_id)),
    ]
    if hasattr(commands, "SplitAnnotation"):
        at = (nxt.start + nxt.end) // 2
        out.append(("split", structure_edits.SplitAnnotation(doc, nxt.ann_id, at)))
        out.append(("merge", structure_edits.MergeAnnotations(doc, a.ann_id, nxt.ann_id)))
    return out


def bench_size(n: int, runs: int, app: Any) -> dict[str, float]:
    from app.gui.main_window import MainWindow

    d = Path(tempfile.mkdtemp(prefix="frontdoor-app-bench-"))
    eaf = d / "big.eaf"
    generate_eaf(eaf, n, 1)
    store = open_store(sqlite_url(d / "store.sqlite"))
    t = time.perf_counter()
    doc = import_file(store, eaf).doc_id
    out = {"import": time.perf_counter() - t}
    t = time.perf_counter()
    w = MainWindow(store, doc)
    w.show()
    app.processEvents()
    out["open until interactive"] = time.perf_counter() - t
    segs = [s for s in document_display(store, doc)[TIER] if s.aligned]
    times: dict[str, list[float]] = {}
    for i in range(runs):
        for name, cmd in _edits(doc, segs, i):
            step: Callable[[], object]
            if cmd == "undo":
                step = w.undo_stack.undo
            elif cmd == "redo":
                step = w.undo_stack.redo
            else:
                step = lambda cmd=cmd: w.push(cmd)  # noqa: E731
            w.message.setText("")
            t = time.perf_counter()
            step()
            app.processEvents()
            times.setdefault(name, []).append(time.perf_counter() - t)
            if w.message.text():
                raise SystemExit(f"{name}: {w.message.text()}")
    for name, ts in times.items():
        out[f"one edit: {name}"] = statistics.median(ts)
    w.close()
    w.deleteLater()
    app.processEvents()
    store.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    results = {n: bench_size(n, args.runs, app) for n in args.sizes}
    names = list(results[args.sizes[0]])
    head = f"{'':28}" + "".join(f"{n:>12,}" for n in args.sizes)
    ratio = len(args.sizes) > 1
    print(head + ("       ratio" if ratio else ""))
    for name in names:
        row = [results[n][name] for n in args.sizes]
        unit, scale = ("s", 1.0) if name in ("import", "open until interactive") else ("ms", 1000.0)
        cells = "".join(f"{v * scale:>10.1f} {unit:<1}" if unit == "s" else f"{v * scale:>9.1f} ms" for v in row)
        print(f"{name:28}{cells}" + (f"{row[-1] / row[0]:>12.1f}" if ratio else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
