"""Opening an ELAN file in the window that needs repairs shows them once, in the window's message bar."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from pytestqt.qtbot import QtBot

from annotation.elan.repairs import DUPLICATE_ANNOTATION_ID, NO_HEADER
from annotation.services import new_document
from annotation.store.engine import open_store, sqlite_url
from app.gui.main_window import MainWindow
from tests.annotation.test_eaf_repairs import make


def test_opening_a_repaired_file_shows_its_repairs_once(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    try:
        first = new_document(store, "referral", name="call 1")
        w = MainWindow(store, first)
        qtbot.addWidget(w)
        broken = tmp_path / "from another tool.eaf"
        broken.write_text(make(header="", ids=("a1", "a2", "a1", "a2", "a5", "a6")), encoding="utf-8")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(broken), ""))
        w.open_eaf()
        assert w.doc_id != first
        text = w.message.text()
        assert text.startswith(f"repaired while opening {broken}: {NO_HEADER} (once)")
        assert f"{DUPLICATE_ANNOTATION_ID} (2 times)" in text
        # a valid file opened next says nothing of repairs
        valid = tmp_path / "valid.eaf"
        valid.write_text(make(), encoding="utf-8")
        w.message.setText("")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(valid), ""))
        w.open_eaf()
        assert "repaired" not in w.message.text()
        w.close()
    finally:
        store.close()


def test_a_time_before_the_media_start_is_shown_with_its_sign(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A negative time is kept, and the annotations table shows it as it is (it showed -4400 ms as
    -1:59:55.600)."""
    from PySide6.QtWidgets import QFileDialog

    from tests.annotation.test_eaf_repairs import SLOTS

    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    try:
        w = MainWindow(store, new_document(store, "referral", name="call 1"))
        qtbot.addWidget(w)
        path = tmp_path / "early.eaf"
        path.write_text(make(slots={**SLOTS, "ts1": "-4400"}), encoding="utf-8")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
        w.open_eaf()
        m = w.table_model
        cells = {m.data(m.index(r, 4)): (m.data(m.index(r, 1)), m.data(m.index(r, 2))) for r in range(m.rowCount())}
        assert cells["hello"] == ("-00:04.400", "00:01.000")
        w.close()
    finally:
        store.close()
