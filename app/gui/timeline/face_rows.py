"""Face tracks as rows of the timeline, under the tiers: one row per track of the recording, labelled with
whose face it is (or ``face N``), a bar where the track has a box and red marks where its frames are
uncertain, so the researcher sees where to look. Clicking a bar seeks there (an uncertain mark: to its first
frame) and tells which track was clicked; the Faces panel selects it.

``FaceRow`` is plain data handed over once per change of the tracks (numpy arrays of span starts and ends in
ms, sorted): a paint only searches the visible slice and composes one bitmap per row with numpy, as the tier
rows are. ``FaceRowsPainting`` is a mixin of ``TimelineView`` (it reads the view's state and its face rows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from app.gui.timeline.style import BOX_PAD, DIM_TEXT, GRID, HEADER_W, ROW_BG, ROW_H, SELECT_FILL, TEXT, TOP_H

IntArray = npt.NDArray[np.int64]

FACE_FILL = QColor("#bfe8c4")
FACE_BORDER = QColor("#2e8b3e")
FACE_DOUBT = QColor("#e02424")
FACE_SELECTED = QColor("#1b5fd1")
FACE_HEADER = QColor("#e3efe5")
DOUBT_PX = 3  # an uncertain mark is at least this wide, so a single frame shows when zoomed out
HIT_PX = 5  # a click this close to an uncertain mark goes to it


def _ms(values: Sequence[int]) -> IntArray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass(frozen=True)
class FaceRow:
    """One face track on the timeline: ``spans`` where it has a box and ``doubts`` where its frames are
    uncertain, as (start ms, end ms) pairs in time order."""

    track_id: int
    label: str
    starts: IntArray = field(repr=False)
    ends: IntArray = field(repr=False)
    doubt_starts: IntArray = field(repr=False)
    doubt_ends: IntArray = field(repr=False)

    @classmethod
    def of(
        cls, track_id: int, label: str, spans: Sequence[tuple[int, int]], doubts: Sequence[tuple[int, int]] = ()
    ) -> FaceRow:
        return cls(
            track_id,
            label,
            _ms([a for a, _ in spans]),
            _ms([max(b, a + 1) for a, b in spans]),
            _ms([a for a, _ in doubts]),
            _ms([max(b, a + 1) for a, b in doubts]),
        )

    @property
    def max_end(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def span_at(self, ms: float) -> int | None:
        """The index of the span holding ``ms``, or None."""
        i = int(np.searchsorted(self.starts, np.int64(math.floor(ms)), side="right")) - 1
        return i if i >= 0 and ms < self.ends[i] else None

    def doubt_near(self, ms: float, tol: float) -> int | None:
        """The index of the uncertain run nearest ``ms`` within ``tol`` ms, or None."""
        if not len(self.doubt_starts):
            return None
        gap = np.maximum(np.maximum(self.doubt_starts - ms, ms - self.doubt_ends + 1), 0)
        k = int(np.argmin(gap))
        return k if gap[k] <= tol else None


def _visible(starts: IntArray, ends: IntArray, t0: float, t1: float) -> npt.NDArray[np.intp]:
    """Indices of the (sorted, non-overlapping) spans overlapping ``[t0, t1)``."""
    lo = int(np.searchsorted(ends, np.int64(math.floor(t0)), side="right"))
    hi = int(np.searchsorted(starts, np.int64(math.ceil(t1)), side="left"))
    return np.arange(lo, max(lo, hi), dtype=np.intp)


def _columns(
    x0: npt.NDArray[np.floating[Any]], x1: npt.NDArray[np.floating[Any]], width: int, least: int
) -> tuple[npt.NDArray[np.bool_], IntArray, IntArray]:
    """Which of ``width`` columns the ranges [x0, x1) cover (each at least ``least`` columns wide), and the
    ranges' first and end columns, unclipped."""
    p0 = np.floor(x0).astype(np.int64)
    p1 = np.maximum(np.floor(x1).astype(np.int64), p0 + least)
    q0, q1 = np.clip(p0, 0, width), np.clip(p1, 0, width)
    cover = np.cumsum(np.bincount(q0, minlength=width + 1)[:width] - np.bincount(q1, minlength=width + 1)[:width])
    return cover > 0, p0, p1


def face_row_pixels(
    row: FaceRow, v0: float, ppm: float, width: int, height: int, selected: bool
) -> npt.NDArray[np.uint32] | None:
    """ARGB pixels (height x width) of a face row's spans and uncertain marks for the view starting at ``v0``
    ms with ``ppm`` pixels per ms; None when nothing of it is in view."""
    t1 = v0 + width / ppm
    idx = _visible(row.starts, row.ends, v0, t1)
    if not len(idx):
        return None
    fill, border = np.uint32(FACE_FILL.rgba()), np.uint32((FACE_SELECTED if selected else FACE_BORDER).rgba())
    cover, p0, p1 = _columns((row.starts[idx] - v0) * ppm, (row.ends[idx] - v0) * ppm, width, 1)
    edge = np.zeros(width, dtype=bool)
    for p in (p0, p1 - 1):
        edge[p[(p >= 0) & (p < width)]] = True
    inner = np.where(edge & cover, border, np.where(cover, fill, np.uint32(0))).astype(np.uint32)
    out = np.empty((height, width), dtype=np.uint32)
    out[:] = inner
    out[0] = np.where(cover, border, 0)
    out[-1] = out[0]
    if selected:
        out[1] = out[0]
        out[-2] = out[0]
    didx = _visible(row.doubt_starts, row.doubt_ends, v0 - DOUBT_PX / ppm, t1)
    if len(didx):
        x0, x1 = (row.doubt_starts[didx] - v0) * ppm, (row.doubt_ends[didx] - v0) * ppm
        doubt = _columns(x0, x1, width, DOUBT_PX)[0]
        out[:, doubt] = np.uint32(FACE_DOUBT.rgba())
    return out


class FaceRowsPainting:
    """``TimelineView``'s face rows: their geometry, painting, header labels and hit test (a mixin: the view
    holds ``_face_rows`` and ``_face_selected``)."""

    def _face_top(self, j: int) -> int:
        """Viewport y of face row ``j`` (they follow the tier rows)."""
        return TOP_H + (len(self._rows) + j) * ROW_H - self.verticalScrollBar().value()

    def _face_row_at(self, y: float) -> int | None:
        if y < TOP_H or not self._face_rows:
            return None
        j = int((y - TOP_H + self.verticalScrollBar().value()) // ROW_H) - len(self._rows)
        return j if 0 <= j < len(self._face_rows) else None

    def _paint_face_rows(self, painter: QPainter, exposed: QRect, a: int, b: int) -> None:
        vw = self.viewport().width()
        for j, row in enumerate(self._face_rows):
            y = self._face_top(j)
            if y + ROW_H <= max(TOP_H, exposed.top()) or y > exposed.bottom():
                continue
            painter.fillRect(QRect(HEADER_W, y, vw - HEADER_W, ROW_H), ROW_BG[(len(self._rows) + j) % 2])
            painter.setPen(GRID)
            painter.drawLine(HEADER_W, y + ROW_H - 1, vw, y + ROW_H - 1)
            if j == 0 and self._rows:
                painter.setPen(FACE_BORDER)
                painter.drawLine(HEADER_W, y, vw, y)  # where the tiers end and the faces begin
            if b <= a:
                continue
            pixels = face_row_pixels(
                row, self.ms_at(a), self._ppm(), b - a, ROW_H - 2 * BOX_PAD, row.track_id == self._face_selected
            )
            if pixels is not None:
                h, w = pixels.shape
                image = QImage(pixels.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
                painter.drawImage(QPoint(a, y + BOX_PAD), image)

    def _paint_face_header(self, painter: QPainter, vh: int) -> None:
        font = QFont(self.font())
        painter.setFont(font)
        for j, row in enumerate(self._face_rows):
            y = self._face_top(j)
            if y + ROW_H <= TOP_H or y >= vh:
                continue
            selected = row.track_id == self._face_selected
            painter.fillRect(QRect(0, y, HEADER_W - 1, ROW_H), SELECT_FILL if selected else FACE_HEADER)
            painter.setPen(GRID)
            painter.drawLine(0, y + ROW_H - 1, HEADER_W, y + ROW_H - 1)
            painter.fillRect(QRect(6, y + 7, 10, ROW_H - 14), FACE_DOUBT if len(row.doubt_starts) else FACE_BORDER)
            painter.setPen(TEXT if selected or len(row.starts) else DIM_TEXT)
            name = self.fontMetrics().elidedText(row.label, Qt.TextElideMode.ElideRight, HEADER_W - 28)
            painter.drawText(QRect(22, y, HEADER_W - 26, ROW_H), Qt.AlignmentFlag.AlignVCenter, name)

    def _face_hit(self, x: float, y: float) -> tuple[int, int | None] | None:
        """A press on a face row: (where to seek in ms, the track clicked or None off its bars); None when the
        press is not on a face row's time area."""
        j = self._face_row_at(y)
        if j is None or x < HEADER_W:
            return None
        row, t = self._face_rows[j], self.ms_at(x)
        k = row.doubt_near(t, HIT_PX / self._ppm())
        if k is not None:
            return int(row.doubt_starts[k]), row.track_id
        i = row.span_at(t)
        if i is not None:
            return min(max(self.snap(t), int(row.starts[i])), int(row.ends[i]) - 1), row.track_id
        return self._clamp_ms(t), None
