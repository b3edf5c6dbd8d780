"""Search every document of the project for a text; a double-click (or Enter) opens the document at the hit."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
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

from annotation.errors import AnnotationError
from annotation.store import SearchHit, Store, search_annotations
from app.gui.player import format_time

LIMIT = 500


class SearchDialog(QDialog):
    openRequested = Signal(int, str, int)  # document id, annotation id, start ms (-1: no time)

    def __init__(self, store: Store, project_id: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Search all documents")
        self._store = store
        self._project_id = project_id
        self.query = QLineEdit()
        self.query.setPlaceholderText("text in an annotation's value…")
        self.query.returnPressed.connect(self.run)
        self.whole_store = QCheckBox("every project")
        self.whole_store.setChecked(project_id is None)
        self.whole_store.setEnabled(project_id is not None)
        go = QPushButton("Search")
        go.clicked.connect(self.run)
        self.results = QTableWidget(0, 4)
        self.results.setHorizontalHeaderLabels(["Document", "Tier", "Start", "Value"])
        self.results.verticalHeader().hide()
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.results.cellActivated.connect(self._open)
        self.results.cellDoubleClicked.connect(self._open)
        self.summary = QLabel()
        self.hits: list[SearchHit] = []
        row = QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(self.whole_store)
        row.addWidget(go)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.results)
        lay.addWidget(self.summary)
        self.resize(760, 480)

    def run(self) -> None:
        project = None if self.whole_store.isChecked() else self._project_id
        try:
            self.hits, more = search_annotations(self._store, self.query.text(), project_id=project, limit=LIMIT)
        except AnnotationError as exc:
            self.summary.setText(str(exc))
            return
        self.results.setRowCount(len(self.hits))
        for r, h in enumerate(self.hits):
            start = "—" if h.start is None else format_time(h.start)
            for c, text in enumerate((h.doc_name, h.tier_id, start, h.value)):
                item = QTableWidgetItem(text)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.results.setItem(r, c, item)
        docs = len({h.doc_id for h in self.hits})
        n = len(self.hits)
        self.summary.setText(
            f"more than {LIMIT} matches: showing the first {LIMIT}, type more to narrow it"
            if more
            else f"{n} match{'es' if n != 1 else ''} in {docs} document{'s' if docs != 1 else ''}"
        )

    def _open(self, row: int, _column: int = 0) -> None:
        if 0 <= row < len(self.hits):
            h = self.hits[row]
            self.openRequested.emit(h.doc_id, h.ann_id, -1 if h.start is None else h.start)
