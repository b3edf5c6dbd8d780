"""The review station's receipt: after a decision is recorded, what was decided, on which clip version,
when, and the audit entry with the chain's head (``consent.forms.receipt_lines``, the words of the printed
receipt), on screen for the participant to note or photograph."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from consent.decisions import RecordedSet, ScopeDecision
from consent.forms import Receipt, decision_receipt, receipt_lines
from consent.station import review


class ReceiptPanel(QFrame):
    """A framed block holding the latest receipt; hidden until a decision is recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("receipt")
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(
            "Your receipt: the researcher can print it for you (frontdoor consent receipt ENTRY). "
            "The chain head proves later that your decision is still recorded as you made it."
        )
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addWidget(self.note)
        self.hide()

    def show_receipt(self, receipt: Receipt) -> None:
        lines = receipt_lines(receipt)
        self.title.setText(lines[0])
        self.body.setText("\n".join(lines[1:]))
        self.show()

    def show_recorded(
        self, me: review.Reviewer, item: review.ReviewItem, wanted: list[ScopeDecision], done: RecordedSet
    ) -> None:
        """The receipt of decisions the station just recorded on ``item``."""
        if done.head is None:
            return
        self.show_receipt(
            decision_receipt(
                me.project,
                me.pseudonym,
                f"clip {item.clip_id}: {item.label}",
                f"version {item.version_number} ({item.version_hash[:12]})",
                [(d.scope, d.decision, d.conditions) for d in wanted],
                done.entry_ids,
                done.head,
            )
        )

    def clear(self) -> None:
        self.title.clear()
        self.body.clear()
        self.hide()
