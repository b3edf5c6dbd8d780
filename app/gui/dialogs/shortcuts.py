"""Changing the keyboard shortcuts: every action of the window with its key, edited in place, checked for
clashes, saved per user (``app.prefs``) and applied at once. Reset puts back the defaults."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app import prefs

PORTABLE = QKeySequence.SequenceFormat.PortableText
DEFAULT = "defaultShortcut"


def action_id(text: str) -> str:
    """A stable id for an action from its menu text ("Play / pause" -> "play-pause")."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("&", "")).strip("-")


def register(action: QAction) -> None:
    """Give an action its id and remember its built-in shortcut (before any preference changes it)."""
    if not action.objectName():
        action.setObjectName(action_id(action.text()))
    if action.property(DEFAULT) is None:
        action.setProperty(DEFAULT, action.shortcut().toString(PORTABLE))


def apply_overrides(
    actions: Sequence[QAction], overrides: dict[str, str] | None = None, reserved: Collection[str] = ()
) -> list[str]:
    """Set each action's shortcut from the saved preferences; returns the ids that named no action (kept,
    for a later version that has them) — an override that would clash with another action is skipped.

    Skipping one can make another clash (an override on L, and one on K that a new action's default K now
    takes, goes back to its default L), so overrides are given up until no key is left on two actions.
    ``reserved`` keys belong to other widgets of the window (a form's buttons): no override may take one."""
    overrides = prefs.shortcut_overrides() if overrides is None else overrides
    by_id = {a.objectName(): a for a in actions}
    default = {aid: str(a.property(DEFAULT) or "") for aid, a in by_id.items()}
    wanted = {aid: overrides.get(aid, default[aid]) for aid in by_id}
    taken = {QKeySequence(k).toString(PORTABLE) for k in reserved}
    while True:
        counts = Counter(v for v in wanted.values() if v)
        clashes = {k for k, n in counts.items() if n > 1} | (counts.keys() & taken)
        given_up = [aid for aid, key in wanted.items() if key in clashes and key != default[aid]]
        if not given_up:
            break
        for aid in given_up:  # each at most once: it then has its default
            wanted[aid] = default[aid]
    for aid, key in wanted.items():
        by_id[aid].setShortcut(QKeySequence.fromString(key, PORTABLE))
    return [k for k in overrides if k not in by_id]


class ShortcutsDialog(QDialog):
    """The table of actions and keys. Save checks for clashes (with each other and with ``reserved``: keys of
    other widgets of the window, to what they do), writes the preferences and applies them."""

    def __init__(
        self, actions: Sequence[QAction], parent: QWidget | None = None, *, reserved: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(parent)
        self._reserved = {QKeySequence(k).toString(PORTABLE): what for k, what in (reserved or {}).items()}
        self.setWindowTitle("Change keyboard shortcuts")
        self._actions = [a for a in actions if a.text()]
        self.table = QTableWidget(len(self._actions), 2, self)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.edits: dict[str, QKeySequenceEdit] = {}
        for row, a in enumerate(self._actions):
            item = QTableWidgetItem(a.text().replace("&", ""))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, 0, item)
            edit = QKeySequenceEdit(a.shortcut(), self.table)
            edit.setClearButtonEnabled(True)
            self.table.setCellWidget(row, 1, edit)
            self.edits[a.objectName()] = edit
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Click a shortcut and press the new keys (the × clears it)."))
        lay.addWidget(self.table)
        lay.addWidget(self.message)
        lay.addWidget(buttons)
        self.resize(560, 640)

    def restore_defaults(self) -> None:
        for a in self._actions:
            self.edits[a.objectName()].setKeySequence(QKeySequence.fromString(str(a.property(DEFAULT) or ""), PORTABLE))

    def chosen(self) -> dict[str, str]:
        return {aid: e.keySequence().toString(PORTABLE) for aid, e in self.edits.items()}

    def save(self) -> bool:
        chosen = self.chosen()
        names = {a.objectName(): a.text().replace("&", "") for a in self._actions}
        seen: dict[str, str] = {}
        for aid, key in chosen.items():
            if not key:
                continue
            if key in seen:
                self.message.setText(f"{key} is given to both {names[seen[key]]!r} and {names[aid]!r}: change one")
                return False
            if key in self._reserved:
                self.message.setText(f"{key} is taken by {self._reserved[key]!r}: give {names[aid]!r} another key")
                return False
            seen[key] = aid
        overrides = {aid: key for aid, key in chosen.items() if key != str(self._default(aid))}
        kept = {k: v for k, v in prefs.shortcut_overrides().items() if k not in self.edits}
        try:
            prefs.save_shortcut_overrides({**kept, **overrides})
        except OSError as exc:
            self.message.setText(f"cannot save the shortcuts: {exc}")
            return False
        apply_overrides(self._actions, overrides, self._reserved)
        self.accept()
        return True

    def _default(self, aid: str) -> str:
        a = next(a for a in self._actions if a.objectName() == aid)
        return str(a.property(DEFAULT) or "")


class CheatSheet(QDialog):
    """Every shortcut of the window at a glance (F1), with the way to change them."""

    changeRequested = Signal()

    def __init__(self, shortcuts: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        view = QTextBrowser(self)
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{t}</td></tr>" for t, k in shortcuts)
        view.setHtml(f"<table cellpadding=3>{rows}</table>")
        change = QPushButton("Change shortcuts…", self)
        change.clicked.connect(self._change)
        lay = QVBoxLayout(self)
        lay.addWidget(view)
        lay.addWidget(change)
        self.resize(420, 560)

    def _change(self) -> None:
        self.close()
        self.changeRequested.emit()
