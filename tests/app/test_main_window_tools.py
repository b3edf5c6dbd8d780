"""The window's tools, driven as a researcher would: the transport bar, changing a shortcut (kept for the
next session, clashes refused), searching every document and opening a hit, the recent documents, looping
the selected annotation, and relinking a moved recording by its hash."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QPushButton
from pytestqt.qtbot import QtBot

from annotation.edits.commands import CreateAnnotation
from annotation.services import add_recording, apply_edit, ensure_project, new_document
from annotation.store.engine import Store, open_store, sqlite_url, user_data_dir
from app import prefs
from app.gui.main_window import MainWindow
from app.gui.window_menus import reserved_shortcuts
from media_tools.probe import probe
from media_tools.synth import make_coded_recording


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, int, int, Path]:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    (tmp_path / "media").mkdir()
    media = make_coded_recording(tmp_path / "media" / "duty room.mp4", seconds=4)
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    pid = ensure_project(store, "Study")
    rid = add_recording(store, pid, media, duration_ms=probe(media).duration_ms)
    first = new_document(store, "referral", name="call 1", recording_id=rid, project_id=pid)
    second = new_document(store, "referral", name="call 2", recording_id=rid, project_id=pid)
    apply_edit(store, CreateAnnotation(first, "Call phase", 500, 1500, "opening"))
    apply_edit(store, CreateAnnotation(second, "Call phase", 2000, 3000, "closing"))
    return store, first, second, media


def _window(qtbot: QtBot, store: Store, doc: int) -> MainWindow:
    w = MainWindow(store, doc)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)
    w.timeline.setFocus()
    return w


def test_the_transport_bar_drives_the_player_and_shows_the_clock(qtbot: QtBot, study: tuple) -> None:
    store, first, _, _ = study
    w = _window(qtbot, store, first)
    bar = w.transport
    w.player.seek(1000)
    assert bar.clock.text() == "00:00:01.000  frame 25"
    qtbot.mouseClick(bar.buttons["next-frame"], Qt.MouseButton.LeftButton)
    assert w.player.position_ms() == 1040 and bar.clock.text().endswith("frame 26")
    qtbot.mouseClick(bar.buttons["back-1-s"], Qt.MouseButton.LeftButton)
    assert w.player.position_ms() == 40
    bar.rate.setValue(0.5)
    assert w.player.rate == 0.5
    qtbot.keyClick(w.timeline, Qt.Key.Key_BracketRight)  # faster, from the keyboard: the box follows
    assert bar.rate.value() == pytest.approx(0.625, abs=0.006)
    bar.volume.setValue(40)
    assert w.player.volume == 40
    qtbot.keyClick(w.timeline, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert bar.volume.value() == 50
    assert "(Space)" in bar.buttons["play-pause"].toolTip()


def test_a_changed_shortcut_is_kept_for_the_next_session_and_clashes_are_refused(qtbot: QtBot, study: tuple) -> None:
    from app.gui.dialogs.shortcuts import ShortcutsDialog

    store, first, _, _ = study
    w = _window(qtbot, store, first)
    d = ShortcutsDialog(w._actions, w)
    qtbot.addWidget(d)
    d.edits["next-frame"].setKeySequence(QKeySequence("Space"))  # already play / pause
    assert not d.save()
    assert "Space is given to both 'Play / pause' and 'Next frame'" in d.message.text()
    assert not (user_data_dir() / "shortcuts.json").exists()
    d.edits["next-frame"].setKeySequence(QKeySequence("."))
    assert d.save()
    assert json.loads((user_data_dir() / "shortcuts.json").read_text()) == {"next-frame": "."}
    assert dict(w.shortcuts())["Next frame"] == "."
    assert "(.)" in w.transport.buttons["next-frame"].toolTip()
    w.player.seek(1000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_Period)
    assert w.player.position_ms() == 1040
    # a new session has it too; restoring the defaults gives Right back
    w2 = _window(qtbot, store, first)
    assert dict(w2.shortcuts())["Next frame"] == "."
    d2 = ShortcutsDialog(w2._actions, w2)
    qtbot.addWidget(d2)
    d2.restore_defaults()
    assert d2.save()
    assert dict(w2.shortcuts())["Next frame"] == "Right"
    assert json.loads((user_data_dir() / "shortcuts.json").read_text()) == {}


def test_the_cheat_sheet_leads_to_changing_the_shortcuts(qtbot: QtBot, study: tuple) -> None:
    store, first, _, _ = study
    w = _window(qtbot, store, first)
    w.show_shortcuts()
    (sheet,) = [d for d in w.findChildren(QDialog) if d.windowTitle() == "Keyboard shortcuts"]
    (button,) = sheet.findChildren(QPushButton)
    button.click()
    qtbot.waitUntil(
        lambda: any(d.windowTitle() == "Change keyboard shortcuts" for d in w.findChildren(QDialog)), timeout=3000
    )


def test_search_every_document_and_open_a_hit(qtbot: QtBot, study: tuple) -> None:
    from app.gui.dialogs.search import SearchDialog

    store, first, second, _ = study
    w = _window(qtbot, store, first)
    w.open_search()
    (d,) = w.findChildren(SearchDialog)
    d.query.setText("CLOS")
    qtbot.keyClick(d.query, Qt.Key.Key_Return)
    assert d.summary.text() == "1 match in 1 document"
    assert [d.results.item(0, c).text() for c in range(4)] == ["call 2", "Call phase", "00:00:02.000", "closing"]
    d.results.cellDoubleClicked.emit(0, 0)
    assert w.doc_id == second and w.player.position_ms() == 2000
    assert w._selected_segment() is not None and w._selected_segment().value == "closing"


def test_recent_documents_reopen_and_the_app_starts_on_the_last_one(qtbot: QtBot, study: tuple) -> None:
    from app.gui.launch import pick_document

    store, first, second, _ = study
    w = _window(qtbot, store, first)
    w.open_at(second, "", -1)
    assert pick_document(store, None, None) == second  # the last one opened, not the newest by id alone
    w.recent_menu.aboutToShow.emit()
    (entry,) = w.recent_menu.actions()
    assert entry.text() == "&1 Study: call 1" and entry.shortcut().toString() == "Ctrl+Alt+1"
    entry.trigger()
    assert w.doc_id == first
    assert pick_document(store, None, None) == first


def test_an_encrypted_stores_recent_documents_keep_no_names_beside_it(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recent list is a plain file: an encrypted store's documents are kept in it by id only, and the menu
    reads their names from the store (found by review: a document and project name naming a family were
    written there in clear)."""
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    store = open_store(sqlite_url(tmp_path / "encrypted.sqlite"), passphrase="a long passphrase")
    try:
        pid = ensure_project(store, "Smith family study")
        first = new_document(store, "referral", name="Kayden Smith referral call", project_id=pid)
        second = new_document(store, "referral", name="second call", project_id=pid)
        # a list written before, with names in it
        prefs.remember_document(store.label, first, "Kayden Smith referral call", "Smith family study")
        w = _window(qtbot, store, first)
        w.open_at(second, "", -1)
        text = (user_data_dir() / "recent.json").read_text(encoding="utf-8")
        assert "Kayden" not in text and "Smith" not in text and "second call" not in text
        w.recent_menu.aboutToShow.emit()
        (entry,) = w.recent_menu.actions()
        assert entry.text() == "&1 Smith family study: Kayden Smith referral call"
        entry.trigger()
        assert w.doc_id == first
    finally:
        store.close()


def test_loop_the_selected_annotation(qtbot: QtBot, study: tuple) -> None:
    store, first, _, _ = study
    w = _window(qtbot, store, first)
    qtbot.keyClick(w.timeline, Qt.Key.Key_L)
    assert "select an annotation to loop" in w.message.text()
    w.table.selectRow(0)
    qtbot.keyClick(w.timeline, Qt.Key.Key_L)
    assert w.player.loop == (500, 1500) and w.player.position_ms() == 500
    qtbot.keyClick(w.timeline, Qt.Key.Key_L)
    assert w.player.loop is None


def test_relink_a_moved_recording_from_the_window(
    qtbot: QtBot, study: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    store, first, _, media = study
    moved = tmp_path / "new disk" / "renamed ü.mp4"
    moved.parent.mkdir()
    shutil.move(media, moved)
    w = _window(qtbot, store, first)
    assert "media file not found" in w.message.text()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "new disk"))
    w.relink_media()
    assert w.player.path == str(moved.resolve())
    assert w.message.text().startswith("relinked duty room.mp4")


def test_saved_shortcuts_that_clash_with_a_later_default_never_leave_two_actions_on_one_key(qtbot: QtBot) -> None:
    """Saved by a version without the "Keyframe" action: split on L and loop on K. The new default K takes K
    back from loop, whose default L was split's override: split and loop both ended up on L."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QWidget

    from app.gui.dialogs.shortcuts import apply_overrides, register

    owner = QWidget()
    qtbot.addWidget(owner)
    actions = []
    for text, key in (("Split annotation at playhead", "S"), ("Loop selection", "L"), ("Keyframe", "K")):
        a = QAction(text, owner)
        a.setShortcut(QKeySequence(key))
        register(a)
        actions.append(a)
    apply_overrides(actions, {"split-annotation-at-playhead": "L", "loop-selection": "K"})
    keys = [a.shortcut().toString() for a in actions]
    assert keys == ["S", "L", "K"]  # every override given up that had to be, each action on a key of its own
    apply_overrides(actions, {"split-annotation-at-playhead": "X", "loop-selection": "K"})
    assert [a.shortcut().toString() for a in actions] == ["X", "L", "K"]  # an override that clashes with nothing stays


def test_ctrl_alt_1_reopens_the_previous_document_without_opening_the_menu_first(qtbot: QtBot, study: tuple) -> None:
    """The recent documents' actions were made when File > Open recent was first shown: until then Ctrl+Alt+1
    did nothing, and afterwards it kept the list of that moment."""
    store, first, second, _ = study
    w = _window(qtbot, store, first)
    w.open_at(second, "", -1)
    ctrl_alt = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
    qtbot.keyClick(w.timeline, Qt.Key.Key_1, ctrl_alt)
    assert w.doc_id == first
    qtbot.keyClick(w.timeline, Qt.Key.Key_1, ctrl_alt)
    assert w.doc_id == second


def test_a_shortcut_cannot_take_a_key_of_the_records_form_or_the_recent_documents(qtbot: QtBot, study: tuple) -> None:
    """Ctrl+N was accepted for 'Search all documents…': in the Referral records tab it then clashed with the
    form's New button (Ctrl+N), and Qt fired neither ("Ambiguous shortcut overload"). A saved override on
    such a key (an older version, a hand-edited file) is given up too."""
    from app.gui.dialogs.shortcuts import ShortcutsDialog

    store, first, _, _ = study
    w = _window(qtbot, store, first)
    d = ShortcutsDialog(w._actions, w, reserved=reserved_shortcuts())
    qtbot.addWidget(d)
    d.edits["search-all-documents"].setKeySequence(QKeySequence("Ctrl+N"))
    assert not d.save()
    assert "Ctrl+N is taken by 'New record (Referral records)'" in d.message.text()
    d.edits["search-all-documents"].setKeySequence(QKeySequence("Ctrl+Alt+3"))
    assert not d.save() and "'Open recent document 3'" in d.message.text()
    prefs.save_shortcut_overrides({"search-all-documents": "Ctrl+N", "next-frame": "."})
    w2 = _window(qtbot, store, first)
    keys = dict(w2.shortcuts())
    assert keys["Search all documents…"] == "Ctrl+Shift+F" and keys["Next frame"] == "."
