"""When each frame of a video is shown: the real frame start times, from the frame rate when it is constant and
from the packets' presentation times when it varies. Frame numbers in the app come from here, never from a
nominal frame rate on variable-frame-rate video."""

from __future__ import annotations

import functools
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from media_tools.errors import ProbeError
from media_tools.frames import open_media
from media_tools.probe import ProbeResult, probe

log = logging.getLogger(__name__)

__all__ = ["FrameTimes", "frame_times"]


@dataclass(frozen=True, eq=False)
class FrameTimes:
    """When each frame of a video starts being shown, in ms from the start of the file (as ``frame_at``
    counts time), in increasing order."""

    starts_ms: npt.NDArray[np.float64]

    @property
    def count(self) -> int:
        return len(self.starts_ms)

    def index_at(self, ms: float) -> int:
        """The frame shown at ``ms``: the last one starting at or before it (the first, before the first)."""
        i = int(np.searchsorted(self.starts_ms, ms + 1e-6, side="right")) - 1
        return min(max(i, 0), self.count - 1)

    def start_ms(self, index: int) -> int:
        """The first whole millisecond at which frame ``index`` (clamped to the frames there are) is shown."""
        i = min(max(index, 0), self.count - 1)
        return max(0, math.ceil(float(self.starts_ms[i]) - 1e-6))


def frame_times(path: str | os.PathLike[str], info: ProbeResult | None = None) -> FrameTimes:
    """The frame start times of ``path``'s video, cached per file (path, size and modification time).

    Constant-frame-rate video needs only its first frame's time and the frame rate; variable-frame-rate video
    has its packets' presentation times read once (demuxed, not decoded).

    Raises:
        ProbeError: the file is missing, not media, truncated or has no video.
    """
    p = Path(path)
    if info is None:
        info = probe(p)
    try:
        st = p.stat()
    except OSError as exc:
        raise ProbeError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    cfr = not info.vfr and bool(info.fps)
    count = info.frame_count or (round((info.duration or 0) * (info.fps or 0)) if cfr else 0)
    return _frame_times(str(p.resolve()), st.st_size, st.st_mtime_ns, info.fps if cfr else None, count)


@functools.lru_cache(maxsize=16)
def _frame_times(path: str, size: int, mtime_ns: int, fps: float | None, count: int) -> FrameTimes:
    import av

    with open_media(path) as container:
        video = next(iter(container.streams.video), None)
        if video is None:
            raise ProbeError(f"{path}: no video stream")
        tb = float(video.time_base or 1 / av.time_base)
        origin_ms = max(container.start_time or 0, 0) / av.time_base * 1000
        pts: list[int] = []
        try:
            for packet in container.demux(video):
                if packet.pts is not None:
                    pts.append(packet.pts)
                    # a constant rate needs only the first frame, which B-frames may put a few packets late
                    if fps and len(pts) >= 16:
                        break
        except av.error.FFmpegError as exc:  # a damaged tail: keep the frames read so far
            log.info("%s: reading packet times stopped early (%s)", path, exc)
    if not pts:
        raise ProbeError(f"{path}: no video frames")
    if fps and count > 0:
        first = min(pts) * tb * 1000 - origin_ms
        starts = first + np.arange(count, dtype=np.float64) * (1000.0 / fps)
    else:
        starts = np.unique(np.asarray(pts, dtype=np.float64)) * tb * 1000 - origin_ms
    return FrameTimes(starts)
