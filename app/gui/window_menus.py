"""The main window's menus and actions: File, Edit, Play, Code and View with their shortcuts, the Coding
tab's actions switched off while another tab is shown, the cheat sheet (F1) and changing shortcuts.

``WindowMenus`` is a mixin of ``MainWindow``: it builds the menus over the window's widgets and slots.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

CODE_KEYS = "123456789"


def reserved_shortcuts() -> dict[str, str]:
    """Keys of the window's widgets that are not its actions (the records form's buttons, the report's
    Refresh, the recent documents), to what they do: a changed shortcut may not take one of them (Qt would
    fire neither)."""
    from app.gui.recent_menu import recent_keys
    from app.gui.research import NEW_KEYS, REFRESH_KEYS, SAVE_KEYS

    out = {SAVE_KEYS: "Save record (Referral records)", NEW_KEYS: "New record (Referral records)"}
    out[REFRESH_KEYS] = "Refresh (Analysis)"
    out.update({recent_keys(i): f"Open recent document {i}" for i in range(1, 10)})
    return out


class WindowMenus:
    """``MainWindow``'s menus and actions (a mixin: the window holds the widgets and the slots)."""

    def _action(
        self, text: str, keys: str | QKeySequence.StandardKey, slot: Any, menu: Any, *, coding: bool = False
    ) -> QAction:
        a = QAction(text, self)
        a.setShortcut(QKeySequence(keys))
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(slot)
        menu.addAction(a)
        self.addAction(a)
        self._actions.append(a)
        if coding:
            self._coding_actions.append(a)
        return a

    def _on_tab(self, index: int) -> None:
        """The Coding tab's actions work only while it is shown: their keys (digits, S, M, Delete, Space, the
        arrows) belong to the Referral records and Analysis tabs' own tables, lists and buttons there, and
        would otherwise code, split, delete or play in the Coding tab out of sight."""
        for a in self._coding_actions:
            a.setEnabled(index == 0)

    def _build_actions(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action("Open ELAN file…", "Ctrl+O", self.open_eaf, f)
        self._action("Export ELAN file…", "Ctrl+E", self.export_eaf, f)
        self._action("Export clips (consent gate)…", "Ctrl+Shift+E", self.open_export_dialog, f)
        self._action("Consent review station…", "Ctrl+Shift+R", self.open_review_station, f)
        self._action("Search all documents…", "Ctrl+Shift+F", self.open_search, f)
        self._action("Find sensitive identifiers…", "Ctrl+Shift+I", self.open_identifiers, f)
        self._action("Relink media…", "Ctrl+Shift+L", self.relink_media, f)
        from app.gui.recent_menu import RecentMenu

        self.recent_menu = RecentMenu(self.store.label, lambda: self.doc_id, self._exists, f, self._describe)
        self.recent_menu.openRequested.connect(lambda d: self.open_at(d, "", -1))
        self.recent_menu.gone.connect(self.show_error)
        f.addMenu(self.recent_menu)
        self._action("Quit", "Ctrl+Q", self.close, f)
        e = bar.addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.undo_stack.createRedoAction(self, "Redo")
        redo.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        for a in (undo, redo):
            e.addAction(a)
            self.addAction(a)
            self._actions.append(a)
        self._action("Delete annotation", "Delete", self.delete_selected, e, coding=True)
        self._action("Edit value…", "F2", self.edit_value, e, coding=True)
        self._action("Split annotation at playhead", "S", self.split_at_playhead, e, coding=True)
        self._action("Merge annotation with next", "M", self.merge_with_next, e, coding=True)
        p = bar.addMenu("&Play")
        self._action("Play / pause", "Space", self.player.toggle, p, coding=True)
        self._action("Next frame", "Right", lambda: self.player.step(1), p, coding=True)
        self._action("Previous frame", "Left", lambda: self.player.step(-1), p, coding=True)
        self._action("Forward 1 s", "Shift+Right", lambda: self.player.jump(1000), p, coding=True)
        self._action("Back 1 s", "Shift+Left", lambda: self.player.jump(-1000), p, coding=True)
        self._action("Forward 5 s", "Ctrl+Right", lambda: self.player.jump(5000), p, coding=True)
        self._action("Back 5 s", "Ctrl+Left", lambda: self.player.jump(-5000), p, coding=True)
        self._action("Faster", "]", lambda: self.player.set_rate(self.player.rate * 1.25), p, coding=True)
        self._action("Slower", "[", lambda: self.player.set_rate(self.player.rate / 1.25), p, coding=True)
        self._action("Normal speed", "=", lambda: self.player.set_rate(1.0), p, coding=True)
        self._action("Loop selection", "L", self.toggle_loop, p, coding=True)
        self._action("Volume up", "Ctrl+Up", lambda: self.player.set_volume(self.player.volume + 10), p, coding=True)
        self._action(
            "Volume down", "Ctrl+Down", lambda: self.player.set_volume(self.player.volume - 10), p, coding=True
        )
        c = bar.addMenu("&Code")
        for i, k in enumerate(CODE_KEYS, 1):
            self._action(f"Code value {i} (start / end)", k, lambda _=False, i=i: self.code_key(i), c, coding=True)
            self._action(
                f"Point event, value {i}",
                f"Shift+{k}",
                lambda _=False, i=i: self.code_key(i, point=True),
                c,
                coding=True,
            )
        v = bar.addMenu("&View")
        self._action("Zoom in", "Ctrl+=", lambda: self.timeline.zoom(2.0, self.player.position_ms()), v, coding=True)
        self._action("Zoom out", "Ctrl+-", lambda: self.timeline.zoom(0.5, self.player.position_ms()), v, coding=True)
        self._action("Coding tab", "Alt+1", lambda: self.tabs.setCurrentIndex(0), v)
        self._action("Referral records tab", "Alt+2", lambda: self.tabs.setCurrentIndex(1), v)
        self._action("Analysis tab", "Alt+3", lambda: self.tabs.setCurrentIndex(2), v)
        self._action("Faces panel", "Ctrl+Shift+K", self.toggle_faces, v)
        self._action("Keyboard shortcuts", "F1", self.show_shortcuts, v)

    def shortcuts(self) -> list[tuple[str, str]]:
        return [(a.text(), a.shortcut().toString()) for a in self._actions if not a.shortcut().isEmpty()]

    def show_shortcuts(self) -> None:
        from app.gui.dialogs import CheatSheet

        d = CheatSheet(self.shortcuts(), self)
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.changeRequested.connect(self.change_shortcuts)
        d.show()

    def change_shortcuts(self) -> None:
        from app.gui.dialogs import ShortcutsDialog

        d = ShortcutsDialog(self._actions, self, reserved=reserved_shortcuts())
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.show()
