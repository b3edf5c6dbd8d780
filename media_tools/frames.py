"""Exact stills and cached thumbnails of a video, decoded with PyAV.

A still at time ``t`` is the frame a player shows then: the one with the largest presentation time <= t.
It is found by seeking to the keyframe before ``t`` and decoding forward, which is right for B-frames and
long GOPs alike; when the seek lands after ``t`` (MP4 indexes keyframes by decode time, which can precede the
presentation time by a few frames), it seeks again further back.

Time is in seconds from the start of the file: the earliest start of its streams, so MPEG-TS files with a
clock offset start at 0 like MP4s do. Stills are RGB24 with square pixels, turned upright when the file
carries a display rotation (phone video), so the app can lay them over the player's picture.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
import numpy.typing as npt
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from media_tools import cache
from media_tools.errors import ProbeError
from media_tools.files import write_atomic
from media_tools.probe import media_file

log = logging.getLogger(__name__)

_DECODE_AHEAD_S = 2
"""Without a keyframe index, a later time this close is reached by decoding on rather than seeking."""
_SLACK_S = 1
"""How far a requested time may lie past the last decodable frame before the file counts as truncated."""
_BACK_OFF_S = (0, 1, 4, 16, 64)
"""Successive seek points before the target, in seconds, tried while a seek lands after it."""
_JPEG_QSCALE = 3  # mjpeg quantiser, 2 (best) .. 31; 3 keeps thumbnails sharp at a few KB

Rgb = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Still:
    """One decoded frame as RGB24: ``height`` rows of ``3 * width`` bytes, top row first."""

    data: bytes
    width: int
    height: int
    pts_s: float
    """When the frame starts being shown, in seconds from the start of the file."""
    frame_index: int | None
    """The frame's number from 0, for constant-frame-rate video (``round(pts * fps)``), else None."""


def frame_at(path: str | os.PathLike[str], t_seconds: float, *, width: int | None = None) -> Still:
    """The frame shown at ``t_seconds``, scaled to ``width`` pixels (keeping the aspect ratio) if given.

    A time before the first frame gives the first frame; one past the end gives the last.

    Raises:
        ProbeError: the file is missing, not media, truncated before ``t_seconds``, or has no video.
        ValueError: ``t_seconds`` is negative or not finite, or ``width`` is less than 1.
    """
    t = _seconds(t_seconds)
    if width is not None:
        _check_width(width)
    with _VideoReader(Path(path)) as reader:
        frame = reader.frame_at(t)
        rgb = reader.rgb(frame, width)
        return Still(
            data=rgb.tobytes(),
            width=rgb.shape[1],
            height=rgb.shape[0],
            pts_s=float(reader.seconds(frame)),
            frame_index=reader.frame_index(frame),
        )


def thumbnail(path: str | os.PathLike[str], t_seconds: float, *, width: int = 160) -> bytes:
    """A JPEG of the frame shown at ``t_seconds``, ``width`` pixels wide, cached by file, time (ms) and width.

    Raises:
        ProbeError: as ``frame_at``.
        ValueError: as ``frame_at``.
    """
    return thumbnails(path, [t_seconds], width=width)[0]


def thumbnails(path: str | os.PathLike[str], times: Sequence[float], width: int = 160) -> list[bytes]:
    """JPEGs of the frames shown at ``times`` (in that order), for a timeline strip.

    Cached ones are read from disk; the rest are decoded in one pass in increasing time, seeking only when
    the next time lies past another keyframe.

    Raises:
        ProbeError: as ``frame_at``.
        ValueError: as ``frame_at``.
    """
    _check_width(width)
    p = media_file(path)
    ms = [round(_seconds(t) * 1000) for t in times]
    if not ms:
        return []
    digest = cache.file_hash(p)
    found: dict[int, bytes] = {}
    missing: list[tuple[int, Path]] = []
    for m in sorted(set(ms)):
        entry = cache.entry_path("thumbnail", f"{digest}-{m}-w{width}", ".jpg")
        try:
            data = entry.read_bytes()
        except OSError:
            data = b""
        if data:
            found[m] = data
        else:
            missing.append((m, entry))
    if missing:
        with _VideoReader(p) as reader:
            for m, entry in missing:
                jpeg = _jpeg(reader.rgb(reader.frame_at(Fraction(m, 1000)), width))
                write_atomic(entry, jpeg, make_parents=True)
                found[m] = jpeg
    return [found[m] for m in ms]


def open_media(path: str | os.PathLike[str]) -> InputContainer:
    """Open a media file with PyAV for reading, refusing one whose own index reaches past its end.

    Raises:
        ProbeError: the file is missing, not media, or truncated (an MP4 copied in part, say).
    """
    path = media_file(path)
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise ProbeError(f"{path}: not a readable media file ({exc.strerror or exc})", detail=str(exc)) from exc
    # A cut MP4 still opens (its index is at the front) and decodes up to the cut, but the index tells.
    end = 0
    for stream in container.streams:
        entries = stream.index_entries
        if len(entries):
            last = entries[len(entries) - 1]
            if last.pos >= 0:
                end = max(end, last.pos + last.size)
    size = container.size
    if size > 0 and end > size:
        container.close()
        raise ProbeError(f"{path}: truncated (the file has {size} bytes, its index reaches {end})")
    return container


def _duration_tag(text: str) -> Fraction | None:
    """A Matroska ``DURATION`` tag ("01:02:03.040000000") in seconds, or None."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes = int(parts[0]), int(parts[1])
        whole, _, fraction = parts[2].partition(".")
        seconds = int(whole) + Fraction(int(fraction or "0"), 10 ** len(fraction))
    except ValueError:
        return None
    return seconds + hours * 3600 + minutes * 60


def _check_width(width: int) -> None:
    if width < 1:
        raise ValueError(f"width must be at least 1 pixel, not {width}")


def _seconds(t: float) -> Fraction:
    """``t`` as an exact number of microseconds, so 0.04 is 1/25 and not a hair below it."""
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"time must be a non-negative number of seconds, not {t!r}")
    return Fraction(round(t * 1_000_000), 1_000_000)


class _VideoReader:
    """An open file's first video stream, decoded forward from the last position while that is cheaper."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._c = self._open()
        try:
            self._s = self._video_stream()
        except BaseException:
            self._c.close()
            raise
        tb = self._s.time_base
        self._tb: Fraction = tb if tb is not None else Fraction(1, av.time_base)
        self._origin = Fraction(max(self._c.start_time or 0, 0), av.time_base)
        self._stream_start = self._s.start_time or 0
        avg, base = self._s.average_rate, self._s.base_rate
        self._fps = avg if avg and base and avg == base else None
        self._end_s, self._end_is_the_videos = self._declared_end()
        self._frames: Iterator[VideoFrame] | None = None
        self._shown: VideoFrame | None = None  # the last frame with pts <= the last target
        self._ahead: VideoFrame | None = None  # the decoded frame after it, not yet shown
        self._eof = False
        self._need_key = False  # after a seek, frames before the first keyframe may be garbage
        self._restarted = False  # decoding began at the first packet of the file
        self._bad_packets = 0

    def __enter__(self) -> _VideoReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._c.close()

    # -- opening ----------------------------------------------------------------------------------------

    def _open(self) -> InputContainer:
        return open_media(self._path)

    def _video_stream(self) -> VideoStream:
        for s in self._c.streams.video:
            if not s.disposition & Disposition.attached_pic:  # cover art is not the picture
                s.thread_type = "AUTO"
                return s
        raise ProbeError(f"{self._path}: no video stream")

    def _declared_end(self) -> tuple[Fraction | None, bool]:
        """Where the file says the video ends, in file seconds, and whether that is the video's own end
        rather than the whole file's (which a longer audio track may set)."""
        if self._s.duration is not None:
            return (self._stream_start + self._s.duration) * self._tb - self._origin, True
        tagged = _duration_tag(self._s.metadata.get("DURATION", ""))  # Matroska's per-track statistics
        if tagged is not None:
            return self._stream_start * self._tb - self._origin + tagged, True
        if self._c.duration is not None:
            return Fraction(self._c.duration, av.time_base), False
        return None, False

    # -- times ------------------------------------------------------------------------------------------

    def seconds(self, frame: VideoFrame) -> Fraction:
        """A frame's presentation time in file seconds."""
        return (frame.pts or 0) * self._tb - self._origin

    def frame_index(self, frame: VideoFrame) -> int | None:
        if self._fps is None or frame.pts is None:
            return None
        return round((frame.pts - self._stream_start) * self._tb * self._fps)

    # -- finding the frame ------------------------------------------------------------------------------

    def frame_at(self, t: Fraction) -> VideoFrame:
        """The frame shown at file time ``t``: the largest pts <= t (or the first frame, if t precedes it)."""
        target = math.floor((t + self._origin) / self._tb)
        if self._frames is not None and not self._should_seek(target):
            self._advance(target)
        else:
            self._seek_for(target)
        frame = self._shown or self._ahead
        if frame is None:
            raise ProbeError(f"{self._path}: no video frame could be decoded")
        if self._shown is not None and self._eof and self._ahead is None:
            self._check_not_truncated(t, self._shown)
        return frame

    def _should_seek(self, target: int) -> bool:
        """Whether reaching ``target`` from where decoding stands is quicker (or only possible) by a seek."""
        shown, ahead = self._shown, self._ahead
        if shown is None or shown.pts is None or target < shown.pts:
            return True  # backwards, or nothing shown yet
        if ahead is None:
            return not self._eof
        assert ahead.pts is not None
        if target < ahead.pts:
            return False  # the same frame is still shown
        index = self._s.index_entries
        if len(index):
            # Seek when a keyframe lies between here and the target (index times are decode times, close
            # enough to decide this; a seek that lands late is retried further back).
            i = index.search_timestamp(target, backward=True)
            return i >= 0 and index[i].timestamp > ahead.pts
        return (target - ahead.pts) * self._tb > _DECODE_AHEAD_S

    def _seek_for(self, target: int) -> None:
        """Seek so that the frame shown at ``target`` gets decoded, backing off while the seek lands late."""
        for back_s in _BACK_OFF_S:
            self._seek(target - math.ceil(back_s / self._tb))
            self._advance(target)
            if self._shown is not None or self._restarted:
                return
            first = self._ahead
            if first is not None and first.pts is not None and first.pts <= self._stream_start:
                return  # decoding began at the first frame, so the target precedes it
        self._restart()
        self._advance(target)

    def _seek(self, ticks: int) -> None:
        self._reset()
        try:
            self._c.seek(ticks, stream=self._s, backward=True)
        except av.error.FFmpegError as exc:  # some demuxers refuse a time before the first keyframe
            log.debug("%s: seek to %s failed (%s); decoding from the start", self._path, ticks, exc)
            self._restart()
            return
        self._restarted = False
        self._need_key = True
        self._frames = self._decoded()

    def _restart(self) -> None:
        """Reopen the file and decode from its first packet: the answer of last resort."""
        self._reset()
        self._c.close()
        self._c = self._open()
        self._s = self._video_stream()
        self._restarted = True
        self._need_key = False
        self._frames = self._decoded()

    def _reset(self) -> None:
        self._frames = None
        self._shown = self._ahead = None
        self._eof = False

    def _advance(self, target: int) -> None:
        """Decode forward until the next frame would be shown after ``target``."""
        while True:
            if self._ahead is None:
                if self._eof:
                    return
                self._ahead = self._next()
                if self._ahead is None:
                    self._eof = True
                    return
            pts = self._ahead.pts
            assert pts is not None  # _next skips frames without one
            if pts > target:
                return
            self._shown, self._ahead = self._ahead, None

    def _next(self) -> VideoFrame | None:
        """The next usable frame in presentation order, or None at the end."""
        assert self._frames is not None
        for frame in self._frames:
            if frame.pts is None:
                continue
            if self._need_key:
                if not frame.key_frame:
                    continue
                self._need_key = False
            return frame
        return None

    def _decoded(self) -> Iterator[VideoFrame]:
        """Frames in presentation order; a damaged packet is skipped, as ffmpeg does, rather than fatal."""
        try:
            for packet in self._c.demux(self._s):
                try:
                    frames = self._s.decode(packet)
                except av.error.InvalidDataError:
                    self._bad_packets += 1
                    continue
                yield from frames
        except av.error.FFmpegError as exc:
            log.info("%s: reading stopped early (%s)", self._path, exc)
            self._bad_packets += 1

    def _check_not_truncated(self, t: Fraction, last: VideoFrame) -> None:
        if self._end_s is None or not (self._end_is_the_videos or self._bad_packets):
            return
        last_s = self.seconds(last)
        if t - last_s > _SLACK_S and last_s < self._end_s - _SLACK_S:
            raise ProbeError(
                f"{self._path}: truncated (video ends at {float(last_s):.1f} s of {float(self._end_s):.1f} s)",
                detail=f"{self._bad_packets} damaged packets",
            )

    # -- pixels -----------------------------------------------------------------------------------------

    def rgb(self, frame: VideoFrame, width: int | None) -> Rgb:
        """The frame as an upright RGB24 array with square pixels, ``width`` wide if given."""
        sar = self._s.sample_aspect_ratio or Fraction(1)
        turns = round(frame.rotation / 90) % 4
        w, h = frame.width * sar, Fraction(frame.height)  # display size before turning
        if width is not None:
            scale = Fraction(width) / (h if turns % 2 else w)
            w, h = w * scale, h * scale
        out_w, out_h = max(1, round(w)), max(1, round(h))
        # The frame's own range, as PyAV otherwise assumes limited range and would grey out full-range video.
        converted = frame.reformat(width=out_w, height=out_h, format="rgb24", src_color_range=frame.color_range or None)
        rgb = np.asarray(converted.to_ndarray(), dtype=np.uint8)
        if turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))  # rotation is counterclockwise, as rot90's
        return rgb


def _jpeg(rgb: Rgb) -> bytes:
    """Encode an RGB24 array as a baseline JPEG with FFmpeg's mjpeg encoder."""
    height, width = rgb.shape[:2]
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuvj420p"  # full-range YUV, what JPEG viewers expect
    codec.time_base = Fraction(1, 25)
    codec.qmin = codec.qmax = _JPEG_QSCALE
    # AREA averages each 2x2 block for chroma; swscale's default bilinear biases it to 127 (a green cast).
    frame = VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj420p", interpolation="AREA")
    packets = codec.encode(frame) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)
