"""Work that must not freeze the window, run on a thread pool with the result brought back by a signal.

Only the newest request of a loader counts: a result for a document that has since been replaced is dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.gui.worker import deliver
from media_tools.errors import MediaError
from media_tools.waveform import Peaks, peaks

log = logging.getLogger(__name__)


class _Sink(QObject):
    done = Signal(int, object, object)  # request number, result, one-line error


class _Job(QRunnable):
    def __init__(self, sink: _Sink, n: int, path: str) -> None:
        super().__init__()
        self._sink, self._n, self._path = sink, n, path

    def run(self) -> None:
        try:
            result: Any = peaks(self._path)
        except MediaError as exc:
            deliver(self._sink.done, self._n, None, str(exc))
            return
        except Exception as exc:  # a bug: logged, the waveform stays empty
            log.exception("waveform of %s", self._path)
            deliver(self._sink.done, self._n, None, f"{self._path}: waveform failed ({type(exc).__name__})")
            return
        deliver(self._sink.done, self._n, result, None)


class WaveformLoader(QObject):
    """Computes (or reads from the cache) a medium's waveform off the GUI thread.

    ``ready(peaks)`` carries the peaks already shifted to document time; ``failed(message)`` says why there
    is none (a file without sound is not a failure: it has no waveform and nothing is said).
    """

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._sink = _Sink(self)
        self._sink.done.connect(self._done)
        self._n = 0
        self._origin = 0

    def request(self, path: str, origin_ms: int = 0) -> None:
        self._n += 1
        self._origin = origin_ms
        self._pool.start(_Job(self._sink, self._n, path))

    def cancel(self) -> None:
        """Forget the pending request (its result will be dropped)."""
        self._n += 1

    def wait(self, ms: int = 30_000) -> bool:
        return bool(self._pool.waitForDone(ms))

    def _done(self, n: int, result: Peaks | None, error: str | None) -> None:
        if n != self._n:
            return
        if result is not None:
            self.ready.emit(result.from_ms(self._origin))
        elif error and not error.endswith(": no audio stream"):
            self.failed.emit(error)
