"""The timeline's input: editing a value in place, the context menu, double-click, and the pointer, wheel and
key gestures that become the view's request signals (seek, select, create, resize, move, split, zoom).

``TimelineInteraction`` is a mixin of ``TimelineView``: it never edits the document, it only emits the view's
signals; the main window applies the edit and hands the tier back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import (
    QContextMenuEvent,
    QKeyEvent,
    QMouseEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu

from annotation.elan import Segment
from app.gui.timeline.style import (
    DRAG_PX,
    EDGE_PX,
    HEADER_W,
    ROW_H,
    TOP_H,
)
from app.gui.timeline.value_editor import ValueEditor

Kind = Literal["header", "ruler", "none", "empty", "body", "start", "end"]


@dataclass
class Drag:
    """A pointer gesture in progress: what was pressed, where, and what it would request if released now."""

    kind: Kind
    tier_id: str
    row: int
    segment: Segment | None
    x: float
    t: float
    moved: bool = False
    result: tuple[int, int] | None = None  # the snapped (start, end) the gesture would request
    free: tuple[int, int | None] = (0, None)  # the free stretch around it: a drag stops at the neighbours


class TimelineInteraction:
    """``TimelineView``'s editor, menu, mouse, wheel and key handling (a mixin: the view holds the state and
    the signals)."""

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
        tol = EDGE_PX / ppm
        idx = data.span(t - tol, t + tol)
        if len(idx) == 0:
            return "empty", row, None
        s, e = data.starts[idx], data.ends[idx]
        editable = (e - s) * ppm >= 3 * EDGE_PX
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
        if self._face_row_at(pos.y()) is not None:
            self._press_face_row(pos.x(), pos.y())
            return
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
        self._drag = Drag(kind, tier_id, row, seg, pos.x(), t)
        data = self._data.get(tier_id)
        if data is not None and kind != "ruler":
            self._drag.free = data.free_around(*((seg.start, seg.end) if seg is not None else (t, t)))
        if kind == "ruler":
            self.seekRequested.emit(self._clamp_ms(t))
        elif seg is not None and self._selected != (tier_id, seg.ann_id):
            self.set_selected(tier_id, seg.ann_id)
            self.annotationSelected.emit(tier_id, seg.ann_id)

    def _press_face_row(self, x: float, y: float) -> None:
        """A face track's row: its name selects the track; its time area seeks there (and selects the track
        when on its bar or an uncertain mark)."""
        j = self._face_row_at(y)
        hit = self._face_hit(x, y)
        track = self._face_rows[j].track_id if hit is None and j is not None else None
        if hit is not None:
            at, track = hit
            self.seekRequested.emit(at)
        if track is not None:
            self.set_face_selected(track)
            self.faceTrackClicked.emit(track)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        drag = self._drag
        if drag is None:
            kind = self._hit(pos.x(), pos.y())[0]
            shape = {"start": Qt.CursorShape.SizeHorCursor, "end": Qt.CursorShape.SizeHorCursor}.get(kind)
            self.viewport().setCursor(shape or Qt.CursorShape.ArrowCursor)
            return
        if not drag.moved and abs(pos.x() - drag.x) < DRAG_PX:
            return
        drag.moved = True
        t = self.ms_at(pos.x())
        if drag.kind == "ruler":
            self.seekRequested.emit(self._clamp_ms(t))
            return
        drag.result = self._drag_result(drag, t)
        self.viewport().update(QRect(0, TOP_H + drag.row * ROW_H - self.verticalScrollBar().value(), 10**6, ROW_H))

    def _drag_result(self, drag: Drag, t: float) -> tuple[int, int] | None:
        """The span a gesture asks for, snapped to frames and kept inside the free stretch around it: a drag
        stops at the neighbouring annotations (an edit never makes a tier overlap) and at the media's end."""
        lo, after = drag.free
        limit = self._duration or int(self._extent)
        hi = min(limit, after) if after is not None else limit
        least = max(1, round(self._frame_ms))
        seg = drag.segment
        if drag.kind == "empty":
            s, e = sorted((self.snap(max(lo, drag.t)), self.snap(min(max(t, lo), hi))))
            s, e = max(s, lo), min(e, hi)
            if e > s:
                return s, e
            e = min(self.snap(s + max(self._frame_ms, 1)), hi)
            return (s, e) if e > s else None
        if seg is None:
            return None
        dt = t - drag.t
        if drag.kind == "start":
            return max(lo, min(self.snap(seg.start + dt), seg.end - least)), seg.end
        if drag.kind == "end":
            return seg.start, min(hi, max(self.snap(seg.end + dt), seg.start + least))
        length = seg.end - seg.start
        start = max(lo, min(self.snap(seg.start + dt), max(lo, hi - length)))
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
