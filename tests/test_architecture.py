"""House rules checked by the suite: layering (import-linter), lint and types on the model packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_layers_and_no_qt_outside_app() -> None:
    proc = _run(str(BIN / "lint-imports"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_clean() -> None:
    proc = _run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout
    proc = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout


def test_mypy_clean_on_model_packages() -> None:
    proc = _run(str(BIN / "mypy"))
    assert proc.returncode == 0, proc.stdout


def test_model_packages_import_without_qt() -> None:
    code = (
        "import sys, annotation.services, annotation.elan.exports, media_tools.probe, app.cli.main;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'vlc')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = _run(sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stdout + proc.stderr
