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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QResizeEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from annotation.edits import SegmentPatch
from annotation.elan import Segment, TierRow
from app.gui.timeline.data import HUES, TierData, color_slot
from app.gui.timeline.face_rows import FaceRow, FaceRowsPainting
from app.gui.timeline.interaction import Drag, TimelineInteraction
from app.gui.timeline.painting import TimelinePainting
from app.gui.timeline.style import (
    FILLS,
    HEADER_W,
    MAX_SCENE_PX,
    ROW_H,
    TOP_H,
)
from app.gui.timeline.value_editor import ValueEditor

if TYPE_CHECKING:
    from media_tools.waveform import Peaks


class TimelineView(TimelineInteraction, TimelinePainting, FaceRowsPainting, QGraphicsView):
    """Tiers of annotations against time, with a time ruler, an audio waveform and a playhead.

    Zoom with ctrl+wheel or +/- (0 shows the whole recording), scroll with the wheel or the scrollbar
    (shift+wheel, or the wheel over the tier names, scrolls the tiers). Click to seek, click an annotation to
    select it, drag in a tier to create an annotation, drag an annotation's edge to resize it, its body to
    move it, Alt+click it to split it there; right-click for a menu (split here, merge with next, edit value,
    delete, add a referring annotation). Double-click an annotation (or F2 in the window) to type its value
    in place, from the tier's vocabulary; double-click under a parent annotation on a referring tier to add
    one there. The view only asks, with these signals, and shows what ``set_segments`` and ``apply_patch``
    give it back. Under the tiers, ``set_face_rows`` shows a row per face track (``face_rows``): clicking one
    seeks there and emits ``faceTrackClicked``.
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
    faceTrackClicked = Signal(int)  # a face track's row clicked (on its bar or its name)

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
        self._drag: Drag | None = None
        self._syncing = False
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        self._fm = QFontMetrics(self._label_font)
        self._elided: dict[tuple[str, int], str] = {}
        self._editor: ValueEditor | None = None
        self._face_rows: list[FaceRow] = []
        self._face_selected: int | None = None

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

    def set_face_rows(self, rows: Sequence[FaceRow]) -> None:
        """Show these face tracks as rows under the tiers (none: no face rows). Handed over once per change of
        the tracks; painting only reads them."""
        self._face_rows = list(rows)
        if self._face_selected not in {r.track_id for r in self._face_rows}:
            self._face_selected = None
        self._sync_scrollbars()
        self.viewport().update()

    def face_rows(self) -> list[FaceRow]:
        return list(self._face_rows)

    def set_face_selected(self, track_id: int | None) -> None:
        """Highlight a face track's row (or none), scrolled into view; emits no signal."""
        if track_id != self._face_selected:
            self._face_selected = track_id
            self.viewport().update()
        if track_id is not None and any(r.track_id == track_id for r in self._face_rows):
            rect, bar = self.face_row_rect(track_id), self.verticalScrollBar()
            if rect.top() < TOP_H:
                bar.setValue(bar.value() - (TOP_H - rect.top()))
            elif rect.bottom() > self.viewport().height():
                bar.setValue(bar.value() + rect.bottom() - self.viewport().height() + 1)

    def face_selected(self) -> int | None:
        return self._face_selected

    def face_row_rect(self, track_id: int) -> QRect:
        """The viewport rectangle of a face track's row (time area only).

        Raises:
            KeyError: no row for that track.
        """
        j = next((j for j, r in enumerate(self._face_rows) if r.track_id == track_id), None)
        if j is None:
            raise KeyError(track_id)
        return QRect(HEADER_W, self._face_top(j), self._track_w(), ROW_H)

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

    def extent_ms(self) -> int:
        """How far the timeline reaches: the recording's length, or further where annotations do."""
        return round(self._extent)

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
        return QColor(FILLS[color_slot((i or 0) * 5 % len(HUES), vocabulary, value)])

    # -- geometry ---------------------------------------------------------------------------------------------

    def _track_w(self) -> int:
        return max(1, self.viewport().width() - HEADER_W)

    def _ppm(self) -> float:
        return self._track_w() / self._span

    def _clamp_span(self, span: float) -> float:
        least = max(2 * self._frame_ms, 20.0, self._extent * self._track_w() / MAX_SCENE_PX)
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
            self.setSceneRect(QRectF(0, 0, width, TOP_H + (len(self._rows) + len(self._face_rows)) * ROW_H))
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


__all__ = ["TimelineView"]
