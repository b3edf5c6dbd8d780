"""The review station read as a duty social worker who has never seen the tool: each use explained with how
long it lasts (from the project's retention policy), the clip titled in words and what it already hides, only
the conditions that fit each use, dates that cannot be misread, the decision button in sight, and a question
before leaving with nothing decided."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QScrollArea

from consent.retention import policy
from consent.station import explain, review
from tests.app import test_review_mode as review_mode
from tests.app.test_review_mode import ME, PROJECT, Station, _let_go

# the review tests' station: a project, a generated recording, three clips, a passphrase
media = review_mode.media
station = review_mode.station


def test_uses_are_explained_with_the_projects_periods_and_fitting_conditions(qtbot: object, station: Station) -> None:
    from app.gui.review.station import start_station

    policy.set_policy(station.store, PROJECT, clips="5y", exports="90d")
    w = start_station(station.store, ME, project=PROJECT)
    qtbot.addWidget(w, before_close_func=_let_go)  # type: ignore[attr-defined]
    w.resize(1280, 720)
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    rows = w.rows  # type: ignore[attr-defined]
    assert rows["research_team"].title() == "Research: may the research team study this clip?"
    assert "for 5 years after its last use" in rows["research_team"].sentence.text()
    assert "90 days after it was given out" in rows["external_seminar"].sentence.text()
    assert "cannot be called back" in rows["publication"].sentence.text()
    # "only for audiences inside the authority" where it means something (training), not for publication
    assert [s for s, r in rows.items() if not r.internal.isHidden()] == ["internal_training"]
    assert rows["publication"].not_after.text() == "only if published before"
    until = rows["research_team"].until
    later = QDate.currentDate().addDays(40)  # the field refuses past dates: a date ahead of the run's day
    until.setDate(later)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    assert until.text() == f"{later.day()} {months[later.month() - 1]} {later.year()}"
    # the clip in words, and what it already hides
    item = w.current_item()  # type: ignore[attr-defined]
    assert w.panel.title.text() == f"This clip: {explain.clip_title(item)}"  # type: ignore[attr-defined]
    assert "Already hidden in it: nothing yet" in w.panel.about.text()  # type: ignore[attr-defined]
    # "Record my decision" and how to change one's mind are outside the scrolling part, always in sight
    scroll = w.findChild(QScrollArea)
    assert not scroll.isAncestorOf(w.record_button) and w.record_button.isVisible()  # type: ignore[attr-defined]
    assert w.panel.mind.isVisible() and "change your mind" in w.panel.mind.text()  # type: ignore[attr-defined]
    layout = w.panel.layout()  # type: ignore[attr-defined]
    order = [layout.itemAt(i).widget() for i in range(layout.count())]
    assert order.index(w.panel.blur_box) > max(order.index(r) for r in rows.values())  # type: ignore[attr-defined]
    # Esc with nothing decided asks first; Esc again goes back
    qtbot.keyClick(w.clips, Qt.Key.Key_Escape)  # type: ignore[attr-defined]
    assert w.pages.currentIndex() == 2  # type: ignore[attr-defined]
    assert "not recorded a decision" in w.leave_check.question.text()  # type: ignore[attr-defined]
    qtbot.keyClick(w, Qt.Key.Key_Escape)  # type: ignore[attr-defined]
    assert w.pages.currentIndex() == 0  # type: ignore[attr-defined]


def test_titles_and_hidden_things_in_words() -> None:
    item = review.ReviewItem(1, "reason for call", None, 1, "h", 7.0, 4.0, 11.0, 0.0, {})
    assert explain.clip_title(item) == "The referrer states why they are calling"
    spec = {
        "redactions": [{"kind": "blur", "start": 4, "end": 5, "note": "a face"}],
        "audio": [{"kind": "bleep", "start": 5, "end": 6}, {"kind": "bleep", "start": 7, "end": 8}],
        "captions": {"mode": "burn", "cues": []},
    }
    assert review.hidden_in(spec) == (
        "1 blurred area (a face)",
        "2 bleeps over a name or other identifying word",
        "captions of what is said, with names taken out",
    )
    titled = review.ReviewItem(1, "x", "Clip 3: a school nurse calls", 1, "h", 7.0, 4.0, 11.0, 3.0, {})
    assert explain.clip_title(titled) == "Clip 3: a school nurse calls"
    assert explain.clip_summary(item).startswith("0:07.0 long: 0:04.0 to 0:11.0 of the recording.")
