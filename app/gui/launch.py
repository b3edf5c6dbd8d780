"""Starting the desktop app: the Qt application, the main window on a project's document, the crash
dialog for bugs (``app.gui.crash``), and ``--screenshot`` (render the window once the project has loaded, save
it, exit)."""

from __future__ import annotations

import sys
from pathlib import Path

from annotation.store import Store
from app.gui.crash import crash_hook


def pick_document(store: Store, project: str | None, doc_id: int | None) -> int:
    """The document to open: the one asked for; else the newest of the project; else the one last opened
    from this store; else the store's newest.

    Raises:
        LookupError: there is none.
    """
    from annotation.services import document_to_open

    recent: list[int] = []
    if doc_id is None and project is None:  # the document the researcher had open last, if it is still there
        from app.prefs import recent_documents

        recent = [int(e.get("doc_id", 0)) for e in recent_documents(store.label)]
    return document_to_open(store, project, doc_id, recent)


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

    from annotation.errors import AnnotationError
    from consent.anchors import backup
    from consent.errors import ConsentError

    try:
        backup(store, if_due=True)  # its sidecar carries the consent log's head
    except (AnnotationError, ConsentError) as exc:
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
    sys.excepthook = crash_hook
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
