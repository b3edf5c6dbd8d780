"""Face tracks: detections linked frame to frame (SORT-style), with every frame's box and state.

A detection pass runs on every ``stride``-th frame. :class:`Tracker` links each pass's detections to the
tracks alive (predicted forward at constant velocity, matched by overlap and centre distance with the
Hungarian method). :func:`fill_track` then gives every frame from a track's first to its last detection a
box, interpolated between detections, and a state:

``detected``   seen on this frame by a detection pass
``tracked``    between two passes that both saw it (the normal stride), the box interpolated
``bridged``    between two detections with one or more passes missed in between (a short gap), or held for
               the frames just before the first and after the last detection
``uncertain``  a low score, a long gap, or a box touching the frame's edge: the export gate stops on these
               until someone confirms or fixes them
``confirmed``  an uncertain frame a person looked at and accepted
``fixed``      a box a person drew; the frames around it follow (:func:`reinterpolate`)

Boxes are (x, y, w, h) as fractions of the frame's width and height, as an edit spec's redactions are.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

STATES = ("detected", "tracked", "bridged", "uncertain", "confirmed", "fixed")
ANCHORS = ("detected", "fixed", "confirmed")
"""States whose boxes are kept when a track is re-interpolated around a fixed box."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TrackFrame:
    frame: int
    """The frame's number in the recording, from 0 (decode order of presentation)."""
    ms: int
    """When the frame starts being shown, in whole ms from the start of the file."""
    box: Box
    score: float
    state: str


@dataclass(frozen=True)
class FaceTrack:
    number: int
    frames: tuple[TrackFrame, ...]

    @property
    def first(self) -> int:
        return self.frames[0].frame

    @property
    def last(self) -> int:
        return self.frames[-1].frame


@dataclass(frozen=True)
class TrackSettings:
    stride: int = 5
    """Detect on every stride-th frame; the tracker follows in between."""
    low_score: float = 0.45
    """A detection scoring below this (but above the detector's threshold) marks its frame uncertain."""
    bridge_frames: int = 15
    """Gaps up to this many frames between detections are bridged; longer ones are uncertain."""
    lost_frames: int = 25
    """A track not seen for this many frames ends."""
    edge: float = 0.005
    """A box this close to the frame's edge (as a fraction of the frame) is uncertain."""
    min_detections: int = 2
    """Tracks with fewer detections are dropped (a face is seen on several passes; noise seldom is)."""


@dataclass
class _Live:
    number: int
    box: np.ndarray  # cx, cy, w, h in frame fractions
    velocity: np.ndarray  # cx, cy per frame
    last: int
    hits: list[tuple[int, Box, float]] = field(default_factory=list)


def _xywh(d: Sequence[float], width: int, height: int) -> np.ndarray:
    x0, y0, x1, y1 = d[0] / width, d[1] / height, d[2] / width, d[3] / height
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ax0, ay0, ax1, ay1 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx0, by0, bx1, by1 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    return float(inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-12))


class Tracker:
    """Links detection passes into tracks: feed :meth:`update` each pass in frame order, then :meth:`finish`."""

    def __init__(self, width: int, height: int, settings: TrackSettings) -> None:
        self.width, self.height, self.settings = width, height, settings
        self._live: list[_Live] = []
        self._done: list[_Live] = []
        self._next = 1

    def update(self, frame: int, detections: np.ndarray) -> None:
        """One detection pass on ``frame``: N x 5 (x0, y0, x1, y1 in pixels of the full frame, score)."""
        gone = [t for t in self._live if frame - t.last > self.settings.lost_frames]
        self._done += gone
        self._live = [t for t in self._live if t not in gone]
        dets = [_xywh(d, self.width, self.height) for d in detections]
        cost = np.full((len(self._live), len(dets)), 1e6)
        for i, t in enumerate(self._live):
            pred = t.box.copy()
            pred[:2] += t.velocity * (frame - t.last)
            for j, d in enumerate(dets):
                size = max(pred[2], pred[3], d[2], d[3])
                dist = float(np.hypot(*(pred[:2] - d[:2]))) / max(size, 1e-6)
                iou = _iou(pred, d)
                ratio = max(pred[2], d[2]) / max(min(pred[2], d[2]), 1e-6)
                if (iou > 0.1 or dist < 1.0) and ratio < 2.0:
                    cost[i, j] = (1 - iou) + dist
        matched: set[int] = set()
        if cost.size:
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols, strict=True):
                if cost[i, j] >= 1e6:
                    continue
                t, d = self._live[i], dets[j]
                step = max(frame - t.last, 1)
                t.velocity = 0.5 * t.velocity + 0.5 * (d[:2] - t.box[:2]) / step
                t.box, t.last = d, frame
                t.hits.append((frame, _box(d), float(detections[j][4])))
                matched.add(j)
        for j, d in enumerate(dets):
            if j not in matched:
                t = _Live(self._next, d, np.zeros(2), frame, [(frame, _box(d), float(detections[j][4]))])
                self._next += 1
                self._live.append(t)

    def finish(self, frame_ms: Sequence[int]) -> list[FaceTrack]:
        """Every track with enough detections, filled frame by frame, numbered from 1 in order of start."""
        ended = sorted(self._done + self._live, key=lambda t: (t.hits[0][0], t.number))
        out: list[FaceTrack] = []
        for t in ended:
            if len(t.hits) < self.settings.min_detections:
                continue
            frames = fill_track(t.hits, frame_ms, self.settings)
            out.append(FaceTrack(len(out) + 1, frames))
        return out


def _box(d: np.ndarray) -> Box:
    return (float(d[0] - d[2] / 2), float(d[1] - d[3] / 2), float(d[2]), float(d[3]))


def lerp(a: Box, b: Box, f: float) -> Box:
    return (
        a[0] + (b[0] - a[0]) * f,
        a[1] + (b[1] - a[1]) * f,
        a[2] + (b[2] - a[2]) * f,
        a[3] + (b[3] - a[3]) * f,
    )


def at_edge(box: Box, margin: float) -> bool:
    x, y, w, h = box
    return x <= margin or y <= margin or x + w >= 1 - margin or y + h >= 1 - margin


def fill_track(
    hits: Sequence[tuple[int, Box, float]], frame_ms: Sequence[int], settings: TrackSettings
) -> tuple[TrackFrame, ...]:
    """Every frame of a track from its detections (frame, box, score), with its state (see the module)."""
    last_frame = len(frame_ms) - 1
    out: list[TrackFrame] = []

    def state_of(box: Box, score: float, base: str) -> str:
        if score < settings.low_score or at_edge(box, settings.edge):
            return "uncertain"
        return base

    first = hits[0]
    for f in range(max(0, first[0] - settings.stride + 1), first[0]):
        out.append(TrackFrame(f, frame_ms[f], first[1], first[2], state_of(first[1], first[2], "bridged")))
    for (fa, ba, sa), (fb, bb, sb) in itertools.pairwise(hits):
        out.append(TrackFrame(fa, frame_ms[fa], ba, sa, state_of(ba, sa, "detected")))
        gap = fb - fa
        base = "tracked" if gap <= settings.stride else "bridged" if gap <= settings.bridge_frames else "uncertain"
        for f in range(fa + 1, fb):
            box = lerp(ba, bb, (f - fa) / gap)
            score = min(sa, sb)
            out.append(TrackFrame(f, frame_ms[f], box, score, state_of(box, score, base)))
    end = hits[-1]
    out.append(TrackFrame(end[0], frame_ms[end[0]], end[1], end[2], state_of(end[1], end[2], "detected")))
    for f in range(end[0] + 1, min(last_frame, end[0] + settings.stride - 1) + 1):
        out.append(TrackFrame(f, frame_ms[f], end[1], end[2], state_of(end[1], end[2], "bridged")))
    return tuple(out)


def reinterpolate(frames: Sequence[TrackFrame], fixed: TrackFrame) -> tuple[TrackFrame, ...]:
    """A track with one frame's box set by hand (state ``fixed``): the frames between it and the nearest
    detected, confirmed or fixed frame on each side move linearly to meet it, so the track follows."""
    by_frame = {f.frame: f for f in frames}
    by_frame[fixed.frame] = replace(fixed, state="fixed")
    ordered = sorted(by_frame.values(), key=lambda f: f.frame)
    i = next(k for k, f in enumerate(ordered) if f.frame == fixed.frame)
    for direction in (-1, 1):
        j = i + direction
        while 0 <= j < len(ordered) and ordered[j].state not in ANCHORS:
            j += direction
        if not 0 <= j < len(ordered):
            # no anchor that way: the frames out to the track's end hold the fixed box
            rng = range(i + direction, -1 if direction < 0 else len(ordered), direction)
            for k in rng:
                ordered[k] = replace(ordered[k], box=fixed.box)
            continue
        a, b = ordered[i], ordered[j]
        span = b.frame - a.frame
        for k in range(i + direction, j, direction):
            f = (ordered[k].frame - a.frame) / span
            ordered[k] = replace(ordered[k], box=lerp(a.box, b.box, f))
    return tuple(ordered)
