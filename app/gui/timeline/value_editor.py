"""The inline value editor: a line edit laid over an annotation on the timeline.

On a tier with a controlled vocabulary it completes what is typed from the vocabulary, case-insensitively and
anywhere in the value ("gath" offers "information gathering"); Enter takes the value typed when it is in the
vocabulary (in any case), else the first value that contains it, and refuses text that matches none. Picking a
completion commits it at once. On a free-text tier it takes the text as typed. Esc cancels, and so does
leaving the field (a click elsewhere), so a half-typed value is never stored by accident.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QStringListModel, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QLineEdit, QWidget


def resolve_value(text: str, vocabulary: tuple[str, ...]) -> str | None:
    """The vocabulary value ``text`` stands for: itself in any case, else the first value containing it;
    None when there is none. Free-text tiers (no vocabulary) take any text; an empty text clears a value."""
    if not vocabulary or not text.strip():
        return text.strip() if vocabulary else text
    folded = text.strip().casefold()
    for v in vocabulary:
        if v.casefold() == folded:
            return v
    return next((v for v in vocabulary if folded in v.casefold()), None)


class ValueEditor(QLineEdit):
    """One annotation's value being edited. ``committed(value)`` or ``cancelled()`` ends it; ``refused(line)``
    says why Enter did not commit (text outside the vocabulary) and leaves it open."""

    committed = Signal(str)
    cancelled = Signal()
    refused = Signal(str)

    def __init__(self, tier_id: str, ann_id: str, value: str, vocabulary: tuple[str, ...], parent: QWidget) -> None:
        super().__init__(value, parent)
        self.tier_id = tier_id
        self.ann_id = ann_id
        self.vocabulary = vocabulary
        self._done = False
        self.setFrame(True)
        self.selectAll()
        if vocabulary:
            completer = QCompleter(QStringListModel(list(vocabulary), self), self)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
            completer.setMaxVisibleItems(12)
            completer.activated.connect(self._picked)
            self.setCompleter(completer)
            self.setPlaceholderText("type to pick a value…")
        self.returnPressed.connect(self.commit)

    def commit(self) -> None:
        if self._done:
            return
        value = resolve_value(self.text(), self.vocabulary)
        if value is None:
            self.refused.emit(f"{self.text()!r}: not a value of the vocabulary of tier {self.tier_id!r}")
            return
        self._finish()
        self.committed.emit(value)

    def cancel(self) -> None:
        if not self._done:
            self._finish()
            self.cancelled.emit()

    def _picked(self, value: str) -> None:
        self.setText(value)
        self.commit()

    def _finish(self) -> None:
        self._done = True
        popup = self._popup()
        if popup is not None:
            popup.hide()
        self.hide()
        self.deleteLater()

    def _popup(self) -> QAbstractItemView | None:
        completer = self.completer()
        return completer.popup() if completer is not None else None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        # window shortcuts (Space, digits, S, M, ...) must not fire while a value is typed
        plain = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and event.modifiers() in plain:
            event.accept()
            return True
        return super().event(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        popup = self._popup()
        popup_open = popup is not None and popup.isVisible()
        if not popup_open and event.reason() != Qt.FocusReason.PopupFocusReason:
            self.cancel()
