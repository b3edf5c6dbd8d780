"""The consent review station: the screen handed to one filmed member of staff.

Full screen, no menus, the main window hidden: the participant sees the clips they are in (the current
version of each, from ``consent.station.review``), plays each exactly as it would be exported (a preview rendered
on a worker thread through the gate's own spec, watermarked "CONSENT REVIEW — NOT FOR USE"), and records
per use (scope) yes or no with conditions: "blur me" (a box they draw on the picture), "not after" a date,
audiences inside the authority only. A decision names the version seen, so a clip changed meanwhile is
never decided on. Nothing on screen names anyone else, says what anyone else decided or shows a path.

Leaving (Esc, the window's close button or Alt+F4, "Finish") asks for the researcher's passphrase
(``consent.station.passphrase``); a wrong one keeps the station open. The right one deletes the previews and
closes the station, emitting ``finished``. A project without a passphrase gets no station.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import traceback
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from annotation.errors import AnnotationError
from annotation.store import Store, user_data_dir
from app.gui.review.decision_panel import DecisionPanel, LeaveCheck
from app.gui.review.receipt_panel import ReceiptPanel
from app.gui.worker import deliver
from consent import conditions
from consent.decisions import ScopeDecision, record_decisions
from consent.errors import ConsentError
from consent.participants import list_participants
from consent.retention import policy as retention
from consent.scopes import LABELS, SCOPES
from consent.station import explain, passphrase, review
from media_tools.clock import clock_text
from media_tools.errors import Cancelled, MediaError

log = logging.getLogger(__name__)
_open_stations: list[ReviewWindow] = []  # kept alive while open (a hidden main window does not own them)


def _clock(seconds: float) -> str:
    return clock_text(max(0.0, seconds) * 1000, digits=1, hours="never", rounding="nearest")


# ---- the preview on a worker thread -----------------------------------------------------------------------


class _PreviewSignals(QObject):
    progress = Signal(int, float)  # generation, fraction
    done = Signal(int, str)  # generation, preview file
    failed = Signal(int, str)  # generation, one line safe to show


class _PreviewJob(QRunnable):
    def __init__(self, store: Store, pid: int, item: review.ReviewItem, gen: int, cancel: threading.Event) -> None:
        super().__init__()
        self.signals = _PreviewSignals()
        self._args = (store, pid, item, gen, cancel)

    def run(self) -> None:
        store, pid, item, gen, cancel = self._args
        try:
            path = review.render_preview(
                store,
                pid,
                item.version_hash,
                clip_id=item.clip_id,
                on_progress=lambda done, total: deliver(self.signals.progress, gen, done / total if total else 0.0),
                cancel=cancel,
            )
        except Cancelled:
            return
        except ConsentError as exc:  # PreviewFailed's message names no file; its detail went to the log
            deliver(self.signals.failed, gen, exc.message)
        except (MediaError, AnnotationError) as exc:  # their messages may name files or the database
            log.warning("review preview: %s", exc)
            deliver(self.signals.failed, gen, "the clip cannot be shown now; tell the researcher")
        except Exception as exc:  # a bug: logged with its traceback; the station must not wait for ever
            path_log = user_data_dir() / "frontdoor.log"
            with contextlib.suppress(OSError), path_log.open("a", encoding="utf-8") as f:
                f.write(traceback.format_exc())
            deliver(self.signals.failed, gen, f"internal error ({type(exc).__name__}); tell the researcher")
        else:
            deliver(self.signals.done, gen, str(path))


# ---- the station ------------------------------------------------------------------------------------------


class ReviewWindow(QWidget):
    """The review station for one participant. Raises ``ConsentError`` (before anything is shown) when the
    participant is unknown or withdrew, or the project has no passphrase."""

    finished = Signal()
    previewReady = Signal(str)  # a preview is loaded in the player (for tests and the status line)

    def __init__(
        self, store: Store, participant_ref: str | int, *, project: str | None = None, parent: QWidget | None = None
    ) -> None:
        me = review.reviewer(store, participant_ref, project=project)
        passphrase.require_passphrase(store, me.project)
        super().__init__(parent, Qt.WindowType.Window)
        from app.gui.player import PlayerWidget

        self.store, self.me = store, me
        self.items: list[review.ReviewItem] = []
        self._leaving_ok = False
        self._gen = 0  # the newest preview asked for
        self._shown = -1  # the one in the player
        self._cancel = threading.Event()
        self._jobs: list[_PreviewJob] = []
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        review.clear_previews()  # a station never inherits previews (one that crashed may have left some)
        self.setWindowTitle("Frontdoor — consent review")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)

        heading = QLabel(f"Your clips, {me.pseudonym}: watch each one and say how it may be used.")
        heading.setStyleSheet("font-size: 18pt;")
        self.finish_button = QPushButton("Finish")
        self.clips = QListWidget()
        self.player = PlayerWidget()
        self.play_button = QPushButton("Play / pause")
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.time_label = QLabel("0:00.0")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.panel = DecisionPanel(_policy(store, me.project))
        self.picker, self.blur_from, self.blur_to = self.panel.picker, self.panel.blur_from, self.panel.blur_to
        self.rows = self.panel.rows
        self._recorded = False  # a decision recorded in this visit (else leaving asks first)
        self.record_button = QPushButton("Record my decision")
        self.confirmation = QLabel()
        self.confirmation.setWordWrap(True)
        self.receipt = ReceiptPanel()

        transport = QHBoxLayout()
        transport.addWidget(self.play_button)
        transport.addWidget(self.position, 1)
        transport.addWidget(self.time_label)
        decide = QWidget()
        dl = QVBoxLayout(decide)
        dl.addWidget(self.panel)
        dl.addWidget(self.receipt)
        dl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(decide)
        scroll.setWidgetResizable(True)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.player, 3)
        rl.addLayout(transport)
        rl.addWidget(self.progress)
        rl.addWidget(self.status)
        rl.addWidget(scroll, 4)
        rl.addWidget(self.record_button)  # outside the scrolling: always in sight
        rl.addWidget(self.confirmation)
        rl.addWidget(self.panel.mind)  # how to change one's mind, in sight too
        split = QSplitter(Qt.Orientation.Horizontal)
        self.clips.setWordWrap(True)  # clip titles are sentences: shown whole, not cut off
        self.clips.setMinimumWidth(300)
        split.addWidget(self.clips)
        split.addWidget(right)
        split.setStretchFactor(1, 4)
        split.setSizes([340, 1100])
        top = QHBoxLayout()
        top.addWidget(heading, 1)
        top.addWidget(self.finish_button)
        review_page = QWidget()
        pl = QVBoxLayout(review_page)
        pl.addLayout(top)
        pl.addWidget(split, 1)

        leave_page = QWidget()
        ll = QVBoxLayout(leave_page)
        ll.addStretch(1)
        ask = QLabel("Thank you. Please hand the screen back to the researcher.\n\nResearcher's passphrase:")
        ask.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ask.setStyleSheet("font-size: 16pt;")
        self.passphrase_field = QLineEdit()
        self.passphrase_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_field.setMaximumWidth(420)
        self.leave_button = QPushButton("Leave the review")
        self.back_button = QPushButton("Back to the clips")
        self.leave_message = QLabel()
        self.leave_message.setStyleSheet("color: #b00020;")
        for w in (ask, self.passphrase_field, self.leave_message):
            ll.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.leave_button)
        buttons.addStretch(1)
        ll.addLayout(buttons)
        ll.addStretch(2)

        self.leave_check = LeaveCheck()
        self.leave_check.back.connect(self._back)
        self.leave_check.leave.connect(lambda: self.request_leave(asked=True))
        self.pages = QStackedWidget()
        self.pages.addWidget(review_page)
        self.pages.addWidget(leave_page)
        self.pages.addWidget(self.leave_check)  # 2: asked before leaving with nothing recorded
        QVBoxLayout(self).addWidget(self.pages)

        self.finish_button.clicked.connect(self.request_leave)
        self.back_button.clicked.connect(self._back)
        self.leave_button.clicked.connect(self.try_leave)
        self.passphrase_field.returnPressed.connect(self.try_leave)
        self.clips.currentRowChanged.connect(self._select)
        self.play_button.clicked.connect(self.player.toggle)
        self.position.sliderMoved.connect(self.player.seek)
        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(lambda ms: self.position.setRange(0, ms))
        self.player.stillShown.connect(self._on_still)
        self.player.errorOccurred.connect(self._player_error)
        self.record_button.clicked.connect(self.record)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._cleanup)  # the app quitting under the station takes the previews too
        self.reload()

    # ---- the list and the preview -------------------------------------------------------------------------

    def reload(self, keep_clip: int | None = None) -> None:
        """(Re)read the participant's clips and show them; reselect ``keep_clip`` when it is still there."""
        try:
            self.items = review.review_items(self.store, self.me.participant_id)
        except AnnotationError as exc:  # the store is away: its message names it, so not on screen
            log.warning("review station: reading the clips: %s", exc)
            self.status.setText("Your clips cannot be read now; tell the researcher.")
            return
        self.clips.blockSignals(True)
        self.clips.clear()
        for it in self.items:
            label = f"{explain.clip_title(it)}\nversion {it.version_number} · {_clock(it.duration_s)}"
            if it.decisions:
                label += " · decided: " + ", ".join(LABELS[s] for s in SCOPES if s in it.decisions)
            QListWidgetItem(label, self.clips)
        self.clips.blockSignals(False)
        if not self.items:
            self.status.setText("There are no clips of you to review. Thank you.")
            self.record_button.setEnabled(False)
            return
        ids = [it.clip_id for it in self.items]
        self.clips.blockSignals(True)
        self.clips.setCurrentRow(ids.index(keep_clip) if keep_clip in ids else 0)
        self.clips.blockSignals(False)
        self._select(self.clips.currentRow())

    def current_item(self) -> review.ReviewItem | None:
        row = self.clips.currentRow()
        return self.items[row] if 0 <= row < len(self.items) else None

    def _select(self, row: int) -> None:
        item = self.current_item()
        if item is None:
            return
        self._cancel.set()  # a render still running for another clip stops
        self._cancel = threading.Event()
        self._gen += 1
        self.player.pause()
        self.picker.set_image(None)
        self.picker.clear_box()
        clip_s = item.end_s - item.start_s
        for s in (self.blur_from, self.blur_to):
            s.setRange(0.0, clip_s)
        self.blur_from.setValue(0.0)
        self.blur_to.setValue(clip_s)
        self.panel.show_item(item)
        self.record_button.setEnabled(False)  # until the participant can see the clip
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText(f"Preparing “{explain.clip_title(item)}” exactly as it would be shown…")
        job = _PreviewJob(self.store, self.me.participant_id, item, self._gen, self._cancel)
        job.signals.progress.connect(self._on_progress)
        job.signals.done.connect(self._on_ready)
        job.signals.failed.connect(self._on_failed)
        self._jobs.append(job)  # keep its signals alive until the station is left
        self._pool.start(job)

    def _on_progress(self, gen: int, fraction: float) -> None:
        if gen == self._gen:
            self.progress.setValue(round(fraction * 100))

    def _on_ready(self, gen: int, path: str) -> None:
        if gen != self._gen:
            return
        self.progress.hide()
        try:
            self.player.load(path)
        except MediaError as exc:
            log.warning("review station: %s", exc)
            self.status.setText("This clip cannot be played here; tell the researcher.")
            return
        item = self.current_item()
        self.status.setText(f"“{explain.clip_title(item)}”, version {item.version_number}." if item else "")
        self._shown = gen
        self.record_button.setEnabled(True)
        self.previewReady.emit(path)

    def _on_still(self, _index: int) -> None:
        if self._shown == self._gen:  # a still of the clip on screen, not of the one before
            self.picker.set_image(self.player.still_image())

    def _on_failed(self, gen: int, message: str) -> None:
        if gen == self._gen:
            self.progress.hide()
            self.status.setText(message)

    def _player_error(self, message: str) -> None:
        log.warning("review station player: %s", message)  # it names the preview file: not for the screen
        self.status.setText("The player had a problem with this clip; tell the researcher.")

    def _on_position(self, ms: int) -> None:
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        item = self.current_item()
        clip_s = ms / 1000 - (item.title_s if item else 0.0)
        self.time_label.setText(_clock(clip_s))

    # ---- deciding -----------------------------------------------------------------------------------------

    def record(self) -> None:
        """Record the participant's decisions on the version they watched (all the uses answered, at once)."""
        item = self.current_item()
        if item is None:
            return
        wanted: list[ScopeDecision] = []
        for scope, r in self.rows.items():
            choice = r.decision()
            if choice is None:
                continue
            conds: list[dict[str, Any]] = []
            if choice == "granted":
                if r.blur.isChecked():
                    box = self.picker.box()
                    if box is None:
                        self._confirm("Draw a box round yourself on the picture first.", ok=False)
                        return
                    conds.append(
                        review.blur_condition(item, box, from_s=self.blur_from.value(), to_s=self.blur_to.value())
                    )
                if r.not_after.isChecked():
                    q = r.until.date()
                    conds.append(review.not_after_condition(date(q.year(), q.month(), q.day())))
                if r.internal.isChecked():
                    conds.append(review.internal_audience_condition())
            wanted.append(ScopeDecision(scope, choice, tuple(conds)))
        if not wanted:
            self._confirm("Choose yes or no for at least one use.", ok=False)
            return
        try:
            done = record_decisions(
                self.store,
                item.clip_id,
                self.me.participant_id,
                wanted,
                method="in_app",
                version_hash=item.version_hash,
            )
        except ConsentError as exc:
            self._confirm(f"Nothing was recorded: {exc.message}", ok=False)
            self.reload(keep_clip=item.clip_id)
            return
        except AnnotationError as exc:  # the database is away: its message may name it, so not on screen
            log.warning("review station: %s", exc)
            self._confirm("Nothing was recorded: the records cannot be reached; tell the researcher.", ok=False)
            return
        said = []
        for d in wanted:
            conds_text = "; ".join(
                "blurred where you marked" if c["kind"] == "redact" else conditions.describe(c) for c in d.conditions
            )
            said.append(
                f"{LABELS[d.scope]}: {'yes' if d.decision == 'granted' else 'no'}"
                + (f" ({conds_text})" if conds_text else "")
            )
        text = (
            f"Recorded at {datetime.now().strftime('%H:%M')} for “{explain.clip_title(item)}”, "
            f"version {item.version_number}: " + "; ".join(said) + "."
        )
        if done.new_version is not None:
            text += (
                f" Your blur makes a new version of this clip (version {done.new_version.number}): "
                "it is shown now; please watch it and decide on it again."
            )
        self._recorded = True
        self.reload(keep_clip=item.clip_id)
        self._confirm(text, ok=True)
        self.receipt.show_recorded(self.me, item, wanted, done)

    def _confirm(self, text: str, *, ok: bool) -> None:
        self.confirmation.setText(text)
        self.confirmation.setStyleSheet("color: #006400; font-weight: bold;" if ok else "color: #b00020;")

    # ---- leaving ------------------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            if self.pages.currentIndex() != 0:
                self._back()
            else:
                self.request_leave()
            return
        super().keyPressEvent(event)

    def request_leave(self, *, asked: bool = False) -> None:
        """Ask for the researcher's passphrase (the clips are hidden meanwhile); with nothing recorded in this
        visit, or answers chosen but not recorded, first ask whether to leave at all."""
        self.player.pause()
        if not asked and self.items and (not self._recorded or self.panel.unrecorded()):
            self.leave_check.ask(self.panel.unrecorded())
            self.pages.setCurrentIndex(2)
            return
        self.leave_message.clear()
        self.passphrase_field.clear()
        self.pages.setCurrentIndex(1)
        self.passphrase_field.setFocus()

    def _back(self) -> None:
        self.passphrase_field.clear()
        self.pages.setCurrentIndex(0)

    def try_leave(self) -> None:
        typed = self.passphrase_field.text()
        self.passphrase_field.clear()
        try:
            ok = passphrase.verify_passphrase(self.store, self.me.project, typed)
        except ConsentError as exc:
            self.leave_message.setText(exc.message)
            return
        except AnnotationError as exc:  # the store is away: its message names it, so not on screen
            log.warning("review station: checking the passphrase: %s", exc)
            self.leave_message.setText("The passphrase cannot be checked now; tell the researcher.")
            return
        if not ok:
            self.leave_message.setText("That is not the researcher's passphrase.")
            return
        self._cleanup()
        self._leaving_ok = True
        self.finished.emit()
        self.close()

    def _cleanup(self) -> None:
        self._cancel.set()
        self._pool.waitForDone(15_000)
        self._jobs.clear()
        self.player.release()
        review.clear_previews()

    def closeEvent(self, event: Any) -> None:
        if self._leaving_ok:
            if self in _open_stations:
                _open_stations.remove(self)
            super().closeEvent(event)
            return
        event.ignore()  # Alt+F4, the window manager's close button: the passphrase first
        self.request_leave()


# ---- starting a station -----------------------------------------------------------------------------------


def _policy(store: Store, project: str) -> retention.Policy | None:
    """The project's retention policy, for how long each use lasts (None when it cannot be read now)."""
    try:
        return retention.get_policy(store, project)
    except (ConsentError, AnnotationError) as exc:
        log.warning("review station: reading the retention policy: %s", exc)
        return None


def start_station(
    store: Store, participant_ref: str | int, *, project: str | None = None, hide: QWidget | None = None
) -> ReviewWindow:
    """Open the station full screen, hiding ``hide`` (the main window) until it is left.

    Raises:
        ConsentError: unknown or withdrawn participant, or no passphrase set for the project.
    """
    w = ReviewWindow(store, participant_ref, project=project)
    _open_stations.append(w)
    hidden = _hand_over(w, hide)
    w.finished.connect(lambda: _take_back(hidden))
    w.showFullScreen()
    w.activateWindow()
    return w


def _hand_over(station: ReviewWindow, main: QWidget | None) -> list[QWidget]:
    """Hide every other window of the app, ``main`` first, and pause the players in them: the station must
    show and play nothing of the researcher's session. A dialog the main window has open (search results over
    every document, the export plan naming who withheld, the cheat sheet with its way to the shortcuts) is a
    window of its own that hiding the main window leaves on screen, and a recording playing in the main window
    goes on sounding when it is hidden. Returns the windows to show again, in order."""
    from app.gui.player import PlayerWidget

    others = [x for x in QApplication.topLevelWidgets() if x.isVisible() and not isinstance(x, ReviewWindow)]
    windows = ([main] if main is not None else []) + [x for x in others if x is not main]
    for win in windows:
        for player in win.findChildren(PlayerWidget):
            player.pause()
        win.hide()
    return windows


def _take_back(windows: list[QWidget]) -> None:
    """Show again the windows ``_hand_over`` hid (those still there), the main window first."""
    for win in windows:
        with contextlib.suppress(RuntimeError):  # a dialog deleted meanwhile
            win.show()


def ask_and_start_station(window: QWidget, store: Store, doc_id: int, on_error: Any) -> ReviewWindow | None:
    """From the main window: ask which participant of the document's project is reviewing, then hand over."""
    from PySide6.QtWidgets import QInputDialog

    from annotation.services import document_project

    project = document_project(store, doc_id)[1]
    if project is None:
        on_error("this document belongs to no project: its participants are not known")
        return None
    people = [p.pseudonym for p in list_participants(store, project) if p.withdrawn_at is None]
    if not people:
        on_error(f"project {project!r}: no participants to review (frontdoor participant add)")
        return None
    who, ok = QInputDialog.getItem(window, "Consent review station", "Who is reviewing their clips?", people, 0, False)
    if not ok:
        return None
    try:
        return start_station(store, who, project=project, hide=window)
    except ConsentError as exc:
        on_error(exc.message)
        return None


def run_review_station(store: Store, participant_ref: str, *, project: str) -> int:
    """``frontdoor review``: the station as the only window; the app ends when it is left.

    Raises:
        ConsentError: as ``start_station``, before any window opens.
    """
    from app.gui.crash import crash_hook

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Frontdoor")
    sys.excepthook = crash_hook
    w = start_station(store, participant_ref, project=project)
    w.finished.connect(app.quit)
    return int(app.exec())
