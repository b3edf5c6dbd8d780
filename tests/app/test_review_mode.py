"""The consent review station, driven as a participant and a researcher would: only the participant's own
clips, a decision recorded through the widgets on the version watched, and leaving only with the passphrase.
A real SQLite file, a generated recording and real previews rendered by ffmpeg."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenuBar,
    QWidget,
)
from sqlalchemy import select

from annotation.services import add_recording, ensure_project, new_document
from annotation.store.engine import Store, open_store, sqlite_url
from consent.clips import create_clip, edit_clip
from consent.decisions import record_decision
from consent.errors import InvalidRequest, NoPassphrase
from consent.models import Decision
from consent.participants import add_appearance, add_participant, list_participants
from consent.retention.withdrawal import withdraw
from consent.rows import clip as find_clip
from consent.rows import current_version
from consent.rows import participant as find_participant
from consent.station import passphrase, review
from media_tools.probe import probe
from media_tools.synth import make_coded_recording

PROJECT = "Duty room study"
ME = "Worker Alpha"
OTHER = "Manager Bravo"
THIRD = "Admin Charlie"
SECRET = "the researcher's own passphrase"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_recording(tmp_path_factory.mktemp("review") / "duty room.mp4", seconds=4, size="320x192")


@dataclass
class Station:
    store: Store
    media: Path
    shared: int  # ME and OTHER are in it
    mine: int  # ME alone
    theirs: int  # OTHER and THIRD
    doc: int


@pytest.fixture
def station(tmp_path: Path, media: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Station]:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    st = open_store(sqlite_url(tmp_path / "store.sqlite"))
    try:
        info = probe(media)
        rid = add_recording(st, ensure_project(st, PROJECT), media, duration_ms=info.duration_ms, fps=info.fps)
        doc = new_document(st, "referral", name="call 1", recording_id=rid)
        for who, lo, hi in ((ME, 0, 2600), (OTHER, 0, 1500), (OTHER, 3000, 4000), (THIRD, 3000, 4000)):
            if who not in {p.pseudonym for p in list_participants(st, PROJECT)}:
                add_participant(st, PROJECT, who)
            add_appearance(st, who, rid, lo, hi)
        shared = create_clip(st, rid, 0.5, 1.5, name="Taking the call").clip_id
        mine = create_clip(st, rid, 1.6, 2.5, name="Writing it up").clip_id
        theirs = create_clip(st, rid, 3.1, 3.9, name="Handover").clip_id
        record_decision(st, shared, OTHER, "publication", "granted")
        record_decision(st, theirs, THIRD, "research_team", "withheld")
        passphrase.set_passphrase(st, PROJECT, SECRET)
        yield Station(st, media, shared, mine, theirs, doc)
    finally:
        st.close()


def _let_go(w: object) -> None:
    """Teardown of a station a test did not leave: as the passphrase would (it refuses to close otherwise)."""
    if w.isVisible():  # type: ignore[attr-defined]
        w._cleanup()  # type: ignore[attr-defined]
        w._leaving_ok = True  # type: ignore[attr-defined]


def _open(qtbot: object, station: Station) -> object:
    from app.gui.review.station import start_station

    w = start_station(station.store, ME, project=PROJECT)
    qtbot.addWidget(w, before_close_func=_let_go)  # type: ignore[attr-defined]
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    return w


def _wait_preview(qtbot: object, w: object) -> None:
    qtbot.waitUntil(lambda: w.record_button.isEnabled(), timeout=60_000)  # type: ignore[attr-defined]


def _texts(w: QWidget) -> list[str]:
    out = [w.windowTitle()]
    for c in w.findChildren(QWidget):
        if isinstance(c, QLabel | QAbstractButton | QLineEdit):
            out.append(c.text())
        if isinstance(c, QGroupBox):
            out.append(c.title())
        if isinstance(c, QListWidget):
            out += [c.item(i).text() for i in range(c.count())]
        out.append(c.toolTip())
    return out


def _tick(qtbot: object, box: QAbstractButton) -> None:
    """Click a radio button or check box where a person would: on its indicator."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))  # type: ignore[attr-defined]


def _leave(qtbot: object, w: object, typed: str) -> None:
    qtbot.keyClicks(w.passphrase_field, typed)  # type: ignore[attr-defined]
    qtbot.keyClick(w.passphrase_field, Qt.Key.Key_Return)  # type: ignore[attr-defined]


def test_no_station_without_a_passphrase_nor_for_a_withdrawn_participant(qtbot: object, station: Station) -> None:
    from app.gui.review.station import ReviewWindow

    ensure_project(station.store, "Another study")
    add_participant(station.store, "Another study", "Solo worker")
    with pytest.raises(NoPassphrase, match='frontdoor consent passphrase set --project "Another study"'):
        ReviewWindow(station.store, "Solo worker")
    withdraw(station.store, THIRD)
    with pytest.raises(InvalidRequest, match="withdrew"):
        ReviewWindow(station.store, THIRD)


def test_only_own_clips_full_screen_no_menus_and_no_one_elses_names_or_paths(qtbot: object, station: Station) -> None:
    w = _open(qtbot, station)
    assert w.isFullScreen()  # type: ignore[attr-defined]
    assert w.findChildren(QMenuBar) == []  # type: ignore[attr-defined]
    assert [i.clip_id for i in w.items] == [station.shared, station.mine]  # type: ignore[attr-defined]
    assert w.clips.count() == 2  # type: ignore[attr-defined]
    _wait_preview(qtbot, w)
    assert w.player.path is not None and Path(w.player.path).parent == review.preview_dir()  # type: ignore[attr-defined]
    assert Path(w.player.path) != station.media  # type: ignore[attr-defined]
    # the other person's grant on the shared clip is nowhere
    assert "You have not decided on this version." in w.rows["publication"].current.text()  # type: ignore[attr-defined]
    for text in _texts(w):  # type: ignore[arg-type]
        for leak in (OTHER, THIRD, str(station.media), str(station.media.parent)):
            assert leak not in text, text
    w.clips.setCurrentRow(1)  # type: ignore[attr-defined]
    _wait_preview(qtbot, w)
    for text in _texts(w):  # type: ignore[arg-type]
        assert OTHER not in text and THIRD not in text and str(station.media) not in text


def test_recording_a_decision_through_the_widgets_lands_on_the_version_watched(qtbot: object, station: Station) -> None:
    w = _open(qtbot, station)
    _wait_preview(qtbot, w)
    item = w.current_item()  # type: ignore[attr-defined]
    assert item.clip_id == station.shared
    training, seminar = w.rows["internal_training"], w.rows["external_seminar"]  # type: ignore[attr-defined]
    _tick(qtbot, training.yes)
    _tick(qtbot, training.not_after)
    _tick(qtbot, training.internal)
    _tick(qtbot, seminar.no)
    until = training.until.date()
    qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "Recorded" in w.confirmation.text()  # type: ignore[attr-defined]
    assert "internal training only: yes (not after" in w.confirmation.text()  # type: ignore[attr-defined]
    assert "external seminar: no" in w.confirmation.text()  # type: ignore[attr-defined]
    with station.store.session() as s:
        me = find_participant(s, ME).id
        rows = list(s.scalars(select(Decision).where(Decision.participant_id == me).order_by(Decision.id)))
        assert [(d.scope, d.decision, d.method) for d in rows] == [
            ("internal_training", "granted", "in_app"),
            ("external_seminar", "withheld", "in_app"),
        ]
        assert rows[0].conditions == [
            {"kind": "not_after", "date": f"{until.year():04d}-{until.month():02d}-{until.day():02d}"},
            {"kind": "audience", "within": "authority"},
        ]
        v = current_version(s, find_clip(s, station.shared))
        assert {d.clip_version_id for d in rows} == {v.id} and v.version_hash == item.version_hash
    assert "Recorded so far: yes" in training.current.text()
    # "blur me": pause on a frame, draw a box round yourself, grant publication only with it
    _wait_preview(qtbot, w)
    qtbot.waitUntil(lambda: w.picker.has_image(), timeout=10_000)  # type: ignore[attr-defined]
    pk = w.picker  # type: ignore[attr-defined]
    frame = pk._frame()
    a = QPoint(int(frame.x() + 0.2 * frame.width()), int(frame.y() + 0.3 * frame.height()))
    b = QPoint(int(frame.x() + 0.6 * frame.width()), int(frame.y() + 0.8 * frame.height()))
    qtbot.mousePress(pk, Qt.MouseButton.LeftButton, pos=a)  # type: ignore[attr-defined]
    qtbot.mouseMove(pk, b)  # type: ignore[attr-defined]
    qtbot.mouseRelease(pk, Qt.MouseButton.LeftButton, pos=b)  # type: ignore[attr-defined]
    x, y, bw, bh = pk.box()
    assert (x, y, bw, bh) == pytest.approx((0.2, 0.3, 0.4, 0.5), abs=0.02)
    pub = w.rows["publication"]  # type: ignore[attr-defined]
    assert "not decided" in pub.current.text()  # the rows were reset after recording
    _tick(qtbot, pub.yes)
    _tick(qtbot, pub.blur)
    qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "new version of this clip (version 2)" in w.confirmation.text()  # type: ignore[attr-defined]
    assert w.current_item().version_number == 2  # type: ignore[attr-defined]
    with station.store.session() as s:
        last = s.scalars(select(Decision).order_by(Decision.id.desc()).limit(1)).one()
        assert last.scope == "publication" and last.clip_version_id == v.id  # on the version watched
        (cond,) = last.conditions
        r = cond["redaction"]
        assert cond["kind"] == "redact" and (r["start"], r["end"]) == (0.5, 1.5)
        k = r["keyframes"][0]
        assert (k["x"], k["y"], k["w"], k["h"]) == pytest.approx((0.2, 0.3, 0.4, 0.5), abs=0.02)
    _wait_preview(qtbot, w)  # the new version is rendered for them to decide on again
    # nothing chosen: nothing recorded, and it says so
    qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "Choose yes or no" in w.confirmation.text()  # type: ignore[attr-defined]


def test_leaving_needs_the_passphrase_and_clears_the_previews(qtbot: object, station: Station) -> None:
    w = _open(qtbot, station)
    _wait_preview(qtbot, w)
    folder = review.preview_dir()
    assert any(folder.iterdir())
    qtbot.keyClick(w.clips, Qt.Key.Key_Escape)  # type: ignore[attr-defined]
    assert w.pages.currentIndex() == 2  # type: ignore[attr-defined]  # nothing decided: asked first
    qtbot.mouseClick(w.leave_check.leave_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert w.pages.currentIndex() == 1  # type: ignore[attr-defined]
    _leave(qtbot, w, "not the passphrase")
    assert w.isVisible() and w.pages.currentIndex() == 1  # type: ignore[attr-defined]
    assert "not the researcher's passphrase" in w.leave_message.text()  # type: ignore[attr-defined]
    assert w.passphrase_field.text() == ""  # type: ignore[attr-defined]
    # the window manager's close (Alt+F4) is refused too
    assert w.close() is False and w.isVisible()  # type: ignore[attr-defined]
    qtbot.mouseClick(w.back_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert w.pages.currentIndex() == 0  # type: ignore[attr-defined]
    qtbot.mouseClick(w.finish_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.mouseClick(w.leave_check.leave_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    with qtbot.waitSignal(w.finished, timeout=10_000):  # type: ignore[attr-defined]
        _leave(qtbot, w, SECRET)
    assert not w.isVisible()  # type: ignore[attr-defined]
    assert list(folder.iterdir()) == []


def test_the_main_window_hands_over_and_gets_the_screen_back(
    qtbot: object, station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QInputDialog

    from app.gui.main_window import MainWindow
    from app.gui.review.station import ReviewWindow

    main = MainWindow(station.store, station.doc)
    qtbot.addWidget(main)  # type: ignore[attr-defined]
    main.show()
    qtbot.waitExposed(main)  # type: ignore[attr-defined]
    action = next(a for a in main._actions if a.text() == "Consent review station…")
    assert action.shortcut().toString() == "Ctrl+Shift+R"
    offered: list[list[str]] = []

    def pick(*args: object, **kw: object) -> tuple[str, bool]:
        offered.append(list(args[3]))  # type: ignore[call-overload]
        return ME, True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(pick))
    action.trigger()
    assert offered == [sorted([ME, OTHER, THIRD])]  # the researcher picks who is reviewing
    (w,) = [x for x in QApplication.topLevelWidgets() if isinstance(x, ReviewWindow) and x.isVisible()]
    qtbot.addWidget(w, before_close_func=_let_go)  # type: ignore[attr-defined]
    assert not main.isVisible() and w.isFullScreen()
    _wait_preview(qtbot, w)
    w.request_leave(asked=True)
    with qtbot.waitSignal(w.finished, timeout=10_000):  # type: ignore[attr-defined]
        _leave(qtbot, w, SECRET)
    assert main.isVisible()


def test_the_station_hides_every_window_of_the_session_and_silences_its_player(
    qtbot: object, station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dialogs the main window has open are windows of their own: hiding the main window left them on screen
    (the export plan names who withheld, the search lists every document's values), and the recording the
    researcher was playing went on sounding under the station."""
    from PySide6.QtWidgets import QInputDialog

    from app.gui.main_window import MainWindow
    from app.gui.review.station import ReviewWindow

    main = MainWindow(station.store, station.doc)
    qtbot.addWidget(main)  # type: ignore[attr-defined]
    main.show()
    qtbot.waitExposed(main)  # type: ignore[attr-defined]
    main.open_search()
    main.open_export_dialog()
    main.show_shortcuts()
    main.player.play()
    assert main.player.is_playing()
    dialogs = [x for x in QApplication.topLevelWidgets() if x.isVisible() and x is not main]
    assert {d.windowTitle() for d in dialogs} == {"Search all documents", "Export clips", "Keyboard shortcuts"}
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: (ME, True)))
    main.open_review_station()
    (w,) = [x for x in QApplication.topLevelWidgets() if isinstance(x, ReviewWindow) and x.isVisible()]
    qtbot.addWidget(w, before_close_func=_let_go)  # type: ignore[attr-defined]
    assert [x.windowTitle() for x in QApplication.topLevelWidgets() if x.isVisible() and x is not w] == []
    assert not main.player.is_playing()
    _wait_preview(qtbot, w)
    w.request_leave(asked=True)
    with qtbot.waitSignal(w.finished, timeout=10_000):  # type: ignore[attr-defined]
        _leave(qtbot, w, SECRET)
    assert main.isVisible() and all(d.isVisible() for d in dialogs)


def test_leaving_while_the_store_is_away_says_one_line_that_names_nothing(
    qtbot: object, station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The passphrase is checked against the store; with the store away (a PostgreSQL server restarting, a
    network share gone) the check raised StoreUnavailable out of the slot: the app's crash dialog, over the
    station, with the store's name and the log's path in it."""
    import contextlib

    from annotation.errors import StoreUnavailable

    w = _open(qtbot, station)
    _wait_preview(qtbot, w)
    real = station.store.session

    @contextlib.contextmanager
    def away() -> Iterator[None]:
        raise StoreUnavailable(f"{station.store.label}: server closed the connection unexpectedly")
        yield

    monkeypatch.setattr(station.store, "session", away)
    w.request_leave(asked=True)  # type: ignore[attr-defined]
    _leave(qtbot, w, SECRET)  # pytest-qt fails the test on an exception raised in the slot
    assert w.isVisible() and w.pages.currentIndex() == 1  # type: ignore[attr-defined]
    said = w.leave_message.text()  # type: ignore[attr-defined]
    assert "tell the researcher" in said and station.store.label not in said and "/" not in said
    monkeypatch.setattr(station.store, "session", real)
    with qtbot.waitSignal(w.finished, timeout=10_000):  # type: ignore[attr-defined]
        _leave(qtbot, w, SECRET)


def test_a_decision_recorded_as_the_store_goes_away_says_so_in_one_line(
    qtbot: object, station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list is read again after a decision is recorded; the store going away just then raised out of the
    slot (the crash dialog, naming the store, over the station)."""
    from annotation.errors import StoreUnavailable

    w = _open(qtbot, station)
    _wait_preview(qtbot, w)
    _tick(qtbot, w.rows["research_team"].no)  # type: ignore[attr-defined]

    def away(*args: object, **kw: object) -> None:
        raise StoreUnavailable(f"{station.store.label}: server closed the connection unexpectedly")

    monkeypatch.setattr(review, "review_items", away)
    qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "Recorded" in w.confirmation.text()  # type: ignore[attr-defined]
    assert "cannot be read now" in w.status.text() and station.store.label not in w.status.text()  # type: ignore[attr-defined]


def test_a_clip_re_cut_while_it_is_watched_takes_no_decision_on_the_new_cut(qtbot: object, station: Station) -> None:
    """The researcher re-cuts the clip while the participant watches the old cut: what they say is refused,
    nothing lands on either version, and the new cut is shown for them to watch and decide on."""
    w = _open(qtbot, station)
    _wait_preview(qtbot, w)
    watched = w.current_item()  # type: ignore[attr-defined]
    edit_clip(station.store, station.shared, start=0.6, reason="tighter")
    _tick(qtbot, w.rows["research_team"].yes)  # type: ignore[attr-defined]
    qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "Nothing was recorded" in w.confirmation.text() and "superseded" in w.confirmation.text()  # type: ignore[attr-defined]
    with station.store.session() as s:
        me = find_participant(s, ME).id
        assert list(s.scalars(select(Decision).where(Decision.participant_id == me))) == []
    now = w.current_item()  # type: ignore[attr-defined]
    assert now.clip_id == watched.clip_id and now.version_number == watched.version_number + 1
    assert not w.record_button.isEnabled()  # type: ignore[attr-defined]  # until the new cut can be seen
    _wait_preview(qtbot, w)
    assert Path(w.player.path).name.startswith(now.version_hash)  # type: ignore[attr-defined]
