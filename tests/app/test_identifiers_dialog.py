"""The sensitive-identifier review dialog, driven as a researcher would: scan on a worker thread, read the
text a proposal was found in, confirm over a narrower span, reject, and undo both on the window's stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtGui import QUndoStack
from pytestqt.qtbot import QtBot

from annotation.edits.base import EditCommand
from annotation.elan.scheme import SENSITIVE_TIER
from annotation.identifiers.watch_list import WatchEntry, add_watch_terms
from annotation.services import document_display, ensure_project
from annotation.store.engine import Store, open_store, sqlite_url
from app.gui.dialogs.identifiers import IdentifiersDialog
from app.gui.undo import StoreEdit
from tests.fixtures.transcripts import transcript_document, transcript_scheme


@pytest.fixture
def coded(tmp_path: Path) -> Iterator[tuple[Store, int]]:
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    pid = ensure_project(store, "Study")
    add_watch_terms(store, "Study", [WatchEntry("name", "Kayden", label="child name")])
    doc = transcript_document(
        store,
        transcript_scheme(tmp_path),
        [(1000, 3000, "mum says Kayden's school rang"), (4000, 20_000, "a long one: kayden again, ring 07700 900123")],
        project_id=pid,
    )
    yield store, doc
    store.close()


def test_scan_review_confirm_reject_and_undo(qtbot: QtBot, coded: tuple[Store, int]) -> None:
    store, doc = coded
    stack = QUndoStack()
    errors: list[str] = []

    def push(cmd: EditCommand) -> None:
        stack.push(StoreEdit(store, cmd, lambda *_: None, errors.append))

    d = IdentifiersDialog(store, doc, push=push)
    qtbot.addWidget(d)
    assert d.table.rowCount() == 0 and not d.confirm_button.isEnabled()
    d.scan()
    qtbot.waitUntil(lambda: d.scan_button.isEnabled() and d.table.rowCount() == 3, timeout=10_000)
    assert "3 new, 3 waiting for you" in d.summary.text()
    texts = [d.table.item(r, 6).text() for r in range(3)]
    assert texts[0] == "mum says «Kayden»'s school rang"
    assert "(long)" in d.table.item(1, 1).text()

    with qtbot.waitSignal(d.playRequested) as played:
        d.select(0)
        d.play()
    assert played.args == [1000, 3000]

    d.select(1)  # the long segment: narrowed before confirming
    d.start_edit.setText("0:05.000")
    d.end_edit.setText("5.6s")
    d.confirm()
    assert d.message.text().startswith("Proposal ") and "confirmed (annotation" in d.message.text()
    segs = document_display(store, doc)[SENSITIVE_TIER]
    assert [(s.start, s.end, s.value) for s in segs] == [(5000, 5600, "child name")]
    assert d.table.rowCount() == 2
    d.select(1)
    d.reject_selected()
    assert d.table.rowCount() == 1 and "rejected" in d.message.text()

    d.start_edit.setText("later")
    d.confirm()
    assert "span: use" in d.message.text()
    d.select(0)
    d.start_edit.setText("0:30")
    d.end_edit.setText("0:31")
    d.confirm()  # outside the segment: refused by the service, said in one line
    assert "does not overlap the annotation" in d.message.text() and d.table.rowCount() == 1

    stack.undo()  # the rejection
    stack.undo()  # the confirmation
    d.refresh()
    assert d.table.rowCount() == 3 and document_display(store, doc)[SENSITIVE_TIER] == []
    d.decided.setChecked(True)
    assert d.table.rowCount() == 3 and errors == []


def test_two_identifiers_of_one_segment_are_confirmed_as_one_annotation(qtbot: QtBot, coded: tuple[Store, int]) -> None:
    """A name and a phone number in one segment have the same span: the second confirmation joins the first
    (it was refused as an overlap), and undo on the window's stack takes back only the second."""
    store, doc = coded
    stack = QUndoStack()
    errors: list[str] = []

    def push(cmd: EditCommand) -> None:
        stack.push(StoreEdit(store, cmd, lambda *_: None, errors.append))

    d = IdentifiersDialog(store, doc, push=push)
    qtbot.addWidget(d)
    d.scan()
    qtbot.waitUntil(lambda: d.scan_button.isEnabled() and d.table.rowCount() == 3, timeout=10_000)
    made = []
    for _ in range(2):  # rows 1 and 2: the long segment's name and phone number, over the whole segment
        d.select(1)
        d.confirm()
        assert "confirmed (annotation" in d.message.text(), d.message.text()
        made.append(d.message.text().split("(annotation ")[1].rstrip(").").strip())
    assert made[0] == made[1] and d.table.rowCount() == 1 and errors == []
    segs = document_display(store, doc)[SENSITIVE_TIER]
    assert [(s.ann_id, s.start, s.end, s.value) for s in segs] == [(made[0], 4000, 20_000, "child name")]
    stack.undo()
    d.refresh()
    assert d.table.rowCount() == 2 and [
        (s.ann_id, s.start, s.end) for s in document_display(store, doc)[SENSITIVE_TIER]
    ] == [(made[0], 4000, 20_000)]
    stack.redo()
    d.refresh()
    assert d.table.rowCount() == 1 and errors == []
