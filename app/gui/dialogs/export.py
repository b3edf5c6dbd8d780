"""The export dialog over the consent gate: pick a scope and clips, see which are usable and why the others
are not, export with a progress bar per clip and a cancel button. The work runs on a worker thread through
``consent.export.gate.export_clips`` (the only way out); the window stays responsive."""

from __future__ import annotations

import contextlib
import threading
import traceback
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from annotation.errors import AnnotationError
from annotation.store import Store, user_data_dir
from app.gui.dates import show_days
from app.gui.worker import deliver
from consent.conditions import ExportContext
from consent.errors import ConsentError
from consent.export import Planned, export_clips, plan
from consent.scopes import LABELS, SCOPES
from media_tools.errors import MediaError
from media_tools.ffmpeg_bin import Progress

_FIT = QHeaderView.ResizeMode.ResizeToContents


class _Signals(QObject):
    progress = Signal(int, float)  # row, fraction
    finished = Signal(object)  # ExportReport
    failed = Signal(str)


class _ExportJob(QRunnable):
    def __init__(self, store: Store, kwargs: dict[str, Any], cancel: threading.Event) -> None:
        super().__init__()
        self.signals = _Signals()
        self._store, self._kwargs, self._cancel = store, kwargs, cancel

    def run(self) -> None:
        def on_progress(i: int, p: Progress) -> None:
            deliver(self.signals.progress, i, p.fraction)

        try:
            report = export_clips(self._store, progress=on_progress, cancel=self._cancel, **self._kwargs)
        except (ConsentError, MediaError, AnnotationError) as exc:
            deliver(self.signals.failed, str(exc))
            return
        except Exception as exc:  # a bug: logged with its traceback; the dialog must not wait for ever
            log = user_data_dir() / "frontdoor.log"
            with contextlib.suppress(OSError), log.open("a", encoding="utf-8") as f:
                f.write(traceback.format_exc())
            deliver(self.signals.failed, f"internal error: {type(exc).__name__}: {exc} (traceback in {log})")
            return
        deliver(self.signals.finished, report)


class ExportDialog(QDialog):
    exported = Signal(object)

    def __init__(self, store: Store, parent: Any = None, *, folder: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export clips")
        self.store = store
        self.cancel_event = threading.Event()
        self.scope = QComboBox()
        for s in SCOPES:
            self.scope.addItem(LABELS[s], s)
        self.audience = QLineEdit()
        self.audience.setPlaceholderText("audience or event (written on every frame)")
        self.internal = QCheckBox("the audience is inside the authority")
        self.expires_on = QCheckBox("use ends on")
        self.expires = QDateEdit(date.today())
        self.expires.setCalendarPopup(True)
        show_days(self.expires)  # 6 Dec 2026, not 6 12 2026
        self.folder = QLineEdit(str(folder or ""))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        self.clips = QTreeWidget()
        self.clips.setHeaderLabels(["Clip", "Version", "Usable", "Why not", "Progress"])
        self.clips.setRootIsDecorated(False)
        self.clips.setWordWrap(True)
        head = self.clips.header()
        head.setStretchLastSection(False)
        for col, mode in enumerate((_FIT, _FIT, _FIT, QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.Fixed)):
            head.setSectionResizeMode(col, mode)
        head.resizeSection(4, 110)  # a bar needs no more; the reasons get the room
        self.status = QLabel()
        self.export_button = QPushButton("Export usable clips")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        form = QFormLayout()
        form.addRow("Use", self.scope)
        form.addRow("Audience", self.audience)
        form.addRow("", self.internal)
        row = QHBoxLayout()
        row.addWidget(self.expires_on)
        row.addWidget(self.expires)
        form.addRow("Expiry", row)
        frow = QHBoxLayout()
        frow.addWidget(self.folder)
        frow.addWidget(browse)
        form.addRow("Folder", frow)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.clips)
        lay.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        lay.addLayout(buttons)
        self._bars: dict[int, QProgressBar] = {}
        self._rows: list[Planned] = []
        self._row_ids: list[int] = []
        for w in (self.scope, self.internal, self.expires_on):
            sig = getattr(w, "currentIndexChanged", None) or w.toggled
            sig.connect(self.refresh)
        self.expires.dateChanged.connect(self.refresh)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_event.set)
        self.resize(1000, 520)
        self.refresh()

    def context(self) -> ExportContext:
        exp = self.expires.date().toPython() if self.expires_on.isChecked() else None
        return ExportContext(self.scope.currentData(), datetime.now(UTC).date(), self.internal.isChecked(), exp)  # type: ignore[arg-type]

    def refresh(self) -> None:
        """Show, for the chosen use, which clips may go and who stands in the way of the others."""
        self._rows = plan(self.store, self.context())
        self.clips.clear()
        self._bars.clear()
        for p in self._rows:
            item = QTreeWidgetItem(
                [
                    f"{p.clip_id}: {p.clip_name}",
                    f"v{p.version_number}",
                    "yes" if p.usable else "no",
                    "; ".join(p.reasons),
                ]
            )
            item.setForeground(2, Qt.GlobalColor.darkGreen if p.usable else Qt.GlobalColor.darkRed)
            for col in (0, 3):
                item.setToolTip(col, item.text(col))
            self.clips.addTopLevelItem(item)
            if p.usable:
                bar = QProgressBar()
                bar.setRange(0, 100)
                bar.setValue(0)
                self.clips.setItemWidget(item, 4, bar)
                self._bars[p.clip_id] = bar
        usable = sum(p.usable for p in self._rows)
        self.status.setText(f"{usable} of {len(self._rows)} clips may be exported for {LABELS[self.context().scope]}")
        self.export_button.setEnabled(usable > 0)

    def _choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to")
        if d:
            self.folder.setText(d)

    def start(self) -> None:
        folder = self.folder.text().strip()
        if not folder or not Path(folder).is_dir():
            self.status.setText("choose an existing folder to export to")
            return
        ctx = self.context()
        self.cancel_event.clear()
        self._busy(True)
        job = _ExportJob(
            self.store,
            {
                "scope": ctx.scope,
                "folder": folder,
                "audience": self.audience.text().strip() or None,
                "internal_audience": ctx.internal_audience,
                "expires": ctx.expires,
            },
            self.cancel_event,
        )
        # the gate numbers its progress by its plan, which lists every clip in the order shown here
        self._row_ids = [p.clip_id for p in self._rows]
        # slots of the dialog, not lambdas: Qt drops them with the dialog, closed (and deleted) while exporting
        job.signals.progress.connect(self._progress_row)
        job.signals.finished.connect(self._done)
        job.signals.failed.connect(self._failed)
        self._job = job  # keep the signals alive
        QThreadPool.globalInstance().start(job)
        self.status.setText("exporting…")

    def _progress_row(self, row: int, fraction: float) -> None:
        self._progress(self._row_ids[row] if row < len(self._row_ids) else -1, fraction)

    def _progress(self, clip_id: int, fraction: float) -> None:
        bar = self._bars.get(clip_id)
        if bar is not None:
            bar.setValue(round(fraction * 100))

    def _busy(self, busy: bool) -> None:
        for w in (self.scope, self.audience, self.internal, self.expires_on, self.expires, self.folder):
            w.setEnabled(not busy)
        self.export_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def closeEvent(self, event: Any) -> None:
        self.cancel_event.set()  # an export running on the worker stops and deletes its partial file
        super().closeEvent(event)

    def _done(self, report: Any) -> None:
        self._busy(False)
        for x in report.exported:
            bar = self._bars.get(x["clip"])
            if bar is not None:
                bar.setValue(100)
        self.status.setText(
            f"{len(report.exported)} exported, {len(report.skipped)} held back — {report.folder} "
            f"(manifest {report.manifest.name})"
        )
        self.exported.emit(report)

    def _failed(self, message: str) -> None:
        self._busy(False)
        self.status.setText(message)
