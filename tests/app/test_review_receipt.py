"""The review station's receipt: after a decision is recorded through the widgets, the participant sees what
they decided, on which version, when, and the chain head, which verifies against the store."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from consent import anchors
from consent.verification import verify_records
from tests.app.test_review_mode import ME, PROJECT, Station, media, station

__all__ = ["media", "station"]  # the fixtures, shared with the station's other tests


def _open(qtbot: object, station: Station) -> object:
    from app.gui.review.station import start_station

    w = start_station(station.store, ME, project=PROJECT)

    def let_go(w: object) -> None:  # as the passphrase would: the station refuses to close otherwise
        if w.isVisible():  # type: ignore[attr-defined]
            w._cleanup()  # type: ignore[attr-defined]
            w._leaving_ok = True  # type: ignore[attr-defined]

    qtbot.addWidget(w, before_close_func=let_go)  # type: ignore[attr-defined]
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    return w


def test_a_recorded_decision_shows_its_receipt(qtbot: object, station: Station) -> None:
    w = _open(qtbot, station)
    assert not w.receipt.isVisible()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: w.record_button.isEnabled(), timeout=60_000)  # type: ignore[attr-defined]
    yes = w.rows["research_team"].yes  # type: ignore[attr-defined]
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton, pos=QPoint(8, yes.height() // 2))  # type: ignore[attr-defined]
    qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    panel = w.receipt  # type: ignore[attr-defined]
    assert panel.isVisible() and panel.title.text() == "Receipt for your consent decision"
    body = panel.body.text().splitlines()
    assert "Participant: Worker Alpha" in body and "research team only: granted" in body
    assert any(line.startswith("Clip: clip 1: Taking the call, version 1 (") for line in body)
    head = anchors.parse_head(body[-1].removeprefix("Chain head: "))
    assert verify_records(station.store, heads=[head]).problem is None
