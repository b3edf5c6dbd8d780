"""Probing recordings with PyAV: duration, frame rate and streams in one call."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from media_tools.errors import ProbeError


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


@dataclass(frozen=True)
class ProbeResult:
    path: str
    container: str
    duration_ms: int | None
    streams: tuple[StreamInfo, ...]

    @property
    def fps(self) -> float | None:
        return next((s.fps for s in self.streams if s.kind == "video" and s.fps), None)

    @property
    def has_video(self) -> bool:
        return any(s.kind == "video" for s in self.streams)

    @property
    def mime_type(self) -> str:
        if "mp4" in self.container or "mov" in self.container:
            return "video/mp4" if self.has_video else "audio/mp4"
        if "wav" in self.container:
            return "audio/x-wav"
        return "video/*" if self.has_video else "audio/*"


def probe(path: str | os.PathLike[str]) -> ProbeResult:
    """Read a media file's container and streams.

    Raises:
        ProbeError: the file is missing, unreadable, truncated or not media.
    """
    import av

    p = Path(path)
    if not p.is_file():
        raise ProbeError(f"{p}: media file not found")
    try:
        with av.open(str(p)) as c:
            streams = []
            for s in c.streams:
                cc: Any = s.codec_context
                if s.type == "video":
                    rate = s.average_rate or s.guessed_rate
                    streams.append(
                        StreamInfo(
                            s.index,
                            "video",
                            cc.name,
                            cc.width,
                            cc.height,
                            float(rate) if rate else None,
                        )
                    )
                elif s.type == "audio":
                    streams.append(
                        StreamInfo(
                            s.index,
                            "audio",
                            cc.name,
                            sample_rate=cc.sample_rate,
                            channels=getattr(getattr(cc, "layout", None), "nb_channels", None),
                        )
                    )
                else:
                    streams.append(StreamInfo(s.index, str(s.type), cc.name if cc else "?"))
            duration = None
            if c.duration is not None:
                duration = int(Fraction(c.duration, 1_000_000) * 1000)
            fmt = c.format.name
    except av.error.FFmpegError as exc:
        raise ProbeError(f"{p}: not a readable media file ({exc.strerror or exc})") from exc
    if not streams:
        raise ProbeError(f"{p}: no audio or video streams")
    return ProbeResult(str(p), fmt, duration, tuple(streams))
