"""Screenshots of the consent review station and the export dialog on the demo project, for the manual
(``resources/screenshots/review-station.png``, ``export-dialog.png``; served as ``assets/screenshots/``).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/consent-screenshots.py [OUT_DIR]

The demo is made in a temporary home (``frontdoor demo --headless``), a passphrase is set for its project, and
the station is opened for "Duty worker A" with the first preview rendered before the picture is taken.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "resources" / "screenshots"
    home = Path(tempfile.mkdtemp(prefix="frontdoor-shots-"))
    os.environ["FRONTDOOR_HOME"] = str(home)
    os.environ["FRONTDOOR_CACHE"] = str(home / "cache")
    os.environ.pop("FRONTDOOR_DB", None)
    from app.cli.main import main as cli

    if cli(["demo", "--headless"]) != 0:
        return 1
    from PySide6.QtCore import QDate, QElapsedTimer
    from PySide6.QtWidgets import QApplication

    from annotation.store import default_db_url, open_store
    from app.cli.demo import DEMO_PROJECT
    from app.gui.dialogs import ExportDialog
    from app.gui.launch import save_screenshot
    from app.gui.review.station import ReviewWindow
    from consent.retention import policy
    from consent.station import passphrase

    app = QApplication.instance() or QApplication(sys.argv[:1])
    store = open_store(default_db_url())
    passphrase.set_passphrase(store, DEMO_PROJECT, "the researcher's passphrase")
    policy.set_policy(store, DEMO_PROJECT, clips="5y", exports="90d")
    station = ReviewWindow(store, "Duty worker A", project=DEMO_PROJECT)
    station.resize(1440, 900)
    station.show()
    clock = QElapsedTimer()
    clock.start()
    while not station.record_button.isEnabled() and clock.elapsed() < 120_000:
        app.processEvents()
    station.player.seek(1500)
    clock.restart()
    while not station.picker.has_image() and clock.elapsed() < 30_000:  # the paused frame is on screen
        app.processEvents()
    save_screenshot(station, out / "review-station.png")
    station._cleanup()
    station._leaving_ok = True
    station.close()

    dialog = ExportDialog(store, folder=home / "demo" / "exports")
    dialog.scope.setCurrentIndex(dialog.scope.findData("internal_training"))
    dialog.audience.setText("Duty team training, spring")
    dialog.internal.setChecked(True)
    dialog.expires_on.setChecked(True)
    dialog.expires.setDate(QDate.currentDate().addDays(90))
    dialog.folder.setText("/home/researcher/Frontdoor/exports")  # as a researcher's would read, not a temp dir
    dialog.show()
    for _ in range(20):
        app.processEvents()
    save_screenshot(dialog, out / "export-dialog.png")
    dialog.close()
    store.close()
    print(f"wrote {out / 'review-station.png'} and {out / 'export-dialog.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
