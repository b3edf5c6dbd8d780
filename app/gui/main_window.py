"""The researcher's window: the player on top, the timeline under it, the annotations table beside it.

Keyboard first: every action has a shortcut (F1 lists them). Rapid coding: pick a tier, and the keys 1-9
stand for its vocabulary's values; the first press starts a segment at the playhead, the second press of the
same key ends it (Shift+key makes a one-frame point event); the video can keep playing. Every edit is a
command on the undo stack, committed to the store when it is made.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from annotation.edits import (
    CreateAnnotation,
    CreateReferringAnnotation,
    DeleteAnnotation,
    MergeAnnotations,
    RapidCoder,
    SetAnnotationTimes,
    SetAnnotationValue,
    SplitAnnotation,
)
from annotation.elan import Segment
from annotation.store import Store
from app.gui.annotations_table import AnnotationsFilter, AnnotationsModel
from app.gui.background import WaveformLoader
from app.gui.player import format_time
from app.gui.undo import StoreEdit
from app.gui.window_documents import DocumentLoading
from app.gui.window_menus import CODE_KEYS, WindowMenus, reserved_shortcuts


class MainWindow(WindowMenus, DocumentLoading, QMainWindow):
    """The researcher's window over one document: coding, the referral records and the analysis, as tabs.
    Menus and actions are in ``WindowMenus``, loading documents and files in ``DocumentLoading``."""

    errorShown = Signal(str)

    def __init__(self, store: Store, doc_id: int, *, autoplay: bool = False) -> None:
        super().__init__()
        from app.gui.player import PlayerWidget
        from app.gui.timeline import TimelineView

        self.store = store
        self.doc_id = doc_id
        self.undo_stack = QUndoStack(self)
        self.coder = RapidCoder()  # segments being coded with the 1-9 keys
        self._frame_ms = 40.0
        self.media: list[Any] = []  # annotation.store.media_links.DocumentMedia of the open document
        self._waveforms = WaveformLoader(self)

        self.player = PlayerWidget()
        self.timeline = TimelineView()
        self.table_model = AnnotationsModel()
        self.table_filter = AnnotationsFilter()
        self.table_filter.setSourceModel(self.table_model)
        self.table = QTableView()
        self.table.setModel(self.table_filter)

        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.tier_filter = QComboBox()
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("filter by value…")
        self.coding_tier = QComboBox()
        self.coding_keys = QLabel()
        self.coding_keys.setWordWrap(True)
        self.message = QLabel()
        self.message.setStyleSheet("color: #b00020;")
        self._clear_message = QTimer(self)
        self._clear_message.setSingleShot(True)
        self._clear_message.timeout.connect(lambda: self.message.setText(""))

        side = QWidget()
        lay = QVBoxLayout(side)
        row = QHBoxLayout()
        row.addWidget(self.tier_filter)
        row.addWidget(self.text_filter)
        lay.addLayout(row)
        lay.addWidget(self.table)
        lay.addWidget(QLabel("Coding tier (keys 1-9):"))
        lay.addWidget(self.coding_tier)
        lay.addWidget(self.coding_keys)
        top = QSplitter(Qt.Orientation.Horizontal)
        video = QWidget()
        vlay = QVBoxLayout(video)
        vlay.setContentsMargins(0, 0, 0, 0)
        vlay.setSpacing(0)
        vlay.addWidget(self.player, 1)
        self._video_box = vlay
        top.addWidget(video)
        top.addWidget(side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([840, 560])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(self.timeline)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        main.setSizes([500, 360])
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(main, "Coding")
        self.setCentralWidget(self.tabs)
        from app.gui.research import ResearchTabs

        self.research = ResearchTabs(
            self.tabs,
            store,
            selected=self._selected_annotation,
            push=self.push,
            play=self.play_span,
            say=self.show_error,
        )
        self.statusBar().addWidget(self.message, 1)
        from app.gui.faces import add_faces_dock

        self.faces_dock, self.faces = add_faces_dock(self)  # View > Faces panel

        self._actions: list[QAction] = []
        self._coding_actions: list[QAction] = []  # enabled only while the Coding tab is shown
        self._build_actions()
        from app.gui.dialogs import apply_overrides, register
        from app.gui.player import TransportBar

        for a in self._actions:
            register(a)
        apply_overrides(self._actions, reserved=reserved_shortcuts())
        self.transport = TransportBar(self.player, {a.objectName(): a for a in self._actions}, self)
        self._video_box.addWidget(self.transport)
        self.time_label = self.transport.clock
        self.player.positionChanged.connect(self._on_position)
        self.player.errorOccurred.connect(self.show_error)
        self._waveforms.ready.connect(self.timeline.set_waveform)
        self._waveforms.failed.connect(self.show_error)
        self.timeline.seekRequested.connect(self.player.seek)
        self.timeline.annotationSelected.connect(self._on_annotation_selected)
        self.timeline.createRequested.connect(self._on_create)
        self.timeline.resizeRequested.connect(self._on_retime)
        self.timeline.moveRequested.connect(self._on_retime)
        self.timeline.splitRequested.connect(self._on_split)
        self.timeline.mergeRequested.connect(self._on_merge)
        self.timeline.deleteRequested.connect(self._on_delete)
        self.timeline.valueEdited.connect(lambda tier, ann, value: self.set_value(ann, value, tier))
        self.timeline.childRequested.connect(self._on_create_child)
        self.timeline.errorShown.connect(self.show_error)
        self.table.clicked.connect(self._on_table_clicked)
        self.tier_filter.currentIndexChanged.connect(self._apply_filter)
        self.text_filter.textChanged.connect(self._apply_filter)
        self.coding_tier.currentIndexChanged.connect(self._coding_tier_changed)
        self.tabs.currentChanged.connect(self._on_tab)
        self.load_document(doc_id)
        # keys code and steer from the start (a text field that has the focus takes its own keys)
        self.timeline.setFocus()
        if autoplay:
            QTimer.singleShot(0, self, self.player.play)

    # ---- edits ------------------------------------------------------------------------------------------

    def push(self, cmd: Any) -> bool:
        edit = StoreEdit(self.store, cmd, self.refresh, self.show_error)
        self.undo_stack.push(edit)
        return not edit.failed

    def show_error(self, message: str) -> None:
        self.message.setText(message)
        self.errorShown.emit(message)
        self._clear_message.start(10_000)  # a child of the window: it dies with it

    def code_key(self, n: int, *, point: bool = False) -> None:
        """Rapid coding: the n-th value of the coding tier's vocabulary (1-based)."""
        tier = self.coding_tier.currentData()
        vocab = self._vocabulary(tier)
        if tier is None or n > len(vocab):
            self.show_error(f"key {n}: the coding tier has no value {n}")
            return
        now, frame = self.player.position_ms(), round(self._frame_ms)
        edits, line = self.coder.press(self.doc_id, tier, n, vocab[n - 1], now, frame, point=point)
        ok = all([self.push(cmd) for cmd in edits])
        if ok:
            self.message.setText(line)

    def _vocabulary(self, tier: str | None) -> tuple[str, ...]:
        return next((r.vocabulary for r in self._tiers if r.tier_id == tier), ())

    def _coding_tier_changed(self) -> None:
        if self.coder.open:
            dropped = ", ".join(f"{v!r} from {format_time(t)}" for t, v in self.coder.open.values())
            self.coder.clear()  # not carried into another tier; said, so nobody thinks it was coded
            self.message.setText(f"not coded: {dropped} (the coding tier changed before it was ended)")
        self._show_coding_keys()

    def edit_value(self) -> None:
        """Type the selected annotation's value in place on the timeline (the tier's vocabulary completes it)."""
        seg = self._edit_target()
        if seg is None:
            self.show_error("select an annotation first (in the table or on the timeline)")
            return
        self.timeline.open_editor(seg.tier_id, seg.ann_id)

    def open_export_dialog(self) -> None:
        from app.gui.dialogs import ExportDialog

        d = ExportDialog(self.store, self)
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.show()

    def toggle_faces(self) -> None:
        """Open or close the Faces panel (the face tracks of the recording, and their boxes over the video)."""
        self.faces_dock.setVisible(not self.faces_dock.isVisible())

    def open_review_station(self) -> None:
        """Hand the screen to one filmed member of staff (app/gui/review/station.py); this window stays hidden until
        the researcher's passphrase ends the review."""
        from app.gui.review import ask_and_start_station

        ask_and_start_station(self, self.store, self.doc_id, self.show_error)

    def _on_create(self, tier: str, start: int, end: int) -> None:
        self.push(CreateAnnotation(self.doc_id, tier, start, end, ""))

    def _on_retime(self, tier: str, ann: str, start: int, end: int) -> None:
        self.push(SetAnnotationTimes(self.doc_id, ann, start, end))

    def set_value(self, ann: str, value: str, tier: str | None = None) -> None:
        """Give an annotation a value (with its vocabulary entry's id when ``tier`` has one for it)."""
        row = self.timeline.tier_row(tier) if tier is not None else None
        self.push(SetAnnotationValue(self.doc_id, ann, value, row.cve_id(value) if row is not None else None))

    def delete_selected(self) -> None:
        """Delete the selected annotation: the one split, merged and edited by S, M and F2 (the timeline's
        selection, else the table's), never a row the table's filter keeps out of sight."""
        seg = self._edit_target()
        if seg is not None:
            self._on_delete(seg.tier_id, seg.ann_id)

    # ---- split, merge, referring annotations (the timeline's menu, Alt+click, S and M) ---------------------

    def _edit_target(self) -> Segment | None:
        """The annotation selected on the timeline, else the table's current one (then selected on the
        timeline too)."""
        sel = self.timeline.selected()
        seg = self.timeline.segment(*sel) if sel is not None and not self.table.hasFocus() else None
        if seg is None:
            idx = self.table.currentIndex()
            if not idx.isValid():
                return self.timeline.segment(*sel) if sel is not None else None
            seg = self.table_model.segment(self.table_filter.mapToSource(idx).row())
            self.timeline.set_selected(seg.tier_id, seg.ann_id)
        return seg

    def split_at_playhead(self) -> None:
        """Split the selected annotation at the playhead (the frame boundary nearest it); with no selection
        under the playhead, the coding tier's annotation there."""
        at = self.timeline.snap(self.player.position_ms())
        seg = self._edit_target()
        if seg is None or not seg.start < at < seg.end:
            tier = seg.tier_id if seg is not None else self.coding_tier.currentData()
            seg = self.timeline.segment_at(tier, at) if tier else None
        if seg is None or not seg.start < at < seg.end:
            self.show_error(f"{format_time(at)}: no annotation to split at the playhead (select one under it)")
            return
        self._on_split(seg.tier_id, seg.ann_id, at)

    def merge_with_next(self) -> None:
        """Merge the selected annotation with the next one on its tier."""
        seg = self._edit_target()
        if seg is None:
            self.show_error("select an annotation to merge with the next one")
            return
        nxt = self.timeline.next_segment(seg.tier_id, seg.ann_id)
        if nxt is None:
            self.show_error(f"annotation {seg.ann_id!r}: the last one on tier {seg.tier_id!r}, nothing to merge with")
            return
        self._on_merge(seg.tier_id, seg.ann_id, nxt.ann_id)

    def _on_split(self, tier: str, ann: str, at: int) -> None:
        if self.push(SplitAnnotation(self.doc_id, ann, at)):
            self.timeline.set_selected(tier, ann)

    def _on_merge(self, tier: str, first: str, second: str) -> None:
        if self.push(MergeAnnotations(self.doc_id, first, second)):
            self.timeline.set_selected(tier, first)
            self._on_annotation_selected(tier, first)

    def _on_delete(self, tier: str, ann: str) -> None:
        if self.push(DeleteAnnotation(self.doc_id, ann)) and self.timeline.selected() == (tier, ann):
            self.timeline.set_selected(None)

    def _on_create_child(self, tier: str, parent: str) -> None:
        """Make a referring annotation under ``parent`` and type its value in place."""
        cmd = CreateReferringAnnotation(self.doc_id, tier, parent)
        if self.push(cmd) and cmd.ann_id is not None:
            self.timeline.open_editor(tier, cmd.ann_id)

    # ---- navigation ---------------------------------------------------------------------------------------

    def _on_position(self, ms: int) -> None:
        self.timeline.set_playhead(ms)

    def _on_annotation_selected(self, tier: str, ann: str) -> None:
        row = self.table_model.row_of(tier, ann)
        if row is not None:
            self.table.selectRow(self.table_filter.mapFromSource(self.table_model.index(row, 0)).row())

    def _on_table_clicked(self, idx: QModelIndex) -> None:
        seg: Segment = self.table_model.segment(self.table_filter.mapToSource(idx).row())
        self.player.seek(seg.start)

    def _apply_filter(self) -> None:
        self.table_filter.set_filter(self.tier_filter.currentData(), self.text_filter.text())

    def _show_coding_keys(self) -> None:
        vocab = self._vocabulary(self.coding_tier.currentData())
        self.coding_keys.setText("   ".join(f"{k} {v}" for k, v in zip(CODE_KEYS, vocab, strict=False)))

    # ---- looping, search, identifiers -------------------------------------------------------------------

    def toggle_loop(self) -> None:
        """Loop the selected annotation (or stop looping)."""
        if self.player.loop is not None:
            self.player.set_loop(None)
            self.message.setText("looping off")
            return
        seg = self._selected_segment()
        if seg is None:
            self.show_error("select an annotation to loop (in the table or on the timeline)")
            return
        if not self._can_loop(seg.start):
            return
        self.player.set_loop(seg.start, max(seg.end, seg.start + 1))
        self.player.seek(seg.start)
        self.message.setText(f"looping {format_time(seg.start)} – {format_time(seg.end)} (L to stop)")

    def _can_loop(self, start_ms: int) -> bool:
        """A loop must start inside the recording: one after its end had the player restart at the end for
        ever, its clock jumping past the recording."""
        if self.player.path is not None and start_ms >= self.player.duration_ms:
            self.show_error(
                f"{format_time(start_ms)}: after the end of the recording ({format_time(self.player.duration_ms)})"
                "; nothing to play there"
            )
            return False
        return True

    def _selected_segment(self) -> Segment | None:
        """The annotation L loops and a referral record is linked to: the one the edit keys act on."""
        return self._edit_target()

    def _selected_annotation(self) -> tuple[int, str] | None:
        seg = self._selected_segment()
        return None if seg is None else (self.doc_id, seg.ann_id)

    def play_span(self, start_ms: int, end_ms: int) -> None:
        """Show a span in the Coding tab, looping it (L stops the loop)."""
        self.tabs.setCurrentIndex(0)
        if not self._can_loop(start_ms):
            return
        self.player.set_loop(start_ms, max(end_ms, start_ms + 1))
        self.player.seek(start_ms)
        self.player.play()
        self.message.setText(f"playing {format_time(start_ms)} – {format_time(end_ms)} in a loop (L to stop)")

    def open_identifiers(self) -> None:
        """Scan this document's transcripts for identifiers and confirm or reject each proposal (undoable)."""
        from app.gui.dialogs import IdentifiersDialog

        for old in self.findChildren(IdentifiersDialog):
            old.close()  # one review at a time, of the document shown
        d = IdentifiersDialog(self.store, self.doc_id, self, push=self.push)
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.playRequested.connect(self.play_span)
        self.undo_stack.indexChanged.connect(d.refresh)
        d.show()

    def open_search(self) -> None:
        from annotation.services import document_project
        from app.gui.dialogs import SearchDialog

        d = SearchDialog(self.store, document_project(self.store, self.doc_id)[0], self)
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.openRequested.connect(self.open_at)
        d.show()
