"""Sensitive identifiers of the open document: scan its transcripts (on a worker thread), review the
proposals with the text they were found in, confirm (over the span or a narrower one) or reject each.

Nothing is confirmed for the researcher. Confirming and rejecting are edit commands handed to ``push``
(the main window puts them on its undo stack; by default they are applied at once); call ``refresh`` when
the stack undoes or redoes one. The window shows the transcript text, which may hold the very name: it
is never written to the log.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotation.edits import EditCommand
from annotation.errors import AnnotationError
from annotation.identifiers import (
    CONFIRMED,
    PENDING,
    REJECTED,
    ProposalView,
    ScanSummary,
    confirm_command,
    list_proposals,
    reject_command,
    scan_document,
)
from annotation.services import apply_edit
from annotation.store import Store
from app.gui.worker import deliver
from media_tools.clock import clock_text

log = logging.getLogger(__name__)
COLUMNS = ["Time", "Length", "Tier", "Kind", "Value", "Status", "Text"]


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Scan(QRunnable):
    def __init__(self, store: Store, doc_id: int, guess_names: bool) -> None:
        super().__init__()
        self.store, self.doc_id, self.guess_names = store, doc_id, guess_names
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = scan_document(self.store, self.doc_id, guess_names=self.guess_names)
        except AnnotationError as exc:
            deliver(self.signals.failed, str(exc))
            return
        except Exception as exc:  # a bug: where it happened goes to the log, not the message (it may quote text)
            log.error(
                "scan of document %s failed: %s\n%s",
                self.doc_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            deliver(self.signals.failed, f"document {self.doc_id}: the scan failed ({type(exc).__name__}; see the log)")
            return
        deliver(self.signals.done, result)


def _marked(text: str, marks: tuple[tuple[int, int], ...]) -> str:
    out, last = [], 0
    for a, b in sorted(marks):
        if a >= last:
            out += [text[last:a], "«", text[a:b], "»"]
            last = b
    out.append(text[last:])
    return " ".join("".join(out).split())


def _parse(text: str) -> int | None:
    from app.time_input import parse_time

    try:
        return parse_time(text)
    except Exception:
        return None


class IdentifiersDialog(QDialog):
    """The review of one document's proposals. ``playRequested(start, end)`` asks the player for a span."""

    playRequested = Signal(int, int)

    def __init__(
        self,
        store: Store,
        doc_id: int,
        parent: QWidget | None = None,
        *,
        push: Callable[[EditCommand], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Sensitive identifiers — document {doc_id}")
        self._store, self._doc = store, doc_id
        self._push = push or (lambda cmd: apply_edit(store, cmd))
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._job: _Scan | None = None
        self.rows: list[ProposalView] = []

        self.scan_button = QPushButton("Scan transcripts")
        self.scan_button.clicked.connect(self.scan)
        self.guess = QCheckBox("guess names by capitals too")
        self.decided = QCheckBox("show confirmed and rejected")
        self.decided.toggled.connect(self.refresh)
        top = QHBoxLayout()
        for w in (self.scan_button, self.guess, self.decided):
            top.addWidget(w)
        top.addStretch(1)
        self.summary = QLabel("Nothing is confirmed until you confirm it.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.cellDoubleClicked.connect(lambda *_: self.play())
        self.start_edit, self.end_edit = QLineEdit(), QLineEdit()
        for e, tip in ((self.start_edit, "from"), (self.end_edit, "to")):
            e.setPlaceholderText(tip)
            e.setMaximumWidth(120)
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.play)
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setToolTip("A Sensitive identifier annotation over the span (or the narrower one)")
        self.confirm_button.clicked.connect(self.confirm)
        self.reject_button = QPushButton("Reject")
        self.reject_button.clicked.connect(self.reject_selected)
        bottom = QHBoxLayout()
        bottom.addWidget(self.play_button)
        bottom.addWidget(QLabel("Span:"))
        bottom.addWidget(self.start_edit)
        bottom.addWidget(self.end_edit)
        bottom.addStretch(1)
        bottom.addWidget(self.confirm_button)
        bottom.addWidget(self.reject_button)
        self.message = QLabel()
        self.message.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(bottom)
        lay.addWidget(self.message)
        self.resize(900, 480)
        self.refresh()

    # ---- scanning -------------------------------------------------------------------------------------

    def scan(self) -> None:
        """Scan the document on a worker thread; the table refreshes when it is done."""
        job = _Scan(self._store, self._doc, self.guess.isChecked())
        job.signals.done.connect(self._scanned)
        job.signals.failed.connect(self._failed)
        self._job = job  # keep its signals alive
        self.scan_button.setEnabled(False)
        self.message.setText("Scanning…")
        self._pool.start(job)

    def wait(self, ms: int = 30_000) -> bool:
        return bool(self._pool.waitForDone(ms))

    def _scanned(self, r: ScanSummary) -> None:
        self.scan_button.setEnabled(True)
        where = ", ".join(r.tiers) or "no free-text tier"
        lines = [
            f"Searched {r.annotations} annotations ({where}) for {r.terms} watch-list terms and the identifier "
            f"patterns: {r.new} new, {r.pending} waiting for you, {r.rejected} kept rejected."
        ]
        if not r.has_project:
            lines.append("This document is in no project: no watch list was searched.")
        elif not r.terms:
            lines.append("The project's watch list is empty (frontdoor identifiers watch add).")
        self.summary.setText(" ".join(lines))
        self.message.setText("Nothing is confirmed until you confirm it.")
        self.refresh()

    def _failed(self, message: str) -> None:
        self.scan_button.setEnabled(True)
        self.message.setText(message)

    # ---- the table ------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the proposals again (after a scan, an edit, an undo or a redo)."""
        statuses = (PENDING, CONFIRMED, REJECTED) if self.decided.isChecked() else (PENDING,)
        try:
            self.rows = list_proposals(self._store, self._doc, statuses=statuses)
        except AnnotationError as exc:
            self.message.setText(str(exc))
            self.rows = []
        self.table.setRowCount(len(self.rows))
        for r, p in enumerate(self.rows):
            length = f"{(p.end - p.start) / 1000:.1f} s" + (" (long)" if p.long else "")
            text = _marked(p.context, p.marks) if p.context is not None else "(the annotation is gone)"
            cells = [clock_text(p.start), length, p.tier_id, p.kind, p.value, p.status, text]
            for c, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if c == 1 and p.long:
                    item.setToolTip("The whole segment would be bleeped: narrow the span before confirming")
                self.table.setItem(r, c, item)
        self._selected()

    def _current(self) -> ProposalView | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.rows[min(rows)] if rows else None

    def _selected(self) -> None:
        p = self._current()
        pending = p is not None and p.status != CONFIRMED
        for b in (self.confirm_button, self.start_edit, self.end_edit):
            b.setEnabled(pending)
        self.reject_button.setEnabled(p is not None and p.status == PENDING)
        self.play_button.setEnabled(p is not None)
        if p is not None:
            self.start_edit.setText(clock_text(p.start))
            self.end_edit.setText(clock_text(p.end))

    def select(self, row: int) -> None:
        # not selectRow: it reads the keyboard's modifiers, and a Ctrl held (or left over) would toggle the row
        model = self.table.model()
        if not 0 <= row < model.rowCount():
            return
        index = model.index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)

    # ---- decisions ------------------------------------------------------------------------------------

    def play(self) -> None:
        p = self._current()
        if p is not None:
            self.playRequested.emit(p.start, p.end)

    def confirm(self) -> None:
        p = self._current()
        if p is None:
            return
        start, end = _parse(self.start_edit.text()), _parse(self.end_edit.text())
        if start is None or end is None:
            self.message.setText("span: use mm:ss.mmm, h:mm:ss.mmm, 1.5s or milliseconds")
            return
        self._decide(p.id, lambda: confirm_command(self._store, p.id, start=start, end=end), CONFIRMED)

    def reject_selected(self) -> None:
        p = self._current()
        if p is not None:
            self._decide(p.id, lambda: reject_command(self._store, p.id), REJECTED)

    def _decide(self, proposal_id: int, make: Callable[[], Any], want: str) -> None:
        row = self.table.currentRow()
        try:
            self._push(make())
        except AnnotationError as exc:
            self.message.setText(str(exc))
            return
        # the undo stack reports a refusal elsewhere (the message bar): say what the store holds now
        every = (PENDING, CONFIRMED, REJECTED)
        now = {x.id: x for x in list_proposals(self._store, self._doc, statuses=every, context=False)}
        got = now.get(proposal_id)
        if got is not None and got.status == want:
            made = f" (annotation {got.sensitive_ann_id})" if got.sensitive_ann_id else ""
            self.message.setText(f"Proposal {proposal_id} {want}{made}.")
        else:
            self.message.setText(f"Proposal {proposal_id} was not {want}.")
        self.refresh()
        if self.rows:
            self.select(min(max(row, 0), len(self.rows) - 1))
