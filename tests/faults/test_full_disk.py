"""A full disk (a small tmpfs made for the test) under the store during an import, under a render's output
folder and under the backup folder: one line naming the file, nothing committed lost, nothing partial left."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from annotation.backup.catalogue import list_backups
from annotation.backup.checks import check_backup
from annotation.backup.rolling import make_backup
from annotation.edits.commands import CreateAnnotation
from annotation.services import apply_edit, document_display, documents, import_file
from annotation.store.engine import open_store, sqlite_url, user_data_dir
from app.cli.main import main
from media_tools.synth import make_test_recording
from tests.faults.conftest import PASS, sqlite_problems
from tests.fixtures.elan_files import SMALL_EAF, corpus_file
from tests.fixtures.secrets import fd_with

SmallFs = Callable[[str], Path]


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("key", [None, PASS], ids=["plain", "encrypted"])
def test_an_import_that_does_not_fit(
    key: str | None, big_eaf: Path, small_fs: SmallFs, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_fs("2m")
    path = disk / "study.sqlite"
    url = sqlite_url(path)
    store = open_store(url, passphrase=key)
    doc = import_file(store, SMALL_EAF).doc_id
    apply_edit(store, CreateAnnotation(doc, "default", 100, 900, "committed before the disk filled"))
    before = [(d.id, d.annotations) for d in documents(store)]
    store.close()

    fds = ["--passphrase-fd", str(fd_with(PASS))] if key else []
    assert main(["--db", url, *fds, "import-eaf", str(big_eaf)]) == 2
    assert _one_line(capsys.readouterr().err) == f"frontdoor: error: {path}: database or disk is full"

    left = sorted(p.name for p in disk.iterdir() if p.name != "study.sqlite-checked")  # the integrity stamp,
    assert left == ["study.sqlite"]  # if it fitted (annotation.store.checked): no journal or log left behind
    assert sqlite_problems(path, key) == []
    store = open_store(url, passphrase=key)
    try:
        assert [(d.id, d.annotations) for d in documents(store)] == before  # no partial document
        assert "committed before the disk filled" in [s.value for s in document_display(store, doc)["default"]]
        apply_edit(store, CreateAnnotation(doc, "default", 1000, 1900, "and the store still takes edits"))
    finally:
        store.close()


def test_an_export_that_does_not_fit(
    big_eaf: Path, tmp_path: Path, small_fs: SmallFs, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "study.sqlite")
    store = open_store(url)
    doc = import_file(store, big_eaf).doc_id
    store.close()
    disk = small_fs("1m")
    assert main(["--db", url, "export-eaf", str(doc), str(disk / "out.eaf")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"frontdoor: error: {disk / 'out.eaf'}: ") and "No space left on device" in line
    assert list(disk.iterdir()) == []


def test_a_render_that_does_not_fit(tmp_path: Path, small_fs: SmallFs, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_test_recording(tmp_path / "camera.mp4", seconds=6, size="640x360")
    spec = tmp_path / "clip.json"
    spec.write_text(json.dumps({"source": str(src), "start": 0, "end": 6, "encode": {"crf": 0, "preset": "ultrafast"}}))
    disk = small_fs("256k")
    assert main(["media", "render", str(spec), str(disk / "clip.mp4"), "--quiet"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == f"frontdoor: error: {disk / 'clip.mp4'}: ffmpeg failed: No space left on device"
    assert list(disk.iterdir()) == []


def test_a_backup_that_does_not_fit(
    big_eaf: Path, tmp_path: Path, small_fs: SmallFs, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_fs("1500k")
    (user_data_dir() / "settings.json").write_text(json.dumps({"backup_dir": str(disk)}))
    url = sqlite_url(tmp_path / "study.sqlite")
    store = open_store(url)
    import_file(store, SMALL_EAF)
    older = make_backup(store)  # fits
    import_file(store, big_eaf)  # the next one will not
    store.close()

    assert main(["--db", url, "backup"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (
        f"frontdoor: error: {tmp_path / 'study.sqlite'}: cannot write a backup to {older.path.parent} "
        "(database or disk is full)"
    )
    assert [b.path for b in list_backups(url)] == [older.path]
    assert check_backup(older.path).good
    assert sorted(p.name for p in older.path.parent.iterdir()) == [older.path.name, older.path.name + ".json"]


def test_a_postgresql_dump_that_does_not_fit(
    pg_url: str, small_fs: SmallFs, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_fs("300k")
    (user_data_dir() / "settings.json").write_text(json.dumps({"backup_dir": str(disk)}))
    store = open_store(pg_url)
    import_file(store, SMALL_EAF)
    older = make_backup(store)  # about 170 KB
    import_file(store, corpus_file("LAAC-LSCP__ChildProject__example.eaf"))  # the next, 190 KB
    store.close()

    assert main(["--db", pg_url, "backup"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("frontdoor: error: ") and "No space left on device" in line, line
    assert [b.path for b in list_backups(pg_url)] == [older.path]
    assert check_backup(older.path).good
    assert sorted(p.name for p in older.path.parent.iterdir()) == [older.path.name, older.path.name + ".json"]
