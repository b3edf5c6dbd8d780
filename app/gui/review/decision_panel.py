"""The review station's deciding side, written for someone who has never seen the tool: what the clip is and
what is already hidden in it, one row per use (its question, who sees it, where and for how long, yes / no /
not now), the "blur me" box after the questions that ask for it, and how to change one's mind later. And the
page that asks before a participant leaves with nothing recorded."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.review.widgets import AreaPicker, ScopeRow
from consent.retention import policy as retention
from consent.scopes import SCOPES
from consent.station import explain, review


class DecisionPanel(QWidget):
    """The clip's description, the uses and the blur box (the station reads ``rows``, ``picker``,
    ``blur_from`` and ``blur_to``)."""

    def __init__(self, policy: retention.Policy | None = None) -> None:
        super().__init__()
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setTextFormat(Qt.TextFormat.PlainText)
        clips, exports = (policy.clips, policy.exports) if policy is not None else (None, None)
        self.rows = {scope: ScopeRow(scope, explain.use_text(scope, clips, exports)) for scope in SCOPES}
        self.picker = AreaPicker()
        self.blur_from = QDoubleSpinBox()
        self.blur_to = QDoubleSpinBox()
        for s in (self.blur_from, self.blur_to):
            s.setDecimals(1)
            s.setSuffix(" s")
        self.blur_box = QGroupBox(
            "If you want to be blurred: pause the clip where you are seen and draw a box round you"
        )
        bl = QGridLayout(self.blur_box)
        bl.addWidget(self.picker, 0, 0, 3, 1)
        bl.addWidget(QLabel("from"), 0, 1)
        bl.addWidget(self.blur_from, 0, 2)
        bl.addWidget(QLabel("to"), 1, 1)
        bl.addWidget(self.blur_to, 1, 2)
        clear_box = QPushButton("Clear the box")
        clear_box.clicked.connect(self.picker.clear_box)
        bl.addWidget(clear_box, 2, 1, 1, 2)
        self.mind = QLabel(explain.CHANGE_YOUR_MIND)  # the station shows it beside "Record my decision"
        self.mind.setWordWrap(True)
        self.mind.setStyleSheet("font-style: italic;")
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.about)
        for row in self.rows.values():
            lay.addWidget(row)
        lay.addWidget(self.blur_box)  # after the questions whose "only with me blurred" it answers

    def show_item(self, item: review.ReviewItem) -> None:
        """Say what the clip is and what it already hides; reset the rows to what is recorded on it."""
        self.title.setText(f"This clip: {explain.clip_title(item)}")
        self.about.setText(explain.clip_summary(item))
        for scope, row in self.rows.items():
            row.reset(item.decisions.get(scope))

    def unrecorded(self) -> bool:
        """Whether a choice is made that "Record my decision" has not recorded yet."""
        return any(r.touched() for r in self.rows.values())


class LeaveCheck(QWidget):
    """Asked when a participant leaves (Esc, Finish) with nothing recorded: back to the clips, or leave."""

    back = Signal()
    leave = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.question.setStyleSheet("font-size: 16pt;")
        self.question.setMaximumWidth(900)
        self.back_button = QPushButton("Back to my clips")
        self.leave_button = QPushButton("Leave without deciding")
        self.back_button.setDefault(True)
        self.back_button.clicked.connect(self.back)
        self.leave_button.clicked.connect(self.leave)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(self.question, 0, Qt.AlignmentFlag.AlignHCenter)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.leave_button)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        lay.addStretch(2)

    def ask(self, chosen_not_recorded: bool) -> None:
        self.question.setText(
            (
                "You have chosen answers but not recorded them: they are lost if you leave now."
                if chosen_not_recorded
                else "You have not recorded a decision on any clip yet."
            )
            + " Nothing is used without your decision; you can also decide another day with the researcher."
            "\n\nGo back to your clips, or leave without deciding?"
        )
        self.back_button.setFocus()
