"""Benchmark waveform peaks on a one-hour AAC track: first call, cached call, and drawing columns.

Run by hand::

    .venv/bin/python bench/waveform_bench.py [--minutes 60] [--runs 3] [--input FILE] [--keep]

It generates (unless ``--input`` names a file) an M4A of ``--minutes`` of 48 kHz stereo AAC at 128 kb/s, a
440 Hz tone on the left and pink noise on the right, in a temporary folder. Then, ``--runs`` times, each
run with a fresh, empty cache folder:

- ``peaks()`` on the fresh cache: SHA-256 of the file + decode + reduce + write the cache entry;
- ``peaks()`` again: the cached call (reads the hash index and the ``.npz`` entry, decodes nothing);
- the decode + reduce step alone, side by side: the ffmpeg pipe ``waveform`` uses, and PyAV decoding in
  this process into the same reducer (the alternative the module chose against);
- ``Peaks.columns`` for a 1920-pixel view of the whole track and of a 10 s window.

The table shows median, min and max seconds; compare the ratio row rather than seconds on a noisy machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media_tools import waveform
from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.files import sha256_file


def make_track(out: Path, minutes: float) -> None:
    seconds = str(minutes * 60)
    cmd = [
        find_ffmpeg().path,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"anoisesrc=color=pink:sample_rate=48000:amplitude=0.3:duration={seconds}",
        "-filter_complex",
        "[0][1]amerge=inputs=2[a]",
        "-map",
        "[a]",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        f"file:{out}",
    ]
    subprocess.run(cmd, check=True)


def decode_pyav(path: Path) -> waveform.Peaks:
    """The PyAV alternative: decode here, mix to mono, and feed the same reducer in batches of frames.

    AAC decodes to planar float, so ``to_ndarray`` gives one row per channel.
    """
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        sr = s.codec_context.sample_rate
        reducer = waveform._BucketReducer(sr, waveform.BUCKETS_PER_SECOND)
        batch: list[np.ndarray] = []
        pending = 0
        for frame in c.decode(s):
            mono = frame.to_ndarray().reshape(len(frame.layout.channels), -1).mean(axis=0)
            batch.append(mono)
            pending += len(mono)
            if pending >= 1 << 19:
                reducer.feed(_to_s16(np.concatenate(batch)))
                batch, pending = [], 0
        if batch:
            reducer.feed(_to_s16(np.concatenate(batch)))
    mins, maxs = reducer.finish()
    return waveform.Peaks(waveform.BUCKETS_PER_SECOND, reducer.samples * 1000 // sr, mins, maxs)


def _to_s16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


T = TypeVar("T")


def timed(fn: Callable[..., T], *args: Any) -> tuple[float, T]:
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--input", type=Path, help="use this file instead of generating one")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="waveform-bench-"))
    try:
        track = args.input
        if track is None:
            track = work / f"tone-noise-{args.minutes:g}min.m4a"
            secs, _ = timed(make_track, track, args.minutes)
            print(f"generated {track.name}: {args.minutes:g} min, {track.stat().st_size / 1e6:.1f} MB in {secs:.1f} s")
        rows: dict[str, list[float]] = {}

        def add(name: str, secs: float) -> None:
            rows.setdefault(name, []).append(secs)

        for run in range(args.runs):
            os.environ["FRONTDOOR_CACHE"] = str(work / f"cache-{run}")
            secs, peaks = timed(waveform.peaks, track)
            add("peaks(), empty cache (hash + decode + store)", secs)
            secs, again = timed(waveform.peaks, track)
            add("peaks(), cached", secs)
            assert np.array_equal(peaks.maxs, again.maxs)
            add("  SHA-256 of the file alone", timed(sha256_file, track)[0])
            index, sr, declared = waveform._audio_stream(track, None)
            ff_secs, via_ffmpeg = timed(waveform._decode, track, index, sr, declared, None)
            add("decode + reduce: ffmpeg pipe (used)", ff_secs)
            av_secs, via_pyav = timed(decode_pyav, track)
            add("decode + reduce: PyAV in process", av_secs)
            add("ratio PyAV / ffmpeg pipe", av_secs / ff_secs)
            # Same buckets; values differ by rounding (ffmpeg's downmix and float-to-s16 versus ours).
            assert len(via_ffmpeg.maxs) == len(via_pyav.maxs)
            add("columns(), whole track, 1920 px", timed(peaks.columns, 0, peaks.duration_ms, 1920)[0])
            add("columns(), 10 s window, 1920 px", timed(peaks.columns, 600_000, 610_000, 1920)[0])

        print(
            f"{track.name}: {peaks.duration_ms / 1000:.1f} s, {len(peaks.mins)} buckets at {peaks.rate}/s, "
            f"cache entry {sum(f.stat().st_size for f in (work / 'cache-0' / 'waveform').rglob('*.npz')) / 1e6:.2f} MB"
        )
        print(f"{'':48} {'median':>9} {'min':>9} {'max':>9}   ({args.runs} runs)")
        for name, values in rows.items():
            unit = "" if name.startswith("ratio") else " s"
            cells = [statistics.median(values), min(values), max(values)]
            print(f"{name:48} " + " ".join(f"{v:9.4f}" for v in cells) + unit)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
