"""The Analysis tab: the report's tables and plots for the project (the same sections ``frontdoor report``
writes, computed on a worker thread), a period and a period to compare it with, and a button that writes the
report (HTML, PDF and the CSV behind every plot) and opens it. Beside it, the agreement between two coders."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from annotation.errors import AnnotationError
from annotation.records import record_periods
from annotation.report import ReportContent, Table, build_report, report_content, shown_text
from annotation.store import Store
from app.gui.worker import deliver

ALL = "all records"
NONE = "—"
REFRESH_KEYS = "F5"  # the report's Refresh button (kept off the window's actions' keys)


class _Signals(QObject):
    done = Signal(int, object)
    failed = Signal(int, str)


class _Job(QRunnable):
    def __init__(self, n: int, fn: Any) -> None:
        super().__init__()
        self.n, self.fn, self.signals = n, fn, _Signals()

    def run(self) -> None:
        try:
            result = self.fn()
        except AnnotationError as exc:
            deliver(self.signals.failed, self.n, str(exc))
            return
        except Exception as exc:  # a bug: one line here, the traceback in the log
            traceback.print_exc()
            deliver(self.signals.failed, self.n, f"internal error: {type(exc).__name__}: {exc}")
            return
        deliver(self.signals.done, self.n, result)


def table_widget(t: Table) -> QTableWidget:
    """A report table as a read-only widget sized to its rows (the page scrolls, not each table)."""
    w = QTableWidget(len(t.rows), len(t.header))
    w.setObjectName(t.key)
    w.setHorizontalHeaderLabels(list(t.header))
    w.verticalHeader().hide()
    w.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    for r, row in enumerate(t.rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            w.setItem(r, c, item)
    w.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    w.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    w.resizeColumnsToContents()
    width = sum(w.columnWidth(i) for i in range(w.columnCount())) + 2 * w.frameWidth() + 4
    w.setMaximumWidth(width)
    # in a row beside its information loss, a table would shrink to Qt's default hint and hide its columns
    w.setMinimumWidth(width)
    height = w.horizontalHeader().height() + sum(w.rowHeight(i) for i in range(w.rowCount())) + 4
    w.setFixedHeight(min(height, 600))
    return w


def loss_label(t: Table) -> QLabel | None:
    """The information loss of a table of counts ('97.5% of referrals in cells shown'), or None."""
    labels = tuple(h[3:-1] for h in t.header if h.startswith("n (") and h.endswith(")"))
    text = shown_text(t, labels)
    if not text:
        return None
    label = QLabel(text)
    label.setObjectName(f"{t.key}_loss")
    label.setToolTip("Information loss: the share of this table's referrals in the cells it shows (not suppressed)")
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


def _with_loss(t: Table) -> QWidget:
    """A table with its information loss beside it."""
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(table_widget(t))
    loss = loss_label(t)
    if loss is not None:
        lay.addWidget(loss)
    lay.addStretch(1)
    return row


class ReportView(QWidget):
    """The project's report, section by section."""

    message = Signal(str)
    shown = Signal()

    def __init__(self, store: Store, project: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.project = store, project
        self.period = QComboBox()
        self.compare = QComboBox()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setShortcut(REFRESH_KEYS)
        self.refresh_button.clicked.connect(self.refresh)
        self.publication = QCheckBox("for publication (small cells suppressed, no plots or tests)")
        self.publication.setToolTip("Unticked: the research team's version, with unsuppressed plots and statistics")
        self.publication.toggled.connect(lambda _on: self.refresh())
        self.write_button = QPushButton("Write report…")
        self.write_button.clicked.connect(self.write_report)
        self.status = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Period"))
        bar.addWidget(self.period)
        bar.addWidget(QLabel("compared with"))
        bar.addWidget(self.compare)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        bar.addWidget(self.publication)
        bar.addWidget(self.write_button)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.status)
        lay.addWidget(scroll, 1)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._n = 0
        self._jobs: dict[int, _Job] = {}
        self.content: ReportContent | None = None
        self.reload_periods()

    def reload_periods(self) -> None:
        try:
            periods = record_periods(self.store, self.project)
        except AnnotationError:
            periods = []
        for combo, first in ((self.period, ALL), (self.compare, NONE)):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([first, *periods])
            if current in periods:
                combo.setCurrentText(current)
            combo.blockSignals(False)

    def _choice(self) -> tuple[str | None, str | None]:
        period = None if self.period.currentText() == ALL else self.period.currentText()
        compare = None if self.compare.currentText() == NONE else self.compare.currentText()
        return period, compare

    def _start(self, fn: Any, done: Any) -> None:
        self._n += 1
        job = _Job(self._n, fn)

        def on_done(n: int, result: Any) -> None:
            if n == self._n:
                done(result)

        def on_failed(n: int, message: str) -> None:
            if n == self._n:
                self._failed(message)

        job.signals.done.connect(on_done)
        job.signals.failed.connect(on_failed)
        self._jobs = {self._n: job}  # keep the newest job's signals alive
        self._busy(True)
        self._pool.start(job)

    def _busy(self, busy: bool) -> None:
        for w in (self.refresh_button, self.write_button, self.period, self.compare, self.publication):
            w.setEnabled(not busy)

    def _failed(self, message: str) -> None:
        self._busy(False)
        self.status.setText(message)
        self.message.emit(message)

    def refresh(self) -> None:
        self.reload_periods()
        period, compare = self._choice()
        self.status.setText("computing…")
        public = self.publication.isChecked()
        self._start(
            lambda: report_content(self.store, self.project, period=period, compare=compare, publication=public),
            self._show,
        )

    def _show(self, content: ReportContent) -> None:
        self._busy(False)
        self.content = content
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        for section in content.sections:
            title = QLabel(section.title)
            title.setStyleSheet("font-size: 15pt; font-weight: bold; margin-top: 12px;")
            self.body_layout.addWidget(title)
            for para in section.paragraphs:
                p = QLabel(para)
                p.setWordWrap(True)
                p.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.body_layout.addWidget(p)
            for t in section.tables:
                self.body_layout.addWidget(QLabel(f"<b>{t.title}</b>"))
                self.body_layout.addWidget(_with_loss(t))
                if t.note:
                    note = QLabel(t.note)
                    note.setWordWrap(True)
                    self.body_layout.addWidget(note)
            for f in section.figures:
                pic = QLabel()
                pix = QPixmap()
                pix.loadFromData(f.png, "PNG")
                pic.setPixmap(pix.scaledToWidth(760, Qt.TransformationMode.SmoothTransformation))
                pic.setObjectName(f.key)
                pic.setToolTip(f.caption)
                self.body_layout.addWidget(QLabel(f"<b>{f.title}</b>"))
                self.body_layout.addWidget(pic)
        self.body_layout.addStretch(1)
        self.status.setText(f"{content.meta.get('selection', '')}; {content.documents} coded document(s)")
        self.shown.emit()

    def write_report(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Write the report into…")
        if not folder:
            return
        period, compare = self._choice()
        public = self.publication.isChecked()
        out = Path(folder) / ("report-publication.html" if public else "report.html")
        self.status.setText(f"writing {out}…")
        self._start(
            lambda: build_report(
                self.store, self.project, out, period=period, compare=compare, pdf=True, publication=public
            ),
            self._written,
        )

    def _written(self, result: Any) -> None:
        self._busy(False)
        self.status.setText(f"report written: {result.html} (PDF {result.pdf.name}, data in {result.data_dir.name}/)")
        self.message.emit(f"report written: {result.html}")
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.html))):
            self.message.emit(f"report written: {result.html} (no program here opens HTML files)")

    def wait(self, ms: int = 60_000) -> bool:
        return bool(self._pool.waitForDone(ms))


class AnalysisView(QTabWidget):
    """Referrals (the report's sections) and agreement between coders, as sub-tabs."""

    def __init__(self, report: ReportView, agreement: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report, self.agreement = report, agreement
        self.addTab(report, "Referrals and time budgets")
        self.addTab(agreement, "Agreement between coders")
