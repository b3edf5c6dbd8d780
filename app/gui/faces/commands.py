"""Face-track corrections on the window's undo stack. A ``TrackEditCommand`` runs one of
``annotation.faces``'s corrections (merge, split, fix a box, confirm frames) the first time it is done and
keeps the ``TrackEdit`` it returns: undo reverts that edit, redo applies it again, each committed at once.
Whose face a track is goes through ``consent.faces.assign_track`` both ways (each change in the audit log),
never by writing the track back behind the log's back."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from annotation.errors import AnnotationError
from annotation.faces import TrackEdit, redo, undo
from annotation.store import Store
from consent.errors import ConsentError
from consent.faces import assign_track


class TrackEditCommand(QUndoCommand):
    """One correction of face tracks. ``make()`` does it (committing) and returns its ``TrackEdit``;
    ``on_change()`` runs after each do, undo and redo; ``on_error(message)`` gets the one line when the
    store refuses it (the command then drops off the stack: nothing was changed)."""

    def __init__(
        self,
        text: str,
        store: Store,
        make: Callable[[], TrackEdit],
        on_change: Callable[[], None],
        on_error: Callable[[str], None],
    ) -> None:
        super().__init__(text)
        self._store, self._make, self._on_change, self._on_error = store, make, on_change, on_error
        self.edit: TrackEdit | None = None
        self.failed = False

    def redo(self) -> None:
        try:
            if self.edit is None:
                self.edit = self._make()
                self.setText(self.edit.description)
            else:
                redo(self._store, self.edit)
        except AnnotationError as exc:
            self._refuse(str(exc))
            return
        self._on_change()

    def undo(self) -> None:
        if self.edit is None:
            return
        try:
            undo(self._store, self.edit)
        except AnnotationError as exc:
            self._on_error(str(exc))
            return
        self._on_change()

    def _refuse(self, message: str) -> None:
        self.failed = True
        self.setObsolete(True)
        self._on_error(message)


class AssignCommand(QUndoCommand):
    """Say whose face a track is (``who`` None: nobody's); undo gives it back to whom it was, audited too."""

    def __init__(
        self,
        store: Store,
        track_id: int,
        who: int | None,
        was: int | None,
        on_change: Callable[[], None],
        on_error: Callable[[str], None],
    ) -> None:
        super().__init__(f"assign face track {track_id}")
        self._store, self._track, self._who, self._was = store, track_id, who, was
        self._on_change, self._on_error = on_change, on_error
        self.failed = False
        self._done = False

    def _set(self, who: int | None) -> bool:
        try:
            assign_track(self._store, self._track, who)
        except (ConsentError, AnnotationError) as exc:
            self._on_error(str(exc))
            return False
        self._on_change()
        return True

    def redo(self) -> None:
        if not self._set(self._who) and not self._done:
            self.failed = True
            self.setObsolete(True)
        self._done = True

    def undo(self) -> None:
        self._set(self._was)
