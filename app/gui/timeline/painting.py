"""Painting the timeline: tier rows as one numpy-composed bitmap each (density where annotations crowd a
pixel), labels where a box is wide enough, the ruler and waveform strip, the tier-name column, the selection,
the drag preview and the playhead — all in viewport pixels, limited to the exposed rectangle.

``TimelinePainting`` is a mixin of ``TimelineView``: it reads the view's state and draws it, and changes
nothing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPen,
    QPolygonF,
)

from app.gui.timeline.data import TierData
from app.gui.timeline.ruler import format_time, tick_step
from app.gui.timeline.style import (
    BORDER_LUT,
    BOX_PAD,
    DENSE_LUT,
    DIM_TEXT,
    FILL_LUT,
    GRID,
    HEADER_BG,
    HEADER_W,
    LABEL_GAP_PX,
    MIN_LABEL_PX,
    PLAYHEAD,
    PREVIEW,
    ROW_BG,
    ROW_H,
    RULER_BG,
    RULER_H,
    SELECT_BORDER,
    SELECT_FILL,
    TEXT,
    TOP_H,
    WAVE_BG,
    WAVE_FG,
    WAVE_H,
)

U32Array = npt.NDArray[np.uint32]


def _box_pixels(
    x0: npt.NDArray[np.floating[Any]],
    x1: npt.NDArray[np.floating[Any]],
    colors: npt.NDArray[np.intp],
    width: int,
    height: int,
) -> U32Array:
    """ARGB pixels (height x width) of boxes spanning columns [x0, x1), in start order; transparent elsewhere.

    Every box is at least one column wide; a column where a box starts or ends takes its border colour. A
    column where two or more boxes start shows their density instead, in four shades of slate (2-3, 4-7,
    8-15, 16+ boxes), so a zoomed-out tier reads as where and how densely it is coded.
    """
    p0 = np.floor(x0).astype(np.int64)
    p1 = np.maximum(np.floor(x1).astype(np.int64), p0 + 1)
    q0, q1 = np.minimum(np.maximum(p0, 0), width), np.minimum(np.maximum(p1, 0), width)
    crowd = np.bincount(q0, minlength=width + 1)[:width]
    cover = np.cumsum(crowd - np.bincount(q1, minlength=width + 1)[:width]) > 0
    owner = np.full(width, -1, dtype=np.int64)
    owner[np.minimum(q0, width - 1)] = np.arange(len(p0))  # later starts overwrite: the last box to start owns
    owner = np.maximum(np.maximum.accumulate(owner), 0)
    # ... while it lasts: past its end a column belongs to the box started before it that reaches furthest
    # (a file from elsewhere may nest one annotation in another: the outer one's rest keeps its own colour)
    if len(p1):
        far = np.maximum.accumulate(p1)
        furthest = np.maximum.accumulate(np.where(p1 == far, np.arange(len(p1)), 0))
        cols = np.arange(width)
        owner = np.where(p1[owner] > cols, owner, furthest[owner])
    own_color = colors[owner]
    edge = np.zeros(width, dtype=bool)
    edge[p0[(p0 >= 0) & (p0 < width)]] = True
    last = p1 - 1
    edge[last[(last >= 0) & (last < width)]] = True
    border = np.where(cover, BORDER_LUT[own_color], 0).astype(np.uint32)
    inner = np.where(edge, border, np.where(cover, FILL_LUT[own_color], 0)).astype(np.uint32)
    dense = crowd >= 2
    if dense.any():
        shade = DENSE_LUT[np.minimum(np.log2(np.maximum(crowd, 1)).astype(np.int64) - 1, len(DENSE_LUT) - 1)]
        border = np.where(dense, shade, border)
        inner = np.where(dense, shade, inner)
    out = np.empty((height, width), dtype=np.uint32)
    out[:] = inner
    out[0] = border
    out[-1] = border
    return out


def _draw_pixels(painter: QPainter, x: int, y: int, pixels: U32Array) -> None:
    h, w = pixels.shape
    image = QImage(pixels.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
    painter.drawImage(QPoint(x, y), image)


class TimelinePainting:
    """``TimelineView``'s ``drawBackground``/``drawForeground`` and the painting they do (a mixin: the view
    holds the state)."""

    # -- painting ---------------------------------------------------------------------------------------------

    def _to_viewport(self, painter: QPainter) -> None:
        """Make the painter draw in viewport pixels, also under ``render`` (which adds its own transform)."""
        inverse, _ok = self.viewportTransform().inverted()
        painter.setWorldTransform(inverse * painter.worldTransform())

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        painter.save()
        exposed = self.viewportTransform().mapRect(QRectF(rect)).toAlignedRect() & self.viewport().rect()
        self._to_viewport(painter)
        self._paint_rows(painter, exposed)
        self._paint_top(painter, exposed)
        self._paint_header(painter, exposed)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        painter.save()
        self._to_viewport(painter)
        h = self.viewport().height()
        if self._drag is not None and self._drag.moved and self._drag.result is not None:
            top = TOP_H + self._drag.row * ROW_H - self.verticalScrollBar().value()
            s, e = self._drag.result
            box = QRectF(QPointF(self.x_for_ms(s), top + 1), QPointF(self.x_for_ms(e), top + ROW_H - 1))
            painter.setClipRect(QRect(HEADER_W, TOP_H, self._track_w(), h - TOP_H))
            painter.fillRect(box, PREVIEW)
            painter.setPen(QPen(SELECT_BORDER, 1, Qt.PenStyle.DashLine))
            painter.drawRect(box)
        x = self.x_for_ms(self._playhead)
        if HEADER_W <= x < self.viewport().width():
            painter.setClipping(False)
            painter.setPen(QPen(PLAYHEAD, 1))
            painter.drawLine(QPointF(x + 0.5, 0), QPointF(x + 0.5, h))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PLAYHEAD)
            painter.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 6, 0), QPointF(x + 0.5, 7)]))
        painter.restore()

    def _paint_rows(self, painter: QPainter, exposed: QRect) -> None:
        vw, vh = self.viewport().width(), self.viewport().height()
        a, b = max(exposed.left(), HEADER_W), min(exposed.right() + 1, vw)
        scroll_y = self.verticalScrollBar().value()
        painter.setClipRect(QRect(0, TOP_H, vw, vh - TOP_H) & exposed)
        painter.fillRect(QRect(0, TOP_H, vw, vh - TOP_H), ROW_BG[0])
        painter.setFont(self._label_font)
        for i, row in enumerate(self._rows):
            y = TOP_H + i * ROW_H - scroll_y
            if y + ROW_H <= max(TOP_H, exposed.top()) or y > exposed.bottom():
                continue
            painter.fillRect(QRect(HEADER_W, y, vw - HEADER_W, ROW_H), ROW_BG[i % 2])
            painter.setPen(GRID)
            painter.drawLine(HEADER_W, y + ROW_H - 1, vw, y + ROW_H - 1)
            data = self._data.get(row.tier_id)
            if data is not None and b > a:
                self._paint_boxes(painter, row.tier_id, data, y, a, b)
        self._paint_face_rows(painter, exposed, a, b)

    def _paint_boxes(self, painter: QPainter, tier_id: str, data: TierData, y: int, a: int, b: int) -> None:
        idx = data.span(self.ms_at(a), self.ms_at(b))
        if len(idx) == 0:
            return
        ppm, vw = self._ppm(), self.viewport().width()
        x0 = HEADER_W + (data.starts[idx] - self._v0) * ppm
        x1 = HEADER_W + (data.ends[idx] - self._v0) * ppm
        _draw_pixels(painter, a, y + BOX_PAD, _box_pixels(x0 - a, x1 - a, data.colors[idx], b - a, ROW_H - 2 * BOX_PAD))
        left, right = np.maximum(x0, HEADER_W), np.minimum(x1, vw)
        wide = np.flatnonzero(right - left >= MIN_LABEL_PX)
        painter.setPen(TEXT)
        baseline = y + (ROW_H + self._fm.ascent() - self._fm.descent()) / 2
        for k in wide.tolist():
            self._draw_label(painter, data.values[idx[k]], float(left[k]), float(right[k]), baseline)
        if self._selected is not None and self._selected[0] == tier_id:
            sel = data.position(self._selected[1])
            if sel is not None and data.starts[sel] < self.ms_at(b) and data.ends[sel] > self.ms_at(a):
                sx0 = math.floor(HEADER_W + (data.starts[sel] - self._v0) * ppm)
                sx1 = max(math.floor(HEADER_W + (data.ends[sel] - self._v0) * ppm), sx0 + 1)
                box = QRect(max(sx0, HEADER_W - 2), y + BOX_PAD, min(sx1, vw + 2) - max(sx0, HEADER_W - 2), ROW_H - 4)
                painter.fillRect(box, SELECT_FILL)
                painter.setPen(QPen(SELECT_BORDER, 2))
                painter.drawRect(box.adjusted(1, 1, -1, -1))
                if box.width() >= MIN_LABEL_PX:
                    painter.setPen(TEXT)
                    self._draw_label(painter, data.values[sel], box.left(), box.right(), baseline)

    def _draw_label(self, painter: QPainter, value: str, left: float, right: float, baseline: float) -> None:
        avail = int(right - left) - 6
        key = (value, avail)
        text = self._elided.get(key)
        if text is None:
            if len(self._elided) > 8192:
                self._elided.clear()
            text = self._elided[key] = self._fm.elidedText(value, Qt.TextElideMode.ElideRight, avail)
        if text:
            painter.drawText(QPointF(left + 3, baseline), text)

    def _paint_top(self, painter: QPainter, exposed: QRect) -> None:
        vw = self.viewport().width()
        a, b = max(exposed.left(), HEADER_W), min(exposed.right() + 1, vw)
        painter.setClipRect(QRect(HEADER_W, 0, vw - HEADER_W, TOP_H) & exposed)
        painter.fillRect(QRect(HEADER_W, 0, vw - HEADER_W, RULER_H), RULER_BG)
        painter.fillRect(QRect(HEADER_W, RULER_H, vw - HEADER_W, WAVE_H), WAVE_BG)
        if b <= a:
            return
        self._paint_ruler(painter, a, b)
        mid = RULER_H + WAVE_H / 2
        if self._peaks is None:
            painter.setPen(GRID)
            painter.drawLine(QPointF(a, mid), QPointF(b, mid))
            return
        mins, maxs = self._peaks.columns(self.ms_at(a), self.ms_at(b), b - a)
        half = WAVE_H / 2 - 3
        top = np.floor(WAVE_H / 2 - maxs.astype(np.float64) * half)
        bottom = np.ceil(WAVE_H / 2 - mins.astype(np.float64) * half)
        ys = np.arange(WAVE_H, dtype=np.float64)[:, None]
        inside = (ys >= top[None, :]) & (ys <= np.maximum(bottom, top)[None, :])
        pixels = np.where(inside, np.uint32(WAVE_FG.rgba()), np.uint32(0)).astype(np.uint32)
        _draw_pixels(painter, a, RULER_H, pixels)

    def _paint_ruler(self, painter: QPainter, a: int, b: int) -> None:
        ppm = self._ppm()
        step = tick_step(1 / ppm)
        minor = step / 5 if step % 5 == 0 or step < 5 else step / 3 if step % 3 == 0 else step / 2
        painter.setPen(DIM_TEXT)
        lines = []
        if self._frame_ms > 0 and self._frame_ms * ppm >= 6:  # zoomed in to frames: mark every frame
            k0, k1 = math.floor(self.ms_at(a) / self._frame_ms), math.ceil(self.ms_at(b) / self._frame_ms)
            lines += [(self.x_for_ms(k * self._frame_ms), RULER_H - 3) for k in range(k0, k1 + 1)]
        if minor * ppm >= 5:
            k0, k1 = math.floor(self.ms_at(a - LABEL_GAP_PX) / minor), math.ceil(self.ms_at(b) / minor)
            lines += [(self.x_for_ms(k * minor), RULER_H - 6) for k in range(k0, k1 + 1)]
        k0, k1 = math.floor(self.ms_at(a - LABEL_GAP_PX) / step), math.ceil(self.ms_at(b) / step)
        lines += [(self.x_for_ms(k * step), 2) for k in range(k0, k1 + 1)]
        for x, y0 in lines:
            painter.drawLine(QPointF(math.floor(x) + 0.5, y0), QPointF(math.floor(x) + 0.5, RULER_H))
        painter.setPen(TEXT)
        painter.setFont(self._label_font)
        long = self._extent >= 3_600_000
        for k in range(max(k0, 0), k1 + 1):
            painter.drawText(
                QPointF(math.floor(self.x_for_ms(k * step)) + 4, RULER_H - 8), format_time(k * step, step, long)
            )

    def _paint_header(self, painter: QPainter, exposed: QRect) -> None:
        if exposed.left() >= HEADER_W:
            return
        vh = self.viewport().height()
        painter.setClipRect(QRect(0, 0, HEADER_W, vh) & exposed)
        painter.fillRect(QRect(0, 0, HEADER_W, vh), HEADER_BG)
        painter.setPen(DIM_TEXT)
        painter.setFont(self._label_font)
        painter.drawText(QRect(8, RULER_H, HEADER_W - 12, WAVE_H), Qt.AlignmentFlag.AlignVCenter, "Audio")
        painter.setPen(GRID)
        painter.drawLine(0, TOP_H - 1, HEADER_W, TOP_H - 1)
        painter.drawLine(HEADER_W - 1, 0, HEADER_W - 1, vh)
        painter.setClipRect(QRect(0, TOP_H, HEADER_W - 1, vh - TOP_H) & exposed)
        bold = QFont(self.font())
        bold.setBold(True)
        metrics = {0: QFontMetrics(bold), 1: QFontMetrics(self.font())}
        scroll_y = self.verticalScrollBar().value()
        for i, row in enumerate(self._rows):
            y = TOP_H + i * ROW_H - scroll_y
            if y + ROW_H <= TOP_H or y >= vh:
                continue
            indent = 8 + 14 * row.depth
            painter.setPen(GRID)
            if row.depth:
                painter.drawLine(indent - 8, y + ROW_H // 2, indent - 3, y + ROW_H // 2)
            painter.drawLine(0, y + ROW_H - 1, HEADER_W, y + ROW_H - 1)
            painter.setFont(bold if row.depth == 0 else self.font())
            painter.setPen(TEXT if row.depth == 0 else DIM_TEXT)
            fm = metrics[min(row.depth, 1)]
            name = fm.elidedText(row.tier_id, Qt.TextElideMode.ElideRight, HEADER_W - indent - 6)
            painter.drawText(QRect(indent, y, HEADER_W - indent - 4, ROW_H), Qt.AlignmentFlag.AlignVCenter, name)
        self._paint_face_header(painter, vh)
