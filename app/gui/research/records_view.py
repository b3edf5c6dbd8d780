"""The Referral records tab: the project's sampled referrals in a table, and a keyboard-friendly form to add
or change one (the scheme's vocabularies with type-ahead, yes/no/unknown answers, minutes to decision),
with a live warning when the free notes look like a name, address, date of birth or phone number. A record
can be linked to the annotation selected in the Coding tab (where that referral was observed).

There are no fields for a child's or family's name: the form cannot ask for what the database cannot hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotation.errors import AnnotationError
from annotation.identifiers import identifier_warnings
from annotation.records import RecordView, Vocabularies
from annotation.records import referrals as records
from annotation.store import Store

COLUMNS = ("id", "received", "period", "referrer", "concern", "response", "IA", "feedback", "linked")
SAVE_KEYS, NEW_KEYS = "Ctrl+Return", "Ctrl+N"  # the form's buttons (kept off the window's actions' keys)
UNKNOWN = "unknown"


def _yes_no(value: bool | None) -> str:
    return UNKNOWN if value is None else ("yes" if value else "no")


class _Choice(QComboBox):
    """A vocabulary field: pick or type (type-ahead, case-insensitive, contains). It starts empty: a required
    field must be chosen (never a silent default), an optional one may stay empty for 'not recorded'."""

    def __init__(self, values: tuple[str, ...], *, required: bool) -> None:
        super().__init__()
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItem("")
        self.addItems(list(values))
        if required:
            self.lineEdit().setPlaceholderText("required")
        completer = QCompleter(list(values), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompleter(completer)

    def value(self) -> str | None:
        return self.currentText().strip() or None

    def set_value(self, value: str | None) -> None:
        self.setCurrentText(value or "")


class _YesNo(QComboBox):
    def __init__(self) -> None:
        super().__init__()
        self.addItems([UNKNOWN, "yes", "no"])

    def value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.currentText())

    def set_value(self, value: bool | None) -> None:
        self.setCurrentText(_yes_no(value))


class RecordsView(QWidget):
    """The records of one project. ``linkRequested(record_id)`` asks the window to link the record to the
    annotation selected in the Coding tab; ``message(text)`` reports a saved record or a refusal."""

    linkRequested = Signal(int)
    message = Signal(str)

    def __init__(self, store: Store, project: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.project = store, project
        self.vocab: Vocabularies = records.load_vocabularies()
        self._editing: RecordView | None = None

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.currentCellChanged.connect(lambda row, *_: self._load_row(row))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter by period, referrer, concern or response…")
        self.filter.textChanged.connect(self._apply_filter)

        self.received = QDateTimeEdit(QDateTime.currentDateTime())
        self.received.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.received.setCalendarPopup(True)
        self.period = QLineEdit()
        self.period.setPlaceholderText("(from the date: e.g. 2026-Q4)")
        v = self.vocab
        self.referrer = _Choice(v.referrer_types, required=True)
        self.concern = _Choice(v.concerns, required=True)
        self.age_band = _Choice(v.age_bands, required=False)
        self.previous = QSpinBox()
        self.previous.setRange(-1, 999)
        self.previous.setSpecialValueText(UNKNOWN)
        self.previous.setValue(-1)
        self.response = _Choice(v.responses, required=False)
        self.outcome = _Choice(v.outcomes, required=False)
        self.minutes = QSpinBox()
        self.minutes.setRange(-1, records.MAX_DECISION_MINUTES)
        self.minutes.setSpecialValueText(UNKNOWN)
        self.minutes.setSuffix(" min")
        self.minutes.setValue(-1)
        self.assessment, self.feedback, self.manager = _YesNo(), _YesNo(), _YesNo()
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("what was said about the concern — never names, addresses or dates of birth")
        self.notes.setTabChangesFocus(True)
        self.notes.textChanged.connect(self._check_notes)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b00020;")

        form = QFormLayout()
        for label, w in (
            ("&Received", self.received),
            ("&Period", self.period),
            ("Referrer &type", self.referrer),
            ("&Concern", self.concern),
            ("Child's &age band", self.age_band),
            ("Pre&vious referrals", self.previous),
            ("Re&sponse", self.response),
            ("&Outcome", self.outcome),
            ("&Time to decision", self.minutes),
            ("&Initial assessment", self.assessment),
            ("&Feedback to referrer", self.feedback),
            ("&Manager consulted", self.manager),
            ("&Notes", self.notes),
        ):
            form.addRow(label, w)
        form.addRow("", self.warning)
        self.save_button = QPushButton("Save new record")
        self.save_button.setShortcut(SAVE_KEYS)
        self.save_button.clicked.connect(self.save)
        self.new_button = QPushButton("New")
        self.new_button.setShortcut(NEW_KEYS)
        self.new_button.clicked.connect(self.clear_form)
        self.link_button = QPushButton("Link to selected annotation")
        self.link_button.clicked.connect(self._link)
        self.link_button.setEnabled(False)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete)
        self.delete_button.setEnabled(False)
        buttons = QHBoxLayout()
        for b in (self.save_button, self.new_button, self.link_button, self.delete_button):
            buttons.addWidget(b)
        self.linked = QLabel()
        self.linked.setWordWrap(True)

        right = QWidget()
        rlay = QVBoxLayout(right)
        rlay.addLayout(form)
        rlay.addLayout(buttons)
        rlay.addWidget(self.linked)
        left = QWidget()
        llay = QVBoxLayout(left)
        llay.addWidget(self.filter)
        llay.addWidget(self.table)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([700, 500])
        QVBoxLayout(self).addWidget(split)
        self.rows: list[RecordView] = []
        self.reload()

    # ---- table --------------------------------------------------------------------------------------------

    def reload(self, select: int | None = None) -> None:
        try:
            self.rows = records.list_records(self.store, self.project)
        except AnnotationError as exc:
            self.message.emit(str(exc))
            self.rows = []
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            cells = (
                str(r.id),
                r.received_at.strftime("%Y-%m-%d %H:%M"),
                r.period,
                r.referrer_type,
                r.concern,
                r.response or "",
                _yes_no(r.initial_assessment),
                _yes_no(r.feedback),
                str(len(r.segments)) if r.segments else "",
            )
            for c, text in enumerate(cells):
                self.table.setItem(i, c, QTableWidgetItem(text))
        self.table.blockSignals(False)
        self._apply_filter()
        if select is not None:
            for i, r in enumerate(self.rows):
                if r.id == select:
                    self.table.selectRow(i)
                    self._load_row(i)

    def _apply_filter(self) -> None:
        needle = self.filter.text().strip().lower()
        for i, r in enumerate(self.rows):
            hay = " ".join((r.period, r.referrer_type, r.concern, r.response or "")).lower()
            self.table.setRowHidden(i, bool(needle) and needle not in hay)

    def _load_row(self, row: int) -> None:
        if not 0 <= row < len(self.rows):
            return
        r = self.rows[row]
        self._editing = r
        t = r.received_at
        self.received.setDateTime(QDateTime(t.year, t.month, t.day, t.hour, t.minute, t.second))
        self.period.setText(r.period)
        self.referrer.set_value(r.referrer_type)
        self.concern.set_value(r.concern)
        self.age_band.set_value(r.age_band)
        self.previous.setValue(-1 if r.previous_referrals is None else r.previous_referrals)
        self.response.set_value(r.response)
        self.outcome.set_value(r.outcome)
        self.minutes.setValue(-1 if r.decision_minutes is None else r.decision_minutes)
        self.assessment.set_value(r.initial_assessment)
        self.feedback.set_value(r.feedback)
        self.manager.set_value(r.manager_consulted)
        self.notes.setPlainText(r.notes or "")
        self.save_button.setText(f"Save record {r.id}")
        self.link_button.setEnabled(True)
        self.delete_button.setEnabled(True)
        self._show_links(r.id)

    def _show_links(self, record_id: int) -> None:
        try:
            segs = records.record_segments(self.store, record_id)
        except AnnotationError as exc:
            self.linked.setText(str(exc))
            return
        if not segs:
            self.linked.setText("Not linked to any video segment.")
            return
        parts = [
            f"document {s.document_id} {s.tier or ''} {s.value or ''} ({s.ann_id})" + ("" if s.present else " — gone")
            for s in segs
        ]
        self.linked.setText("Observed in: " + "; ".join(parts))

    # ---- the form -----------------------------------------------------------------------------------------

    def clear_form(self) -> None:
        self._editing = None
        self.table.clearSelection()
        self.received.setDateTime(QDateTime.currentDateTime())
        self.period.clear()
        for c in (self.referrer, self.concern, self.age_band, self.response, self.outcome):
            c.set_value(None)
        self.previous.setValue(-1)
        self.minutes.setValue(-1)
        for y in (self.assessment, self.feedback, self.manager):
            y.set_value(None)
        self.notes.clear()
        self.save_button.setText("Save new record")
        self.link_button.setEnabled(False)
        self.delete_button.setEnabled(False)
        self.linked.clear()
        self.received.setFocus()

    def values(self) -> dict[str, Any]:
        received: datetime = self.received.dateTime().toPython()  # type: ignore[assignment]
        return {
            "received_at": received,
            "period": self.period.text().strip() or None,
            "referrer_type": self.referrer.value(),
            "concern": self.concern.value(),
            "age_band": self.age_band.value(),
            "previous_referrals": None if self.previous.value() < 0 else self.previous.value(),
            "response": self.response.value(),
            "outcome": self.outcome.value(),
            "decision_minutes": None if self.minutes.value() < 0 else self.minutes.value(),
            "initial_assessment": self.assessment.value(),
            "feedback": self.feedback.value(),
            "manager_consulted": self.manager.value(),
            "notes": self.notes.toPlainText().strip() or None,
        }

    def _check_notes(self) -> None:
        found = identifier_warnings(self.notes.toPlainText())
        self.warning.setText("; ".join(w.message() for w in found[:3]) if found else "")

    def save(self) -> bool:
        values = self.values()
        try:
            if self._editing is None:
                if values["period"] is None:
                    del values["period"]  # taken from the date
                saved = records.add_record(self.store, self.project, values, vocab=self.vocab)
                what = f"record {saved.id} added"
            else:
                if values["period"] is None:
                    values["period"] = self._editing.period
                saved = records.edit_record(
                    self.store, self._editing.id, values, expected_version=self._editing.version, vocab=self.vocab
                )
                what = f"record {saved.id} saved"
        except AnnotationError as exc:
            self.message.emit(str(exc))
            return False
        if saved.warnings:
            what += " — check the notes: " + "; ".join(w.message() for w in saved.warnings[:3])
        self.message.emit(what)
        self.reload(select=saved.id)
        return True

    def _delete(self) -> None:
        if self._editing is None:
            return
        rid = self._editing.id
        try:
            records.delete_record(self.store, rid)
        except AnnotationError as exc:
            self.message.emit(str(exc))
            return
        self.message.emit(f"record {rid} deleted")
        self.clear_form()
        self.reload()

    def _link(self) -> None:
        if self._editing is not None:
            self.linkRequested.emit(self._editing.id)

    def link(self, document_id: int, ann_id: str) -> None:
        """Link the record being edited to an annotation (called by the window with its selection)."""
        if self._editing is None:
            return
        try:
            records.link_segment(self.store, self._editing.id, document_id, ann_id)
        except AnnotationError as exc:
            self.message.emit(str(exc))
            return
        self.message.emit(f"record {self._editing.id} linked to annotation {ann_id}")
        self.reload(select=self._editing.id)
