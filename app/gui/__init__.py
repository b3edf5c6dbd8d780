"""The desktop app (PySide6): the main window (with its menus and document loading), the player, the
timeline, dialogs, the research tabs and the consent review station. It reads and writes through service
functions of ``annotation`` and ``consent``, never through a database session of its own."""

from __future__ import annotations

from app.gui import launch
from app.gui.launch import ask_passphrase, pick_document, run_app

__all__ = ["ask_passphrase", "launch", "pick_document", "run_app"]
