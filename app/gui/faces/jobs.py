"""Detecting the faces of a recording off the GUI thread: ``annotation.faces.detect_recording`` on a pool
thread, its progress and result brought back by signals (``app.gui.worker.deliver``: dropped when the panel
that asked has gone), cancelled through a ``threading.Event``."""

from __future__ import annotations

import functools
import logging
import threading
import time

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from annotation.errors import AnnotationError
from annotation.faces import detect_recording
from annotation.store import Store
from app.gui.worker import deliver
from media_tools.errors import MediaError

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.2  # the bar moves five times a second at most: a signal per frame would flood the GUI


class _Sink(QObject):
    progress = Signal(int, int)  # frames done, of
    finished = Signal(object)  # annotation.faces.ScanInfo
    failed = Signal(str)  # one line (or "cancelled")


class _DetectJob(QRunnable):
    def __init__(self, sink: _Sink, store: Store, recording_id: int, cancel: threading.Event) -> None:
        super().__init__()
        self._sink, self._store, self._rid, self._cancel = sink, store, recording_id, cancel
        self._last = 0.0

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S or done >= total:
            self._last = now
            deliver(self._sink.progress, done, total)

    def run(self) -> None:
        try:
            info = detect_recording(self._store, self._rid, on_progress=self._progress, cancel=self._cancel)
        except (AnnotationError, MediaError) as exc:
            cancelled = self._cancel.is_set()
            deliver(self._sink.failed, "face detection cancelled: nothing was stored" if cancelled else str(exc))
            return
        except Exception as exc:  # a bug: logged with its traceback, and the panel must not wait for ever
            log.exception("detecting the faces of recording %d", self._rid)
            deliver(self._sink.failed, f"recording {self._rid}: face detection failed ({type(exc).__name__}: {exc})")
            return
        deliver(self._sink.finished, info)


def _stop_all(events: list[threading.Event], *_: object) -> None:
    for e in events:
        e.set()


class FaceDetector(QObject):
    """Runs one detection at a time. ``progress(done, total)`` while it runs, then ``finished(ScanInfo)`` or
    ``failed(message)``. A recording detected before comes back at once from the store (its stored tracks)."""

    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._sink = _Sink(self)
        self._sink.progress.connect(self.progress)
        self._sink.finished.connect(self._done)
        self._sink.failed.connect(self._fail)
        self._cancel = threading.Event()
        self.running = False
        # the window closing while faces are being found: the pool (a child) waits for its job when it is
        # deleted, so the job is told to stop first (a slot holding the event, not this object, which is
        # going); it stops at its next frame and stores nothing
        self._stops: list[threading.Event] = []
        self.destroyed.connect(functools.partial(_stop_all, self._stops))

    def start(self, store: Store, recording_id: int) -> bool:
        """Start detecting (False, and nothing started, while a detection runs)."""
        if self.running:
            return False
        self.running = True
        self._cancel = threading.Event()
        self._stops[:] = [self._cancel]
        self._pool.start(_DetectJob(self._sink, store, recording_id, self._cancel))
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, ms: int = 30_000) -> bool:
        return bool(self._pool.waitForDone(ms))

    def _done(self, info: object) -> None:
        self.running = False
        self.finished.emit(info)

    def _fail(self, message: str) -> None:
        self.running = False
        self.failed.emit(message)
