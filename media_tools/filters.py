"""The ffmpeg filter graphs and argument pieces that ``render``, the smart cut and ``reel`` share.

A clip is cut, redacted, captioned and titled by one ``-filter_complex`` graph: :class:`Graph` collects its
chains and hands out unique pad labels, :class:`AuxFiles` holds the files the graph reads (``sendcmd``
lists, subtitles, text for ``drawtext``) so that no user text has to survive filtergraph escaping.
:func:`video_chain` and :func:`audio_chain` build the exact cut and the redactions of one input,
:func:`prepend_title` and :func:`drawtext` the title card and the watermark. The argument pieces around
the graph (the exact-seek input options, the container and the metadata stripping) live here too, so that a
reel is built from the very same pieces as a single clip.

Picture redactions are drawn through a mask: per kind (blur, pixelate, solid box) the whole frame is
processed once, and a greyscale mask whose rectangles follow the keyframed boxes (moved frame by frame by
``sendcmd``) decides where the processed picture replaces the original. Between two command times the mask
holds the union of the box at both ends, so a moving box is never smaller than its interpolated position,
whatever the frame timing. A redaction covers every frame on screen at any moment of its range.

Audio redactions are exact to the sample (``aeval`` with per-sample time): mute, or a 1 kHz tone whose
level is the RMS level of the sound it replaces (never below -30 dBFS, so a bleep over silence is heard).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from media_tools.clock import clock_text
from media_tools.errors import ProbeError
from media_tools.probe import ProbeResult
from media_tools.spec import AudioRedaction, Cue, EditSpec, Redaction

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


@dataclass
class AuxFiles:
    """Files the filter graph reads (command lists, subtitles, text), in a private temporary folder."""

    folder: Path
    count: int = 0

    def write(self, suffix: str, text: str) -> Path:
        """Write ``text`` to a new file with this suffix in the folder; returns its path."""
        self.count += 1
        p = self.folder / f"a{self.count}{suffix}"
        p.write_text(text, encoding="utf-8")
        return p


@dataclass
class Graph:
    """A filtergraph being built: its chains in order and a counter for unique pad labels."""

    chains: list[str] = field(default_factory=list)
    n: int = 0

    def label(self, stem: str) -> str:
        """A pad label not used before in this graph (``stem`` and a number)."""
        self.n += 1
        return f"{stem}{self.n}"

    def add(self, chain: str) -> None:
        """Append one chain (``[in]filter,filter[out]``)."""
        self.chains.append(chain)

    def text(self) -> str:
        """The graph as the value of ``-filter_complex``."""
        return ";".join(self.chains)


def escape_filter_value(value: str) -> str:
    """Escape a string for use as a filter option value inside a filtergraph (both escaping levels)."""
    level1 = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in level1)


def format_number(x: float) -> str:
    """A time or number for a filter option: at most six decimals, no trailing zeros (``0`` for zero)."""
    return f"{x:.6f}".rstrip("0").rstrip(".") if x else "0"


def file_arg(p: Path) -> str:
    """An input or output path ffmpeg cannot mistake for an option or a protocol."""
    return "file:" + str(p.resolve() if not p.is_absolute() else p)


def container_args(out_name: Path) -> list[str]:
    """The muxer options for an output named ``out_name`` (MP4 or QuickTime, index at the front)."""
    ext = out_name.suffix.lower()
    if ext == ".mov":
        return ["-f", "mov", "-movflags", "+faststart"]
    return ["-f", "mp4", "-movflags", "+faststart"]


def exact_input_args(start: float, src: ProbeResult | None = None) -> list[str]:
    """Input options for an exact cut: a fast seek to before the keyframe that precedes ``start`` and the
    source's own timestamps kept (``-copyts``), so the ``trim`` filters compare whole timestamps exactly.

    Seeking to the keyframe's time less a margin matters for containers without an index (MPEG-TS): there
    a seek lands on any packet, and decoding starts at the next keyframe after it."""
    key = src.keyframe_at_or_before(start) if src is not None and src.has_video else None
    at = (start if key is None else min(start, key)) - 1.0
    return ["-noaccurate_seek", "-ss", f"{max(0.0, at):.6f}", "-copyts"]


def pts_bound(t: float, src: ProbeResult) -> int:
    """The first timestamp (in the video stream's units) at or after source time ``t`` (1 µs tolerance)."""
    tb = Fraction(src.video.time_base if src.video and src.video.time_base else "1/1000000")
    return math.ceil((Fraction(t - 1e-6) + Fraction(src.start_time)) / tb)


def encode_time_base_args(src: ProbeResult | None) -> list[str]:
    """Encode in the source's own time base: with a filter graph ffmpeg would otherwise put every frame on
    a 1/fps grid and move the frames of a variable-frame-rate recording away from their sound."""
    tb = src.video.time_base if src is not None and src.video is not None else None
    return ["-enc_time_base:v", tb.replace("/", ":") if tb else "1:90000"]


def video_chain(g: Graph, spec: EditSpec, src: ProbeResult, aux: AuxFiles, inp: str) -> str:
    """Trim to the exact frames, redact and burn captions (all in the source's own timestamps, which
    ``-copyts`` keeps), then start the clip at zero."""
    shift = src.start_time  # filter time = source time + shift
    size = src.display_size or (0, 0)
    fd = src.max_frame_duration or (1 / src.fps if src.fps else 0.04)
    cur = g.label("v")
    g.add(f"[{inp}]trim=start_pts={pts_bound(spec.start, src)}:end_pts={pts_bound(spec.end, src)}[{cur}]")
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
            enable = escape_filter_value(f"gt(t,{format_number(a - fd)})*lt(t,{format_number(b)})")
            lo = max(a - fd, spec.start + shift - fd)
            hi = min(b, spec.end + shift)
            track = _box_track(r, shift, lo, hi, fd, size)
            # the box is drawn from the start where the track begins (a static box never needs a command)
            x, y, w, h = track[0][1]
            boxes.append(f"{name}=x={x}:y={y}:w={w}:h={h}:color=white:t=fill:enable={enable}")
            cmds += [
                f"{format_number(t)} {name} x {x}, {name} y {y}, {name} w {w}, {name} h {h};"
                for t, (x, y, w, h) in track[1:]
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
        srt = aux.write(".srt", srt_text(spec.captions.cues, spec.start, spec.end, shift=spec.start + shift))
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
    g.add(f"[{cur}]setpts=PTS-{format_number(spec.start + shift)}/TB[{out}]")
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


def audio_chain(g: Graph, spec: EditSpec, src: ProbeResult, inp: str) -> str:
    """Trim to the exact samples, mute or bleep (in source time), then start at zero with the video."""
    shift = src.start_time
    out = g.label("a")
    chain = [f"atrim=start={format_number(spec.start + shift)}:end={format_number(spec.end + shift)}"]
    ranges = [a for a in spec.audio if a.end > spec.start and a.start < spec.end]
    if ranges:
        expr = _aeval_expression(ranges, spec, shift)
        chain.append(f"aeval=exprs={escape_filter_value(expr)}:channel_layout=same")
    chain.append(f"asetpts=PTS-{format_number(spec.start + shift)}/TB")
    g.add(f"[{inp}]{','.join(chain)}[{out}]")
    return out


def _aeval_expression(ranges: Sequence[AudioRedaction], spec: EditSpec, shift: float) -> str:
    def inside(a: AudioRedaction) -> str:
        return f"gte(t,{format_number(a.start + shift)})*lt(t,{format_number(a.end + shift)})"

    keep = "*".join(f"(1-{inside(a)})" for a in ranges)
    expr = f"val(ch)*{keep}"
    for a in ranges:
        if a.kind == "bleep":
            amp = bleep_amplitude(spec.source, a.start, a.end)
            expr += f"+{inside(a)}*{amp:.6f}*sin(2*PI*{BLEEP_HZ:g}*t)"
    return expr


def bleep_amplitude(source: Path, start: float, end: float) -> float:
    """The sine amplitude whose level equals the RMS level of the source's sound in [start, end)
    (floored at -30 dBFS, capped below full scale).

    Raises:
        ProbeError: the source's sound cannot be read.
    """
    rms = audio_rms(source, start, end)
    floor = 10 ** (BLEEP_FLOOR_DBFS / 20)
    return min(0.89, max(floor, rms) * math.sqrt(2))


def audio_rms(source: Path, start: float, end: float) -> float:
    """RMS (0–1) of the first audio stream over [start, end) seconds, all channels together.

    Raises:
        ProbeError: the source's sound cannot be read.
    """
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


def prepend_title(
    g: Graph, spec: EditSpec, src: ProbeResult, aux: AuxFiles, v: str, a: str | None
) -> tuple[str, str | None]:
    """Put the spec's title card (black, the source's frame size, silence of the source's layout) before the
    video pad ``v`` and audio pad ``a``; returns the joined pads."""
    assert spec.title is not None
    w, h = src.display_size or (1280, 720)
    fps = src.fps or 25
    sar = (src.video.sar if src.video else None) or "1:1"
    card_v, card_a, out_v, out_a = g.label("tv"), g.label("ta"), g.label("cv"), g.label("ca")
    text = drawtext(aux, spec.title.text, src, "title")
    g.add(
        f"color=c=black:s={w}x{h}:r={format_number(round(fps, 3))}:d={format_number(spec.title.seconds)},{text},"
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
    g.add(
        f"anullsrc=r={au.sample_rate or 48000}:cl={layout},atrim=duration={format_number(spec.title.seconds)}[{card_a}]"
    )
    main_a = g.label("ma")
    g.add(f"[{a}]aformat=channel_layouts={layout}[{main_a}]")
    g.add(f"[{card_v}][{card_a}][{main_v}][{main_a}]concat=n=2:v=1:a=1[{out_v}][{out_a}]")
    return out_v, out_a


def drawtext(
    aux: AuxFiles, text: str, src: ProbeResult, role: str, *, height: int | None = None, corner: str = "bottom"
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


def srt_text(cues: Sequence[Cue], start: float, end: float, *, shift: float = 0.0) -> str:
    """Cues clipped to [start, end) and shifted to clip time, as SubRip."""

    def ts(s: float) -> str:
        return clock_text(max(0, round(s * 1000)), sep=",")

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
