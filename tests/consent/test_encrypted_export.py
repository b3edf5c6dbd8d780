"""Exported clips carried in an encrypted archive: 7-Zip opens it with the passphrase and nothing without,
no plain clip is left in the output folder, and the export records name the archive."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotation.services import add_recording, ensure_project
from annotation.store.engine import Store, open_store, sqlite_url
from app.cli.main import main
from consent.clips import create_clip
from consent.decisions import record_decision
from consent.export.gate import export_clips
from consent.models import ExportItem
from consent.participants import add_appearance, add_participant
from media_tools.archive import archive_names, write_encrypted_archive
from media_tools.errors import ArchiveFailed
from media_tools.probe import probe
from tests.consent.conftest import PROJECT
from tests.fixtures.secrets import PASS, fd_with

ARCHIVE_PASS = "for the seminar organiser 2027"
SEVEN_ZIP = shutil.which("7z") or shutil.which("7za")


@pytest.fixture
def enc(tmp_path: Path, duty_recording: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, str]]:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    db = sqlite_url(tmp_path / "study.sqlite")
    store = open_store(db, passphrase=PASS)
    info = probe(duty_recording)
    rid = add_recording(
        store, ensure_project(store, PROJECT), duty_recording, duration_ms=info.duration_ms, fps=info.fps
    )
    add_participant(store, PROJECT, "Duty worker A")
    add_appearance(store, "Duty worker A", rid, 0, 12_000)
    clip = create_clip(store, rid, 1.0, 2.5).clip_id
    record_decision(store, clip, "Duty worker A", "research_team", "granted")
    try:
        yield store, db
    finally:
        store.close()


def _7z(*args: str) -> subprocess.CompletedProcess[str]:
    assert SEVEN_ZIP, "7z is missing: scripts/setup-system.sh installs p7zip-full"
    return subprocess.run([SEVEN_ZIP, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)


def test_export_clips_encrypt_writes_one_archive_that_7z_opens(
    enc: tuple[Store, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, db = enc
    out = tmp_path / "stick"
    out.mkdir()
    capsys.readouterr()
    code = main(
        ["--db", db, "--passphrase-fd", str(fd_with(PASS)), "export-clips", "--scope", "research_team", str(out),
         "--encrypt", "--archive-passphrase-fd", str(fd_with(ARCHIVE_PASS)), "--quiet"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    (archive,) = out.iterdir()  # nothing else in the output folder: no clip, no manifest, no temporary
    assert archive.suffix == ".7z" and f"encrypted archive: {archive}" in printed
    # the recipient, without Frontdoor: 7-Zip with the passphrase
    listing = _7z("l", "-slt", f"-p{ARCHIVE_PASS}", str(archive))
    assert listing.returncode == 0, listing.stderr
    names = sorted(line.split(" = ", 1)[1] for line in listing.stdout.splitlines() if line.startswith("Path = "))
    names = [n for n in names if n != str(archive)]
    assert len(names) == 2 and names[0].startswith("e1-clip1-v1-") and names[1].startswith("manifest-1-")
    assert "7zAES" in listing.stdout
    dest = tmp_path / "opened"
    assert _7z("x", f"-p{ARCHIVE_PASS}", f"-o{dest}", str(archive)).returncode == 0
    manifest = json.loads((dest / names[1]).read_text(encoding="utf-8"))
    assert [c["output"] for c in manifest["clips"]] == [names[0]]
    assert probe(dest / names[0]).duration_ms > 1000
    # without the passphrase, or with a wrong one: not even the names
    for wrong in ("-pnot the passphrase", "-p"):
        refused = _7z("l", wrong, str(archive))
        assert refused.returncode != 0 and names[0] not in refused.stdout
    # the export is recorded against the archive: destroying it is what withdrawal asks for
    with store.session() as s:
        (item,) = s.query(ExportItem).all()
        assert item.path == str(archive.resolve())


def test_the_archive_passphrase_is_never_the_stores(
    enc: tuple[Store, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _store, db = enc
    capsys.readouterr()
    code = main(
        ["--db", db, "--passphrase-fd", str(fd_with(PASS)), "export-clips", "--scope", "research_team", str(tmp_path),
         "--encrypt", "--archive-passphrase-fd", str(fd_with(PASS))]
    )  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err == (
        "frontdoor: error: the encrypted archive: use a passphrase of its own, not the store's; nothing exported\n"
    )
    code = main(["--db", db, "--passphrase-fd", str(fd_with(PASS)), "export-clips", "--scope", "research_team",
                 str(tmp_path), "--encrypt"])  # fmt: skip
    assert code == 2
    assert "a new passphrase is needed" in capsys.readouterr().err


def test_the_private_work_folder_is_gone_after_an_encrypted_export(
    enc: tuple[Store, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _db = enc
    home = tmp_path / "home"
    monkeypatch.setenv("FRONTDOOR_HOME", str(home))
    stale = home / "encrypting" / "999999999-deadbeef"  # a killed export's plain clips
    stale.mkdir(parents=True)
    (stale / "e9-clip1.mp4").write_bytes(b"plain video")
    out = tmp_path / "out"
    out.mkdir()
    report = export_clips(store, "research_team", out, archive_passphrase=ARCHIVE_PASS)
    assert report.archive is not None and archive_names(report.archive, ARCHIVE_PASS) == sorted(
        [report.exported[0]["output"], report.manifest.name]
    )
    assert list((home / "encrypting").iterdir()) == []
    with pytest.raises(ArchiveFailed):
        archive_names(report.archive, "wrong passphrase")


def test_the_archive_writer_is_atomic(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("clip")
    target = tmp_path / "x.7z"
    write_encrypted_archive(target, [(src, "a.txt")], ARCHIVE_PASS)
    with pytest.raises(ArchiveFailed, match="exists already"):
        write_encrypted_archive(target, [(src, "a.txt")], ARCHIVE_PASS)
    with pytest.raises(ArchiveFailed, match="cannot write"):
        write_encrypted_archive(tmp_path / "y.7z", [(tmp_path / "missing.mp4", "m.mp4")], ARCHIVE_PASS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "x.7z"]
