"""The researcher's window, driven like a user would: code with the keyboard, undo, redo, filter, and the
store holds every edit the moment it is made (even when the app is killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QTextBrowser

from annotation.services import add_recording, document_display, ensure_project, new_document
from annotation.store.engine import Store, open_store, sqlite_url
from media_tools.probe import probe
from media_tools.synth import make_coded_recording


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_recording(tmp_path_factory.mktemp("app") / "duty room.mp4", seconds=6)


@pytest.fixture
def coded_store(tmp_path: Path, media: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, int]:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    store = open_store(sqlite_url(tmp_path / "store.sqlite"))
    info = probe(media)
    rid = add_recording(store, ensure_project(store, "Study"), media, duration_ms=info.duration_ms, fps=info.fps)
    doc = new_document(store, "referral", name="call 1", recording_id=rid)
    return store, doc


def _call_phase(store: Store, doc: int) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.value) for s in document_display(store, doc).get("Call phase", [])]


def test_code_a_segment_with_the_keyboard_then_undo_and_redo(qtbot: object, coded_store: tuple[Store, int]) -> None:
    from app.gui.main_window import MainWindow

    store, doc = coded_store
    w = MainWindow(store, doc)
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.show()
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    w.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)  # type: ignore[attr-defined]
    w.timeline.setFocus()
    w.coding_tier.setCurrentIndex(w.coding_tier.findData("Call phase"))
    first_value = w.coding_keys.text().split("   ")[0][2:]
    w.player.seek(1000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_1)  # type: ignore[attr-defined]
    assert "press 1 again to end" in w.message.text()
    w.player.seek(2000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_1)  # type: ignore[attr-defined]
    assert _call_phase(store, doc) == [(1000, 2000, first_value)]
    assert w.table_model.rowCount() == 1
    qtbot.keyClick(w.timeline, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert _call_phase(store, doc) == []
    assert w.table_model.rowCount() == 0
    qtbot.keyClick(w.timeline, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)  # type: ignore[attr-defined]
    assert _call_phase(store, doc) == [(1000, 2000, first_value)]
    # a point event: one frame at the playhead
    w.player.seek(3000)
    qtbot.keyClick(w.timeline, Qt.Key.Key_2, Qt.KeyboardModifier.ShiftModifier)  # type: ignore[attr-defined]
    assert _call_phase(store, doc)[1][:2] == (3000, 3040)
    # the table filters by text
    w.text_filter.setText(first_value[:4])
    assert w.table_filter.rowCount() == 1


def test_every_action_has_a_shortcut_and_the_cheat_sheet_lists_them(
    qtbot: object, coded_store: tuple[Store, int]
) -> None:
    from app.gui.main_window import MainWindow

    store, doc = coded_store
    w = MainWindow(store, doc)
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    keys = dict(w.shortcuts())
    for action, key in [
        ("Play / pause", "Space"),
        ("Next frame", "Right"),
        ("Undo", "Ctrl+Z"),
        ("Keyboard shortcuts", "F1"),
    ]:
        assert keys[action] == key
    # every action in every menu has a key, and the cheat sheet lists each one
    # (a submenu's own entry, such as "Open recent", is not an action; the recent documents in it are
    # numbered Ctrl+Alt+1-9 and listed by name, not in the sheet)
    in_menus = [
        a
        for m in w.menuBar().findChildren(QMenu)
        if m is not w.recent_menu
        for a in m.actions()
        if a.text() and a.menu() is None
    ]
    assert len(in_menus) > 30
    assert [a.text() for a in in_menus if a.shortcut().isEmpty()] == []
    w.show_shortcuts()
    (sheet,) = [d for d in w.findChildren(QDialog) if d.windowTitle() == "Keyboard shortcuts"]
    listed = sheet.findChild(QTextBrowser).toPlainText()
    for a in in_menus:
        assert a.text() in listed and a.shortcut().toString() in listed, a.text()


def test_a_refused_edit_is_one_line_in_the_window(qtbot: object, coded_store: tuple[Store, int]) -> None:
    from annotation.edits.commands import CreateAnnotation
    from app.gui.main_window import MainWindow

    store, doc = coded_store
    w = MainWindow(store, doc)
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    assert not w.push(CreateAnnotation(doc, "Call phase", 2000, 1000, "x"))
    assert w.message.text() == "end 1000 ms: must be after start 2000 ms"
    assert w.undo_stack.count() == 0


KILLED = textwrap.dedent(
    """
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["FRONTDOOR_NO_AUDIO"] = "1"
    from PySide6.QtWidgets import QApplication, QDialog, QMenu, QTextBrowser
    from annotation.store.engine import open_store, sqlite_url
    from app.gui.main_window import MainWindow
    app = QApplication([])
    w = MainWindow(open_store(sqlite_url(sys.argv[1])), int(sys.argv[2]))
    w.coding_tier.setCurrentIndex(w.coding_tier.findData("Call phase"))
    for i in range(3):
        w.player.seek(1000 * i + 100)
        w.code_key(1)
        w.player.seek(1000 * i + 600)
        w.code_key(1)
    print("coded", flush=True)
    time.sleep(60)
    """
)


def test_killing_the_app_loses_no_edit(coded_store: tuple[Store, int], tmp_path: Path) -> None:
    store, doc = coded_store
    db = str(store.engine.url.database)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, db, str(doc)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "coded"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    reopened = open_store(sqlite_url(db))
    assert [(a, b) for a, b, _ in _call_phase(reopened, doc)] == [(100, 600), (1100, 1600), (2100, 2600)]


def test_screenshot_from_the_command_line(coded_store: tuple[Store, int], tmp_path: Path) -> None:
    store, doc = coded_store
    out = tmp_path / "window.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FRONTDOOR_NO_AUDIO="1")
    url = store.engine.url.render_as_string(hide_password=False)
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "--db", url, "app", "--doc", str(doc), "--screenshot", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert img.width() >= 1000 and img.height() >= 600


def test_codes_on_one_tier_exclude_each_other(qtbot: object, coded_store: tuple[Store, int]) -> None:
    from app.gui.main_window import MainWindow

    store, doc = coded_store
    w = MainWindow(store, doc)
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.coding_tier.setCurrentIndex(w.coding_tier.findData("Call phase"))
    values = [part[2:] for part in w.coding_keys.text().split("   ")]
    for ms, n in [(1000, 1), (1500, 2), (2500, 2)]:
        w.player.seek(ms)
        w.code_key(n)
    # starting code 2 ended code 1 where 2 began: no overlap on the tier
    assert _call_phase(store, doc) == [(1000, 1500, values[0]), (1500, 2500, values[1])]
    # a code left open is dropped when the coding tier changes, not carried into another tier
    w.player.seek(3000)
    w.code_key(1)
    w.coding_tier.setCurrentIndex(w.coding_tier.findData("Referrer type"))
    assert w.coder.open == {}
    said = f"not coded: {values[0]!r} from 00:00:03.000 (the coding tier changed before it was ended)"
    assert w.message.text() == said


def test_shortcuts_stay_in_the_main_window(qtbot: object, coded_store: tuple[Store, int]) -> None:

    from app.gui.main_window import MainWindow

    store, doc = coded_store
    w = MainWindow(store, doc)
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.show()
    w.coding_tier.setCurrentIndex(w.coding_tier.findData("Call phase"))
    w.show_shortcuts()
    (sheet,) = [d for d in w.findChildren(QDialog) if d.windowTitle() == "Keyboard shortcuts"]
    qtbot.waitExposed(sheet)  # type: ignore[attr-defined]
    sheet.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is sheet, timeout=3000)  # type: ignore[attr-defined]
    qtbot.keyClick(sheet, Qt.Key.Key_1)  # type: ignore[attr-defined]
    assert w.coder.open == {}
    assert "Export clips (consent gate)…" in dict(w.shortcuts())
