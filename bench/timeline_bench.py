"""Benchmark the timeline's paint time: 1,000 against 100,000 annotations over one hour, side by side.

Run by hand (no display needed: Qt's offscreen platform is used unless QT_QPA_PLATFORM is set)::

    .venv/bin/python bench/timeline_bench.py [--runs 200] [--width 1600] [--height 400] [--tiers 8]

Each case fills a ``TimelineView`` of ``--width`` x ``--height`` with ``--tiers`` tiers whose annotations
(random lengths and gaps, no overlaps within a tier) spread evenly over one hour, a one-hour waveform, and
times ``--runs`` renders of the whole viewport into a QImage (``viewport().render``, the same paint path as
the screen). Views:

- ``30 s window``: the same 30 s in the middle of the hour for both data sets; the 100,000 case shows about
  100 times as many annotations, the target is a ratio of at most 1.5;
- ``whole hour``: zoomed out to the whole recording (every annotation in view; dense rows draw as density);
- ``playhead strip``: the 13-pixel strip a moving playhead repaints, in the 30 s window;
- ``set_segments``: handing the view every tier's segments once (not per frame).

A second table adds ``--faces`` face-track rows under the tiers of the 100,000 case (each track a few hundred
spans over the hour and thousands of one-frame uncertain marks, far more than a real scan has) and compares
the same paints without and with them, side by side; ``set_face_rows`` is timed once (it is called once per
change of the tracks, never per paint).

The table shows median and min milliseconds; compare the ratio column rather than absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QRegion
from PySide6.QtWidgets import QApplication

from annotation.elan.tiers import TierRow
from annotation.elan.timing import Segment
from app.gui.timeline import FaceRow
from app.gui.timeline.view import TimelineView
from media_tools.waveform import Peaks

HOUR_MS = 3_600_000


VALUES = ("opening", "reason for call", "information gathering", "consultation", "decision", "closing")


def make_segments(total: int, tiers: int, seed: int = 1) -> dict[str, list[Segment]]:
    """``total`` annotations in ``tiers`` tiers, each tier's spread over the hour without overlaps."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[Segment]] = {}
    per = total // tiers
    for k in range(tiers):
        tier_id = f"Tier {k + 1}"
        slot = HOUR_MS / per
        starts = (np.arange(per) * slot + rng.uniform(0, 0.3, per) * slot).astype(np.int64)
        ends = starts + (rng.uniform(0.3, 0.7, per) * slot).astype(np.int64) + 1
        out[tier_id] = [
            Segment(tier_id, f"a{k}_{i}", int(s), int(e), VALUES[i % len(VALUES)], True)
            for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True))
        ]
    return out


def make_peaks(seed: int = 2) -> Peaks:
    rate = 200
    n = HOUR_MS // 1000 * rate
    t = np.arange(n) / rate
    env = np.clip(0.25 + 0.6 * np.abs(np.sin(t * 0.9)) * np.random.default_rng(seed).uniform(0.5, 1.0, n), 0, 1)
    return Peaks(rate, HOUR_MS, (-env * 30000).astype(np.int16), (env * 30000).astype(np.int16))


def make_view(segments: dict[str, list[Segment]], width: int, height: int, peaks: Peaks) -> TimelineView:
    view = TimelineView(follow=False)
    view.resize(width, height)
    view.set_tiers([TierRow(t, None, 0, VALUES) for t in segments])
    view.set_duration(HOUR_MS)
    for tier_id, segs in segments.items():
        view.set_segments(tier_id, segs)
    view.set_waveform(peaks)
    view.set_playhead(HOUR_MS // 2 + 10_000)
    view.show()
    QApplication.processEvents()
    return view


def make_face_rows(tracks: int, seed: int = 3) -> list[FaceRow]:
    """``tracks`` face tracks over the hour: each 400 spans (a face coming and going) and 4,000 one-frame
    uncertain marks inside them."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(tracks):
        cuts = np.sort(rng.choice(HOUR_MS // 40, 800, replace=False)) * 40
        spans = list(zip(cuts[0::2].tolist(), cuts[1::2].tolist(), strict=True))
        inside = np.concatenate([np.arange(a, b, 40) for a, b in spans])
        marks = np.sort(rng.choice(inside, min(4000, len(inside)), replace=False))
        rows.append(FaceRow.of(100 + k, f"face {100 + k}", spans, [(int(m), int(m) + 40) for m in marks]))
    return rows


def time_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm up (font caches, first image)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), min(samples)


def paint(view: TimelineView, region: QRegion | None = None) -> Callable[[], object]:
    vp = view.viewport()
    image = QImage(vp.size(), QImage.Format.Format_ARGB32_Premultiplied)

    def run() -> None:
        if region is None:
            vp.render(image)
        else:
            vp.render(image, QPoint(), region)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=400)
    parser.add_argument("--tiers", type=int, default=8)
    parser.add_argument("--faces", type=int, default=6, help="face-track rows for the second table")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    peaks = make_peaks()
    rows: dict[str, dict[int, tuple[float, float]]] = {}
    faces: dict[str, dict[int, tuple[float, float]]] = {}
    visible: dict[int, int] = {}
    for total in (1_000, 100_000):
        segments = make_segments(total, args.tiers)
        t0 = time.perf_counter()
        view = make_view(segments, args.width, args.height, peaks)
        load = (time.perf_counter() - t0) * 1000
        rows.setdefault("set_segments (+ show)", {})[total] = (load, load)
        mid = HOUR_MS / 2
        view.zoom_to(mid, mid + 30_000)
        visible[total] = sum(len(view.visible_segments(t)) for t in segments)
        rows.setdefault("30 s window", {})[total] = time_ms(paint(view), args.runs)
        x = round(view.x_for_ms(view.playhead()))
        strip = QRegion(QRect(x - 6, 0, 13, view.viewport().height()))
        rows.setdefault("playhead strip", {})[total] = time_ms(paint(view, strip), args.runs)
        view.zoom_all()
        rows.setdefault("whole hour", {})[total] = time_ms(paint(view), max(10, args.runs // 4))
        if total == 100_000 and args.faces:
            # the face rows must be in view: a viewport tall enough for the tiers and the face rows
            view.resize(args.width, args.height + (args.faces + 1) * 24)
            face_rows = make_face_rows(args.faces)
            for with_faces in (0, 1):
                if with_faces:
                    t0 = time.perf_counter()
                    view.set_face_rows(face_rows)
                    once = (time.perf_counter() - t0) * 1000
                    faces.setdefault("set_face_rows (once)", {})[1] = (once, once)
                view.zoom_to(mid, mid + 30_000)
                faces.setdefault("30 s window", {})[with_faces] = time_ms(paint(view), args.runs)
                view.zoom_all()
                faces.setdefault("whole hour", {})[with_faces] = time_ms(paint(view), max(10, args.runs // 4))
        view.close()
    del app
    print(
        f"viewport {args.width}x{args.height}, {args.tiers} tiers over 1 h; 30 s window shows "
        f"{visible[1_000]} vs {visible[100_000]} annotations; ms per paint (median / min)"
    )
    print(f"{'':24}{'1,000':>18}{'100,000':>18}{'ratio':>8}")
    for name, by in rows.items():
        (m1, n1), (m2, n2) = by[1_000], by[100_000]
        print(f"{name:24}{m1:9.2f} / {n1:6.2f}{m2:9.2f} / {n2:6.2f}{m2 / m1:8.2f}")
    if faces:
        print()
        print(f"100,000 annotations, without and with {args.faces} face-track rows; ms per paint (median / min)")
        print(f"{'':24}{'without':>18}{'with faces':>18}{'ratio':>8}")
        for name, by in faces.items():
            if 0 not in by:
                print(f"{name:24}{'':18}{by[1][0]:9.2f}")
                continue
            (m1, n1), (m2, n2) = by[0], by[1]
            print(f"{name:24}{m1:9.2f} / {n1:6.2f}{m2:9.2f} / {n2:6.2f}{m2 / m1:8.2f}")


if __name__ == "__main__":
    main()
