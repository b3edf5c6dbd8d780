"""The command line as a user meets it: help with examples, version, the demo, an edit session."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app.cli.main import build_parser, main
from app.time_input import parse_time
from tests.fixtures.elan_files import corpus_file


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_subcommand_has_help_with_an_example() -> None:
    subs = _subparsers(build_parser())
    assert {"import-eaf", "export-eaf", "roundtrip", "export", "new-document", "db", "demo"} <= set(subs)
    for name, sub in subs.items():
        text = sub.format_help()
        assert "example:" in text and "frontdoor" in text, name


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("frontdoor ")


def test_parse_time() -> None:
    assert parse_time("1500") == 1500
    assert parse_time("1.5s") == 1500
    assert parse_time("01:02.5") == 62_500
    assert parse_time("1:00:00.001") == 3_600_001
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("soon")


def test_db_option_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_DB", f"sqlite:///{tmp_path}/env.sqlite")
    assert main(["db", "info"]) == 0
    assert "env.sqlite" in capsys.readouterr().out
    monkeypatch.delenv("FRONTDOOR_DB")
    monkeypatch.setenv("FRONTDOOR_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert main(["db", "info"]) == 0
    assert str(tmp_path / "home" / "frontdoor.sqlite") in capsys.readouterr().out


def test_roundtrip_and_edit_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from annotation.elan.compare import compare_eaf

    db = f"sqlite:///{tmp_path}/s.sqlite"
    src = corpus_file("cidles__poio-api__example.eaf")  # two media, vocabularies, an unaligned slot
    out = tmp_path / "sub dir ü" / "out.eaf"
    out.parent.mkdir()
    assert main(["--db", db, "roundtrip", str(src), str(out)]) == 0
    assert compare_eaf(src, out) == []
    assert main(["--db", db, "new-document", "--name", "coding"]) == 0
    doc = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["--db", db, "annotate", "add", doc, "Call phase", "0:01.000", "0:04.500", "opening"]) == 0
    ann = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["--db", db, "annotate", "set", doc, ann, "closing"]) == 0
    assert main(["--db", db, "annotate", "move", doc, ann, "2s", "5s"]) == 0
    assert main(["--db", db, "show", doc, "--annotations"]) == 0
    assert "00:00:02.000  00:00:05.000  closing" in capsys.readouterr().out
    assert main(["--db", db, "annotate", "delete", doc, ann]) == 0
    assert main(["--db", db, "documents"]) == 0
    assert "coding" in capsys.readouterr().out


def test_demo_runs_headless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from annotation.elan.reader import read_eaf
    from media_tools.probe import probe

    monkeypatch.setenv("FRONTDOOR_HOME", str(tmp_path))
    monkeypatch.delenv("FRONTDOOR_DB", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "created document 1" in out and "ran the demo headless" in out
    media = tmp_path / "demo" / "duty-room-demo.mp4"
    info = probe(media)
    assert info.has_video and 29_000 <= (info.duration_ms or 0) <= 31_000
    doc = read_eaf(tmp_path / "demo" / "duty-room-demo.eaf")
    assert doc.annotation_count() == 17
    assert doc.media[0]["MEDIA_URL"] == media.resolve().as_uri()
    # the research part: synthetic referral records and the report on them and the coded call
    assert "records:    400 sampled referral records" in out
    report = tmp_path / "demo" / "report" / "report.html"
    assert report.is_file() and report.with_suffix(".pdf").is_file()
    assert "Laming" in report.read_text(encoding="utf-8")
    assert main(["demo", "--headless"]) == 0
    again = capsys.readouterr().out
    assert "reusing it" in again and "records:    400 sampled" in again  # nothing stored twice


def test_doctor_names_ffmpeg_and_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--db", f"sqlite:///{tmp_path}/d.sqlite", "doctor"])
    out = capsys.readouterr().out
    assert "ffmpeg " in out and "(system: " in out
    assert f"database {tmp_path}/d.sqlite" in out
    assert code in (0, 1)  # 1 only when an optional GUI part (PySide6, libvlc) is missing
    assert ("MISSING" in out) == (code == 1)


def test_search_every_document_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from annotation.edits.commands import CreateAnnotation
    from annotation.services import apply_edit, ensure_project, new_document
    from annotation.store.engine import open_store, sqlite_url

    db = sqlite_url(tmp_path / "s.sqlite")
    store = open_store(db)
    doc = new_document(store, "referral", name="call 3", project_id=ensure_project(store, "Study"))
    apply_edit(store, CreateAnnotation(doc, "Call phase", 1500, 2500, "opening"))
    assert main(["--db", db, "search", "OPEN", "--project", "Study"]) == 0
    out = capsys.readouterr().out.split("\n")[0].split()
    assert out[1:4] == ["call", "3", "Call"] and "00:00:01.500" in out and out[-1] == "opening"
    assert main(["--db", db, "search", "nothing-like-it"]) == 0
    assert "no annotation contains 'nothing-like-it'" in capsys.readouterr().out
    assert main(["--db", db, "search", "x", "--project", "Nope"]) == 2
    assert capsys.readouterr().err == "frontdoor: error: project 'Nope': not found\n"
