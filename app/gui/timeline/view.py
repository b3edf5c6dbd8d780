"""The timeline: a recording's tiers of annotations against time, under a ruler and an audio waveform.

The view holds plain data only (no session, no ORM objects): ``TierRow``s for the tier structure, and per
tier the ``Segment``s of ``annotation.services.document_display`` stored as sorted numpy arrays, so the
annotations in any time range are found with ``np.searchsorted`` in O(log n). It never edits: mouse gestures
become signals (``createRequested``, ``resizeRequested``, ``moveRequested``, ...), the main window applies the
edit as a command and hands the tier back with ``set_segments``.

Drawing cost depends on pixels, not on annotations. The scene holds no items: it is only sized so that the
view's scrollbars scroll the timeline, and everything is painted in viewport coordinates by ``drawBackground``
and ``drawForeground``, limited to the exposed rectangle (a moving playhead repaints a strip a few pixels
wide). A tier row's boxes are composed as one ARGB bitmap per row with numpy from the visible slice (borders
where an annotation starts or ends, so hundreds of annotations per pixel become a dark band: density, not
thousands of 1-px rectangles) and drawn with one ``drawImage``; only annotations wide enough for a label
cost a ``drawText`` each, at most a few dozen per row. The waveform is a bitmap built the same way from
``Peaks.columns``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QMenu, QWidget

from annotation.edits.display import SegmentPatch
from annotation.elan.tiers import TierRow
from annotation.elan.timing import Segment
from app.gui.timeline.data import HUES, TierData, color_slot
from app.gui.timeline.value_editor import ValueEditor

if TYPE_CHECKING:
    from media_tools.waveform import Peaks

IntArray = npt.NDArray[np.int64]
U32Array = npt.NDArray[np.uint32]

HEADER_W = 170  # the tier-name column
RULER_H = 22
WAVE_H = 56
TOP_H = RULER_H + WAVE_H  # rows start below the ruler and the waveform
ROW_H = 24
_BOX_PAD = 2  # an annotation box fills its row but this many pixels at top and bottom
_EDGE_PX = 4  # how close to an annotation's end the pointer grabs the edge instead of the body
_DRAG_PX = 3  # how far the pointer moves before a press becomes a drag
_MIN_LABEL_PX = 22  # narrower boxes get no text
_LABEL_GAP_PX = 90  # least distance between two ruler labels
_MAX_SCENE_PX = 1 << 30  # the scrollbars are ints: keep the scrolled width well inside them
_NICE_STEPS_MS: tuple[int, ...] = (
    *(m * 10**e for e in range(3) for m in (1, 2, 5)),
    *(s * 1000 for s in (1, 2, 5, 10, 15, 30)),
    *(m * 60_000 for m in (1, 2, 5, 10, 15, 30, 60, 120, 300)),
)

_FILLS = [QColor.fromRgba(QColor.fromHsv(h, 62, 250).rgba()) for h in HUES] + [QColor("#dcdcdc")]
_BORDERS = [QColor.fromRgba(QColor.fromHsv(h, 170, 150).rgba()) for h in HUES] + [QColor("#7a7a7a")]
_FILL_LUT = np.array([c.rgba() for c in _FILLS], dtype=np.uint32)
_BORDER_LUT = np.array([c.rgba() for c in _BORDERS], dtype=np.uint32)
_DENSE_LUT = np.array([QColor(c).rgba() for c in ("#a9b4c4", "#7d8ba1", "#55647c", "#2f3b4f")], dtype=np.uint32)
_ROW_BG = (QColor("#ffffff"), QColor("#f4f6f9"))
_HEADER_BG = QColor("#e8ebf0")
_RULER_BG = QColor("#dde2e9")
_WAVE_BG = QColor("#eef2f7")
_WAVE_FG = QColor("#3d6fa8")
_GRID = QColor("#c9d0da")
_TEXT = QColor("#1d2430")
_DIM_TEXT = QColor("#5a6474")
_SELECT_FILL = QColor("#ffe27a")
_SELECT_BORDER = QColor("#1b5fd1")
_PLAYHEAD = QColor("#d7263d")
_PREVIEW = QColor(27, 95, 209, 70)

Kind = Literal["header", "ruler", "none", "empty", "body", "start", "end"]


def format_time(ms: float, step_ms: float, long: bool = False) -> str:
    """A ruler label: ``mm:ss`` for steps of whole seconds, ``mm:ss.mmm`` below; ``h:mm:ss`` when ``long``."""
    total = round(ms)
    sign = "-" if total < 0 else ""
    total = abs(total)
    h, rest = divmod(total, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    head = f"{sign}{h}:{m:02d}" if long or h else f"{sign}{m:02d}"
    return f"{head}:{s:02d}" if step_ms >= 1000 else f"{head}:{s:02d}.{milli:03d}"


def tick_step(ms_per_px: float, gap_px: float = _LABEL_GAP_PX) -> int:
    """The smallest round ruler step (in ms) whose labels stand at least ``gap_px`` apart."""
    want = ms_per_px * gap_px
    for step in _NICE_STEPS_MS:
        if step >= want:
            return step
    return _NICE_STEPS_MS[-1] * math.ceil(want / _NICE_STEPS_MS[-1])


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
    owner = np.maximum.accumulate(owner)
    own_color = colors[np.maximum(owner, 0)]
    edge = np.zeros(width, dtype=bool)
    edge[p0[(p0 >= 0) & (p0 < width)]] = True
    last = p1 - 1
    edge[last[(last >= 0) & (last < width)]] = True
    border = np.where(cover, _BORDER_LUT[own_color], 0).astype(np.uint32)
    inner = np.where(edge, border, np.where(cover, _FILL_LUT[own_color], 0)).astype(np.uint32)
    dense = crowd >= 2
    if dense.any():
        shade = _DENSE_LUT[np.minimum(np.log2(np.maximum(crowd, 1)).astype(np.int64) - 1, len(_DENSE_LUT) - 1)]
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


@dataclass
class _Drag:
    kind: Kind
    tier_id: str
    row: int
    segment: Segment | None
    x: float
    t: float
    moved: bool = False
    result: tuple[int, int] | None = None  # the snapped (start, end) the gesture would request


class TimelineView(QGraphicsView):
    """Tiers of annotations against time, with a time ruler, an audio waveform and a playhead.

    Zoom with ctrl+wheel or +/- (0 shows the whole recording), scroll with the wheel or the scrollbar
    (shift+wheel, or the wheel over the tier names, scrolls the tiers). Click to seek, click an annotation to
    select it, drag in a tier to create an annotation, drag an annotation's edge to resize it, its body to
    move it, Alt+click it to split it there; right-click for a menu (split here, merge with next, edit value,
    delete, add a referring annotation). Double-click an annotation (or F2 in the window) to type its value
    in place, from the tier's vocabulary; double-click under a parent annotation on a referring tier to add
    one there. The view only asks, with these signals, and shows what ``set_segments`` and ``apply_patch``
    give it back.
    """

    seekRequested = Signal(int)
    annotationSelected = Signal(str, str)
    selectionCleared = Signal()
    createRequested = Signal(str, int, int)
    resizeRequested = Signal(str, str, int, int)
    moveRequested = Signal(str, str, int, int)
    splitRequested = Signal(str, str, int)  # tier, annotation, at ms (frame-snapped)
    mergeRequested = Signal(str, str, str)  # tier, first, the next one
    deleteRequested = Signal(str, str)
    valueEdited = Signal(str, str, str)  # tier, annotation, the new value
    childRequested = Signal(str, str)  # referring tier, parent annotation: make one there and edit it
    errorShown = Signal(str)
    visibleRangeChanged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None, *, follow: bool = True) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        # nothing in the viewport may be blitted along on scroll: the header and ruler stay put
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.horizontalScrollBar().valueChanged.connect(self._on_hscroll)
        self.verticalScrollBar().valueChanged.connect(self._on_vscroll)
        self._rows: list[TierRow] = []
        self._row_of: dict[str, int] = {}
        self._data: dict[str, TierData] = {}
        self._duration = 0
        self._extent = 60_000.0
        self._v0 = 0.0
        self._span = self._extent
        self._peaks: Peaks | None = None
        self._playhead = 0.0
        self._frame_ms = 40.0
        self._snap: Callable[[float], int] | None = None
        self._follow = follow
        self._selected: tuple[str, str] | None = None
        self._drag: _Drag | None = None
        self._syncing = False
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        self._fm = QFontMetrics(self._label_font)
        self._elided: dict[tuple[str, int], str] = {}
        self._editor: ValueEditor | None = None

    # -- data -------------------------------------------------------------------------------------------------

    def set_tiers(self, tiers: Sequence[TierRow]) -> None:
        """Show these rows, in this order. Annotations already given for a tier still shown are kept (and
        recoloured by its vocabulary); those of tiers no longer shown are dropped."""
        self._rows = list(tiers)
        self._row_of = {r.tier_id: i for i, r in enumerate(self._rows)}
        self._data = {k: v for k, v in self._data.items() if k in self._row_of}
        for tier_id, data in self._data.items():
            self._recolor(tier_id, data)
        self._data_changed()

    def set_segments(self, tier_id: str, segments: Sequence[Segment]) -> None:
        """Replace one tier's annotations, in any order (a tier not among the rows is kept but not shown)."""
        data = TierData(segments)
        self._recolor(tier_id, data)
        self._data[tier_id] = data
        self._data_changed()

    def apply_patch(self, patch: SegmentPatch) -> None:
        """Replace only the segments an edit changed (see :mod:`annotation.edits.display`); other tiers are not
        touched, and within a tier only the changed segments move."""
        removed = set(patch.removed)
        for tier_id, data in self._data.items():
            if tier_id not in patch.segments and removed & data.by_id.keys():
                data.patch(removed, ())
        for tier_id, segs in patch.segments.items():
            known = self._data.get(tier_id)
            if known is None:
                self.set_segments(tier_id, segs)
            else:
                known.patch(removed, segs)
        self._data_changed()
        self._place_editor()

    def segment(self, tier_id: str, ann_id: str) -> Segment | None:
        data = self._data.get(tier_id)
        return data.by_id.get(ann_id) if data is not None else None

    def segment_at(self, tier_id: str, ms: float) -> Segment | None:
        """The annotation of the tier at this time (the one starting last, where they overlap)."""
        data = self._data.get(tier_id)
        if data is None:
            return None
        idx = [i for i in data.span(ms, ms + 1e-3).tolist() if data.starts[i] <= ms]
        return data.segments[idx[-1]] if idx else None

    def next_segment(self, tier_id: str, ann_id: str) -> Segment | None:
        """The annotation after this one on its tier, in start order."""
        data = self._data.get(tier_id)
        i = data.position(ann_id) if data is not None else None
        if data is None or i is None or i + 1 >= len(data.segments):
            return None
        return data.segments[i + 1]

    def tier_row(self, tier_id: str) -> TierRow | None:
        i = self._row_of.get(tier_id)
        return self._rows[i] if i is not None else None

    def set_duration(self, ms: int) -> None:
        """The recording's length; the timeline extends further if annotations do."""
        self._duration = max(0, int(ms))
        self._data_changed()

    def set_waveform(self, peaks: Peaks | None) -> None:
        self._peaks = peaks
        self.viewport().update()

    def set_frame_ms(self, frame_ms: float) -> None:
        """The frame duration edits snap to (0: snap to milliseconds only)."""
        self._frame_ms = max(0.0, float(frame_ms))
        self._set_view(self._v0, self._span)
        self.viewport().update()

    def set_follow(self, follow: bool) -> None:
        self._follow = follow

    def set_selected(self, tier_id: str | None, ann_id: str | None = None) -> None:
        """Highlight an annotation (or nothing); emits no signal."""
        self._selected = (tier_id, ann_id) if tier_id is not None and ann_id is not None else None
        self.viewport().update()

    def selected(self) -> tuple[str, str] | None:
        return self._selected

    def segments_in(self, tier_id: str, start_ms: float, end_ms: float) -> list[Segment]:
        """The tier's segments overlapping ``[start_ms, end_ms)``, in start order (what a paint draws)."""
        data = self._data.get(tier_id)
        if data is None:
            return []
        return [data.segments[i] for i in data.span(start_ms, end_ms).tolist()]

    def visible_segments(self, tier_id: str) -> list[Segment]:
        return self.segments_in(tier_id, *self.visible_range())

    # -- playhead, zoom and scroll ----------------------------------------------------------------------------

    def set_playhead(self, ms: float) -> None:
        """Move the playhead, repainting only its old and new strips (or paging, when following)."""
        old = self._playhead
        self._playhead = float(ms)
        v0, v1 = self.visible_range()
        if self._follow and self._drag is None and not v0 <= ms < v1:
            span = v1 - v0
            # crossing the right edge in playback turns the page; a jump lands near the left edge
            self._set_view(v1 if v1 <= ms < v1 + span else ms - 0.1 * span, span)
            return
        for t in (old, self._playhead):
            x = round(self.x_for_ms(t))
            self.viewport().update(QRect(x - 6, 0, 13, self.viewport().height()))

    def playhead(self) -> float:
        return self._playhead

    def visible_range(self) -> tuple[float, float]:
        """The times (ms) at the left and right edges of the annotation area."""
        return self._v0, self._v0 + self._span

    def zoom_to(self, start_ms: float, end_ms: float) -> None:
        """Show ``[start_ms, end_ms)``, within the zoom limits (whole recording .. two frames)."""
        span = max(float(end_ms) - float(start_ms), 1e-3)
        clamped = self._clamp_span(span)
        self._set_view(float(start_ms) + (span - clamped) / 2, clamped)

    def zoom(self, factor: float, anchor_ms: float | None = None) -> None:
        """Zoom in (``factor`` > 1) or out, keeping ``anchor_ms`` (default: the centre) where it is on screen."""
        v0, v1 = self.visible_range()
        anchor = (v0 + v1) / 2 if anchor_ms is None else float(anchor_ms)
        span = self._clamp_span(self._span / factor)
        self._set_view(anchor - (anchor - v0) / self._span * span, span)

    def zoom_all(self) -> None:
        self._set_view(0.0, self._extent)

    def scroll_to(self, start_ms: float) -> None:
        self._set_view(float(start_ms), self._span)

    def set_snap(self, snap: Callable[[float], int] | None) -> None:
        """Where frames really start (the player's ``nearest_frame_ms``); None: every frame duration from 0."""
        self._snap = snap

    def snap(self, ms: float) -> int:
        """The frame boundary nearest ``ms``."""
        if self._snap is not None:
            return self._snap(ms)
        if self._frame_ms <= 0:
            return round(ms)
        return round(round(ms / self._frame_ms) * self._frame_ms)

    def x_for_ms(self, ms: float) -> float:
        """Viewport x of a time."""
        return HEADER_W + (ms - self._v0) * self._ppm()

    def ms_at(self, x: float) -> float:
        """Time at a viewport x."""
        return self._v0 + (x - HEADER_W) / self._ppm()

    def row_rect(self, tier_id: str) -> QRect:
        """The viewport rectangle of a tier's row (annotation area only)."""
        i = self._row_of[tier_id]
        return QRect(HEADER_W, TOP_H + i * ROW_H - self.verticalScrollBar().value(), self._track_w(), ROW_H)

    def annotation_color(self, tier_id: str, value: str) -> QColor:
        """The fill colour of an annotation: by the value's place in its tier's vocabulary, by the tier for
        free-text tiers, grey for a value its tier's vocabulary does not have."""
        i = self._row_of.get(tier_id)
        vocabulary = self._rows[i].vocabulary if i is not None else ()
        return QColor(_FILLS[color_slot((i or 0) * 5 % len(HUES), vocabulary, value)])

    # -- geometry ---------------------------------------------------------------------------------------------

    def _track_w(self) -> int:
        return max(1, self.viewport().width() - HEADER_W)

    def _ppm(self) -> float:
        return self._track_w() / self._span

    def _clamp_span(self, span: float) -> float:
        least = max(2 * self._frame_ms, 20.0, self._extent * self._track_w() / _MAX_SCENE_PX)
        return min(max(span, min(least, self._extent)), self._extent)

    def _set_view(self, v0: float, span: float) -> None:
        span = self._clamp_span(span)
        v0 = min(max(v0, 0.0), self._extent - span)
        changed = (v0, span) != (self._v0, self._span)
        self._v0, self._span = v0, span
        self._sync_scrollbars()
        if changed:
            self.viewport().update()
            self._place_editor()
            self.visibleRangeChanged.emit(v0, v0 + span)

    def _sync_scrollbars(self) -> None:
        ppm = self._ppm()
        width = HEADER_W + self._extent * ppm
        self._syncing = True
        try:
            self.setSceneRect(QRectF(0, 0, width, TOP_H + len(self._rows) * ROW_H))
            bar = self.horizontalScrollBar()
            bar.setPageStep(self._track_w())
            bar.setSingleStep(max(1, self._track_w() // 10))
            bar.setValue(round(self._v0 * ppm))
        finally:
            self._syncing = False

    def _on_vscroll(self, _value: int) -> None:
        self.viewport().update()
        self._place_editor()

    def _on_hscroll(self, value: int) -> None:
        if not self._syncing:
            self._set_view(value / self._ppm(), self._span)

    def _data_changed(self) -> None:
        old = self._extent
        ends = [d.max_end for d in self._data.values()]
        self._extent = float(max(self._duration, *ends, 1) if ends or self._duration else 60_000)
        whole = self._span >= old - 1e-6
        self._set_view(self._v0, self._extent if whole else self._span)
        self.viewport().update()

    def _recolor(self, tier_id: str, data: TierData) -> None:
        i = self._row_of.get(tier_id)
        data.recolor((i or 0) * 5 % len(HUES), self._rows[i].vocabulary if i is not None else ())

    def _row_at(self, y: float) -> int | None:
        if y < TOP_H:
            return None
        i = int((y - TOP_H + self.verticalScrollBar().value()) // ROW_H)
        return i if 0 <= i < len(self._rows) else None

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._set_view(self._v0, self._span)
        self._place_editor()

    # -- editing in place -------------------------------------------------------------------------------------

    def open_editor(self, tier_id: str, ann_id: str) -> ValueEditor | None:
        """Type the annotation's value over it (scrolled into view, selected); ``valueEdited`` tells the
        value when Enter (or a picked completion) commits it. Returns the editor, None when there is no such
        annotation."""
        seg, row = self.segment(tier_id, ann_id), self.tier_row(tier_id)
        if seg is None or row is None:
            return None
        self.close_editor()
        v0, v1 = self.visible_range()
        if seg.end <= v0 or seg.start >= v1:
            self.scroll_to(seg.start - 0.1 * (v1 - v0))
        self._scroll_row_into_view(tier_id)
        if self._selected != (tier_id, ann_id):
            self.set_selected(tier_id, ann_id)
            self.annotationSelected.emit(tier_id, ann_id)
        editor = ValueEditor(tier_id, ann_id, seg.value, row.vocabulary, self.viewport())
        editor.committed.connect(lambda value: self._editor_committed(tier_id, ann_id, value))
        editor.cancelled.connect(self._editor_closed)
        editor.refused.connect(self.errorShown)
        self._editor = editor
        self._place_editor()
        editor.show()
        editor.setFocus(Qt.FocusReason.OtherFocusReason)
        return editor

    def editor(self) -> ValueEditor | None:
        """The open inline editor, if any."""
        return self._editor

    def close_editor(self) -> None:
        """Cancel the inline editor, if one is open."""
        if self._editor is not None:
            self._editor.cancel()

    def _editor_committed(self, tier_id: str, ann_id: str, value: str) -> None:
        self._editor = None
        self.setFocus()
        seg = self.segment(tier_id, ann_id)
        if seg is not None and value != seg.value:
            self.valueEdited.emit(tier_id, ann_id, value)

    def _editor_closed(self) -> None:
        self._editor = None
        self.setFocus()

    def _place_editor(self) -> None:
        editor = self._editor
        if editor is None:
            return
        seg = self.segment(editor.tier_id, editor.ann_id)
        if seg is None or editor.tier_id not in self._row_of:
            editor.cancel()  # the annotation is gone (undone, deleted elsewhere)
            return
        vw = self.viewport().width()
        x0 = max(self.x_for_ms(seg.start), HEADER_W)
        width = max(min(self.x_for_ms(seg.end), vw) - x0, 180.0)
        x0 = max(HEADER_W, min(x0, vw - width))
        editor.setGeometry(QRect(round(x0), self.row_rect(editor.tier_id).top(), round(width), ROW_H))

    def _scroll_row_into_view(self, tier_id: str) -> None:
        rect = self.row_rect(tier_id)
        bar = self.verticalScrollBar()
        if rect.top() < TOP_H:
            bar.setValue(bar.value() - (TOP_H - rect.top()))
        elif rect.bottom() > self.viewport().height():
            bar.setValue(bar.value() + rect.bottom() - self.viewport().height() + 1)

    def _child_of(self, tier_id: str, parent: Segment) -> Segment | None:
        """An annotation of the child tier under this parent annotation (by reference, or by time on a
        time-alignable child tier)."""
        for s in self.segments_in(tier_id, parent.start, max(parent.end, parent.start + 1)):
            if s.parent == parent.ann_id or (s.parent is None and parent.start <= s.start < parent.end):
                return s
        return None

    def context_menu(self, pos: QPoint) -> QMenu | None:
        """The menu a right-click at this viewport point opens (None where there is nothing to do)."""
        row = self._row_at(pos.y())
        if pos.x() < HEADER_W or row is None:
            return None
        tier = self._rows[row]
        t = self.ms_at(pos.x())
        menu = QMenu(self)
        seg = self.segment_at(tier.tier_id, t)
        if seg is not None:
            if self._selected != (tier.tier_id, seg.ann_id):
                self.set_selected(tier.tier_id, seg.ann_id)
                self.annotationSelected.emit(tier.tier_id, seg.ann_id)
            at = self.snap(t)
            split = menu.addAction("Split here")
            split.setEnabled(seg.parent is None and seg.start < at < seg.end)
            split.triggered.connect(lambda: self.splitRequested.emit(tier.tier_id, seg.ann_id, at))
            nxt = self.next_segment(tier.tier_id, seg.ann_id)
            merge = menu.addAction("Merge with next")
            merge.setEnabled(seg.parent is None and nxt is not None)
            if nxt is not None:
                merge.triggered.connect(lambda: self.mergeRequested.emit(tier.tier_id, seg.ann_id, nxt.ann_id))
            menu.addAction("Edit value…").triggered.connect(lambda: self.open_editor(tier.tier_id, seg.ann_id))
            menu.addAction("Delete").triggered.connect(lambda: self.deleteRequested.emit(tier.tier_id, seg.ann_id))
        elif tier.parent is not None:
            parent = self.segment_at(tier.parent, t)
            if parent is not None and self._child_of(tier.tier_id, parent) is None:
                add = menu.addAction(f"Add annotation under {parent.value or parent.ann_id!r}")
                add.triggered.connect(lambda: self.childRequested.emit(tier.tier_id, parent.ann_id))
        if menu.isEmpty():
            menu.deleteLater()
            return None
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(event.pos())
        if menu is not None:
            menu.exec(event.globalPos())
            menu.deleteLater()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        row = self._row_at(pos.y())
        if event.button() != Qt.MouseButton.LeftButton or pos.x() < HEADER_W or row is None:
            super().mouseDoubleClickEvent(event)
            return
        tier = self._rows[row]
        t = self.ms_at(pos.x())
        seg = self.segment_at(tier.tier_id, t)
        if seg is not None:
            self.open_editor(tier.tier_id, seg.ann_id)
        elif tier.parent is not None:
            parent = self.segment_at(tier.parent, t)
            if parent is not None and self._child_of(tier.tier_id, parent) is None:
                self.childRequested.emit(tier.tier_id, parent.ann_id)

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
            painter.fillRect(box, _PREVIEW)
            painter.setPen(QPen(_SELECT_BORDER, 1, Qt.PenStyle.DashLine))
            painter.drawRect(box)
        x = self.x_for_ms(self._playhead)
        if HEADER_W <= x < self.viewport().width():
            painter.setClipping(False)
            painter.setPen(QPen(_PLAYHEAD, 1))
            painter.drawLine(QPointF(x + 0.5, 0), QPointF(x + 0.5, h))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_PLAYHEAD)
            painter.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 6, 0), QPointF(x + 0.5, 7)]))
        painter.restore()

    def _paint_rows(self, painter: QPainter, exposed: QRect) -> None:
        vw, vh = self.viewport().width(), self.viewport().height()
        a, b = max(exposed.left(), HEADER_W), min(exposed.right() + 1, vw)
        scroll_y = self.verticalScrollBar().value()
        painter.setClipRect(QRect(0, TOP_H, vw, vh - TOP_H) & exposed)
        painter.fillRect(QRect(0, TOP_H, vw, vh - TOP_H), _ROW_BG[0])
        painter.setFont(self._label_font)
        for i, row in enumerate(self._rows):
            y = TOP_H + i * ROW_H - scroll_y
            if y + ROW_H <= max(TOP_H, exposed.top()) or y > exposed.bottom():
                continue
            painter.fillRect(QRect(HEADER_W, y, vw - HEADER_W, ROW_H), _ROW_BG[i % 2])
            painter.setPen(_GRID)
            painter.drawLine(HEADER_W, y + ROW_H - 1, vw, y + ROW_H - 1)
            data = self._data.get(row.tier_id)
            if data is not None and b > a:
                self._paint_boxes(painter, row.tier_id, data, y, a, b)

    def _paint_boxes(self, painter: QPainter, tier_id: str, data: TierData, y: int, a: int, b: int) -> None:
        idx = data.span(self.ms_at(a), self.ms_at(b))
        if len(idx) == 0:
            return
        ppm, vw = self._ppm(), self.viewport().width()
        x0 = HEADER_W + (data.starts[idx] - self._v0) * ppm
        x1 = HEADER_W + (data.ends[idx] - self._v0) * ppm
        _draw_pixels(
            painter, a, y + _BOX_PAD, _box_pixels(x0 - a, x1 - a, data.colors[idx], b - a, ROW_H - 2 * _BOX_PAD)
        )
        left, right = np.maximum(x0, HEADER_W), np.minimum(x1, vw)
        wide = np.flatnonzero(right - left >= _MIN_LABEL_PX)
        painter.setPen(_TEXT)
        baseline = y + (ROW_H + self._fm.ascent() - self._fm.descent()) / 2
        for k in wide.tolist():
            self._draw_label(painter, data.values[idx[k]], float(left[k]), float(right[k]), baseline)
        if self._selected is not None and self._selected[0] == tier_id:
            sel = data.position(self._selected[1])
            if sel is not None and data.starts[sel] < self.ms_at(b) and data.ends[sel] > self.ms_at(a):
                sx0 = math.floor(HEADER_W + (data.starts[sel] - self._v0) * ppm)
                sx1 = max(math.floor(HEADER_W + (data.ends[sel] - self._v0) * ppm), sx0 + 1)
                box = QRect(max(sx0, HEADER_W - 2), y + _BOX_PAD, min(sx1, vw + 2) - max(sx0, HEADER_W - 2), ROW_H - 4)
                painter.fillRect(box, _SELECT_FILL)
                painter.setPen(QPen(_SELECT_BORDER, 2))
                painter.drawRect(box.adjusted(1, 1, -1, -1))
                if box.width() >= _MIN_LABEL_PX:
                    painter.setPen(_TEXT)
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
        painter.fillRect(QRect(HEADER_W, 0, vw - HEADER_W, RULER_H), _RULER_BG)
        painter.fillRect(QRect(HEADER_W, RULER_H, vw - HEADER_W, WAVE_H), _WAVE_BG)
        if b <= a:
            return
        self._paint_ruler(painter, a, b)
        mid = RULER_H + WAVE_H / 2
        if self._peaks is None:
            painter.setPen(_GRID)
            painter.drawLine(QPointF(a, mid), QPointF(b, mid))
            return
        mins, maxs = self._peaks.columns(self.ms_at(a), self.ms_at(b), b - a)
        half = WAVE_H / 2 - 3
        top = np.floor(WAVE_H / 2 - maxs.astype(np.float64) * half)
        bottom = np.ceil(WAVE_H / 2 - mins.astype(np.float64) * half)
        ys = np.arange(WAVE_H, dtype=np.float64)[:, None]
        inside = (ys >= top[None, :]) & (ys <= np.maximum(bottom, top)[None, :])
        pixels = np.where(inside, np.uint32(_WAVE_FG.rgba()), np.uint32(0)).astype(np.uint32)
        _draw_pixels(painter, a, RULER_H, pixels)

    def _paint_ruler(self, painter: QPainter, a: int, b: int) -> None:
        ppm = self._ppm()
        step = tick_step(1 / ppm)
        minor = step / 5 if step % 5 == 0 or step < 5 else step / 3 if step % 3 == 0 else step / 2
        painter.setPen(_DIM_TEXT)
        lines = []
        if self._frame_ms > 0 and self._frame_ms * ppm >= 6:  # zoomed in to frames: mark every frame
            k0, k1 = math.floor(self.ms_at(a) / self._frame_ms), math.ceil(self.ms_at(b) / self._frame_ms)
            lines += [(self.x_for_ms(k * self._frame_ms), RULER_H - 3) for k in range(k0, k1 + 1)]
        if minor * ppm >= 5:
            k0, k1 = math.floor(self.ms_at(a - _LABEL_GAP_PX) / minor), math.ceil(self.ms_at(b) / minor)
            lines += [(self.x_for_ms(k * minor), RULER_H - 6) for k in range(k0, k1 + 1)]
        k0, k1 = math.floor(self.ms_at(a - _LABEL_GAP_PX) / step), math.ceil(self.ms_at(b) / step)
        lines += [(self.x_for_ms(k * step), 2) for k in range(k0, k1 + 1)]
        for x, y0 in lines:
            painter.drawLine(QPointF(math.floor(x) + 0.5, y0), QPointF(math.floor(x) + 0.5, RULER_H))
        painter.setPen(_TEXT)
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
        painter.fillRect(QRect(0, 0, HEADER_W, vh), _HEADER_BG)
        painter.setPen(_DIM_TEXT)
        painter.setFont(self._label_font)
        painter.drawText(QRect(8, RULER_H, HEADER_W - 12, WAVE_H), Qt.AlignmentFlag.AlignVCenter, "Audio")
        painter.setPen(_GRID)
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
            painter.setPen(_GRID)
            if row.depth:
                painter.drawLine(indent - 8, y + ROW_H // 2, indent - 3, y + ROW_H // 2)
            painter.drawLine(0, y + ROW_H - 1, HEADER_W, y + ROW_H - 1)
            painter.setFont(bold if row.depth == 0 else self.font())
            painter.setPen(_TEXT if row.depth == 0 else _DIM_TEXT)
            fm = metrics[min(row.depth, 1)]
            name = fm.elidedText(row.tier_id, Qt.TextElideMode.ElideRight, HEADER_W - indent - 6)
            painter.drawText(QRect(indent, y, HEADER_W - indent - 4, ROW_H), Qt.AlignmentFlag.AlignVCenter, name)

    # -- input ------------------------------------------------------------------------------------------------

    def _hit(self, x: float, y: float) -> tuple[Kind, int, Segment | None]:
        """What the pointer is over: (kind, row or -1, annotation or None)."""
        if x < HEADER_W:
            return "header", -1, None
        if y < TOP_H:
            return "ruler", -1, None
        row = self._row_at(y)
        if row is None:
            return "none", -1, None
        data = self._data.get(self._rows[row].tier_id)
        if data is None:
            return "empty", row, None
        ppm, t = self._ppm(), self.ms_at(x)
        tol = _EDGE_PX / ppm
        idx = data.span(t - tol, t + tol)
        if len(idx) == 0:
            return "empty", row, None
        s, e = data.starts[idx], data.ends[idx]
        editable = (e - s) * ppm >= 3 * _EDGE_PX
        inside = np.flatnonzero((s <= t) & (t < e))
        if len(inside):
            k = int(inside[-1])
            seg = data.segments[idx[k]]
            if editable[k] and t - s[k] <= tol:
                return "start", row, seg
            if editable[k] and e[k] - t <= tol:
                return "end", row, seg
            return "body", row, seg
        gaps = np.where(editable, np.minimum(np.abs(s - t), np.abs(e - t)), np.inf)
        k = int(np.argmin(gaps))
        if not np.isfinite(gaps[k]):
            return "empty", row, None
        return ("start" if s[k] > t else "end"), row, data.segments[idx[k]]

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self.setFocus()
        pos = event.position()
        kind, row, seg = self._hit(pos.x(), pos.y())
        if kind in ("header", "none"):
            return
        t = self.ms_at(pos.x())
        tier_id = self._rows[row].tier_id if row >= 0 else ""
        if event.modifiers() & Qt.KeyboardModifier.AltModifier and row >= 0:  # Alt+click splits there
            inside = self.segment_at(tier_id, t)
            at = self.snap(t)
            if inside is not None and inside.parent is None and inside.start < at < inside.end:
                self.splitRequested.emit(tier_id, inside.ann_id, at)
            return
        self._drag = _Drag(kind, tier_id, row, seg, pos.x(), t)
        if kind == "ruler":
            self.seekRequested.emit(self._clamp_ms(t))
        elif seg is not None and self._selected != (tier_id, seg.ann_id):
            self.set_selected(tier_id, seg.ann_id)
            self.annotationSelected.emit(tier_id, seg.ann_id)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        drag = self._drag
        if drag is None:
            kind = self._hit(pos.x(), pos.y())[0]
            shape = {"start": Qt.CursorShape.SizeHorCursor, "end": Qt.CursorShape.SizeHorCursor}.get(kind)
            self.viewport().setCursor(shape or Qt.CursorShape.ArrowCursor)
            return
        if not drag.moved and abs(pos.x() - drag.x) < _DRAG_PX:
            return
        drag.moved = True
        t = self.ms_at(pos.x())
        if drag.kind == "ruler":
            self.seekRequested.emit(self._clamp_ms(t))
            return
        drag.result = self._drag_result(drag, t)
        self.viewport().update(QRect(0, TOP_H + drag.row * ROW_H - self.verticalScrollBar().value(), 10**6, ROW_H))

    def _drag_result(self, drag: _Drag, t: float) -> tuple[int, int] | None:
        limit = self._duration or int(self._extent)
        least = max(1, round(self._frame_ms))
        seg = drag.segment
        if drag.kind == "empty":
            s, e = sorted((self.snap(max(0.0, drag.t)), self.snap(min(t, limit))))
            return (s, e) if e > s else (s, self.snap(s + max(self._frame_ms, 1)))
        if seg is None:
            return None
        dt = t - drag.t
        if drag.kind == "start":
            return min(max(0, self.snap(seg.start + dt)), seg.end - least), seg.end
        if drag.kind == "end":
            return seg.start, max(min(limit, self.snap(seg.end + dt)), seg.start + least)
        length = seg.end - seg.start
        start = min(max(0, self.snap(seg.start + dt)), max(0, limit - length))
        return start, start + length

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self.viewport().update()
        seg = drag.segment
        if drag.kind == "ruler":
            return
        if not drag.moved or drag.result is None:
            if seg is None:
                if self._selected is not None:
                    self.set_selected(None)
                    self.selectionCleared.emit()
                self.seekRequested.emit(self._clamp_ms(drag.t))
            else:
                self.seekRequested.emit(seg.start)
            return
        s, e = drag.result
        if seg is None:
            self.createRequested.emit(drag.tier_id, s, e)
        elif (s, e) != (seg.start, seg.end):
            signal = self.moveRequested if drag.kind == "body" else self.resizeRequested
            signal.emit(drag.tier_id, seg.ann_id, s, e)

    def _clamp_ms(self, t: float) -> int:
        return round(min(max(t, 0.0), self._extent))

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            x = event.position().x()
            anchor = self.ms_at(x) if x >= HEADER_W else None
            self.zoom(1.25 ** ((delta.y() or delta.x()) / 120), anchor)
        elif mods & Qt.KeyboardModifier.ShiftModifier or event.position().x() < HEADER_W:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - round((delta.y() or delta.x()) / 120 * ROW_H * 2))
        else:
            notches = (delta.x() or delta.y()) / 120
            self.scroll_to(self._v0 - notches * self._span / 10)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        v0, v1 = self.visible_range()
        anchor = self._playhead if v0 <= self._playhead <= v1 else None
        if key == Qt.Key.Key_Plus:
            self.zoom(2.0, anchor)
        elif key == Qt.Key.Key_Minus:
            self.zoom(0.5, anchor)
        elif key == Qt.Key.Key_0:
            self.zoom_all()
        else:  # arrows and "=" step the player (the window's shortcuts)
            super().keyPressEvent(event)


__all__ = ["TimelineView", "format_time", "tick_step"]
