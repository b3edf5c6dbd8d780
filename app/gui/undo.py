"""Qt's undo stack over the store's edit commands: each ``QUndoCommand`` applies or reverts one
``annotation.edits.commands`` command, committed to the store at once (so killing the app loses nothing)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from annotation.edits import EditCommand, Touched
from annotation.errors import AnnotationError
from annotation.services import apply_edit, revert_edit
from annotation.store import Store


class StoreEdit(QUndoCommand):
    """One edit. ``on_change(doc_id, touched)`` runs after it is applied or reverted, with what the edit
    touched (views refresh only that); ``on_error(message)`` gets the one-line message when the store refuses
    it."""

    def __init__(
        self,
        store: Store,
        cmd: EditCommand,
        on_change: Callable[[int, Touched], None],
        on_error: Callable[[str], None],
    ) -> None:
        super().__init__(cmd.description)
        self._store = store
        self._cmd = cmd
        self._on_change = on_change
        self._on_error = on_error
        self.failed = False

    def redo(self) -> None:
        try:
            apply_edit(self._store, self._cmd)
        except AnnotationError as exc:
            self.failed = True
            self.setObsolete(True)  # nothing was changed: the stack drops it
            self._on_error(str(exc))
            return
        self._on_change(self._cmd.doc_id, self._cmd.touched)

    def undo(self) -> None:
        if self.failed:
            return
        try:
            revert_edit(self._store, self._cmd)
        except AnnotationError as exc:
            self._on_error(str(exc))
            return
        self._on_change(self._cmd.doc_id, self._cmd.touched)
