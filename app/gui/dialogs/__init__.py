"""The main window's dialogs: exporting clips through the consent gate, reviewing sensitive identifiers,
searching every document, and the keyboard shortcuts (cheat sheet and changing them)."""

from __future__ import annotations

from app.gui.dialogs.export import ExportDialog
from app.gui.dialogs.identifiers import IdentifiersDialog
from app.gui.dialogs.search import SearchDialog
from app.gui.dialogs.shortcuts import CheatSheet, ShortcutsDialog, apply_overrides, register

__all__ = [
    "CheatSheet",
    "ExportDialog",
    "IdentifiersDialog",
    "SearchDialog",
    "ShortcutsDialog",
    "apply_overrides",
    "register",
]
