"""The app's answer to a bug: the traceback goes to the log file and the user gets one line saying where it
is (a dialog when the Qt application is running). Installed as ``sys.excepthook`` by the desktop app and by
the review station, so it lives apart from both."""

from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType

from annotation.store import user_data_dir


def crash_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """A bug: log the traceback, tell the user in one line where it is (a dialog on the GUI thread; from a
    worker thread, a line on standard error)."""
    log = user_data_dir() / "frontdoor.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as f:
            f.write("".join(traceback.format_exception(exc_type, exc, tb)))
    except OSError:
        pass
    from PySide6.QtWidgets import QApplication, QMessageBox

    # A dialog belongs to the GUI thread: from a worker thread it would hang the app (on exit, for good).
    on_gui_thread = threading.current_thread() is threading.main_thread()
    if QApplication.instance() is not None and on_gui_thread:
        QMessageBox.critical(None, "Frontdoor", f"Something went wrong: {exc_type.__name__}: {exc}\n\nDetails: {log}")
    else:
        sys.stderr.write(f"frontdoor: internal error: {exc_type.__name__}: {exc} (traceback in {log})\n")
