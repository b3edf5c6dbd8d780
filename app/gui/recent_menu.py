"""File > Open recent: the documents last opened from this store, numbered Ctrl+Alt+1-9; one that is gone
from the store is dropped from the list when picked (and said so), never opened half-way."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from app import prefs


def recent_keys(n: int) -> str:
    """The key of the n-th recent document (1-9)."""
    return f"Ctrl+Alt+{n}"


class RecentMenu(QMenu):
    openRequested = Signal(int)
    gone = Signal(str)

    def __init__(
        self,
        store_label: str,
        current: Callable[[], int],
        exists: Callable[[int], bool],
        parent: QWidget | None,
        describe: Callable[[int], tuple[str, str | None] | None] | None = None,
    ) -> None:
        """``describe(doc_id)`` gives (name, project) from the store, for entries kept by id only (an
        encrypted store's: the list is a plain file)."""
        super().__init__("Open recent", parent)
        self._label, self._current, self._exists, self._describe = store_label, current, exists, describe
        self.aboutToShow.connect(self.fill)

    def fill(self) -> None:
        self.clear()
        entries = [e for e in prefs.recent_documents(self._label) if e.get("doc_id") != self._current()]
        if not entries:
            self.addAction("(none yet)").setEnabled(False)
            return
        for i, e in enumerate(entries[:9], 1):
            name, project = e.get("name"), e.get("project")
            if name is None and self._describe is not None:
                name, project = self._describe(int(e["doc_id"])) or (None, None)
            a = self.addAction(f"&{i} {project or '—'}: {name or 'document ' + str(e['doc_id'])}")
            a.setShortcut(QKeySequence(recent_keys(i)))
            a.triggered.connect(lambda _=False, d=int(e["doc_id"]): self._open(d))

    def _open(self, doc_id: int) -> None:
        if not self._exists(doc_id):
            prefs.forget_document(self._label, doc_id)
            self.gone.emit(f"document {doc_id}: no longer in the store (removed from the recent list)")
            return
        self.openRequested.emit(doc_id)
