"""``frontdoor media`` and ffmpeg discovery, as a user meets them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli.main import main
from media_tools import ffmpeg_bin
from media_tools.errors import short_name
from media_tools.render import render
from media_tools.spec import parse_spec
from media_tools.synth import make_coded_recording
from tests.media_tools.conftest import decode, frames_in


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_recording(tmp_path_factory.mktemp("cli") / "duty room.mp4", seconds=6)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FRONTDOOR_DB", raising=False)
    monkeypatch.delenv("FRONTDOOR_CACHE", raising=False)


def test_probe(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["media", "probe", str(source)]) == 0
    out = capsys.readouterr().out
    assert "6.000 s" in out and "h264 320x192" in out and "150 frames, 3 keyframes (longest gap 2.00 s)" in out
    assert main(["media", "probe", "--json", "--keyframes", str(source)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["keyframes"] == [0.0, 2.0, 4.0] and data["frame_count"] == 150 and not data["vfr"]


def test_render_with_manifest_and_no_overwrite(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "clip.json"
    spec.write_text(json.dumps({"source": source.name, "start": 1.5, "end": 3.0}))
    (tmp_path / source.name).symlink_to(source)
    out, manifest = tmp_path / "clip.mp4", tmp_path / "manifest.jsonl"
    assert main(["media", "render", str(spec), str(out), "--manifest", str(manifest), "--mode", "smart"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert [f.code for f in decode(out)] == frames_in(1.5, 3.0)
    line = json.loads(manifest.read_text())
    assert line["output"] == "clip.mp4" and len(line["output_sha256"]) == 64 and line["spec"]["mode"] == "smart"
    assert main(["media", "render", str(spec), str(out)]) == 2
    assert capsys.readouterr().err == f"frontdoor: error: {out}: already exists (use --force to replace it)\n"


def test_names_too_long_for_the_system_are_one_line(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name the system refuses to look up (ENAMETOOLONG) is a user's error, the name shortened, never an
    internal error: the file probed, the frame's source and output, a render's output and manifest."""
    long = tmp_path / ("x" * 5000)
    spec = tmp_path / "clip.json"
    spec.write_text(json.dumps({"source": str(source), "start": 1.5, "end": 2.0}))
    runs = {
        long: [["media", "probe", str(long)], ["media", "thumbnail", str(long), "1s", str(tmp_path / "t.jpg")]],
        long.with_suffix(".jpg"): [["media", "thumbnail", str(source), "1s", str(long.with_suffix(".jpg"))]],
        long.with_suffix(".mp4"): [["media", "render", str(spec), str(long.with_suffix(".mp4")), "--quiet"]],
        long.with_suffix(".jsonl"): [
            ["media", "render", str(spec), str(tmp_path / "c.mp4"), "--quiet", "--manifest", str(long) + ".jsonl"]
        ],
    }
    for name, commands in runs.items():
        for args in commands:
            assert main(args) == 2, args
            shown = short_name(name)
            assert len(shown) == 100 and "…" in shown
            length = f"{len(str(name)):,} characters"
            err = capsys.readouterr().err
            assert err == f"frontdoor: error: {shown}: name too long for the file system ({length})\n", args


def test_bad_spec_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.json"
    bad_redaction = {"kind": "blur", "start": 0, "keyframes": []}
    spec.write_text(json.dumps({"source": "x.mp4", "start": 0, "end": 1, "redactions": [bad_redaction]}))
    assert main(["media", "render", str(spec), str(tmp_path / "o.mp4")]) == 2
    assert capsys.readouterr().err == f"frontdoor: error: {spec}: redactions[0]: 'end' is required\n"


def test_render_bleeps_sensitive_identifiers_from_the_store(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-document", "--name", "duty"]) == 0
    doc = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["annotate", "add", doc, "Sensitive identifier", "2s", "2.4s", "child name"]) == 0
    spec = tmp_path / "clip.json"
    spec.write_text(json.dumps({"source": str(source), "start": 1.0, "end": 3.0}))
    manifest = tmp_path / "m.jsonl"
    args = ["media", "render", str(spec), str(tmp_path / "c.mp4"), "--redact-sensitive", "duty", "--margin", "0.1"]
    assert main([*args, "--manifest", str(manifest)]) == 0
    audio = json.loads(manifest.read_text())["spec"]["audio"]
    assert [(a["kind"], a["start"], a["end"]) for a in audio] == [("bleep", 1.9, 2.5)]


def test_reel_and_thumbnail(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = []
    for i, (a, b) in enumerate([(0.5, 1.5), (3.0, 4.0)]):
        p = tmp_path / f"s{i}.json"
        p.write_text(json.dumps({"source": str(source), "start": a, "end": b}))
        specs.append(str(p))
    out = tmp_path / "reel.mp4"
    assert main(["media", "reel", str(out), *specs, "--card-seconds", "0.4", "--quiet"]) == 0
    assert "2 clips, 2.8" in capsys.readouterr().out
    assert [f.code for f in decode(out)][10:35] == frames_in(0.5, 1.5)
    assert main(["media", "thumbnail", str(source), "2.04s", str(tmp_path / "t.jpg"), "--width", "160"]) == 0
    assert (tmp_path / "t.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


def test_ffmpeg_from_imageio_when_the_system_has_none(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no ffmpeg on PATH the bundled one is found, named by doctor, and renders the same frames."""
    pytest.importorskip("imageio_ffmpeg")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("FRONTDOOR_FFMPEG", raising=False)
    ffmpeg_bin.find_ffmpeg.cache_clear()
    try:
        info = ffmpeg_bin.find_ffmpeg()
        assert info.source == "imageio-ffmpeg"
        main(["doctor"])
        assert f"ffmpeg {info.version} (imageio-ffmpeg: {info.path})" in capsys.readouterr().out
        spec = parse_spec(
            {
                "source": str(source),
                "start": 1.04,
                "end": 2.5,
                "watermark": "internal training only",
                "audio": [{"kind": "bleep", "start": 1.5, "end": 1.7}],
                "redactions": [
                    {
                        "kind": "blur",
                        "start": 1,
                        "end": 2,
                        "keyframes": [{"t": 1, "x": 0.2, "y": 0.2, "w": 0.3, "h": 0.3}],
                    }
                ],
            }
        )
        res = render(spec, tmp_path / "bundled.mp4")
        assert res.manifest["ffmpeg"] == info.version
        assert [f.code for f in decode(res.output)] == frames_in(1.04, 2.5)
    finally:
        ffmpeg_bin.find_ffmpeg.cache_clear()
    assert os.environ["PATH"] == str(tmp_path / "empty")
