"""``frontdoor faces detect/tracks/assign`` and ``clip create/edit --blur-face`` on a generated recording,
through ``main`` as a user types them (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.store import sqlite_url
from app.cli.main import main
from tests.fixtures.faces import two_faces_video


def test_faces_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    media = tmp_path / "two faces.mp4"
    two_faces_video(media)
    db = ["--db", sqlite_url(tmp_path / "store.sqlite")]

    def run(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        assert main([*db, *args]) == code
        out, err = capsys.readouterr()
        return out if code == 0 else err

    run("participant", "add", "A", "--project", "Duty room study")
    rec = run("recording", "add", str(media), "--project", "Duty room study").split()[-1]
    err = run("faces", "tracks", rec, code=2)
    assert err.strip() == f"frontdoor: error: recording {rec}: faces not detected yet (frontdoor faces detect {rec})"
    out = run("faces", "detect", rec)
    assert f"recording {rec}: 2 face tracks, detected; 50 frames" in out
    assert "stored tracks" in run("faces", "detect", rec)
    listing = run("faces", "tracks", rec).splitlines()
    assert listing[0].split() == ["track", "#", "frames", "from", "to", "uncertain", "participant"]
    rows = [line.split() for line in listing[1:]]
    track = min(rows, key=lambda r: int(r[5]))[0]
    assert run("faces", "assign", track, "A").strip() == f"face track {track}: A"
    assert run("faces", "tracks", rec).count(" A") == 1
    states = run("faces", "tracks", "--track", track)
    assert states.startswith(f"face track {track}: frames ") and "detected" in states
    err = run("faces", "assign", "999", "A", code=2)
    assert err.strip() == "frontdoor: error: face track 999: not found (see 'frontdoor faces tracks RECORDING')"

    out = run("clip", "create", rec, "--start", "0s", "--end", "2s", "--blur-face", "A")
    clip = out.split()[-1]
    shown = run("clip", "show", clip)
    assert "redactions" in shown or "redaction" in shown
    out = run("clip", "edit", clip, "--blur-face", "A", "--end", "1.5s")
    assert f"new version of clip {clip}" in out


def test_blur_withheld_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    media = tmp_path / "two faces.mp4"
    two_faces_video(media)
    db = ["--db", sqlite_url(tmp_path / "store.sqlite")]

    def run(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        assert main([*db, *args]) == code
        out, err = capsys.readouterr()
        return out if code == 0 else err

    def usage_error(*args: str) -> str:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([*db, *args])
        assert exited.value.code == 2
        return capsys.readouterr().err

    for who in ("A", "B"):
        run("participant", "add", who, "--project", "Duty room study")
    rec = run("recording", "add", str(media), "--project", "Duty room study").split()[-1]
    run("faces", "detect", rec)
    rows = [line.split() for line in run("faces", "tracks", rec).splitlines()[1:]]
    made = run("clip", "create", rec, "--start", "0s", "--end", "2s", "--present", "A", "--present", "B")
    clip, version = made.split()[-1], made.split("(")[1].split(")")[0]
    err = run("clip", "blur-withheld", clip, code=2)
    assert err.strip() == (
        f"frontdoor: error: clip {clip}: project 'Duty room study' does not allow offering a blurred version to "
        "someone who withheld (setting blur-withheld: frontdoor project set-blur-withheld 'Duty room study' on "
        "--reason TEXT)"
    )
    assert "blur-withheld: off" in run("project", "show", "Duty room study")
    assert "the following arguments are required: --reason" in usage_error(
        "project", "set-blur-withheld", "Duty room study", "on"
    )
    out = run("project", "set-blur-withheld", "Duty room study", "on", "--reason", "ethics amendment 3")
    assert out.splitlines()[0] == "project 'Duty room study': blur-withheld on (in the audit log, with the reason)"
    assert "blur-withheld: on" in run("project", "show", "Duty room study")
    assert "was on already" in run("project", "set-blur-withheld", "Duty room study", "on", "--reason", "x")
    assert "ethics amendment 3" in run("audit", "show")
    err = run("clip", "blur-withheld", clip, code=2)
    assert err.strip() == f"frontdoor: error: clip {clip}: nobody withheld on version 1: nothing to blur"
    run("consent", "record", clip, "A", "--scope", "research_team", "--decision", "withheld", "--version", version)
    # the leave is the project's stored setting, not a flag of the command
    assert "unrecognized arguments: --project-allows" in usage_error("clip", "blur-withheld", clip, "--project-allows")
    err = run("clip", "blur-withheld", clip, code=2)
    assert "participant 'A': no face track assigned" in err and "frontdoor faces assign" in err
    run("faces", "assign", min(rows, key=lambda r: int(r[5]))[0], "A")
    out = run("clip", "blur-withheld", clip, "--scope", "publication").splitlines()
    assert out[0].startswith(f"new version of clip {clip}: version 2 (")
    assert out[0].endswith("present: A, B")
    assert out[1] == (
        "blurred the face of A, who withheld: only the face is blurred, their voice is not changed; "
        "everyone in the clip, they too, decides on this version afresh"
    )
