"""A reel: several clips joined into one file, with a short title card before each, the sound of every clip
brought to the same loudness (EBU R128: -23 LUFS integrated, true peak at most -1 dBTP).

Each clip is cut and redacted exactly as ``render`` does it (same filter chains, same frame-exact trims),
scaled and padded to the reel's frame size, and joined by one ffmpeg run. Loudness is measured first on each
clip's redacted sound and corrected by a constant gain, so the dynamics inside a clip are untouched (a
loudness *normaliser* that pumps would change what people hear staff say).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from media_tools.errors import FfmpegFailed, MediaError, SpecError
from media_tools.ffmpeg_bin import ProgressCallback, find_ffmpeg, run_ffmpeg_job
from media_tools.files import replace_durably, sha256_file
from media_tools.filters import (
    BLANK_COMPRESSOR,
    STRIP_METADATA,
    STRIP_SEI,
    AuxFiles,
    Graph,
    audio_chain,
    container_args,
    drawtext,
    exact_input_args,
    file_arg,
    format_number,
    video_chain,
)
from media_tools.probe import ProbeResult, probe
from media_tools.render import check_output_name, plan_render, temp_output
from media_tools.spec import Captions, EditSpec

TARGET_LUFS = -23.0
MAX_TRUE_PEAK = -1.0
SILENCE_LUFS = -60.0  # below this a clip is treated as silent and left as it is
MAX_GAIN_DB = 30.0


@dataclass(frozen=True)
class Loudness:
    """A clip's measured loudness (EBU R128)."""

    integrated: float  # LUFS
    true_peak: float  # dBTP

    def gain_to(self, target: float = TARGET_LUFS, max_peak: float = MAX_TRUE_PEAK) -> float:
        """The constant gain (dB) that brings this sound to ``target`` without the peak passing ``max_peak``."""
        if not math.isfinite(self.integrated) or self.integrated < SILENCE_LUFS:
            return 0.0
        gain = target - self.integrated
        if math.isfinite(self.true_peak):
            gain = min(gain, max_peak - self.true_peak)
        return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, gain))


@dataclass(frozen=True)
class ReelResult:
    """What ``render_reel`` made: the file, its length and hash, the gain given to each clip, the manifest."""

    output: Path
    duration: float
    output_sha256: str
    gains_db: tuple[float, ...]
    manifest: dict[str, Any]


_I = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf)\s+LUFS", re.M)
_TP = re.compile(r"^\s*Peak:\s+(-?[\d.]+|-inf)\s+dBFS", re.M)


def measure_loudness(spec: EditSpec, src: ProbeResult) -> Loudness:
    """Integrated loudness and true peak of a clip's sound after its audio redactions.

    Raises:
        FfmpegFailed: ffmpeg cannot measure it.
    """
    if src.audio is None:
        return Loudness(-math.inf, -math.inf)
    g = Graph()
    a = audio_chain(g, spec, src, "0:a:0")
    g.add(f"[{a}]ebur128=peak=true:framelog=verbose[m]")
    cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-nostats", *exact_input_args(spec.start, src)]
    cmd += ["-i", file_arg(spec.source), "-filter_complex", g.text(), "-map", "[m]", "-f", "null", "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise FfmpegFailed(f"{spec.source}: cannot measure loudness: {last}", detail=proc.stderr)
    summary = proc.stderr[proc.stderr.rfind("Summary:") :]
    i, tp = _I.search(summary), _TP.search(summary)
    if i is None or tp is None:
        raise FfmpegFailed(f"{spec.source}: cannot measure loudness: no EBU R128 summary from ffmpeg")
    return Loudness(float(i.group(1)), float(tp.group(1)))


def render_reel(
    specs: Sequence[EditSpec],
    out: str | os.PathLike[str],
    *,
    titles: Sequence[str | None] | None = None,
    card_seconds: float = 2.0,
    size: tuple[int, int] | None = None,
    watermark: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ReelResult:
    """Join ``specs`` into one reel at ``out``. Each clip gets a title card (its spec's title, else
    ``titles[i]``, else "Clip i"); ``watermark`` (the consent scope) goes on every frame of the reel, on top
    of any watermark a clip has. ``size`` defaults to the first clip's frame size.

    Raises:
        SpecError, ProbeError, FfmpegFailed, Cancelled: as ``render``.
    """
    out = Path(out)
    check_output_name(out)
    if not specs:
        raise SpecError(f"{out}: a reel needs at least one clip")
    if titles is not None and len(titles) != len(specs):
        raise SpecError(f"{out}: {len(titles)} titles for {len(specs)} clips")
    if not out.parent.is_dir():
        raise MediaError(f"{out.parent}: output folder does not exist")
    infos = [probe(s.source) for s in specs]
    for i, (s, info) in enumerate(zip(specs, infos, strict=True)):
        plan_render(s, info)
        if not info.has_video:
            raise SpecError(f"{s.source}: clip {i + 1}: a reel needs video in every clip")
    w, h = size or infos[0].display_size or (1280, 720)
    w, h = w - w % 2, h - h % 2
    fps = infos[0].fps or 25
    gains = [measure_loudness(s, info).gain_to() for s, info in zip(specs, infos, strict=True)]
    total = sum(s.duration for s in specs) + card_seconds * len(specs)
    with temp_output(out) as tmp, tempfile.TemporaryDirectory(prefix="frontdoor-reel-") as td:
        aux = AuxFiles(Path(td))
        g = Graph()
        args = ["-y"]
        parts: list[str] = []
        card_src = infos[0]
        for i, (spec, info) in enumerate(zip(specs, infos, strict=True)):
            args += [*exact_input_args(spec.start, info), "-i", file_arg(spec.source)]
            text = (spec.title.text if spec.title else None) or (titles[i] if titles else None) or f"Clip {i + 1}"
            cv, ca = g.label("kv"), g.label("ka")
            g.add(
                f"color=c=black:s={w}x{h}:r={format_number(round(fps, 3))}:d={format_number(card_seconds)},"
                f"{drawtext(aux, text, card_src, 'title', height=h)},format=yuv420p,setsar=1[{cv}]"
            )
            g.add(f"anullsrc=r=48000:cl=stereo,atrim=duration={format_number(card_seconds)}[{ca}]")
            burned = spec
            if spec.captions is not None and spec.captions.mode == "soft":
                burned = replace(spec, captions=Captions("burn", spec.captions.cues))
            v = video_chain(g, burned, info, aux, f"{i}:v:0")
            fitted = g.label("fv")
            chain = (
                f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,"
                "setsar=1,format=yuv420p"
            )
            if spec.watermark:
                chain += "," + drawtext(aux, spec.watermark, card_src, "watermark", height=h)
            g.add(f"[{v}]{chain}[{fitted}]")
            au = g.label("fa")
            if info.audio is not None:
                a = audio_chain(g, spec, info, f"{i}:a:0")
                g.add(
                    f"[{a}]volume={gains[i]:.2f}dB,aresample=48000,"
                    f"aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo[{au}]"
                )
            else:
                g.add(f"anullsrc=r=48000:cl=stereo,atrim=duration={format_number(spec.duration)}[{au}]")
            parts += [f"[{cv}][{ca}]", f"[{fitted}][{au}]"]
        rv, ra = g.label("rv"), g.label("ra")
        g.add(f"{''.join(parts)}concat=n={2 * len(specs)}:v=1:a=1[{rv}][{ra}]")
        if watermark:
            wm = g.label("wm")
            g.add(f"[{rv}]{drawtext(aux, watermark, card_src, 'watermark', height=h, corner='top')}[{wm}]")
            rv = wm
        args += ["-filter_complex", g.text(), "-map", f"[{rv}]", "-map", f"[{ra}]"]
        enc = specs[0].encode
        args += ["-c:v", "libx264", "-preset", enc.preset, "-crf", str(enc.crf), "-pix_fmt", "yuv420p"]
        args += [
            "-fps_mode",
            "passthrough",
            "-enc_time_base:v",
            "1:90000",
            *STRIP_SEI,
            *BLANK_COMPRESSOR,
            "-c:a",
            "aac",
            "-b:a",
            enc.audio_bitrate,
        ]
        args += STRIP_METADATA + container_args(out) + [file_arg(tmp)]
        run_ffmpeg_job(args, what=str(out), total=total, progress=progress, cancel=cancel)
        try:
            got = probe(tmp, use_cache=False)
        except MediaError as exc:
            raise FfmpegFailed(f"{out}: the reel does not play ({exc})") from exc
        if got.duration is None or abs(got.duration - total) > 0.5:
            raise FfmpegFailed(f"{out}: the reel lasts {got.duration} s, not the {total:.3f} s of its parts")
        digest = sha256_file(tmp)
        replace_durably(tmp, out)
    manifest = {
        "output": out.name,
        "output_sha256": digest,
        "clips": [
            {
                "source_sha256": info.sha256,
                "version": s.version_hash(info.sha256),
                "gain_db": round(gain, 2),
            }
            for s, info, gain in zip(specs, infos, gains, strict=True)
        ],
        "watermark": watermark,
        "loudness_target_lufs": TARGET_LUFS,
        "ffmpeg": find_ffmpeg().version,
        "rendered_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return ReelResult(out, got.duration or 0.0, digest, tuple(gains), manifest)
