"""The ``smart`` cut: re-encode only from the clip's start to the first keyframe and from the last keyframe
to its end, and stream-copy the whole GOPs in between.

It is frame-exact like ``accurate`` and much faster on long clips, but only possible on H.264 sources whose
cut points inside the clip are IDR pictures (an open GOP's I-frame has leading pictures that refer back
past it). The three parts are written as MPEG-TS segments into the render's private folder, joined by the
concat demuxer, and the result is checked (frame count and video present): :func:`render_smart` returns
False when the source cannot be cut so or the check fails, and ``render`` then renders in accurate mode.

The packet-level helpers here (:func:`count_frames_in`, :func:`is_idr_keyframe`) read the source with
PyAV without decoding; ``render`` uses the frame count to check every output.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

from media_tools.errors import ProbeError
from media_tools.ffmpeg_bin import Progress, ProgressCallback, run_ffmpeg_job
from media_tools.filters import (
    STRIP_METADATA,
    STRIP_SEI,
    AuxFiles,
    container_args,
    encode_time_base_args,
    exact_input_args,
    file_arg,
    format_number,
    pts_bound,
)
from media_tools.probe import ProbeResult, probe
from media_tools.spec import EditSpec


def render_smart(
    spec: EditSpec,
    src: ProbeResult,
    tmp: Path,
    aux: AuxFiles,
    *,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    threads: int | None,
    out: Path,
) -> bool:
    """Render ``spec`` into ``tmp``: re-encode head and tail, stream-copy the middle; False when this source
    cannot be cut so or the result does not check out (the caller then renders in accurate mode).

    Raises:
        FfmpegFailed: ffmpeg failed or was killed.
        Cancelled: ``cancel`` was set.
    """
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
    enc += ["-pix_fmt", v.pix_fmt or "yuv420p", "-fps_mode", "passthrough", *encode_time_base_args(src)]
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
            args = ["-y", "-ss", f"{math.ceil(a * 1e6 - 1e-3) / 1e6:.6f}", "-i", file_arg(spec.source)]
            args += ["-map", "0:v:0", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb", "-frames:v", str(frames)]
        else:
            trim = f"trim=start_pts={pts_bound(a, src)}:end_pts={pts_bound(b, src)},setpts=PTS-STARTPTS"
            args = ["-y", *exact_input_args(a, src), "-i", file_arg(spec.source), "-map", "0:v:0", "-vf", trim, *enc]
            if threads:
                args += ["-threads", str(threads)]
        args += ["-an", "-sn", "-dn", "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", file_arg(seg)]
        run_ffmpeg_job(args, what=str(out), total=b - a, progress=sub(done), cancel=cancel)
        parts.append((seg, b - a))
        done += b - a
    lst = aux.write(
        ".ffconcat",
        "ffconcat version 1.0\n" + "".join(f"file {_concat_quote(str(p))}\nduration {d:.6f}\n" for p, d in parts),
    )
    args = ["-y", "-f", "concat", "-safe", "0", "-i", file_arg(lst)]
    if src.audio is not None:
        shift = spec.start + src.start_time
        atrim = (
            f"atrim=start={format_number(shift)}:end={format_number(spec.end + src.start_time)},"
            f"asetpts=PTS-{format_number(shift)}/TB"
        )
        args += [*exact_input_args(spec.start, src), "-i", file_arg(spec.source)]
        args += ["-map", "0:v:0", "-map", "1:a:0", "-af", atrim, "-c:a", "aac", "-b:a", spec.encode.audio_bitrate]
    else:
        args += ["-map", "0:v:0"]
    args += ["-c:v", "copy", *STRIP_SEI, *STRIP_METADATA, *container_args(out), file_arg(tmp)]
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
