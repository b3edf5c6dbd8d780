"""The desktop app's side of encrypted stores and backups: the passphrase dialog and the backup on start."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from annotation.backup.catalogue import list_backups
from annotation.errors import PassphraseRequired, WrongPassphrase
from annotation.store.engine import open_store, sqlite_url
from app.cli.common import open_store_for
from app.gui import launch as gui
from tests.fixtures.secrets import PASS


def _args(db: str) -> argparse.Namespace:
    return argparse.Namespace(db=db, store_passphrase_fd=None)


def test_the_app_asks_for_the_passphrase_in_a_password_dialog(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QInputDialog, QLineEdit

    db = sqlite_url(tmp_path / "study.sqlite")
    open_store(db, passphrase=PASS).close()
    answers = ["wrong passphrase 1", PASS]
    asked: list[Any] = []

    def fake(_parent: Any, _title: str, label: str, echo: Any) -> tuple[str, bool]:
        asked.append((label, echo))
        return answers.pop(0), True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(fake))
    store = open_store_for(_args(db), ask=gui.ask_passphrase)  # a wrong entry is asked again
    assert store.encrypted and len(asked) == 2
    assert all(echo == QLineEdit.EchoMode.Password for _, echo in asked)
    assert str(tmp_path / "study.sqlite") in asked[0][0]
    store.close()

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *_a: ("", False)))
    with pytest.raises(PassphraseRequired):
        open_store_for(_args(db), ask=gui.ask_passphrase)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *_a: ("always wrong!", True)))
    with pytest.raises(WrongPassphrase):
        open_store_for(_args(db), ask=gui.ask_passphrase)


def test_the_app_backs_up_on_start_at_most_hourly(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "study.sqlite")
    store = open_store(db, passphrase=PASS)
    gui.backup_on_start(store)
    gui.backup_on_start(store)
    (only,) = list_backups(db)
    assert only.good and only.encrypted
    store.close()
