"""The Faces panel (a dock of the main window): the current document's recording's face tracks as rows
(id, number, frames, times, uncertain frames, whose face, and a strip showing where in the recording the
track lies), detection in the background with progress and cancel, and the corrections — assign, merge,
split, fix a box, confirm uncertain frames — each a command on the window's undo stack. While it is open,
``rowsChanged`` hands the timeline its face rows (computed once per change of the tracks), and the project's
setting ``blur-withheld`` is shown and changed here (with a reason, audited).

It reads and writes through ``annotation.faces`` and ``consent.faces`` only; the boxes over the video are
``FaceOverlay``'s, fed the boxes of the frame the player shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QUndoCommand
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotation.errors import AnnotationError
from annotation.faces import (
    ScanInfo,
    TrackInfo,
    boxes_at,
    confirm_frames,
    fix_box,
    merge_tracks,
    recording_tracks,
    split_track,
    track_frames,
    track_spans,
)
from annotation.services import document_project, recording_of
from annotation.store import Store
from app.gui.faces.commands import AssignCommand, TrackEditCommand
from app.gui.faces.jobs import FaceDetector
from app.gui.faces.live import PLATFORMS, LiveBoxes
from app.gui.faces.overlay import STATE_COLOURS, FaceOverlay
from app.gui.timeline import FaceRow
from consent.errors import ConsentError
from consent.faces import SETTING, blur_withheld_allowed, set_blur_withheld
from consent.participants import list_participants
from media_tools.clock import clock_text
from media_tools.faces import Box

COLUMNS = ["Track", "#", "Frames", "From", "To", "Uncertain", "Participant", "Where"]
SPAN = 7


class _SpanDelegate(QStyledItemDelegate):
    """Where in the recording a track lies: a bar over the recording's length, red where its frames are
    uncertain, with the playhead as a line."""

    def __init__(self, panel: FacesPanel) -> None:
        super().__init__(panel)
        self._panel = panel

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        span = index.data(Qt.ItemDataRole.UserRole)
        total = self._panel.frame_count
        if not span or total <= 0:
            return
        first, last, track_id = span
        r: QRect = option.rect.adjusted(2, 5, -2, -5)  # type: ignore[attr-defined]

        def bar(a: int, b: int, colour: QColor) -> None:
            x0 = r.left() + round(r.width() * a / total)
            x1 = max(r.left() + round(r.width() * (b + 1) / total), x0 + 1)
            painter.fillRect(QRect(x0, r.top(), x1 - x0, r.height()), colour)

        painter.save()
        painter.fillRect(r, QColor(60, 60, 60))
        bar(first, last, STATE_COLOURS["detected"])
        for a, b in self._panel.uncertain.get(track_id, ()):
            bar(a, b, STATE_COLOURS["uncertain"])
        frame = self._panel.frame
        if frame is not None:
            px = r.left() + round(r.width() * frame / total)
            painter.fillRect(QRect(px, r.top() - 3, 1, r.height() + 6), QColor(255, 255, 255))
        painter.restore()


class FacesPanel(QWidget):
    """The face tracks of the document's recording. ``player`` is the window's ``PlayerWidget``; ``push``
    puts a command on the undo stack; ``say`` shows a one-line message."""

    changed = Signal()
    """The tracks changed (detected, corrected, assigned, undone)."""
    rowsChanged = Signal(object)
    """The timeline's face rows (a list of ``FaceRow``; empty while the panel is closed)."""
    trackSelected = Signal(object)
    """The one track selected (its id), or None."""

    def __init__(
        self,
        store: Store,
        player: Any,
        push: Callable[[QUndoCommand], None],
        say: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.player, self._push, self._say = store, player, push, say
        self.recording_id: int | None = None
        self.scan: ScanInfo | None = None
        self.uncertain: dict[int, list[tuple[int, int]]] = {}  # each track's runs of uncertain frames
        self.timeline_rows: list[FaceRow] = []
        self.project: str | None = None
        self.names: dict[int, str] = {}
        self.frame: int | None = None
        self._pending: int | None = None  # a document opened while the panel was closed
        self.detector = FaceDetector(self)
        self.overlay = FaceOverlay(player.still_view, self)
        self.overlay.set_visible(False)
        # while libvlc plays into its own X11 window: the boxes over it, in a shaped window (see live.py)
        native = getattr(player, "video_window", None) in PLATFORMS
        self.live = LiveBoxes(player, self._live_boxes, self) if native else None

        self.status = QLabel("no recording")
        self.status.setWordWrap(True)
        self.detect_button = QPushButton("Detect faces")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.show_boxes = QCheckBox("Boxes over the video")
        self.show_boxes.setChecked(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        head = self.table.horizontalHeader()
        for col in range(SPAN):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(SPAN, QHeaderView.ResizeMode.Stretch)
        self.table.setItemDelegateForColumn(SPAN, _SpanDelegate(self))
        self.who = QComboBox()
        self.assign_button = QPushButton("Assign")
        self.merge_button = QPushButton("Merge")
        self.split_button = QPushButton("Split at playhead")
        self.fix_button = QPushButton("Fix box…")
        self.next_button = QPushButton("Next uncertain")
        self.confirm_button = QPushButton("Confirm uncertain here")
        for b, tip in (
            (self.merge_button, "the two selected tracks are one face"),
            (self.split_button, "the frames from the playhead on become a new track"),
            (self.fix_button, "set the selected track's box on this frame (or drag the box over the video)"),
            (self.next_button, "go to the selected track's next uncertain frame"),
            (self.confirm_button, "accept the uncertain frames around the playhead as they are"),
        ):
            b.setToolTip(tip)

        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.detect_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.show_boxes)
        top.addStretch(1)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Whose face:"))
        row.addWidget(self.who, 1)
        row.addWidget(self.assign_button)
        lay.addLayout(row)
        row = QHBoxLayout()
        for b in (self.merge_button, self.split_button, self.fix_button):
            row.addWidget(b)
        lay.addLayout(row)
        row = QHBoxLayout()
        for b in (self.next_button, self.confirm_button):
            row.addWidget(b)
        lay.addLayout(row)
        self.setting_label = QLabel()
        self.setting_label.setWordWrap(True)
        self.setting_button = QPushButton("Change…")
        self.setting_button.setToolTip("whether the project allows offering a blurred version to someone who withheld")
        row = QHBoxLayout()
        row.addWidget(self.setting_label, 1)
        row.addWidget(self.setting_button)
        lay.addLayout(row)
        self.setting_button.clicked.connect(self.open_setting_dialog)

        self.detect_button.clicked.connect(self.detect)
        self.cancel_button.clicked.connect(self.detector.cancel)
        self.detector.progress.connect(self._progress)
        self.detector.finished.connect(self._detected)
        self.detector.failed.connect(self._detect_failed)
        self.show_boxes.toggled.connect(lambda on: self.overlay.set_visible(on and self.isVisible()))
        self.show_boxes.toggled.connect(lambda _on: self._playing(self.player.is_playing()))
        player.playingChanged.connect(self._playing)
        self.table.itemSelectionChanged.connect(self._selection)
        self.assign_button.clicked.connect(self.assign_selected)
        self.merge_button.clicked.connect(self.merge_selected)
        self.split_button.clicked.connect(self.split_at_playhead)
        self.fix_button.clicked.connect(self.open_fix_dialog)
        self.next_button.clicked.connect(self.next_uncertain)
        self.confirm_button.clicked.connect(self.confirm_here)
        self.overlay.boxMoved.connect(self.fix)
        self.overlay.trackClicked.connect(self.select_track)
        player.stillShown.connect(self.show_frame)
        self._enable()

    # ---- the document ---------------------------------------------------------------------------------

    @property
    def frame_count(self) -> int:
        return self.scan.frame_count if self.scan is not None else 0

    def follow_document(self, doc_id: int) -> None:
        """The window opened a document: shown at once when the panel is open, else when it is opened."""
        self._pending = doc_id
        if self.isVisible():
            self.set_document(doc_id)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._pending is not None:
            self.set_document(self._pending)
        else:
            self.rowsChanged.emit(self.timeline_rows)
        self.overlay.set_visible(self.show_boxes.isChecked())

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.overlay.set_visible(False)  # the boxes are the panel's: closed, the video is left as it is
        self._playing(False)
        self.rowsChanged.emit([])  # and so are the timeline's face rows

    def set_document(self, doc_id: int) -> None:
        """Show the faces of a document's recording: its stored tracks at once, if detected before."""
        self._pending = None
        rec = recording_of(self.store, doc_id)
        self.recording_id = rec[0] if rec else None
        project = self.project = document_project(self.store, doc_id)[1]
        people = list_participants(self.store, project) if project else []
        self.names = {p.id: p.pseudonym for p in people}
        self.who.clear()
        self.who.addItem("(nobody)", None)
        for p in people:
            if p.withdrawn_at is None:
                self.who.addItem(p.pseudonym, p.id)
        self.reload()

    def reload(self) -> None:
        """Read the tracks again (after an edit, an undo, a detection) and show them."""
        selected = self.selected_tracks()
        self.scan, self.uncertain, self.timeline_rows = None, {}, []
        if self.recording_id is not None:
            try:
                self.scan = recording_tracks(self.store, self.recording_id)
                if self.scan is not None:
                    spans = track_spans(self.store, self.scan.id)
                    self.uncertain = {t: [(r.first, r.last) for r in sp.uncertain] for t, sp in spans.items()}
                    self.uncertain = {t: runs for t, runs in self.uncertain.items() if runs}
                    self.timeline_rows = [
                        FaceRow.of(
                            t.id,
                            self.track_label(t),
                            [(r.start_ms, r.end_ms) for r in spans[t.id].runs],
                            [(r.start_ms, r.end_ms) for r in spans[t.id].uncertain],
                        )
                        for t in self.scan.tracks
                        if t.id in spans
                    ]
            except AnnotationError as exc:
                self._say(str(exc))
        self._fill()
        self._select(selected)
        self._show_setting()
        self.show_frame(self.player.still_frame_index())
        self.rowsChanged.emit(self.timeline_rows if self.isVisible() else [])
        self.changed.emit()

    def track_label(self, t: TrackInfo) -> str:
        """A track's name on the timeline: whose face it is, or ``face N`` (N: the track's id)."""
        if t.participant_id is None:
            return f"face {t.id}"
        return f"{self.names.get(t.participant_id, f'participant {t.participant_id}')} (face {t.id})"

    def _fill(self) -> None:
        self.table.setRowCount(0)
        if self.recording_id is None:
            self.status.setText("this document has no recording: no faces to find")
        elif self.scan is None:
            self.status.setText(f"recording {self.recording_id}: faces not detected yet (Detect faces)")
        else:
            n = len(self.scan.tracks)
            doubt = sum(t.uncertain > 0 for t in self.scan.tracks)
            self.status.setText(
                f"recording {self.recording_id}: {n} face tracks, {self.scan.frame_count} frames"
                + (f"; {doubt} with uncertain frames (the gate stops a clip on them)" if doubt else "")
            )
        for t in self.scan.tracks if self.scan is not None else ():
            r = self.table.rowCount()
            self.table.insertRow(r)
            who = self.names.get(t.participant_id, str(t.participant_id)) if t.participant_id else "–"
            cells = [str(t.id), str(t.number), f"{t.first_frame}-{t.last_frame}", clock_text(t.first_ms),
                     clock_text(t.last_ms), str(t.uncertain), who, ""]  # fmt: skip
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole + 1, t.id)
                if c == 5 and t.uncertain:
                    item.setForeground(QColor(200, 0, 0))
                self.table.setItem(r, c, item)
            self.table.item(r, SPAN).setData(Qt.ItemDataRole.UserRole, (t.first_frame, t.last_frame, t.id))
        self._enable()

    def show_frame(self, index: int | None) -> None:
        """The boxes of the frame the player shows (its still's frame number)."""
        self.frame = index
        boxes = []
        if self.scan is not None and index is not None:
            try:
                boxes = boxes_at(self.store, self.scan.id, index)
            except AnnotationError as exc:
                self._say(str(exc))
        self.overlay.set_boxes(index, boxes, self.names)
        self.table.viewport().update()

    def _playing(self, playing: bool) -> None:
        if self.live is not None:
            self.live.run(playing and self.isVisible() and self.show_boxes.isChecked() and self.scan is not None)

    def _live_boxes(self, frame: int) -> tuple[list[Any], dict[int, str], QSize]:
        """The boxes of the frame playing (for ``LiveBoxes``); none when they cannot be read now."""
        scan = self.scan
        if scan is None:
            return [], self.names, QSize()
        try:
            return boxes_at(self.store, scan.id, frame), self.names, QSize(scan.width, scan.height)
        except AnnotationError as exc:
            self._say(str(exc))
            return [], self.names, QSize()

    # ---- selection --------------------------------------------------------------------------------------

    def selected_tracks(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [int(self.table.item(r, 0).text()) for r in rows]

    def track(self, track_id: int) -> TrackInfo | None:
        return next((t for t in self.scan.tracks if t.id == track_id), None) if self.scan else None

    def select_track(self, track_id: int) -> None:
        self._select([track_id])
        for r in range(self.table.rowCount()):
            if int(self.table.item(r, 0).text()) == track_id:
                self.table.scrollToItem(self.table.item(r, 0))

    def _select(self, ids: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for r in range(self.table.rowCount()):
            if int(self.table.item(r, 0).text()) in ids:
                self.table.selectRow(r)
        self.table.setSelectionMode(mode)

    def _selection(self) -> None:
        ids = self.selected_tracks()
        self.overlay.set_selected(ids[0] if len(ids) == 1 else None)
        if self.live is not None:
            self.live.set_selected(ids[0] if len(ids) == 1 else None)
        self.trackSelected.emit(ids[0] if len(ids) == 1 else None)
        t = self.track(ids[0]) if len(ids) == 1 else None
        if t is not None:
            i = self.who.findData(t.participant_id)
            self.who.setCurrentIndex(max(i, 0))
        self._enable()

    def _enable(self) -> None:
        n = len(self.selected_tracks())
        busy = self.detector.running
        self.detect_button.setEnabled(self.recording_id is not None and not busy)
        self.cancel_button.setEnabled(busy)
        for b in (self.assign_button, self.split_button, self.fix_button, self.next_button, self.confirm_button):
            b.setEnabled(n == 1 and not busy)
        self.merge_button.setEnabled(n == 2 and not busy)

    def _one(self) -> int | None:
        ids = self.selected_tracks()
        if len(ids) != 1:
            self._say("select one face track (in the Faces panel, or click its box over the video)")
            return None
        return ids[0]

    def _current_frame(self) -> int:
        return self.frame if self.frame is not None else int(self.player.frame_at_position())

    # ---- detection ----------------------------------------------------------------------------------------

    def detect(self) -> None:
        """Find and follow the faces of the recording on a worker thread (stored tracks come back at once)."""
        if self.recording_id is None:
            self._say("this document has no recording: no faces to find")
            return
        if self.detector.start(self.store, self.recording_id):
            self.progress.setValue(0)
            self.progress.show()
            self.status.setText(f"recording {self.recording_id}: finding faces…")
        self._enable()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setValue(round(100 * done / max(total, 1)))
        self.status.setText(f"recording {self.recording_id}: finding faces… frame {done} of {total}")

    def _detected(self, info: ScanInfo) -> None:
        self.progress.hide()
        if info.recording_id == self.recording_id:
            self.reload()
            how = "stored tracks (detected before)" if info.reused else "detected"
            self.status.setText(f"{self.status.text()} — {how}")
        self._enable()

    def _detect_failed(self, message: str) -> None:
        self.progress.hide()
        self.status.setText(message)
        self._say(message)
        self._enable()

    # ---- corrections ------------------------------------------------------------------------------------

    def _edit(self, text: str, make: Callable[[], Any]) -> bool:
        cmd = TrackEditCommand(text, self.store, make, self.reload, self._say)
        self._push(cmd)
        return not cmd.failed

    def assign_selected(self) -> None:
        track = self._one()
        if track is not None:
            self.assign(track, self.who.currentData())

    def assign(self, track_id: int, participant_id: int | None) -> bool:
        """Say whose face a track is (None: nobody's), undoably and in the audit log."""
        t = self.track(track_id)
        was = t.participant_id if t is not None else None
        if t is not None and was == participant_id:
            return True
        cmd = AssignCommand(self.store, track_id, participant_id, was, self.reload, self._say)
        self._push(cmd)
        return not cmd.failed

    def merge_selected(self) -> None:
        ids = self.selected_tracks()
        if len(ids) != 2:
            self._say("select the two face tracks to merge")
            return
        keep, other = sorted(ids, key=lambda i: t.number if (t := self.track(i)) else i)
        self.merge(keep, other)

    def merge(self, keep: int, other: int) -> bool:
        return self._edit(f"merge face track {other} into {keep}", lambda: merge_tracks(self.store, keep, other))

    def split_at_playhead(self) -> None:
        track = self._one()
        if track is not None:
            frame = self._current_frame()
            self._edit(f"split face track {track}", lambda: split_track(self.store, track, frame)[0])

    def fix(self, track_id: int, box: Box, frame: int | None = None) -> bool:
        """Set a track's box on a frame (the player's, by default); the frames around it follow."""
        at = self._current_frame() if frame is None else frame
        return self._edit(f"fix face track {track_id}", lambda: fix_box(self.store, track_id, at, tuple(box)))

    def open_fix_dialog(self) -> None:
        from app.gui.faces.fix_dialog import FixBoxDialog

        track = self._one()
        if track is None:
            return
        frame = self._current_frame()
        try:
            frames = track_frames(self.store, track).frames
        except AnnotationError as exc:
            self._say(str(exc))
            return
        near = min(frames, key=lambda f: abs(f.frame - frame))
        d = FixBoxDialog(track, frame, near.box, self)
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.fixed.connect(lambda box: self.fix(track, box, frame))
        d.show()

    def _uncertain_runs(self, track_id: int) -> list[tuple[int, int]]:
        return self.uncertain.get(track_id, [])

    def next_uncertain(self) -> None:
        """Go to the start of the selected track's next uncertain run after the playhead (round to the first)."""
        track = self._one()
        if track is None:
            return
        runs = self._uncertain_runs(track)
        if not runs:
            self._say(f"face track {track}: no uncertain frame")
            return
        here = self._current_frame()
        first = next((a for a, _ in runs if a > here), runs[0][0])
        self.player.seek(self.player.frame_start_ms(first))

    def confirm_here(self) -> None:
        """Accept the selected track's uncertain frames around the playhead (the run it is in) as they are."""
        track = self._one()
        if track is None:
            return
        here = self._current_frame()
        run = next(((a, b) for a, b in self._uncertain_runs(track) if a <= here <= b), None)
        if run is None:
            self._say(f"face track {track}: frame {here} is not uncertain (Next uncertain finds one)")
            return
        a, b = run
        self._edit(f"confirm face track {track}", lambda: confirm_frames(self.store, track, a, b))

    # ---- the project's setting blur-withheld ------------------------------------------------------------

    def _show_setting(self) -> None:
        allowed = None
        if self.project is not None:
            try:
                allowed = blur_withheld_allowed(self.store, self.project)
            except ConsentError as exc:
                self._say(str(exc))
        self.setting_button.setEnabled(allowed is not None)
        if allowed is None:
            self.setting_label.setText("This document belongs to no project: no project settings.")
        else:
            self.setting_label.setText(
                f"Project setting {SETTING}: <b>{'on' if allowed else 'off'}</b> — "
                + ("those who withheld may be offered a version with their face blurred"
                   if allowed else "nobody who withheld is offered a blurred version")
            )  # fmt: skip

    def open_setting_dialog(self) -> QWidget | None:
        """Ask whether the project allows it, and why (the reason goes to the audit log)."""
        from app.gui.faces.project_setting import BlurWithheldDialog

        project = self.project
        if project is None:
            self._say("this document belongs to no project: no project settings")
            return None
        d = BlurWithheldDialog(project, blur_withheld_allowed(self.store, project), self)
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.chosen.connect(lambda on, why: self.set_blur_withheld(on, why))
        d.show()
        return d

    def set_blur_withheld(self, allowed: bool, reason: str) -> bool:
        """Store the project's setting (a researcher's change, audited with the reason); False when refused
        (the one line is in the message bar)."""
        if self.project is None:
            return False
        try:
            set_blur_withheld(self.store, self.project, allowed, reason=reason)
        except ConsentError as exc:
            self._say(str(exc))
            return False
        finally:
            self._show_setting()
        return True

    def wait(self, ms: int = 60_000) -> bool:
        return self.detector.wait(ms)
