"""A worker thread whose view has gone drops its result; a bug in a worker thread is logged, never a dialog
off the GUI thread (which hung the app on exit when the Analysis tab was still computing)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from app.gui.crash import crash_hook
from app.gui.worker import deliver


class _Signals(QObject):
    done = Signal(int)


def test_a_result_for_a_view_that_has_gone_is_dropped(qtbot: object) -> None:
    got: list[int] = []
    signals = _Signals()
    signals.done.connect(got.append)
    assert deliver(signals.done, 1) is True
    assert got == [1]
    shiboken6.delete(signals)  # the view closed: its C++ side is gone while the worker still holds the object
    with pytest.raises(RuntimeError):
        signals.done.emit(2)  # what the worker thread did before, into the crash hook
    assert deliver(signals.done, 2) is False
    assert got == [1]


def test_a_bug_in_a_worker_thread_is_logged_without_a_dialog(
    qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_HOME", str(tmp_path))
    assert QApplication.instance() is not None

    def fail() -> None:
        try:
            raise RuntimeError("Signal source has been deleted")
        except RuntimeError as exc:
            crash_hook(type(exc), exc, exc.__traceback__)

    worker = threading.Thread(target=fail)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the crash hook blocked the worker thread (a dialog off the GUI thread)"
    log = (tmp_path / "frontdoor.log").read_text(encoding="utf-8")
    assert "Signal source has been deleted" in log
    assert "internal error: RuntimeError" in capsys.readouterr().err
