"""The transport bar under the video: buttons for the window's play actions (so each shows its shortcut in
its tooltip and a changed shortcut follows), the playback rate, the volume and the clock with the frame."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from app.gui.player.widget import MAX_RATE, MIN_RATE, PlayerWidget, format_time

# action id -> button text (plain symbols every font has)
BUTTONS = (
    ("back-5-s", "«5s"),
    ("back-1-s", "«1s"),
    ("previous-frame", "◂|"),
    ("play-pause", "▶"),
    ("next-frame", "|▸"),
    ("forward-1-s", "1s»"),
    ("forward-5-s", "5s»"),
    ("loop-selection", "⟲"),
)


class TransportBar(QWidget):
    def __init__(self, player: PlayerWidget, actions: Mapping[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._player = player
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        self.buttons: dict[str, QToolButton] = {}
        self._actions = dict(actions)
        for aid, text in BUTTONS:
            action = actions.get(aid)
            if action is None:
                continue
            b = QToolButton(self)
            b.setText(text)
            b.setProperty("action", action.objectName())
            b.clicked.connect(action.trigger)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys keep going to the timeline
            self.buttons[aid] = b
            lay.addWidget(b)
        self._sync_tooltips()
        for a in actions.values():
            a.changed.connect(self._sync_tooltips)
        lay.addSpacing(12)
        self.rate = QDoubleSpinBox(self)
        self.rate.setRange(MIN_RATE, MAX_RATE)
        self.rate.setSingleStep(0.1)
        self.rate.setDecimals(2)
        self.rate.setSuffix("×")
        self.rate.setValue(player.rate)
        self.rate.setToolTip("Playback rate (the pitch is kept)")
        self.rate.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.rate.valueChanged.connect(self._rate_changed)
        lay.addWidget(QLabel("Rate"))
        lay.addWidget(self.rate)
        lay.addSpacing(12)
        self.volume = QSlider(Qt.Orientation.Horizontal, self)
        self.volume.setRange(0, 100)
        self.volume.setValue(player.volume)
        self.volume.setMaximumWidth(110)
        self.volume.setToolTip("Volume")
        self.volume.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume.valueChanged.connect(player.set_volume)
        lay.addWidget(QLabel("Vol"))
        lay.addWidget(self.volume)
        lay.addStretch(1)
        self.clock = QLabel("00:00:00.000  frame 0")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.clock.setFont(mono)
        lay.addWidget(self.clock)
        player.positionChanged.connect(self._on_position)
        player.playingChanged.connect(self._on_playing)
        player.rateChanged.connect(self._on_rate)
        player.volumeChanged.connect(self._on_volume)

    def _sync_tooltips(self) -> None:
        for aid, b in self.buttons.items():
            a = self._actions[aid]
            key = a.shortcut().toString()
            b.setToolTip(f"{a.text()} ({key})" if key else a.text())

    def _rate_changed(self, value: float) -> None:
        if abs(value - self._player.rate) > 1e-6:
            self._player.set_rate(value)

    def _on_rate(self, rate: float) -> None:
        if abs(self.rate.value() - rate) > 1e-6:
            self.rate.blockSignals(True)
            self.rate.setValue(rate)
            self.rate.blockSignals(False)

    def _on_volume(self, volume: int) -> None:
        if self.volume.value() != volume:
            self.volume.blockSignals(True)
            self.volume.setValue(volume)
            self.volume.blockSignals(False)

    def _on_playing(self, playing: bool) -> None:
        b = self.buttons.get("play-pause")
        if b is not None:
            b.setText("❚❚" if playing else "▶")

    def _on_position(self, ms: int) -> None:
        self.clock.setText(f"{format_time(ms)}  frame {self._player.frame_at_position()}")
