"""From face tracks to an edit spec's redactions, and back: whether a spec covers a track's every frame.

A track becomes one keyframed redaction per run of consecutive frames inside the clip: a keyframe per frame
where the box's path bends (frames where it moves on a straight line are left to the spec's interpolation,
within ``tolerance``), each box grown by ``pad`` of its size on every side and by the tolerance, so the blur
always holds the face the detector saw. :func:`uncovered_runs` is the check the export gate makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from media_tools.faces.tracks import Box, TrackFrame, lerp
from media_tools.spec import BoxKind, Keyframe, Redaction

PAD = 0.2
TOLERANCE = 0.002


@dataclass(frozen=True)
class Run:
    """Frames ``first``..``last`` (inclusive) of a track and why they stop an export."""

    first: int
    last: int
    first_ms: int
    last_ms: int
    why: str  # "uncertain" or "not covered"


def in_clip(frames: Iterable[TrackFrame], start: float, end: float, frame_s: float) -> list[TrackFrame]:
    """The frames of a track on screen during [start, end) seconds (the one on screen at ``start`` too)."""
    lo, hi = (start - frame_s) * 1000, end * 1000
    return [f for f in frames if lo < f.ms < hi]


def _padded(box: Box, pad: float, tol: float) -> Box:
    x, y, w, h = box
    x0 = max(0.0, x - w * pad - tol)
    y0 = max(0.0, y - h * pad - tol)
    x1 = min(1.0, x + w * (1 + pad) + tol)
    y1 = min(1.0, y + h * (1 + pad) + tol)
    return (round(x0, 6), round(y0, 6), round(max(x1 - x0, 1e-4), 6), round(max(y1 - y0, 1e-4), 6))


def _runs(frames: Sequence[TrackFrame]) -> list[list[TrackFrame]]:
    out: list[list[TrackFrame]] = []
    for f in frames:
        if out and f.frame == out[-1][-1].frame + 1:
            out[-1].append(f)
        else:
            out.append([f])
    return out


def _simplify(frames: Sequence[TrackFrame], tol: float) -> list[TrackFrame]:
    """The frames whose boxes the rest follow linearly within ``tol`` (first and last always kept)."""
    keep = [frames[0]]
    i = 0
    while i < len(frames) - 1:
        j = i + 1
        while j + 1 < len(frames) and j - i < 50:
            a, b = frames[i], frames[j + 1]
            ok = all(
                max(abs(p - q) for p, q in zip(frames[k].box, lerp(a.box, b.box, (k - i) / (j + 1 - i)), strict=True))
                <= tol
                for k in range(i + 1, j + 1)
            )
            if not ok:
                break
            j += 1
        keep.append(frames[j])
        i = j
    return keep


def track_redactions(
    frames: Sequence[TrackFrame],
    start: float,
    end: float,
    frame_s: float,
    *,
    kind: BoxKind = "blur",
    note: str | None = None,
    pad: float = PAD,
    tolerance: float = TOLERANCE,
) -> list[Redaction]:
    """Keyframed redactions covering a track's frames inside [start, end) seconds of the recording
    (``frame_s``: the recording's frame duration)."""
    out = []
    for run in _runs(in_clip(frames, start, end, frame_s)):
        kept = _simplify(run, tolerance)
        keys = tuple(Keyframe(f.ms / 1000, *_padded(f.box, pad, tolerance)) for f in kept)
        if len(keys) > 1 and keys[-1].t <= keys[-2].t:
            keys = keys[:-1]
        r_end = run[-1].ms / 1000 + frame_s / 2
        out.append(Redaction(kind, run[0].ms / 1000, max(r_end, run[0].ms / 1000 + 0.001), keys, note))
    return out


def _covers(r: Redaction, f: TrackFrame, frame_s: float) -> bool:
    t = f.ms / 1000
    if not (r.start - frame_s + 1e-6 < t < r.end):
        return False
    x, y, w, h = r.box_at(t)
    bx, by, bw, bh = f.box
    eps = 1e-4
    return x <= bx + eps and y <= by + eps and x + w >= bx + bw - eps and y + h >= by + bh - eps


def uncovered_runs(
    frames: Sequence[TrackFrame], redactions: Sequence[Redaction], start: float, end: float, frame_s: float
) -> list[Run]:
    """The runs of a track's frames inside [start, end) that are uncertain, or that no redaction covers."""
    bad: list[tuple[TrackFrame, str]] = []
    for f in in_clip(frames, start, end, frame_s):
        if f.state == "uncertain":
            bad.append((f, "uncertain"))
        elif not any(_covers(r, f, frame_s) for r in redactions):
            bad.append((f, "not covered"))
    out: list[Run] = []
    for f, why in bad:
        if out and out[-1].why == why and out[-1].last + 1 == f.frame:
            out[-1] = Run(out[-1].first, f.frame, out[-1].first_ms, f.ms, why)
        else:
            out.append(Run(f.frame, f.frame, f.ms, f.ms, why))
    return out
