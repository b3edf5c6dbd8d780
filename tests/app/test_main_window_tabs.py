"""The window's research tabs: referral records linked to what was coded, the report's sections, two coders
compared (a disagreement played in the Coding tab) and a consensus tier that appears on the timeline and
goes again on undo; a document outside any project says so."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from annotation.records.referrals import list_records, record_segments
from annotation.records.sample import store_sample
from annotation.services import document_display, new_document
from annotation.store.engine import Store
from app.gui.main_window import MainWindow
from tests.fixtures.coding import CODER_A, CODER_B, coded_document


def _trigger(w: MainWindow, text: str) -> None:
    (a,) = [a for a in w._actions if a.text() == text]
    a.trigger()


def test_records_are_linked_to_the_annotation_selected_in_coding(qtbot: QtBot, store: Store) -> None:
    sample = store_sample(store, "Sample", n=40, coded_documents=1)
    doc = sample.documents[0]
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    w.table.selectRow(0)
    seg = w._selected_segment()
    assert seg is not None
    _trigger(w, "Referral records tab")
    assert w.tabs.currentIndex() == 1
    view = w.research.records
    assert view is not None and view.table.rowCount() == len(list_records(store, "Sample")) == 40
    view.table.selectRow(3)
    rid = view.rows[3].id
    view.link_button.click()
    assert [(s.document_id, s.ann_id) for s in record_segments(store, rid)][-1] == (doc, seg.ann_id)


def test_the_analysis_tab_and_a_consensus_on_the_timeline(qtbot: QtBot, store: Store) -> None:
    doc = coded_document(store, {"Coder A": CODER_A, "Coder B": CODER_B})
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    rows_before = [r.tier_id for r in w._tiers]
    _trigger(w, "Analysis tab")
    page = w.research.analysis_page
    assert page.view is None and "belongs to no project" in page.none.text()  # the report is per project
    ag = w.research.agreement
    assert {"Coder A", "Coder B"} <= {ag.tier_a.itemText(i) for i in range(ag.tier_a.count())}
    ag.tier_a.setCurrentText("Coder A")
    ag.tier_b.setCurrentText("Coder B")
    assert ag.compare() and ag.list.rowCount() == 4
    ag.list.cellDoubleClicked.emit(1, 0)  # played in the Coding tab, looping
    d = ag.comparison.disagreements[1]
    assert w.tabs.currentIndex() == 0 and w.player.loop == (d.start, d.end)
    w.player.pause()
    for i in range(4):
        take = ag.list.cellWidget(i, 5)
        assert isinstance(take, QComboBox)
        take.setCurrentIndex(1)
        note = ag.list.cellWidget(i, 6)
        assert isinstance(note, QLineEdit)
        note.setText("settled at the coders' meeting")
    assert ag.build("Consensus")
    new_rows = [r.tier_id for r in w._tiers if r.tier_id not in rows_before]
    assert new_rows[:2] == ["Consensus", "Consensus rationale"]  # laid out again: the tiers came
    assert len(w.timeline.segments_in("Consensus", 0, 60_000)) == len(document_display(store, doc)["Consensus"])
    w.undo_stack.undo()
    assert "Consensus" not in [r.tier_id for r in w._tiers]
    assert "Consensus" not in document_display(store, doc)
    w.undo_stack.redo()
    assert "Consensus" in [r.tier_id for r in w._tiers]


def test_a_document_in_a_project_shows_its_report(qtbot: QtBot, store: Store) -> None:
    sample = store_sample(store, "Sample", n=60, coded_documents=1)
    w = MainWindow(store, sample.documents[0])
    qtbot.addWidget(w)
    _trigger(w, "Analysis tab")
    analysis = w.research.analysis
    assert analysis is not None
    with qtbot.waitSignal(analysis.report.shown, timeout=60_000):
        pass
    titles = [lbl.text() for lbl in analysis.report.body.findChildren(QLabel)]
    assert any("referred" in t.lower() for t in titles)
    # another document outside the project: the tabs follow it
    other = new_document(store, "referral", name="loose")
    w.open_at(other, "", -1)
    assert w.research.project is None and w.research.analysis_page.view is None


def test_the_coding_keys_do_nothing_in_the_other_tabs(qtbot: QtBot, store: Store) -> None:
    """Keys typed in the Referral records tab's table and buttons went to the Coding tab's actions out of
    sight: 1 1 coded a segment, Delete deleted the annotation selected in Coding, S and M split and merged,
    Space played the video instead of pressing the button that had the focus."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    sample = store_sample(store, "Sample", n=10, coded_documents=1)
    doc = sample.documents[0]
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)
    w.coding_tier.setCurrentIndex(0)
    w.table.selectRow(0)
    before = document_display(store, doc)
    _trigger(w, "Referral records tab")
    view = w.research.records
    assert view is not None
    view.table.setFocus()
    view.table.selectRow(2)
    for key in (Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_Delete, Qt.Key.Key_S, Qt.Key.Key_M, Qt.Key.Key_Space):
        qtbot.keyClick(view.table, key)
    view.new_button.setFocus()
    with qtbot.waitSignal(view.new_button.clicked, timeout=1000):
        qtbot.keyClick(view.new_button, Qt.Key.Key_Space)  # the focused button is pressed
    assert w.undo_stack.count() == 0 and not w.player.is_playing()
    assert document_display(store, doc) == before
    # back in Coding the keys work again
    _trigger(w, "Coding tab")
    w.timeline.setFocus()
    w.player.seek(500)
    qtbot.keyClick(w.timeline, Qt.Key.Key_1, Qt.KeyboardModifier.ShiftModifier)
    assert w.undo_stack.count() == 1


def test_sensitive_identifiers_from_the_file_menu_and_undo(qtbot: QtBot, store: Store) -> None:
    from annotation.edits.commands import CreateAnnotation
    from annotation.elan.scheme import SENSITIVE_TIER
    from annotation.services import apply_edit
    from app.gui.dialogs.identifiers import IdentifiersDialog

    doc = new_document(store, "referral", name="call with a phone number")
    apply_edit(store, CreateAnnotation(doc, "Notes", 1000, 3000, "mum's mobile is 07700 900123"))
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    _trigger(w, "Find sensitive identifiers…")
    (d,) = w.findChildren(IdentifiersDialog)
    d.scan()
    assert d.wait()
    qtbot.waitUntil(lambda: len(d.rows) == 1, timeout=30_000)
    assert document_display(store, doc).get(SENSITIVE_TIER, []) == []  # nothing confirmed by the scan
    d.select(0)
    d.confirm()
    assert [(s.start, s.end) for s in document_display(store, doc)[SENSITIVE_TIER]] == [(1000, 3000)]
    assert len(w.timeline.segments_in(SENSITIVE_TIER, 0, 5000)) == 1  # the window shows it at once
    w.undo_stack.undo()
    assert document_display(store, doc).get(SENSITIVE_TIER, []) == []
    w.open_at(new_document(store, "referral", name="another"), "", -1)
    qtbot.waitUntil(lambda: not w.findChildren(IdentifiersDialog), timeout=3000)  # it reviewed the other one
