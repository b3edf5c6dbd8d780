"""Progress, cancel, a killed ffmpeg, a full disk, odd paths and bad sources: one line, nothing left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from media_tools.errors import Cancelled, FfmpegFailed, MediaError, ProbeError
from media_tools.ffmpeg_bin import Progress
from media_tools.probe import probe
from media_tools.render import render
from media_tools.spec import parse_spec
from media_tools.synth import make_test_recording
from tests.media_tools.conftest import decode, frames_in


@pytest.fixture(scope="module")
def slow_spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A render that takes a few seconds: 720p, a slow preset and a blur."""
    src = make_test_recording(tmp_path_factory.mktemp("slow") / "hd.mp4", seconds=12, size="1280x720")
    return {
        "source": str(src),
        "start": 0.5,
        "end": 11.5,
        "encode": {"preset": "slower"},
        "redactions": [
            {"kind": "blur", "start": 0, "end": 12, "keyframes": [{"t": 0, "x": 0, "y": 0, "w": 1, "h": 1}]}
        ],
    }


def _children_named(name: str) -> list[int]:
    me = os.getpid()
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid == me and comm == name:
                pids.append(int(d.name))
    return pids


@pytest.mark.parametrize("mode", ["accurate", "smart"])
def test_progress_reports_rise_to_one(coded: Path, out_dir: Path, mode: str) -> None:
    seen: list[Progress] = []
    spec = parse_spec({"source": str(coded), "start": 1, "end": 11, "mode": mode})
    assert render(spec, out_dir / "p.mp4", progress=seen.append).mode == mode
    fractions = [p.fraction for p in seen]
    assert fractions and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(p.total == pytest.approx(10.0) for p in seen)


def test_cancel_stops_and_leaves_nothing(slow_spec: dict[str, object], out_dir: Path) -> None:
    cancel = threading.Event()
    with pytest.raises(Cancelled) as err:
        render(parse_spec(slow_spec), out_dir / "c.mp4", progress=lambda p: cancel.set(), cancel=cancel)
    assert str(err.value) == f"{out_dir / 'c.mp4'}: render cancelled"
    assert list(out_dir.iterdir()) == []
    assert _children_named("ffmpeg") == []


def test_cancel_before_start_writes_nothing(coded: Path, out_dir: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        render(parse_spec({"source": str(coded), "start": 1, "end": 2}), out_dir / "c.mp4", cancel=cancel)
    assert list(out_dir.iterdir()) == []


def test_killed_ffmpeg_is_one_line_and_no_output(slow_spec: dict[str, object], out_dir: Path) -> None:
    def kill_ffmpeg(_: Progress) -> None:
        for pid in _children_named("ffmpeg"):
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(FfmpegFailed) as err:
        render(parse_spec(slow_spec), out_dir / "k.mp4", progress=kill_ffmpeg)
    assert str(err.value) == f"{out_dir / 'k.mp4'}: ffmpeg was killed (SIGKILL)"
    assert list(out_dir.iterdir()) == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> object:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.decode().strip()})")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_is_one_line_and_no_output(slow_spec: dict[str, object], tiny_disk: Path) -> None:
    spec = dict(slow_spec, encode={"preset": "ultrafast", "crf": 10})
    with pytest.raises(FfmpegFailed) as err:
        render(parse_spec(spec), tiny_disk / "full.mp4")
    assert str(err.value) == f"{tiny_disk / 'full.mp4'}: ffmpeg failed: No space left on device"
    assert list(tiny_disk.iterdir()) == []


ODD_NAMES = [
    "with space and 'single' \"double\" quotes.mp4",
    "-leading dash.mp4",
    "naïve Łódź 名前 ü.mp4",
    "colon: semi; comma, [brackets] =eq.mp4",
    "x" * 200 + ".mp4",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_paths(coded: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / "odd 'dir' ü"
    folder.mkdir()
    src = folder / name
    shutil.copy(coded, src)
    spec = parse_spec(
        {
            "source": str(src),
            "start": 2.0,
            "end": 3.0,
            "audio": [{"kind": "bleep", "start": 2.2, "end": 2.4}],
            "captions": {"cues": [{"start": 2.0, "end": 2.5, "text": "x"}]},
            "watermark": "w",
        }
    )
    res = render(spec, folder / ("out " + name))
    assert res.output.name == "out " + name
    assert [f.code for f in decode(res.output)] == frames_in(2.0, 3.0)
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, "out " + name])


def test_truncated_source_is_refused(coded: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cut short.mp4"
    data = coded.read_bytes()
    bad.write_bytes(data[: len(data) * 2 // 5])
    with pytest.raises(ProbeError) as err:
        render(parse_spec({"source": str(bad), "start": 1, "end": 2}), tmp_path / "o.mp4")
    assert str(err.value).startswith(f"{bad}: truncated: only ")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "not a readable media file"), (b"\x00\x01garbage" * 100, "not a readable media file")],
)
def test_non_media_source(tmp_path: Path, content: bytes, problem: str) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(content)
    with pytest.raises(ProbeError) as err:
        probe(bad)
    assert str(err.value).startswith(f"{bad}: {problem}")
    assert "\n" not in str(err.value)


def test_missing_source_and_folder(coded: Path, tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="media file not found"):
        render(parse_spec({"source": str(tmp_path / "gone.mp4"), "start": 0, "end": 1}), tmp_path / "o.mp4")
    with pytest.raises(MediaError, match="output folder does not exist"):
        render(parse_spec({"source": str(coded), "start": 0, "end": 1}), tmp_path / "nowhere" / "o.mp4")


def test_spec_past_the_end_of_the_source(coded: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError) as err:
        render(parse_spec({"source": str(coded), "start": 10, "end": 13}), tmp_path / "o.mp4")
    assert str(err.value) == "coded.mp4: end: 13 s is past the end of the source (12.000 s)"


def test_existing_output_is_replaced_only_when_done(coded: Path, slow_spec: dict[str, object], out_dir: Path) -> None:
    target = out_dir / "clip.mp4"
    target.write_bytes(b"previous clip")
    cancel = threading.Event()
    with pytest.raises(Cancelled):  # cancelled mid-render
        render(parse_spec(slow_spec), target, cancel=cancel, progress=lambda p: cancel.set())
    assert target.read_bytes() == b"previous clip"
    assert [p.name for p in out_dir.iterdir()] == ["clip.mp4"]
    render(parse_spec({"source": str(coded), "start": 1, "end": 2}), target)
    assert [f.code for f in decode(target)] == frames_in(1, 2)


def test_a_failing_progress_callback_stops_the_render(slow_spec: dict[str, object], out_dir: Path) -> None:
    """A bug in the caller's callback must not leave ffmpeg blocked on a full pipe, nor a file behind."""
    calls = []

    def broken(p: Progress) -> None:
        calls.append(p)
        raise RuntimeError("progress bar went away")

    with pytest.raises(RuntimeError, match="progress bar went away"):
        render(parse_spec(slow_spec), out_dir / "p.mp4", progress=broken)
    assert len(calls) == 1
    assert list(out_dir.iterdir()) == []
    assert _children_named("ffmpeg") == []


def test_output_names_that_are_refused(coded: Path, tmp_path: Path) -> None:
    spec = parse_spec({"source": str(coded), "start": 1, "end": 2})
    with pytest.raises(MediaError, match=r"use an \.mp4, \.m4v or \.mov name$"):
        render(spec, tmp_path / "clip.mkv")
    with pytest.raises(MediaError, match=r"is the source recording; choose another output name$"):
        render(spec, coded)
    assert probe(coded).frame_count == 300  # untouched


def test_probe_hash_follows_edits_that_hide_their_mtime(coded: Path, tmp_path: Path) -> None:
    f = tmp_path / "rec.mp4"
    shutil.copy(coded, f)
    before = probe(f)
    st = f.stat()
    data = bytearray(f.read_bytes())
    data[-100] ^= 0xFF  # same size, one byte changed in the last frame's data
    f.write_bytes(bytes(data))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert probe(f).sha256 != before.sha256
