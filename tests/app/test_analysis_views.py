"""The Records, Analysis and Agreement views driven as a researcher would, on real stores: a record typed into
the form (an identifier in the notes warned about), the report's sections shown and written, two coders
compared with the disagreements side by side, and a consensus tier built and undone."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QTableWidget
from pytestqt.qtbot import QtBot

from annotation.coding.agreement import tier_agreement
from annotation.records.referrals import list_records, record_segments
from annotation.records.sample import store_sample
from annotation.report.builder import report_content
from annotation.services import document_display, ensure_project, new_document
from annotation.store.engine import Store
from app.gui.undo import StoreEdit
from tests.fixtures.coding import CODER_A, CODER_B, coded_document


def test_a_record_typed_into_the_form_is_stored_and_identifiers_are_warned_about(qtbot: QtBot, store: Store) -> None:
    from app.gui.research.records_view import RecordsView

    ensure_project(store, "Study")
    v = RecordsView(store, "Study")
    qtbot.addWidget(v)
    said: list[str] = []
    v.message.connect(said.append)
    assert v.table.rowCount() == 0
    v.save()  # nothing filled in
    assert said[-1] == "referrer_type: required"
    v.referrer.setCurrentText(v.vocab.referrer_types[0])
    v.concern.setCurrentText(v.vocab.concerns[0].upper())  # typed in capitals: the vocabulary's spelling is kept
    v.minutes.setValue(95)
    v.assessment.setCurrentText("yes")
    v.notes.setPlainText("school nurse rang back on 07700 900123 about the bruising")
    assert "phone" in v.warning.text() and "07700" not in v.warning.text()
    assert v.save()
    assert said[-1].startswith("record ") and "check the notes" in said[-1] and "07700" not in said[-1]
    (r,) = list_records(store, "Study")
    assert (r.referrer_type, r.concern, r.decision_minutes, r.initial_assessment, r.feedback) == (
        v.vocab.referrer_types[0],
        v.vocab.concerns[0],
        95,
        True,
        None,
    )
    assert v.table.rowCount() == 1 and v.save_button.text() == f"Save record {r.id}"
    # change it, link it to an annotation, delete it
    v.feedback.setCurrentText("no")
    assert v.save()
    assert list_records(store, "Study")[0].feedback is False
    doc = new_document(store, "referral", name="call", project_id=ensure_project(store, "Study"))
    from annotation.edits.commands import CreateAnnotation
    from annotation.services import apply_edit

    apply_edit(store, CreateAnnotation(doc, "Call phase", 0, 1000, "opening"))
    ann = document_display(store, doc)["Call phase"][0].ann_id
    asked: list[int] = []
    v.linkRequested.connect(asked.append)
    v.link_button.click()
    assert asked == [r.id]
    v.link(doc, ann)
    assert [s.ann_id for s in record_segments(store, r.id)] == [ann]
    assert "Observed in" in v.linked.text() and v.table.item(0, 8).text() == "1"
    v.delete_button.click()
    assert list_records(store, "Study") == [] and v.table.rowCount() == 0


@pytest.fixture
def sample(store: Store) -> Store:
    store_sample(store, "Sample", n=300, coded_documents=1)
    return store


def test_the_analysis_tab_shows_the_reports_sections_and_writes_it(
    qtbot: QtBot, sample: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtGui import QDesktopServices

    from app.gui.research.analysis_view import ReportView

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    v = ReportView(sample, "Sample")
    qtbot.addWidget(v)
    periods = [v.period.itemText(i) for i in range(v.period.count())]
    assert periods[0] == "all records" and len(periods) >= 3
    v.period.setCurrentIndex(1)
    v.compare.setCurrentIndex(2)
    with qtbot.waitSignal(v.shown, timeout=60_000):
        v.refresh()
    want = report_content(sample, "Sample", period=periods[1], compare=periods[2])
    tables = {t.key: t for s in want.sections for t in s.tables}
    shown = {w.objectName(): w for w in v.body.findChildren(QTableWidget)}
    assert set(shown) == set(tables)
    for key, t in tables.items():
        w = shown[key]
        assert w.rowCount() == len(t.rows)
        assert [[w.item(r, c).text() for c in range(w.columnCount())] for r in range(w.rowCount())] == [
            list(row) for row in t.rows
        ]
    # beside each table of counts, its information loss (issue 15)
    losses = {w.objectName(): w.text() for w in v.body.findChildren(QLabel) if w.objectName().endswith("_loss")}
    counted = {key for key, t in tables.items() if t.shown}
    assert counted >= {"table01_referrer_type", "table07a_referrer_by_response"}
    assert set(losses) == {f"{key}_loss" for key in counted}
    assert "referrals in cells shown" in losses["table07a_referrer_by_response_loss"]
    # the loss beside a table never squeezes it: every column is in sight (it showed two and a half)
    v.resize(1400, 900)
    v.show()
    qtbot.waitExposed(v)
    for key in counted:
        w = shown[key]
        assert w.width() >= sum(w.columnWidth(c) for c in range(w.columnCount())), key
    figures = {f.key for s in want.sections for f in s.figures}
    pictures = {w.objectName() for w in v.body.findChildren(QLabel) if w.pixmap() and not w.pixmap().isNull()}
    assert figures and figures <= pictures
    with qtbot.waitSignal(v.shown, timeout=60_000):
        v.publication.setChecked(True)  # the publication version: no plots
    qtbot.waitUntil(  # the research version's pictures go (deleted on the next turn of the event loop)
        lambda: not [w for w in v.body.findChildren(QLabel) if w.pixmap() and not w.pixmap().isNull()], timeout=5000
    )
    v.write_report(str(tmp_path))
    qtbot.waitUntil(lambda: bool(opened), timeout=120_000)
    assert opened == [str(tmp_path / "report-publication.html")]
    assert not list((tmp_path / "report-publication_data").glob("fig*"))
    opened.clear()
    with qtbot.waitSignal(v.shown, timeout=60_000):
        v.publication.setChecked(False)
    v.write_report(str(tmp_path))
    qtbot.waitUntil(lambda: bool(opened), timeout=120_000)
    assert opened == [str(tmp_path / "report.html")]
    assert (tmp_path / "report.pdf").stat().st_size > 10_000 and (tmp_path / "report_data").is_dir()


def test_two_coders_compared_and_a_consensus_built_and_undone(qtbot: QtBot, store: Store) -> None:
    from app.gui.research.agreement_view import AgreementView

    doc = coded_document(store, {"Coder A": CODER_A, "Coder B": CODER_B})
    stack = QUndoStack()
    errors: list[str] = []

    def push(cmd: object) -> bool:
        edit = StoreEdit(store, cmd, lambda *_: None, errors.append)  # type: ignore[arg-type]
        stack.push(edit)
        return not edit.failed

    v = AgreementView(store, push)
    qtbot.addWidget(v)
    v.set_document(doc, ["Coder A", "Coder B"])
    assert v.compare()
    want = tier_agreement(store, doc, "Coder A", "Coder B")
    assert f"<b>{want.cohen.kappa:.3f}</b>" in v.summary.text()
    assert v.list.rowCount() == 4  # value, boundaries, only A, only B
    kinds = [v.list.item(i, 0).text() for i in range(4)]
    assert sorted(kinds) == ["boundaries differ", "only A", "only B", "values differ"]
    played: list[tuple[int, int]] = []
    v.playRequested.connect(lambda a, b: played.append((a, b)))
    v.list.cellDoubleClicked.emit(0, 0)
    assert played == [(v.comparison.disagreements[0].start, v.comparison.disagreements[0].end)]
    for i in range(4):
        take = v.list.cellWidget(i, 5)
        assert isinstance(take, QComboBox)
        take.setCurrentIndex(take.findData("a") if take.findData("a") >= 0 else take.findData("neither"))
        note = v.list.cellWidget(i, 6)
        assert isinstance(note, QLineEdit)
        note.setText(f"agreed in the meeting, item {i + 1}")
    assert v.build("Consensus")
    tiers = document_display(store, doc)
    assert "Consensus" in tiers and "Consensus rationale" in tiers
    assert {s.value for s in tiers["Consensus rationale"]} >= {"agreed in the meeting, item 1"}
    stack.undo()
    assert "Consensus" not in document_display(store, doc)
    assert errors == []
