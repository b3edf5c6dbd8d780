"""The main window's documents: loading one (tiers, media, waveform, the research tabs), showing an edit
(only the annotations it touched), the recent-documents list, opening a document at an annotation, relinking
moved media, and opening or exporting ELAN files.

``DocumentLoading`` is a mixin of ``MainWindow``: it reads through ``annotation.services`` and fills the
window's widgets.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QFileDialog,
    QMessageBox,
)

from annotation.edits import Touched, segments_patch
from annotation.elan import Segment, document_segments
from annotation.errors import AnnotationError
from annotation.services import document_display, document_name, get_document, tier_ids


class DocumentLoading:
    """``MainWindow``'s document loading and files (a mixin: the window holds the widgets)."""

    # ---- loading ----------------------------------------------------------------------------------------

    def load_document(self, doc_id: int) -> None:
        from app.gui.dialogs import IdentifiersDialog

        for d in self.findChildren(IdentifiersDialog):
            d.close()  # it reviews the document that was shown
        self.doc_id = doc_id
        doc = get_document(self.store, doc_id)
        name = document_name(self.store, doc_id)
        title = name if name is not None else str(doc_id)
        from annotation.store import document_media

        self.media = document_media(self.store, doc_id)
        self._lay_out(doc)
        self.setWindowTitle(f"Frontdoor — {title}")
        self._remember(title)
        self.coder.clear()
        opened = self._load_media()
        self._show(document_segments(doc))
        if not opened:  # no recording, or its file is missing: the document's own time span is navigable
            self.player.show_without_media(self.timeline.extent_ms())

    def _lay_out(self, doc: Any) -> None:
        """The document's tiers: timeline rows, filters, coding tiers, the research tabs."""
        from annotation.elan import tier_rows

        self._tiers = tier_rows(doc)
        self.timeline.set_tiers(self._tiers)
        self.tier_filter.blockSignals(True)
        self.tier_filter.clear()
        self.tier_filter.addItem("all tiers", None)
        for row in self._tiers:
            self.tier_filter.addItem(row.tier_id, row.tier_id)
        self.tier_filter.blockSignals(False)
        self.coding_tier.blockSignals(True)
        self.coding_tier.clear()
        for row in self._tiers:
            if row.parent is None and row.vocabulary:
                self.coding_tier.addItem(row.tier_id, row.tier_id)
        self.coding_tier.blockSignals(False)
        self._show_coding_keys()
        self.research.set_document(self.doc_id, self._tiers)

    def _load_media(self) -> bool:
        """Open the document's media; False when no recording could be opened."""
        from app.gui.player import DEFAULT_FPS, load_media

        self.timeline.set_waveform(None)
        self._waveforms.cancel()  # a waveform still coming for the previous document is dropped
        primary, problems = load_media(self.player, self.media)
        self.timeline.set_snap(None)
        if primary is not None and primary.path is not None:
            self.timeline.set_snap(self.player.nearest_frame_ms)  # frames as the video has them
            self.timeline.set_duration(self.player.duration_ms)
            if self.player.fps:
                self._frame_ms = 1000.0 / self.player.fps
                self.timeline.set_frame_ms(self._frame_ms)
            self._waveforms.request(primary.path, primary.time_origin_ms)
        else:
            self.timeline.set_duration(0)  # the annotations' span (a previous document's recording is gone)
            self._frame_ms = 1000.0 / DEFAULT_FPS
            self.timeline.set_frame_ms(self._frame_ms)
        if problems:
            self.show_error("; ".join(problems))
        return primary is not None and primary.path is not None

    def refresh(self, doc_id: int, touched: Touched | None = None) -> None:
        """Show an edit: only the annotations it touched (``annotation.edits.display``: milliseconds however big
        the document), or the whole document again when not told what changed."""
        if doc_id != self.doc_id:
            return
        if touched is None:
            self._show(document_display(self.store, doc_id))
            return
        if touched.tiers and not touched.tiers <= tier_ids(self.store, doc_id) & {r.tier_id for r in self._tiers}:
            doc = get_document(self.store, doc_id)  # tiers came or went (a consensus and its undo)
            self._lay_out(doc)
            self._show(document_segments(doc))
            return
        patch = segments_patch(self.store, doc_id, touched)
        self.timeline.apply_patch(patch)
        self.table_model.apply_patch(patch)

    def _show(self, display: dict[str, list[Segment]]) -> None:
        for row in self._tiers:
            self.timeline.set_segments(row.tier_id, display.get(row.tier_id, []))
        self.table_model.set_segments(display)

    # ---- recent documents, opening at an annotation, relinking ------------------------------------------

    def _remember(self, title: str) -> None:
        from annotation.services import document_project
        from app import prefs

        if self.store.encrypted:  # the list is a plain file: an encrypted store's names stay in the store
            prefs.remember_document(self.store.label, self.doc_id, None, None)
        else:
            project = document_project(self.store, self.doc_id)[1]
            prefs.remember_document(self.store.label, self.doc_id, title, project)
        self.recent_menu.fill()  # Ctrl+Alt+1-9 are the menu's actions: made now, not first when it is opened

    def _exists(self, doc_id: int) -> bool:
        return document_name(self.store, doc_id) is not None

    def _describe(self, doc_id: int) -> tuple[str, str | None] | None:
        """A recent document's name and project, read from the store (for entries kept by id only)."""
        from annotation.services import document_project

        name = document_name(self.store, doc_id)
        return None if name is None else (name, document_project(self.store, doc_id)[1])

    def open_at(self, doc_id: int, ann_id: str, start_ms: int) -> None:
        """Open a document (if not the one shown) at an annotation: seek to it and select it."""
        if doc_id != self.doc_id:
            self.undo_stack.clear()  # edits are per document: undoing one of another document is confusing
            self.load_document(doc_id)
        if start_ms >= 0:
            self.player.seek(start_ms)
        for tier in (r.tier_id for r in self._tiers):
            row = self.table_model.row_of(tier, ann_id)
            if row is not None:
                self.table.selectRow(self.table_filter.mapFromSource(self.table_model.index(row, 0)).row())
                break

    def relink_media(self) -> None:
        """Find the recording's moved file by its SHA-256 under a folder the researcher picks."""
        from annotation.services import recording_of, relink_recording

        rec = recording_of(self.store, self.doc_id)
        if rec is None:
            self.show_error("this document has no recording to relink")
            return
        folder = QFileDialog.getExistingDirectory(self, f"Find {rec[1]} under…")
        if not folder:
            return
        try:
            path = relink_recording(self.store, rec[0], folder)
        except AnnotationError as exc:
            self.show_error(str(exc))
            return
        self.load_document(self.doc_id)
        self.message.setText(f"relinked {rec[1]}: {path}")

    # ---- files --------------------------------------------------------------------------------------------

    def open_eaf(self) -> None:
        from annotation.services import import_file

        path, _ = QFileDialog.getOpenFileName(self, "Open ELAN file", "", "ELAN files (*.eaf)")
        if not path:
            return
        try:
            result = import_file(self.store, path)
        except AnnotationError as exc:
            self.show_error(str(exc))
            return
        self.undo_stack.clear()
        self.load_document(result.doc_id)
        if result.repairs:  # shown once, here: the stored document is valid and opens with no repair again
            lines = [str(r) for r in result.repairs]
            self.message.setText("repaired while opening " + "; ".join(lines))
            self.message.setToolTip("\n".join(lines))
        if result.overlaps:  # kept as the file has them (lossless); edits never add to them
            lines = list(result.overlaps)
            self.message.setText("; ".join(lines))
            self.message.setToolTip("\n".join(lines))

    def export_eaf(self) -> None:
        from annotation.services import export_eaf

        path, _ = QFileDialog.getSaveFileName(self, "Export ELAN file", "", "ELAN files (*.eaf)")
        if not path:
            return
        try:
            export_eaf(self.store, self.doc_id, path)
        except AnnotationError as exc:
            self.show_error(str(exc))
            return
        QMessageBox.information(self, "Exported", f"Wrote {path}")
