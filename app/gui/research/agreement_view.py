"""Agreement between two coders, and their consensus: two tiers of the open document compared (Cohen's kappa
on matched segments with its confusion matrix, and ELAN's modified kappa), the disagreements side by side
(double-click one to play it in the Coding tab), a decision and a rationale for each, and a consensus tier
built from them as one undoable edit (the rationale of each kept as a note in the document)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotation.coding import (
    BuildConsensus,
    Comparison,
    Decision,
    TierAgreement,
    disagreements,
    elan_number,
    tier_agreement,
)
from annotation.errors import AnnotationError
from annotation.store import Store
from media_tools.clock import clock_text

KINDS = {"value": "values differ", "boundaries": "boundaries differ", "only_a": "only A", "only_b": "only B"}
TAKES = (("", "undecided"), ("a", "take A"), ("b", "take B"), ("neither", "neither"))


def _k(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3f}"


class AgreementView(QWidget):
    """``playRequested(start_ms, end_ms)``: show this span in the player; ``push(cmd)`` applies an edit
    through the window's undo stack and returns whether it was applied."""

    playRequested = Signal(int, int)
    message = Signal(str)

    def __init__(self, store: Store, push: Callable[[Any], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self._push = store, push
        self.doc_id: int | None = None
        self.tier_a, self.tier_b = QComboBox(), QComboBox()
        self.overlap = QDoubleSpinBox()
        self.overlap.setRange(51, 100)
        self.overlap.setValue(60)
        self.overlap.setSuffix(" %")
        self.overlap.setToolTip("Two segments are paired when they overlap by this much of the longer one")
        self.tolerance = QSpinBox()
        self.tolerance.setRange(0, 60_000)
        self.tolerance.setValue(500)
        self.tolerance.setSuffix(" ms")
        self.tolerance.setToolTip("Paired segments with the same value whose ends differ by more disagree")
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.compare)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.matrix = QTableWidget()
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list = QTableWidget(0, 7)
        self.list.setHorizontalHeaderLabels(["Kind", "From", "To", "Coder A", "Coder B", "Decision", "Rationale"])
        self.list.verticalHeader().hide()
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.list.cellDoubleClicked.connect(self._play)
        self.build_button = QPushButton("Build consensus tier…")
        self.build_button.setEnabled(False)
        self.build_button.clicked.connect(lambda: self.build())
        bar = QHBoxLayout()
        controls: list[QWidget] = [QLabel("Coder A tier"), self.tier_a, QLabel("Coder B tier"), self.tier_b]
        controls += [QLabel("overlap"), self.overlap, QLabel("tolerance"), self.tolerance, self.compare_button]
        for w in controls:
            bar.addWidget(w)
        bar.addStretch(1)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.addWidget(self.summary)
        tl.addWidget(self.matrix)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.addWidget(QLabel("Disagreements (double-click to play; pick a decision and give a rationale):"))
        bl.addWidget(self.list)
        bl.addWidget(self.build_button, 0, Qt.AlignmentFlag.AlignRight)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        self.result: TierAgreement | None = None
        self.comparison: Comparison | None = None

    def set_document(self, doc_id: int, coded_tiers: Sequence[str]) -> None:
        """The open document and its tiers that carry codes (a vocabulary)."""
        self.doc_id = doc_id
        for combo, pick in ((self.tier_a, 0), (self.tier_b, 1)):
            combo.clear()
            combo.addItems(list(coded_tiers))
            if len(coded_tiers) > pick:
                combo.setCurrentIndex(pick)
        self.list.setRowCount(0)
        self.summary.clear()
        self.build_button.setEnabled(False)

    def compare(self) -> bool:
        if self.doc_id is None:
            return False
        a, b = self.tier_a.currentText(), self.tier_b.currentText()
        try:
            self.result = tier_agreement(self.store, self.doc_id, a, b, min_overlap=self.overlap.value() / 100)
            self.comparison = disagreements(
                self.store,
                self.doc_id,
                a,
                b,
                min_overlap=self.overlap.value() / 100,
                tolerance_ms=self.tolerance.value(),
            )
        except AnnotationError as exc:
            self.summary.setText(str(exc))
            self.message.emit(str(exc))
            return False
        self._show(self.result, self.comparison)
        return True

    def _show(self, r: TierAgreement, c: Comparison) -> None:
        m, k = r.modified, r.cohen
        self.summary.setText(
            f"<b>{r.tier_a}</b> against <b>{r.tier_b}</b>: {len(r.matching.pairs)} pairs matched, "
            f"{len(r.matching.only_a)} only in A, {len(r.matching.only_b)} only in B.<br>"
            f"Cohen's kappa on matched segments: <b>{_k(k.kappa)}</b> (95% CI {_k(k.ci95[0])} to {_k(k.ci95[1])}; "
            f"raw agreement {_k(k.observed)}, kappa max {_k(k.kappa_max)}).<br>"
            f"ELAN's modified kappa, unmatched included: kappa_ipf {elan_number(m.kappa_ipf)}, kappa_max "
            f"{elan_number(m.kappa_max)}, raw agreement {elan_number(m.raw_agreement)}; excluded: kappa "
            f"{elan_number(m.kappa_excl)}, raw agreement {elan_number(m.raw_agreement_excl)}."
        )
        labels = list(m.labels)
        self.matrix.setRowCount(len(labels))
        self.matrix.setColumnCount(len(labels))
        self.matrix.setHorizontalHeaderLabels([f"B: {x}" for x in labels])
        self.matrix.setVerticalHeaderLabels([f"A: {x}" for x in labels])
        for i, row in enumerate(m.matrix):
            for j, n in enumerate(row):
                item = QTableWidgetItem(str(n))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.matrix.setItem(i, j, item)
        self.list.setRowCount(len(c.disagreements))
        for i, d in enumerate(c.disagreements):
            cells = (
                KINDS[d.kind],
                clock_text(d.start),
                clock_text(d.end),
                "" if d.a is None else f"{d.a.value}  {clock_text(d.a.start)}–{clock_text(d.a.end)}",
                "" if d.b is None else f"{d.b.value}  {clock_text(d.b.start)}–{clock_text(d.b.end)}",
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.list.setItem(i, j, item)
            take = QComboBox()
            for value, label in TAKES:
                if (value == "a" and d.a is None) or (value == "b" and d.b is None):
                    continue
                take.addItem(label, value)
            self.list.setCellWidget(i, 5, take)
            self.list.setCellWidget(i, 6, QLineEdit())
        self.build_button.setEnabled(bool(c.disagreements) or bool(c.agreed))

    def _play(self, row: int, _column: int = 0) -> None:
        if self.comparison is not None and 0 <= row < len(self.comparison.disagreements):
            d = self.comparison.disagreements[row]
            self.playRequested.emit(d.start, d.end)

    def decisions(self) -> dict[str, Decision]:
        """The decisions taken so far in the list (undecided rows are left out)."""
        out: dict[str, Decision] = {}
        if self.comparison is None:
            return out
        for i, d in enumerate(self.comparison.disagreements):
            take = self.list.cellWidget(i, 5)
            note = self.list.cellWidget(i, 6)
            assert isinstance(take, QComboBox) and isinstance(note, QLineEdit)
            if take.currentData():
                out[d.key] = Decision(take.currentData(), note.text().strip())
        return out

    def build(self, name: str | None = None) -> bool:
        if self.doc_id is None or self.comparison is None:
            return False
        if name is None:
            name, ok = QInputDialog.getText(self, "Consensus tier", "Name of the new tier:", text="Consensus")
            if not ok or not name.strip():
                return False
        c = self.comparison
        cmd = BuildConsensus(
            self.doc_id,
            self.tier_a.currentText(),
            self.tier_b.currentText(),
            self.decisions(),
            name.strip(),
            c.min_overlap,
            c.tolerance_ms,
            False,
        )
        if not self._push(cmd):
            return False
        res = cmd.result
        if res is not None:
            self.message.emit(
                f"consensus tier {res.tier!r}: {res.annotations} annotations ({res.agreed} agreed, "
                f"{res.settled} settled), {res.notes} rationale notes"
            )
        return True
