"""Probing recordings with PyAV: container, streams, duration, frame rate, variable frame rate, keyframe
times, rotation and audio layout in one call, cached on disk by the file's SHA-256.

The video stream's packets are read once (no decoding) to find the keyframes' presentation times, the
frame count and whether the frame rate varies; one frame is decoded for the rotation. Every time is in
seconds from the start of the file as a player shows it (the container's start time subtracted).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from media_tools import cache
from media_tools.errors import ProbeError, os_problem

# Bump when the probe's output changes shape, so old cache entries are not read.
PROBE_VERSION = 3


@dataclass(frozen=True)
class StreamInfo:
    index: int
    kind: str
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    layout: str | None = None
    pix_fmt: str | None = None
    profile: str | None = None
    rotation: int = 0
    bit_rate: int | None = None
    language: str | None = None
    sar: str | None = None  # sample aspect ratio "num:den" of a video stream
    time_base: str | None = None  # "num/den": the unit of the stream's timestamps


@dataclass(frozen=True)
class ProbeResult:
    path: str
    container: str
    duration_ms: int | None
    streams: tuple[StreamInfo, ...]
    sha256: str = ""
    start_time: float = 0.0
    frame_count: int | None = None
    vfr: bool = False
    keyframes: tuple[float, ...] = field(default=(), repr=False)
    min_frame_duration: float | None = None
    max_frame_duration: float | None = None

    @property
    def duration(self) -> float | None:
        return None if self.duration_ms is None else self.duration_ms / 1000

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    @property
    def fps(self) -> float | None:
        return next((s.fps for s in self.streams if s.kind == "video" and s.fps), None)

    @property
    def has_video(self) -> bool:
        return any(s.kind == "video" for s in self.streams)

    @property
    def rotation(self) -> int:
        v = self.video
        return v.rotation if v else 0

    @property
    def display_size(self) -> tuple[int, int] | None:
        """Width and height as shown (after rotation)."""
        v = self.video
        if v is None or v.width is None or v.height is None:
            return None
        return (v.height, v.width) if v.rotation % 180 else (v.width, v.height)

    @property
    def mime_type(self) -> str:
        if "mp4" in self.container or "mov" in self.container:
            return "video/mp4" if self.has_video else "audio/mp4"
        if "wav" in self.container:
            return "audio/x-wav"
        if "matroska" in self.container:
            return "video/x-matroska" if self.has_video else "audio/x-matroska"
        return "video/*" if self.has_video else "audio/*"

    def keyframe_at_or_before(self, t: float) -> float | None:
        import bisect

        i = bisect.bisect_right(self.keyframes, t + 1e-9)
        return self.keyframes[i - 1] if i else None

    def keyframe_at_or_after(self, t: float) -> float | None:
        import bisect

        i = bisect.bisect_left(self.keyframes, t - 1e-9)
        return self.keyframes[i] if i < len(self.keyframes) else None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["keyframes"] = list(self.keyframes)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], path: str) -> ProbeResult:
        d = dict(d)
        d["path"] = path
        d["streams"] = tuple(StreamInfo(**s) for s in d["streams"])
        d["keyframes"] = tuple(d["keyframes"])
        return cls(**d)


def media_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path`, checked to name a file: the check every reader of media starts with.

    Raises:
        ProbeError: the file is missing or not a file, or the system refuses to look it up (a name too long
            for it, a folder without permission), in one line with the name shortened.
    """
    p = Path(path)
    try:
        st = p.stat()
    except ValueError:  # a NUL in the name: no such file can exist
        raise ProbeError(f"{p}: media file not found") from None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise ProbeError(f"{p}: media file not found") from None
        raise ProbeError(os_problem(p, exc, "look it up")) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ProbeError(f"{p}: not a file")
    return p


def probe(path: str | os.PathLike[str], *, use_cache: bool = True) -> ProbeResult:
    """Describe a media file. The result is cached by the file's SHA-256, so a second call on the same
    bytes (under any name) reads nothing but the hash index.

    Raises:
        ProbeError: the file is missing, unreadable, truncated or not media.
    """
    p = media_file(path)
    try:
        digest = cache.file_hash(p)
    except OSError as exc:
        raise ProbeError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    key = f"{digest}-v{PROBE_VERSION}"
    if use_cache:
        hit = cache.read_json("probe", key)
        if hit is not None:
            try:
                return ProbeResult.from_json(hit, str(p))
            except (TypeError, KeyError):
                pass
    result = _probe_uncached(p, digest)
    with contextlib.suppress(OSError):  # a read-only cache folder only costs speed
        cache.write_json("probe", key, result.to_json())
    return result


def _probe_uncached(p: Path, digest: str) -> ProbeResult:
    import av

    try:
        with av.open(str(p), metadata_errors="ignore") as c:
            start = float(Fraction(c.start_time, 1_000_000)) if c.start_time is not None else 0.0
            streams = [_stream_info(s) for s in c.streams]
            duration = None
            if c.duration is not None:
                duration = int(Fraction(c.duration, 1_000_000) * 1000)
            fmt = c.format.name
            vs = next((s for s in c.streams if s.type == "video"), None)
            scan = _scan_video(c, vs, start) if vs is not None else None
    except av.error.FFmpegError as exc:
        raise ProbeError(f"{p}: not a readable media file ({exc.strerror or exc})") from exc
    except (EOFError, ValueError) as exc:
        raise ProbeError(f"{p}: not a readable media file ({exc})") from exc
    if not streams or all(s.kind not in ("video", "audio") for s in streams):
        raise ProbeError(f"{p}: no audio or video streams")
    if scan is not None:
        rotation, keyframes, count, dmin, dmax, decoded, declared = scan
        if not decoded:
            raise ProbeError(f"{p}: the video stream has no decodable frame (truncated or damaged file)")
        if declared and count < declared:
            raise ProbeError(f"{p}: truncated: only {count} of its {declared} video frames are in the file")
        streams = [StreamInfo(**{**asdict(s), "rotation": rotation}) if s.kind == "video" else s for s in streams]
        vfr = dmin is not None and dmax is not None and dmax - dmin > max(0.002, 0.01 * dmax)
        return ProbeResult(str(p), fmt, duration, tuple(streams), digest, start, count, vfr, keyframes, dmin, dmax)
    return ProbeResult(str(p), fmt, duration, tuple(streams), digest, start)


def _stream_info(s: Any) -> StreamInfo:
    cc: Any = s.codec_context
    lang = s.metadata.get("language") if s.metadata else None
    bit_rate = getattr(cc, "bit_rate", None) or None
    if s.type == "video":
        rate = s.average_rate or s.guessed_rate
        return StreamInfo(
            s.index,
            "video",
            cc.name,
            cc.width,
            cc.height,
            float(rate) if rate else None,
            pix_fmt=cc.pix_fmt,
            profile=getattr(cc, "profile", None),
            sar=f"{sar.numerator}:{sar.denominator}" if (sar := s.sample_aspect_ratio) else "1:1",
            time_base=str(s.time_base) if s.time_base else None,
            bit_rate=bit_rate,
            language=lang,
        )
    if s.type == "audio":
        layout = getattr(cc, "layout", None)
        return StreamInfo(
            s.index,
            "audio",
            cc.name,
            sample_rate=cc.sample_rate,
            channels=getattr(layout, "nb_channels", None),
            layout=getattr(layout, "name", None),
            bit_rate=bit_rate,
            language=lang,
        )
    return StreamInfo(s.index, str(s.type), cc.name if cc is not None else "?", language=lang)


def _scan_video(
    c: Any, vs: Any, start: float
) -> tuple[int, tuple[float, ...], int, float | None, float | None, bool, int]:
    """Keyframe times, frame count and the spread of frame durations from the video packets; the rotation
    from the first decoded frame."""
    tb = vs.time_base
    rotation = 0
    decoded = False
    for frame in c.decode(vs):
        rotation = int(getattr(frame, "rotation", 0) or 0) % 360
        decoded = True
        break
    c.seek(0)
    keys: list[float] = []
    pts_all: list[int] = []
    for pkt in c.demux(vs):
        if pkt.size == 0 or pkt.pts is None or pkt.is_corrupt:
            continue
        pts_all.append(pkt.pts)
        if pkt.is_keyframe:
            keys.append(float(pkt.pts * tb) - start)
    pts_all.sort()
    dmin = dmax = None
    if len(pts_all) > 2:
        # the last frame's duration is often unknown: look at the gaps between frames only
        diffs = [b - a for a, b in itertools.pairwise(pts_all) if b > a]
        if diffs:
            dmin, dmax = float(min(diffs) * tb), float(max(diffs) * tb)
    return rotation, tuple(sorted(keys)), len(pts_all), dmin, dmax, decoded, int(vs.frames or 0)
