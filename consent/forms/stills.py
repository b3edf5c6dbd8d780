"""The stills on a consent form: three frames of each clip, with its picture redactions drawn over them.

Stills are taken from the recording at 10 %, 50 % and 90 % of the clip. Where a picture redaction is on
screen at that moment, the still carries it (boxes filled, blurs and pixelations shown as coarse blocks),
so a printed form never shows what the clip hides. Stills are cached like the thumbnails, keyed by the
recording's hash so that destroying the recording finds them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame

from media_tools import cache, frames
from media_tools.files import write_atomic
from media_tools.spec import EditSpec, Redaction

STILL_AT = (0.1, 0.5, 0.9)
"""Where the stills are taken, as fractions of the clip."""
STILL_WIDTH = 320
"""Pixels: sharp at the 5.5 cm a still takes on paper."""
_REDACTION_MARGIN_S = 0.1
"""A redaction counts as on screen this close to its range (the frame shown may start before it)."""
_JPEG_QSCALE = 3

_Rgb = npt.NDArray[np.uint8]
_Rect = tuple[float, float, float, float]  # x, y, w, h as fractions of the frame


def stills(spec: EditSpec) -> list[bytes]:
    """JPEG stills at :data:`STILL_AT` of the clip, each with the picture redactions on screen then."""
    times = [spec.start + f * spec.duration for f in STILL_AT]
    active = [
        [r for r in spec.redactions if r.start - _REDACTION_MARGIN_S <= t < r.end + _REDACTION_MARGIN_S] for t in times
    ]
    plain_times = [t for t, rs in zip(times, active, strict=True) if not rs]
    plain = iter(frames.thumbnails(spec.source, plain_times, width=STILL_WIDTH))
    return [_redacted_still(spec.source, t, rs) if rs else next(plain) for t, rs in zip(times, active, strict=True)]


def _redacted_still(path: Path, t: float, redactions: Sequence[Redaction]) -> bytes:
    """The still at ``t`` with the redactions on screen then drawn over it (cached like thumbnails)."""
    boxes: list[tuple[str, list[_Rect]]] = [
        (r.kind, [r.box_at(u) for u in (t - _REDACTION_MARGIN_S, t, t + _REDACTION_MARGIN_S)]) for r in redactions
    ]
    source = cache.file_hash(path)  # the key starts with it, so destroying the recording finds the still
    key = source + "-" + hashlib.sha256(json.dumps([source, round(t * 1000), STILL_WIDTH, boxes]).encode()).hexdigest()
    entry = cache.entry_path("form-still", key, ".jpg")
    try:
        data = entry.read_bytes()
    except OSError:
        data = b""
    if data:
        return data
    still = frames.frame_at(path, t, width=STILL_WIDTH)
    rgb = np.frombuffer(still.data, dtype=np.uint8).reshape(still.height, still.width, 3).copy()
    for kind, positions in boxes:
        _cover(rgb, kind, _pixel_box(positions, still.width, still.height))
    data = _jpeg(rgb)
    write_atomic(entry, data, make_parents=True)
    return data


def _pixel_box(positions: Sequence[_Rect], width: int, height: int) -> tuple[int, int, int, int]:
    """The union of frame-relative boxes, rounded outward to whole pixels and padded by one."""
    x0 = min(b[0] for b in positions)
    y0 = min(b[1] for b in positions)
    x1 = max(b[0] + b[2] for b in positions)
    y1 = max(b[1] + b[3] for b in positions)
    return (
        max(0, math.floor(x0 * width) - 1),
        max(0, math.floor(y0 * height) - 1),
        min(width, math.ceil(x1 * width) + 1),
        min(height, math.ceil(y1 * height) + 1),
    )


def _cover(rgb: _Rgb, kind: str, box: tuple[int, int, int, int]) -> None:
    """Fill a box (``box``) or replace it with coarse blocks of its average colour (``blur``, ``pixelate``)."""
    x0, y0, x1, y1 = box
    if kind == "box":
        rgb[y0:y1, x0:x1] = 0
        return
    block = max(4, round(min(rgb.shape[0], rgb.shape[1]) / 12))
    for by in range(y0, y1, block):
        for bx in range(x0, x1, block):
            cell = rgb[by : min(by + block, y1), bx : min(bx + block, x1)]
            cell[:] = cell.reshape(-1, 3).mean(axis=0).astype(np.uint8)


def _jpeg(rgb: _Rgb) -> bytes:
    """A baseline JPEG of an RGB24 array (FFmpeg's mjpeg encoder, as ``media_tools.frames`` makes them)."""
    height, width = rgb.shape[:2]
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.qmin = codec.qmax = _JPEG_QSCALE
    frame = VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj420p", interpolation="AREA")
    packets = codec.encode(frame) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)
