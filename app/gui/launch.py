"""Starting the desktop app: the Qt application, the main window on a project's document, the crash
dialog for bugs, and ``--screenshot`` (render the window once the project has loaded, save it, exit)."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import TracebackType

from sqlalchemy import select

from annotation.store.engine import Store, user_data_dir
from annotation.store.tables import Document, Project, Recording


def pick_document(store: Store, project: str | None, doc_id: int | None) -> int:
    """The document to open: the one asked for; else the newest of the project; else the one last opened
    from this store; else the store's newest.

    Raises:
        LookupError: there is none.
    """
    with store.session() as s:
        if doc_id is not None:
            if s.get(Document, doc_id) is None:
                raise LookupError(f"document {doc_id}: not found (see 'frontdoor documents')")
            return doc_id
        q = select(Document.id).where(Document.kind == "eaf").order_by(Document.id.desc())
        if project is None:  # the document the researcher had open last, if it is still there
            from app.prefs import recent_documents

            for e in recent_documents(store.label):
                d = s.get(Document, int(e.get("doc_id", 0)))
                if d is not None and d.kind == "eaf":
                    return d.id
        if project is not None:
            pid = s.scalar(select(Project.id).where(Project.name == project))
            if pid is None:
                raise LookupError(f"project {project!r}: not found")
            q = q.where(
                (Document.project_id == pid)
                | Document.recording_id.in_(select(Recording.id).where(Recording.project_id == pid))
            )
        found = s.scalar(q.limit(1))
    if found is None:
        raise LookupError("no document to open: import one (frontdoor import-eaf) or run 'frontdoor demo'")
    return found


def _crash_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """A bug: log the traceback, tell the user in one line where it is."""
    log = user_data_dir() / "frontdoor.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as f:
            f.write("".join(traceback.format_exception(exc_type, exc, tb)))
    except OSError:
        pass
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is not None:
        QMessageBox.critical(None, "Frontdoor", f"Something went wrong: {exc_type.__name__}: {exc}\n\nDetails: {log}")
    else:
        sys.stderr.write(f"frontdoor: internal error: {exc_type.__name__}: {exc} (traceback in {log})\n")


def ask_passphrase(prompt: str) -> str | None:
    """The passphrase of an encrypted store, asked in a dialog (typed characters hidden); None if cancelled."""
    from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Frontdoor")
    text, ok = QInputDialog.getText(None, "Frontdoor: encrypted store", f"{prompt}:", QLineEdit.EchoMode.Password)
    return text if ok and text else None


def backup_on_start(store: Store) -> None:
    """A backup of an embedded store as the app starts, unless one was made in the last hour. A failure is
    logged and said on stderr, never fatal: the researcher can still work (and 'frontdoor backup' says why)."""
    import logging

    from annotation.backup.rolling import backup_if_due
    from annotation.errors import AnnotationError

    try:
        backup_if_due(store)
    except AnnotationError as exc:
        logging.getLogger("frontdoor").warning("backup on start: %s", exc)
        sys.stderr.write(f"frontdoor: warning: no backup on start: {exc}\n")


TABS = ("coding", "records", "analysis")


def run_app(
    store: Store, doc_id: int, *, screenshot: str | None = None, delay_ms: int = 2500, tab: str = "coding"
) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Frontdoor")
    sys.excepthook = _crash_hook
    backup_on_start(store)
    window = MainWindow(store, doc_id)
    window.resize(1400, 860)
    window.show()
    window.tabs.setCurrentIndex(TABS.index(tab))
    if screenshot:

        def shoot() -> None:
            save_screenshot(window, Path(screenshot))
            app.quit()

        QTimer.singleShot(delay_ms, shoot)
    return int(app.exec())


def save_screenshot(window: object, path: Path) -> None:
    """The window as the screen shows it (libvlc's video included: a widget grab would leave it black)."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)
    screen = QGuiApplication.primaryScreen()
    image = screen.grabWindow(window.winId()) if screen is not None else window.grab()
    if image.isNull() or QGuiApplication.platformName() == "offscreen":
        image = window.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        raise OSError(f"{path}: cannot write the screenshot")
