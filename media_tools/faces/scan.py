"""One pass over a recording: decode every frame with PyAV, detect faces on every ``stride``-th frame scaled
down to ``detect_width`` pixels, and link them into tracks (:mod:`media_tools.faces.tracks`).

Long work in the house style: a blocking function with ``on_progress(done, total)`` (frames) and a
``threading.Event`` to cancel. Frame numbers count the video's frames from 0 in presentation order and
times are ms from the start of the file, as :mod:`media_tools.frame_times` counts them.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from media_tools.errors import Cancelled, ProbeError
from media_tools.faces.model import MODEL_NAME, load_model
from media_tools.faces.tracks import FaceTrack, Tracker, TrackSettings
from media_tools.frames import open_media

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScanSettings:
    detect_width: int = 768
    """Frames are scaled to this width for detection (never up): speed against the smallest face found."""
    threshold: float = 0.3
    """The detector's score below which a face is not reported at all."""
    tracking: TrackSettings = field(default_factory=TrackSettings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScanResult:
    model: str
    settings: ScanSettings
    width: int
    height: int
    frame_ms: tuple[int, ...]
    """When each frame starts being shown (ms from the start of the file), by frame number."""
    tracks: tuple[FaceTrack, ...]

    @property
    def frame_count(self) -> int:
        return len(self.frame_ms)


def scan_faces(
    path: str | os.PathLike[str],
    settings: ScanSettings | None = None,
    *,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ScanResult:
    """Find and follow the faces in a recording's video.

    Raises:
        ProbeError: the file is missing, not media, or has no video.
        FaceModelMissing: the detector's model is not installed.
        Cancelled: ``cancel`` was set.
    """
    settings = settings or ScanSettings()
    stride = max(1, settings.tracking.stride)
    model = load_model(1)  # one thread for the model: the decoder has the other core
    p = Path(path)
    with open_media(p) as container:
        if not container.streams.video:
            raise ProbeError(f"{p}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise ProbeError(f"{p}: the video has no picture size")
        scale = min(1.0, settings.detect_width / width)
        sw, sh = max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)
        total = stream.frames or 0
        if not total and stream.duration and stream.average_rate and stream.time_base:
            total = math.ceil(float(stream.duration * stream.time_base * stream.average_rate))
        origin = max(container.start_time or 0, 0) / av.time_base
        tracker = Tracker(width, height, settings.tracking)
        frame_ms: list[int] = []
        pts_seen: list[float] = []
        back = np.array([width / sw, height / sh, width / sw, height / sh], dtype=np.float32)
        stop = threading.Event()
        for i, t, small in _decoded(container, stream, stride, (sw, sh), stop, p):
            if cancel is not None and cancel.is_set():
                stop.set()
                raise Cancelled(f"{p}: face detection cancelled")
            pts_seen.append(t)
            frame_ms.append(max(0, math.ceil((t - origin) * 1000 - 1e-6)))
            if small is not None:
                dets = model.detect(small, settings.threshold)
                if len(dets):
                    dets[:, :4] *= back
                tracker.update(i, dets)
            if on_progress is not None and i % 25 == 0:
                on_progress(i, max(total, i + 1))
    if not frame_ms:
        raise ProbeError(f"{p}: no video frames")
    if any(b < a for a, b in itertools.pairwise(pts_seen)):
        raise ProbeError(f"{p}: frames are not in presentation order (a damaged file?)")
    tracks = tracker.finish(frame_ms)
    if on_progress is not None:
        on_progress(len(frame_ms), len(frame_ms))
    return ScanResult(MODEL_NAME, settings, width, height, tuple(frame_ms), tuple(tracks))


_END = object()


def _decoded(
    container: Any, stream: Any, stride: int, size: tuple[int, int], stop: threading.Event, path: Path
) -> Iterator[tuple[int, float, npt.NDArray[np.uint8] | None]]:
    """(frame number, time in s, the frame scaled to ``size`` as RGB on every stride-th frame, else None),
    decoded on a second thread so that decoding and detection use both cores."""
    q: queue.Queue[Any] = queue.Queue(maxsize=16)
    rate = float(stream.average_rate or 25)

    def work() -> None:
        try:
            for i, frame in enumerate(container.decode(stream)):
                if stop.is_set():
                    return
                t = float(frame.time) if frame.time is not None else i / rate
                small = None
                if i % stride == 0:
                    small = frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
                q.put((i, t, small))
            q.put(_END)
        except av.error.FFmpegError as exc:
            q.put(ProbeError(f"{path}: cannot decode the video ({exc.strerror or exc})", detail=str(exc)))
        except BaseException as exc:  # handed to the caller's thread
            q.put(exc)

    thread = threading.Thread(target=work, name="face-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let a blocked put finish, so the container is closed after the thread
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        thread.join()
