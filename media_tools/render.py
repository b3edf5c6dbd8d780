"""Rendering an edit spec to a clip with ffmpeg: cut, redact, caption, title, watermark.

Three cut modes:

* ``accurate`` re-encodes. The input is seeked with ``-ss``/``-t`` before ``-i``, which ffmpeg makes exact
  by decoding from the previous keyframe and dropping what lies before: the clip holds exactly the source
  frames whose timestamps lie in ``[start, end)`` and the audio samples of that range.
* ``copy`` stream-copies from the keyframe at or before ``start`` (so it can start early; the result says by
  how much). It is instant and lossless, and used only for clips with nothing to redact or add.
* ``smart`` re-encodes only from ``start`` to the first keyframe and from the last keyframe to ``end``, and
  stream-copies the GOPs in between; frame-exact like ``accurate``. The result is checked (frame count and
  first frame) and, if the check fails, rendered again in ``accurate`` mode.

Any redaction, caption, title or watermark forces ``accurate``: copied pictures and sound are never
redacted, so such clips are re-encoded whatever mode was asked for (the result's ``mode`` and ``notes`` say so).

Picture redactions are drawn through a mask: per kind (blur, pixelate, solid box) the whole frame is
processed once, and a greyscale mask whose rectangles follow the keyframed boxes (moved frame by frame by
``sendcmd``) decides where the processed picture replaces the original. Between two command times the mask
holds the union of the box at both ends, so a moving box is never smaller than its interpolated position,
whatever the frame timing. A redaction covers every frame on screen at any moment of its range.

Audio redactions are exact to the sample (``aeval`` with per-sample time): mute, or a 1 kHz tone whose
level is the RMS level of the sound it replaces (never below -30 dBFS, so a bleep over silence is heard).

Every output is written to a temporary file beside the target, probed, then renamed; all metadata is
stripped (container and stream tags, chapters, the encoder's SEI comment, data streams such as GPS). The
temporary file is hidden (``.frontdoor-<host>-<pid>-<random>.part``) and ffmpeg dies with the process that
started it; when that process is killed outright, the next render into the folder deletes what it left
(:mod:`media_tools.scratch`), and the next render anywhere the private folder of its filter files.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from media_tools import cache
from media_tools.errors import FfmpegFailed, MediaError, ProbeError, SpecError
from media_tools.ffmpeg_bin import Progress, ProgressCallback, find_ffmpeg, run_ffmpeg_job
from media_tools.probe import ProbeResult, probe
from media_tools.scratch import remove_abandoned, scratch_name
from media_tools.spec import AudioRedaction, Cue, EditSpec, Redaction, check_rules

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BLEEP_HZ = 1000.0
BLEEP_FLOOR_DBFS = -30.0
STRIP_METADATA = [
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-flags:a",
    "+bitexact",
]
# H.264 SEI units carry x264's settings string and camera data: removed from every output.
STRIP_SEI = ["-bsf:v", "filter_units=remove_types=6"]
# MP4 names the encoder ("Lavc libx264") in the sample description unless the stream's tag is set
BLANK_COMPRESSOR = ["-metadata:s:v:0", "encoder= "]


@dataclass(frozen=True)
class RenderResult:
    output: Path
    mode: str  # the mode actually used
    requested_mode: str
    start_offset: float  # seconds the clip starts before the requested start (copy mode), else 0
    duration: float
    frame_count: int | None
    output_sha256: str
    manifest: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def manifest_line(self) -> str:
        """The manifest entry as one JSON line for an append-only audit file."""
        return json.dumps(self.manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Aux:
    """Files the filter graph reads (command lists, subtitles, text), in a private temporary folder."""

    folder: Path
    count: int = 0

    def write(self, suffix: str, text: str) -> Path:
        self.count += 1
        p = self.folder / f"a{self.count}{suffix}"
        p.write_text(text, encoding="utf-8")
        return p


@dataclass
class _Graph:
    chains: list[str] = field(default_factory=list)
    n: int = 0

    def label(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def add(self, chain: str) -> None:
        self.chains.append(chain)

    def text(self) -> str:
        return ";".join(self.chains)


def escape_filter_value(value: str) -> str:
    """Escape a string for use as a filter option value inside a filtergraph (both escaping levels)."""
    level1 = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in level1)


def _num(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") if x else "0"


def _in_path(p: Path) -> str:
    """An input or output path ffmpeg cannot mistake for an option or a protocol."""
    return "file:" + str(p.resolve() if not p.is_absolute() else p)


# ---------------------------------------------------------------------------------------------- public API


def render(
    spec: EditSpec,
    out: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    threads: int | None = None,
    overwrite: bool = True,
    info: ProbeResult | None = None,
) -> RenderResult:
    """Render ``spec`` to ``out`` (``.mp4``, ``.m4v`` or ``.mov``: containers whose metadata can be stripped).

    Raises:
        SpecError: the spec does not fit the source (times past its end, boxes on a file without video...).
        ProbeError: the source is missing, truncated or not media.
        FfmpegFailed: ffmpeg failed or was killed, or the output does not check out; nothing is left behind.
        Cancelled: ``cancel`` was set; the temporary file is deleted.
    """
    out = Path(out)
    check_output_name(out)
    src = info or probe(spec.source)
    if out.exists() and out.resolve() == spec.source.resolve():
        raise MediaError(f"{out}: is the source recording; choose another output name")
    plan = _plan(spec, src)
    if out.exists() and not overwrite:
        raise MediaError(f"{out}: already exists")
    if not out.parent.is_dir():
        raise MediaError(f"{out.parent}: output folder does not exist")
    notes = list(plan.notes)
    remove_abandoned(Path(tempfile.gettempdir()), _AUX_PREFIX)
    aux_dir = tempfile.TemporaryDirectory(prefix=scratch_name(_AUX_PREFIX, "-"))
    with _temp_output(out) as tmp, aux_dir as td:
        aux = _Aux(Path(td))
        start_offset = 0.0
        mode = plan.mode
        if mode == "smart":
            ok = _render_smart(spec, src, tmp, aux, progress=progress, cancel=cancel, threads=threads, out=out)
            if not ok:
                notes.append(
                    "smart cut not possible here (no IDR keyframes a whole GOP apart inside the clip, "
                    "or the result did not check out): rendered in accurate mode"
                )
                mode = "accurate"
        if mode == "copy":
            args, start_offset = copy_command(spec, src, tmp, out_name=out)
            run_ffmpeg_job(
                args, what=str(out), total=spec.end - spec.start + start_offset, progress=progress, cancel=cancel
            )
            if start_offset > 0:
                notes.append(f"copy mode starts on the keyframe {start_offset:.3f} s before the requested start")
        elif mode == "accurate":
            args = accurate_command(spec, src, tmp, aux, threads=threads, out_name=out)
            total = spec.duration + (spec.title.seconds if spec.title else 0.0)
            run_ffmpeg_job(args, what=str(out), total=total, progress=progress, cancel=cancel)
        result = _check_output(tmp, out, src, spec, mode)
        if mode == "copy" and src.has_video and result.frame_count is not None:
            key = spec.start - start_offset
            extra = result.frame_count - count_frames_in(spec.source, key, spec.end)
            if extra > 0:
                notes.append(f"copy mode runs {extra} frame(s) past the requested end (B-frames need them)")
        digest = cache.sha256_of(tmp)
        _fsync_replace(tmp, out)
    manifest = manifest_entry(spec, src, out, digest, mode, start_offset)
    return RenderResult(
        output=out,
        mode=mode,
        requested_mode=spec.mode,
        start_offset=start_offset,
        duration=result.duration or 0.0,
        frame_count=result.frame_count,
        output_sha256=digest,
        manifest=manifest,
        notes=tuple(notes),
    )


def manifest_entry(
    spec: EditSpec, src: ProbeResult, out: Path, output_sha256: str, mode: str, start_offset: float = 0.0
) -> dict[str, Any]:
    """What the audit trail keeps about one output: enough to prove which bytes came from which edit."""
    return {
        "output": out.name,
        "output_sha256": output_sha256,
        "source_sha256": src.sha256,
        "spec": json.loads(spec.canonical_json(source_sha256=src.sha256)),
        "version": spec.version_hash(src.sha256),
        "mode": mode,
        "start_offset": round(start_offset, 6),
        "ffmpeg": find_ffmpeg().version,
        "rendered_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Plan:
    mode: str
    notes: tuple[str, ...]


def _plan(spec: EditSpec, src: ProbeResult) -> _Plan:
    name = spec.source.name
    check_rules(spec, name=name, source_duration=src.duration)
    if spec.captions is not None and not spec.captions.resolved:
        raise SpecError(
            f"{name}: captions: the cues of tier {spec.captions.tier!r} must be read from the store first "
            "(frontdoor media render resolves them)"
        )
    if not src.has_video and (spec.redactions or spec.title or spec.watermark or spec.captions):
        what = (
            "redactions"
            if spec.redactions
            else "title"
            if spec.title
            else "watermark"
            if spec.watermark
            else "captions"
        )
        raise SpecError(f"{name}: {what}: the source has no video stream")
    notes: list[str] = []
    mode = spec.mode
    if mode != "accurate" and spec.must_reencode:
        notes.append(f"{mode} mode cannot carry redactions, captions, a title or a watermark: re-encoded (accurate)")
        mode = "accurate"
    if mode in ("copy", "smart") and src.has_video and not src.keyframes:
        notes.append(f"{mode} mode needs keyframe times, which this source does not give: re-encoded (accurate)")
        mode = "accurate"
    if mode == "smart" and (src.video is None or src.video.codec != "h264"):
        notes.append("smart mode handles H.264 sources only: re-encoded (accurate)")
        mode = "accurate"
    if mode == "smart" and src.rotation:
        notes.append("smart mode cannot join turned and copied pictures of a rotated video: re-encoded (accurate)")
        mode = "accurate"
    return _Plan(mode, tuple(notes))


# ---------------------------------------------------------------------------------------------- commands


OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mov")


def check_output_name(out: Path) -> None:
    """Only MP4/QuickTime outputs: their metadata can be stripped completely (Matroska keeps the muxer's
    and encoders' names).

    Raises:
        MediaError: another extension.
    """
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise MediaError(f"{out}: use an .mp4, .m4v or .mov name")


def _container_args(out_name: Path) -> list[str]:
    ext = out_name.suffix.lower()
    if ext == ".mov":
        return ["-f", "mov", "-movflags", "+faststart"]
    return ["-f", "mp4", "-movflags", "+faststart"]


def _seek_args(start: float, duration: float) -> list[str]:
    # microsecond precision, rounded up: a start on a frame boundary keeps that frame
    return ["-ss", f"{math.ceil(start * 1e6 - 1e-3) / 1e6:.6f}", "-t", f"{duration:.6f}"]


def _exact_input(start: float, src: ProbeResult | None = None) -> list[str]:
    """Input options for an exact cut: a fast seek to before the keyframe that precedes ``start`` and the
    source's own timestamps kept (``-copyts``), so the ``trim`` filters compare whole timestamps exactly.

    Seeking to the keyframe's time less a margin matters for containers without an index (MPEG-TS): there
    a seek lands on any packet, and decoding starts at the next keyframe after it."""
    key = src.keyframe_at_or_before(start) if src is not None and src.has_video else None
    at = (start if key is None else min(start, key)) - 1.0
    return ["-noaccurate_seek", "-ss", f"{max(0.0, at):.6f}", "-copyts"]


def _pts_bound(t: float, src: ProbeResult) -> int:
    """The first timestamp (in the video stream's units) at or after source time ``t`` (1 µs tolerance)."""
    tb = Fraction(src.video.time_base if src.video and src.video.time_base else "1/1000000")
    return math.ceil((Fraction(t - 1e-6) + Fraction(src.start_time)) / tb)


def _enc_time_base(src: ProbeResult | None) -> list[str]:
    """Encode in the source's own time base: with a filter graph ffmpeg would otherwise put every frame on
    a 1/fps grid and move the frames of a variable-frame-rate recording away from their sound."""
    tb = src.video.time_base if src is not None and src.video is not None else None
    return ["-enc_time_base:v", tb.replace("/", ":") if tb else "1:90000"]


def copy_command(spec: EditSpec, src: ProbeResult, tmp: Path, *, out_name: Path) -> tuple[list[str], float]:
    """The stream-copy command and how far before ``spec.start`` it starts (seconds)."""
    key = src.keyframe_at_or_before(spec.start) if src.has_video else spec.start
    key = spec.start if key is None else key
    offset = max(0.0, spec.start - key)
    args = ["-y", *_seek_args(key, spec.end - key), "-i", _in_path(spec.source)]
    # the sound is re-encoded (cheap): an audio encoder can leave its own comments in a copied bitstream
    args += ["-map", "0:v:0?", "-map", "0:a:0?", "-c:v", "copy", "-c:a", "aac", "-b:a", spec.encode.audio_bitrate]
    args += ["-avoid_negative_ts", "make_zero"]
    if src.video is not None and src.video.codec == "h264":
        args += STRIP_SEI
    args += STRIP_METADATA + _container_args(out_name) + [_in_path(tmp)]
    return args, offset


def accurate_command(
    spec: EditSpec, src: ProbeResult, tmp: Path, aux: _Aux, *, threads: int | None = None, out_name: Path
) -> list[str]:
    """The re-encoding command for ``spec`` (what ``render`` runs in accurate mode)."""
    g = _Graph()
    args = ["-y", *_exact_input(spec.start, src), "-i", _in_path(spec.source)]
    v_out = a_out = None
    subs_input: int | None = None
    title = spec.title.seconds if spec.title else 0.0
    if src.has_video:
        v_out = _video_chain(g, spec, src, aux, "0:v:0")
    if src.audio is not None:
        a_out = _audio_chain(g, spec, src, "0:a:0")
    if spec.title is not None and v_out is not None:
        v_out, a_out = _prepend_title(g, spec, src, aux, v_out, a_out)
    if spec.watermark and v_out is not None:
        lbl = g.label("wm")
        g.add(f"[{v_out}]{_drawtext(aux, spec.watermark, src, 'watermark')}[{lbl}]")
        v_out = lbl
    if spec.captions is not None and spec.captions.mode == "soft" and spec.captions.cues:
        srt = aux.write(".srt", _srt(spec.captions.cues, spec.start, spec.end, shift=title))
        args += ["-i", _in_path(srt)]
        subs_input = 1
    if g.chains:
        args += ["-filter_complex", g.text()]
    if v_out is not None:
        args += ["-map", f"[{v_out}]"]
        args += ["-c:v", "libx264", "-preset", spec.encode.preset, "-crf", str(spec.encode.crf)]
        args += ["-pix_fmt", "yuv420p", "-fps_mode", "passthrough", *_enc_time_base(src), *STRIP_SEI]
        args += BLANK_COMPRESSOR
    if a_out is not None:
        args += ["-map", f"[{a_out}]"]
        args += ["-c:a", "aac", "-b:a", spec.encode.audio_bitrate]
    if subs_input is not None:
        args += ["-map", f"{subs_input}:s:0", "-c:s", "mov_text"]
    if threads:
        args += ["-threads", str(threads)]
    args += STRIP_METADATA + _container_args(out_name) + [_in_path(tmp)]
    return args


def _video_chain(g: _Graph, spec: EditSpec, src: ProbeResult, aux: _Aux, inp: str) -> str:
    """Trim to the exact frames, redact and burn captions (all in the source's own timestamps, which
    ``-copyts`` keeps), then start the clip at zero."""
    shift = src.start_time  # filter time = source time + shift
    size = src.display_size or (0, 0)
    fd = src.max_frame_duration or (1 / src.fps if src.fps else 0.04)
    cur = g.label("v")
    g.add(f"[{inp}]trim=start_pts={_pts_bound(spec.start, src)}:end_pts={_pts_bound(spec.end, src)}[{cur}]")
    by_kind: dict[str, list[Redaction]] = {}
    for r in spec.redactions:
        if r.end > spec.start - fd and r.start < spec.end:
            by_kind.setdefault(r.kind, []).append(r)
    for kind in ("blur", "pixelate", "box"):
        rs = by_kind.get(kind)
        if not rs:
            continue
        base, fx, mk, merged = (g.label(s) for s in ("b", "fx", "mk", "rv"))
        # explicit pixel formats at the head of every branch keep conversions out of the shared picture
        g.add(f"[{cur}]format=yuv420p,split=3[{base}][{fx}i][{mk}i]")
        g.add(f"[{fx}i]format=yuv420p,{_effect(kind, size)}[{fx}]")
        boxes = []
        cmds: list[str] = []
        for r in rs:
            name = f"drawbox@{g.label('r')}"
            a, b = r.start + shift, r.end + shift
            enable = escape_filter_value(f"gt(t,{_num(a - fd)})*lt(t,{_num(b)})")
            lo = max(a - fd, spec.start + shift - fd)
            hi = min(b, spec.end + shift)
            track = _box_track(r, shift, lo, hi, fd, size)
            # the box is drawn from the start where the track begins (a static box never needs a command)
            x, y, w, h = track[0][1]
            boxes.append(f"{name}=x={x}:y={y}:w={w}:h={h}:color=white:t=fill:enable={enable}")
            cmds += [
                f"{_num(t)} {name} x {x}, {name} y {y}, {name} w {w}, {name} h {h};" for t, (x, y, w, h) in track[1:]
            ]
        moves = (
            [f"sendcmd=f={escape_filter_value(str(aux.write('.cmd', chr(10).join(cmds) + chr(10))))}"] if cmds else []
        )
        mask = ",".join(
            [
                "format=yuv420p",
                "lutyuv=y=0",
                *moves,
                *boxes,
                "lutyuv=y=" + escape_filter_value("if(gt(val,100),255,0)"),
                "format=gray",
            ]
        )
        g.add(f"[{mk}i]{mask}[{mk}]")
        g.add(f"[{fx}][{mk}]alphamerge[{fx}a]")
        g.add(f"[{base}][{fx}a]overlay=format=auto:shortest=1,format=yuv420p[{merged}]")
        cur = merged
    if spec.captions is not None and spec.captions.mode == "burn" and spec.captions.cues:
        srt = aux.write(".srt", _srt(spec.captions.cues, spec.start, spec.end, shift=spec.start + shift))
        style = "FontName=DejaVu Sans,FontSize=18,Outline=1,Shadow=0,MarginV=20"
        lbl = g.label("cap")
        g.add(
            f"[{cur}]subtitles=filename={escape_filter_value(str(srt))}"
            f":force_style={escape_filter_value(style)}:charenc=UTF-8[{lbl}]"
        )
        cur = lbl
    out = g.label("vc")
    # the requested start becomes zero; the first frame may sit a fraction of a frame after it, which
    # keeps the picture in step with the sound
    g.add(f"[{cur}]setpts=PTS-{_num(spec.start + shift)}/TB[{out}]")
    return out


def _effect(kind: str, size: tuple[int, int]) -> str:
    short = max(2, min(size))
    if kind == "blur":
        r = max(2, round(short / 16))
        cr = max(1, min(r // 2, short // 4 - 1))
        return f"boxblur=luma_radius={r}:luma_power=3:chroma_radius={cr}:chroma_power=3"
    if kind == "pixelate":
        block = max(4, round(short / 18))
        return f"pixelize=w={block}:h={block}"
    return "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill"


def _pixels(box: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A frame-relative box as whole pixels, rounded outward to even coordinates (chroma is subsampled)."""
    w, h = size
    x, y, bw, bh = box
    x0, y0 = math.floor(x * w), math.floor(y * h)
    x1, y1 = math.ceil((x + bw) * w), math.ceil((y + bh) * h)
    x0 -= x0 % 2
    y0 -= y0 % 2
    x1 = min(w, x1 + x1 % 2)
    y1 = min(h, y1 + y1 % 2)
    return x0, y0, max(2, x1 - x0), max(2, y1 - y0)


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def _box_track(
    r: Redaction, shift: float, t0: float, t1: float, step: float, size: tuple[int, int]
) -> list[tuple[float, tuple[int, int, int, int]]]:
    """Where the mask rectangle must be from filter time t0 to t1 (filter time = source time + ``shift``):
    (time, rectangle) changes, the first at time 0. Between two steps the rectangle is the union of the
    box at both ends, so a moving box is never smaller than its interpolated position."""
    if len({(k.x, k.y, k.w, k.h) for k in r.keyframes}) == 1:
        return [(0.0, _pixels(r.box_at(r.keyframes[0].t), size))]
    out: list[tuple[float, tuple[int, int, int, int]]] = []
    t = max(0.0, t0)
    while True:
        rect = _union(_pixels(r.box_at(t - shift), size), _pixels(r.box_at(t + step - shift), size))
        if not out or rect != out[-1][1]:
            out.append((0.0 if not out else t, rect))
        if t >= t1:
            return out
        t = round(t + step, 9)


def _audio_chain(g: _Graph, spec: EditSpec, src: ProbeResult, inp: str) -> str:
    """Trim to the exact samples, mute or bleep (in source time), then start at zero with the video."""
    shift = src.start_time
    out = g.label("a")
    chain = [f"atrim=start={_num(spec.start + shift)}:end={_num(spec.end + shift)}"]
    ranges = [a for a in spec.audio if a.end > spec.start and a.start < spec.end]
    if ranges:
        expr = _aeval_expression(ranges, spec, shift)
        chain.append(f"aeval=exprs={escape_filter_value(expr)}:channel_layout=same")
    chain.append(f"asetpts=PTS-{_num(spec.start + shift)}/TB")
    g.add(f"[{inp}]{','.join(chain)}[{out}]")
    return out


def _aeval_expression(ranges: Sequence[AudioRedaction], spec: EditSpec, shift: float) -> str:
    def inside(a: AudioRedaction) -> str:
        return f"gte(t,{_num(a.start + shift)})*lt(t,{_num(a.end + shift)})"

    keep = "*".join(f"(1-{inside(a)})" for a in ranges)
    expr = f"val(ch)*{keep}"
    for a in ranges:
        if a.kind == "bleep":
            amp = bleep_amplitude(spec.source, a.start, a.end)
            expr += f"+{inside(a)}*{amp:.6f}*sin(2*PI*{BLEEP_HZ:g}*t)"
    return expr


def bleep_amplitude(source: Path, start: float, end: float) -> float:
    """The sine amplitude whose level equals the RMS level of the source's sound in [start, end)
    (floored at -30 dBFS, capped below full scale)."""
    rms = audio_rms(source, start, end)
    floor = 10 ** (BLEEP_FLOOR_DBFS / 20)
    return min(0.89, max(floor, rms) * math.sqrt(2))


def audio_rms(source: Path, start: float, end: float) -> float:
    """RMS (0–1) of the first audio stream over [start, end) seconds, all channels together."""
    import av
    import numpy as np

    total = 0.0
    n = 0
    try:
        with av.open(str(source)) as c:
            if not c.streams.audio:
                return 0.0
            st = c.streams.audio[0]
            c.seek(int(max(0.0, start - 1.0) * 1_000_000))
            base = float(c.start_time or 0) / 1_000_000
            to_float = av.AudioResampler(format="fltp")
            for frame in c.decode(st):
                if frame.pts is None or frame.time_base is None:
                    continue
                t0 = float(frame.pts * frame.time_base) - base
                if t0 >= end:
                    break
                sr = frame.sample_rate
                for f in to_float.resample(frame):
                    data = f.to_ndarray().astype(np.float64)  # channels x samples
                    idx = np.arange(data.shape[-1]) / sr + t0
                    sel = data[..., (idx >= start) & (idx < end)]
                    total += float(np.sum(sel * sel))
                    n += sel.size
    except av.error.FFmpegError as exc:
        raise ProbeError(f"{source}: cannot read its audio ({exc.strerror or exc})") from exc
    return math.sqrt(total / n) if n else 0.0


def _prepend_title(
    g: _Graph, spec: EditSpec, src: ProbeResult, aux: _Aux, v: str, a: str | None
) -> tuple[str, str | None]:
    assert spec.title is not None
    w, h = src.display_size or (1280, 720)
    fps = src.fps or 25
    sar = (src.video.sar if src.video else None) or "1:1"
    card_v, card_a, out_v, out_a = g.label("tv"), g.label("ta"), g.label("cv"), g.label("ca")
    text = _drawtext(aux, spec.title.text, src, "title")
    g.add(
        f"color=c=black:s={w}x{h}:r={_num(round(fps, 3))}:d={_num(spec.title.seconds)},{text},"
        f"format=yuv420p,setsar={sar.replace(':', '/')}[{card_v}]"
    )
    main_v = g.label("mv")
    g.add(f"[{v}]format=yuv420p,setsar={sar.replace(':', '/')}[{main_v}]")
    if a is None:
        g.add(f"[{card_v}][{main_v}]concat=n=2:v=1:a=0[{out_v}]")
        return out_v, None
    au = src.audio
    assert au is not None
    layout = au.layout or ("mono" if au.channels == 1 else "stereo")
    g.add(f"anullsrc=r={au.sample_rate or 48000}:cl={layout},atrim=duration={_num(spec.title.seconds)}[{card_a}]")
    main_a = g.label("ma")
    g.add(f"[{a}]aformat=channel_layouts={layout}[{main_a}]")
    g.add(f"[{card_v}][{card_a}][{main_v}][{main_a}]concat=n=2:v=1:a=1[{out_v}][{out_a}]")
    return out_v, out_a


def _drawtext(
    aux: _Aux, text: str, src: ProbeResult, role: str, *, height: int | None = None, corner: str = "bottom"
) -> str:
    """A drawtext filter reading ``text`` from a file (so no character in it needs escaping): a centred
    title, or a watermark in the bottom (or top) right corner."""
    h = height or (src.display_size or (1280, 720))[1]
    f = aux.write(".txt", text)
    font = f"fontfile={escape_filter_value(str(FONT))}" if FONT.is_file() else "font=Sans"
    common = f"{font}:textfile={escape_filter_value(str(f))}:expansion=none:fontcolor=white"
    if role == "title":
        size = max(12, h // 14)
        return f"drawtext={common}:fontsize={size}:line_spacing={size // 3}:x=(w-text_w)/2:y=(h-text_h)/2"
    size = max(10, h // 24)
    pad = max(4, h // 40)
    y = f"{pad}" if corner == "top" else f"h-text_h-{pad}"
    return (
        f"drawtext={common}@0.9:fontsize={size}:box=1:boxcolor=black@0.5:boxborderw={pad // 2}:x=w-text_w-{pad}:y={y}"
    )


def _srt(cues: Sequence[Cue], start: float, end: float, *, shift: float = 0.0) -> str:
    """Cues clipped to [start, end) and shifted to clip time, as SubRip."""

    def ts(s: float) -> str:
        ms = max(0, round(s * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    out = []
    n = 0
    for q in sorted(cues, key=lambda q: (q.start, q.end)):
        a, b = max(q.start, start), min(q.end, end)
        if b <= a or not q.text.strip():
            continue
        n += 1
        text = "\n".join(line for line in q.text.replace("\r", "").split("\n") if line.strip()) or " "
        out.append(f"{n}\n{ts(a - start + shift)} --> {ts(b - start + shift)}\n{text}\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------- smart


def _render_smart(
    spec: EditSpec,
    src: ProbeResult,
    tmp: Path,
    aux: _Aux,
    *,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    threads: int | None,
    out: Path,
) -> bool:
    """Re-encode head and tail, stream-copy the middle; False when this source cannot be cut so (the
    caller then renders in accurate mode)."""
    k1 = src.keyframe_at_or_after(spec.start)
    k2 = src.keyframe_at_or_before(spec.end)
    assert src.video is not None
    if k1 is None or k2 is None or k2 <= k1 or k2 - k1 < 1.0:
        return False
    # an open GOP's I-frame has leading pictures that refer back past it: copying from (or to) one would
    # show broken frames, so both cut points must be IDR frames
    if not (is_idr_keyframe(spec.source, k1) and is_idr_keyframe(spec.source, k2)):
        return False
    total = spec.duration
    done = 0.0

    def sub(offset: float) -> ProgressCallback | None:
        if progress is None:
            return None
        return lambda p: progress(Progress(offset + p.done, total, p.speed))

    v = src.video
    enc = ["-c:v", "libx264", "-preset", spec.encode.preset, "-crf", str(max(0, spec.encode.crf - 2))]
    enc += ["-pix_fmt", v.pix_fmt or "yuv420p", "-fps_mode", "passthrough", *_enc_time_base(src)]
    if v.profile in ("High", "Main", "Baseline", "Constrained Baseline", "High 10", "High 4:2:2"):
        enc += ["-profile:v", {"Constrained Baseline": "baseline"}.get(v.profile, v.profile.lower().replace(" ", ""))]
    parts: list[tuple[Path, float]] = []
    segments = [("head", spec.start, k1, False), ("middle", k1, k2, True), ("tail", k2, spec.end, False)]
    for name, a, b, copy in segments:
        if b - a <= 1e-6:
            continue
        seg = aux.folder / f"{name}.ts"
        if copy:
            # stream copy ends by decode time, which lets the next GOP's first frames in: take exactly the
            # frames of the whole GOPs in [k1, k2), which in decode order are the first ones after k1
            frames = count_frames_in(spec.source, a, b)
            args = ["-y", "-ss", f"{math.ceil(a * 1e6 - 1e-3) / 1e6:.6f}", "-i", _in_path(spec.source)]
            args += ["-map", "0:v:0", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb", "-frames:v", str(frames)]
        else:
            trim = f"trim=start_pts={_pts_bound(a, src)}:end_pts={_pts_bound(b, src)},setpts=PTS-STARTPTS"
            args = ["-y", *_exact_input(a, src), "-i", _in_path(spec.source), "-map", "0:v:0", "-vf", trim, *enc]
            if threads:
                args += ["-threads", str(threads)]
        args += ["-an", "-sn", "-dn", "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", _in_path(seg)]
        run_ffmpeg_job(args, what=str(out), total=b - a, progress=sub(done), cancel=cancel)
        parts.append((seg, b - a))
        done += b - a
    lst = aux.write(
        ".ffconcat",
        "ffconcat version 1.0\n" + "".join(f"file {_concat_quote(str(p))}\nduration {d:.6f}\n" for p, d in parts),
    )
    args = ["-y", "-f", "concat", "-safe", "0", "-i", _in_path(lst)]
    if src.audio is not None:
        shift = spec.start + src.start_time
        atrim = f"atrim=start={_num(shift)}:end={_num(spec.end + src.start_time)},asetpts=PTS-{_num(shift)}/TB"
        args += [*_exact_input(spec.start, src), "-i", _in_path(spec.source)]
        args += ["-map", "0:v:0", "-map", "1:a:0", "-af", atrim, "-c:a", "aac", "-b:a", spec.encode.audio_bitrate]
    else:
        args += ["-map", "0:v:0"]
    args += ["-c:v", "copy", *STRIP_SEI, *STRIP_METADATA, *_container_args(out), _in_path(tmp)]
    run_ffmpeg_job(args, what=str(out), total=total, progress=None, cancel=cancel)  # quick: a remux
    if progress is not None:
        progress(Progress(total, total, None))
    return _smart_ok(tmp, src, spec)


def is_idr_keyframe(path: Path, t: float) -> bool:
    """Whether the H.264 keyframe at source time ``t`` is an IDR picture (nothing after it refers back)."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        tb = vs.time_base
        assert tb is not None
        base = float(c.start_time or 0) / 1_000_000
        extradata = bytes(vs.codec_context.extradata or b"")
        length_size = (extradata[4] & 3) + 1 if extradata[:1] == b"\x01" and len(extradata) > 4 else 0
        c.seek(int(max(0.0, t - 1.0 + base) * 1_000_000))
        for pkt in c.demux(vs):
            if pkt.pts is None or pkt.size == 0:
                continue
            pt = float(pkt.pts * tb) - base
            if abs(pt - t) < 1e-6:
                return 5 in _nal_types(bytes(pkt), length_size)
            if pt > t + 5:
                break
    return False


def _nal_types(data: bytes, length_size: int) -> set[int]:
    """The NAL unit types in one H.264 access unit (length-prefixed as in MP4, or Annex B start codes)."""
    types: set[int] = set()
    if length_size:
        i = 0
        while i + length_size < len(data):
            n = int.from_bytes(data[i : i + length_size], "big")
            types.add(data[i + length_size] & 0x1F)
            i += length_size + n
        return types
    i = data.find(b"\x00\x00\x01")
    while i != -1 and i + 3 < len(data):
        types.add(data[i + 3] & 0x1F)
        i = data.find(b"\x00\x00\x01", i + 3)
    return types


def _concat_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def count_frames_in(path: Path, start: float, end: float) -> int:
    """How many video packets of ``path`` have timestamps in [start, end) (seconds from the file start)."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        base = float(c.start_time or 0) / 1_000_000
        tb = vs.time_base
        assert tb is not None
        if start > 2:
            c.seek(int((start - 2 + base) * 1_000_000))
        n = 0
        seen: set[int] = set()
        for pkt in c.demux(vs):
            if pkt.pts is None or pkt.size == 0 or pkt.pts in seen:
                continue
            t = float(pkt.pts * tb) - base
            if t >= end + 5:
                break
            if start - 1e-6 <= t < end - 1e-6:
                seen.add(pkt.pts)
                n += 1
        return n


def _smart_ok(tmp: Path, src: ProbeResult, spec: EditSpec) -> bool:
    try:
        got = probe(tmp, use_cache=False)
    except ProbeError:
        return False
    want = count_frames_in(spec.source, spec.start, spec.end)
    return got.frame_count == want and got.has_video


# ---------------------------------------------------------------------------------------------- outputs


_PART_PREFIX = ".frontdoor-"
_AUX_PREFIX = "frontdoor-render-"


@contextmanager
def _temp_output(out: Path) -> Iterator[Path]:
    """A hidden temporary name in the output's folder; removed unless it was renamed into place. What a
    killed render left there before is removed first."""
    remove_abandoned(out.parent, _PART_PREFIX)
    tmp = out.parent / scratch_name(_PART_PREFIX, ".part")
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_replace(tmp: Path, out: Path) -> None:
    """Make the finished file durable, then rename it into place (a crash leaves the old file or the new)."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    try:
        fd = os.open(out.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_output(tmp: Path, out: Path, src: ProbeResult, spec: EditSpec, mode: str) -> ProbeResult:
    """Probe a finished output: it must play and carry the streams the source has."""
    if not tmp.is_file() or tmp.stat().st_size == 0:
        raise FfmpegFailed(f"{out}: ffmpeg wrote nothing")
    try:
        got = probe(tmp, use_cache=False)
    except ProbeError as exc:
        raise FfmpegFailed(f"{out}: the output does not play ({exc.message.split(': ', 1)[-1]})") from exc
    if src.has_video and not got.has_video:
        raise FfmpegFailed(f"{out}: the output has no video (no keyframe in the range?)")
    if src.audio is not None and got.audio is None:
        raise FfmpegFailed(f"{out}: the output has no audio")
    if src.has_video and mode != "copy" and got.frame_count is not None:
        want = count_frames_in(spec.source, spec.start, spec.end)
        card = round(spec.title.seconds * (src.fps or 25)) if spec.title else 0
        clip = got.frame_count - card
        if abs(clip - want) > (1 if card else 0):
            raise FfmpegFailed(f"{out}: the output has {clip} frames of the source's {want} in the range")
    return got
