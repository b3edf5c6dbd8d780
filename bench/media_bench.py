"""Media benchmark (run by hand): render overhead, smart vs accurate, probe and waveform on long recordings.

    .venv/bin/python bench/media_bench.py [--runs 3] [--dir DIR]

1. A 60 s clip from a 10-minute 720p recording (25 fps, a keyframe every 2 s, B-frames), in ``accurate``
   mode through ``media_tools.render.render`` against the very same ffmpeg command line run by hand (the
   arguments ``render`` passes, without its progress pipe). Runs alternate, so machine noise hits both;
   the ratio of medians is the overhead (target <= 1.05).
2. The same clip in ``smart`` mode against ``accurate`` (target <= 0.35), with the first and last frames
   of both checked against the exact source frames.
3. ``probe`` of a 1-hour recording, first call and cached second call; ``waveform.peaks`` of its audio.

Sources are generated once into ``--dir`` (default: a folder under /tmp) and reused.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from media_tools import cache, waveform
from media_tools.ffmpeg_bin import find_ffmpeg, run_ffmpeg
from media_tools.filters import AuxFiles
from media_tools.frames import frame_at
from media_tools.probe import probe
from media_tools.render import accurate_command, render
from media_tools.spec import parse_spec

START, END = 123.45, 183.45


def make_source(path: Path, seconds: int, size: str, preset: str) -> Path:
    if path.exists():
        return path
    print(f"generating {path.name} ({seconds} s, {size}) ...", flush=True)
    t = time.perf_counter()
    run_ffmpeg(
        [
            "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-preset", preset, "-g", "50", "-bf", "3", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-ac", "2", str(path),
        ],
        what=str(path),
    )  # fmt: skip
    print(f"  {time.perf_counter() - t:.1f} s, {path.stat().st_size / 1e6:.0f} MB", flush=True)
    return path


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * float(np.log10(255**2 / mse))


def rgb(path: Path, t: float) -> np.ndarray:
    s = frame_at(path, t)
    return np.frombuffer(s.data, np.uint8).reshape(s.height, s.width, 3)


def edge_frames_exact(src: Path, out: Path) -> bool:
    """The clip's first frame is the source's first frame at or after START, its last the source's last
    frame before END: each is closer to that source frame than to its neighbours."""
    fps = 25
    first_n = math.ceil(START * fps - 1e-9)
    last_n = math.ceil(END * fps - 1e-9) - 1
    first, last = rgb(out, 0.0), rgb(out, END - START)
    ok = True
    for got, n in ((first, first_n), (last, last_n)):
        scores = {k: psnr(got, rgb(src, (n + k) / fps + 0.001)) for k in (-1, 0, 1)}
        ok &= max(scores, key=lambda k: scores[k]) == 0 and scores[0] > 30
    return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "frontdoor-media-bench"))
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FRONTDOOR_CACHE", str(d / "cache"))
    print(f"ffmpeg {find_ffmpeg().version}, {os.cpu_count()} cores")
    src = make_source(d / "ten-minutes-720p.mp4", 600, "1280x720", "veryfast")
    hour = make_source(d / "one-hour-360p.mp4", 3600, "640x360", "ultrafast")

    # -- 1. accurate: render() vs the same command by hand -----------------------------------------------
    spec = parse_spec({"source": str(src), "start": START, "end": END, "mode": "accurate"})
    info = probe(src)  # a registered recording is already probed: time the render, not the first probe
    with tempfile.TemporaryDirectory() as td:
        hand_args = accurate_command(spec, info, d / "hand.mp4", AuxFiles(Path(td)), out_name=d / "hand.mp4")
    hand_cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error", *hand_args]
    print("hand-typed:", " ".join(hand_cmd))
    plain = [
        find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-ss", str(START),
        "-i", str(src), "-t", str(END - START), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
        "-c:a", "aac", "-b:a", "128k", str(d / "plain.mp4"),
    ]  # fmt: skip
    hand, ours, smart, naive = [], [], [], []
    for i in range(args.runs):
        t = time.perf_counter()
        subprocess.run(hand_cmd, check=True)
        hand.append(time.perf_counter() - t)
        t = time.perf_counter()
        render(spec, d / "accurate.mp4")
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        res_smart = render(spec.with_changes(mode="smart"), d / "smart.mp4")
        smart.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(plain, check=True)
        naive.append(time.perf_counter() - t)
        print(f"  run {i + 1}: hand {hand[-1]:.2f} s, render {ours[-1]:.2f} s, smart {smart[-1]:.2f} s, "
              f"plain -ss/-t {naive[-1]:.2f} s", flush=True)  # fmt: skip
    mh, mo, ms, mn = (statistics.median(x) for x in (hand, ours, smart, naive))
    print(f"accurate 60 s clip: render {mo:.2f} s vs hand {mh:.2f} s -> ratio {mo / mh:.3f} (target <= 1.05)")
    print(f"  per run: {', '.join(f'{o / h:.3f}' for o, h in zip(ours, hand, strict=True))}")
    print(f"  (a plain '-ss -i -t' re-encode without the exact trims: {mn:.2f} s)")
    print(f"smart: {ms:.2f} s vs accurate {mo:.2f} s -> ratio {ms / mo:.3f} (target <= 0.35), mode {res_smart.mode}")
    print(f"  per run: {', '.join(f'{s / o:.3f}' for s, o in zip(smart, ours, strict=True))}")
    acc_frames = probe(d / "accurate.mp4", use_cache=False).frame_count
    smart_frames = probe(d / "smart.mp4", use_cache=False).frame_count
    print(f"  frames: accurate {acc_frames}, smart {smart_frames}, expected {round((END - START) * 25)}")
    print(f"  first/last frames exact: accurate {edge_frames_exact(src, d / 'accurate.mp4')}, "
          f"smart {edge_frames_exact(src, d / 'smart.mp4')}")  # fmt: skip

    # -- 3. probe and waveform of one hour ---------------------------------------------------------------
    size = hour.stat().st_size / 1e6
    for f in (cache.cache_dir() / "probe").rglob("*.json"):
        f.unlink()
    for f in (cache.cache_dir() / "hashes").rglob("*"):
        if f.is_file():
            f.unlink()
    t = time.perf_counter()
    p = probe(hour)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    probe(hour)
    warm = time.perf_counter() - t
    print(f"probe 1 h ({size:.0f} MB, {p.frame_count} frames, {len(p.keyframes)} keyframes): "
          f"first {cold:.2f} s, cached {warm * 1000:.1f} ms")  # fmt: skip
    for f in (cache.cache_dir() / "waveform").rglob("*"):
        if f.is_file():
            f.unlink()
    t = time.perf_counter()
    pk = waveform.peaks(hour)
    wcold = time.perf_counter() - t
    t = time.perf_counter()
    waveform.peaks(hour)
    wwarm = time.perf_counter() - t
    t = time.perf_counter()
    pk.columns(0, pk.duration_ms, 1920)
    cols = time.perf_counter() - t
    print(f"waveform 1 h: first {wcold:.2f} s, cached {wwarm * 1000:.1f} ms, 1920 columns {cols * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
