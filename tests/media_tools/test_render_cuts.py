"""Cuts, checked by decoding: every output frame carries its source frame number in its pixels."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.probe import probe
from media_tools.render import render
from media_tools.spec import parse_spec
from media_tools.synth import make_coded_recording
from tests.media_tools.conftest import FPS, decode, frames_in

CUTS = [
    (2.0, 6.0),  # both on keyframes
    (3.12, 9.2),  # mid-GOP start and end
    (0.0, 1.0),  # from the very start
    (4.37, 4.49),  # between frames at both ends, three frames
    (10.04, 12.0),  # to the very end
]


@pytest.mark.parametrize(("start", "end"), CUTS)
@pytest.mark.parametrize("mode", ["accurate", "smart"])
def test_exact_frames(coded: Path, out_dir: Path, mode: str, start: float, end: float) -> None:
    res = render(parse_spec({"source": str(coded), "start": start, "end": end, "mode": mode}), out_dir / "c.mp4")
    got = [f.code for f in decode(res.output)]
    assert got == frames_in(start, end)
    assert res.frame_count == len(got)
    assert res.start_offset == 0.0


def test_smart_copies_the_middle_and_is_exact(coded_long_gop: Path, out_dir: Path) -> None:
    """Keyframes every 10 s: the middle GOP is copied, the head and tail re-encoded, frames exact."""
    spec = parse_spec({"source": str(coded_long_gop), "start": 7.48, "end": 21.0, "mode": "smart"})
    res = render(spec, out_dir / "smart.mp4")
    assert res.mode == "smart", res.notes
    assert [f.code for f in decode(res.output)] == frames_in(7.48, 21.0)
    # the copied GOP keeps the source's keyframe at 10 s, i.e. 2.52 s into the clip
    assert any(abs(k - 2.52) < 0.005 for k in probe(res.output).keyframes)


def test_smart_without_a_whole_gop_falls_back_to_accurate(coded_long_gop: Path, out_dir: Path) -> None:
    res = render(
        parse_spec({"source": str(coded_long_gop), "start": 1.0, "end": 5.0, "mode": "smart"}), out_dir / "s.mp4"
    )
    assert res.mode == "accurate"
    assert [f.code for f in decode(res.output)] == frames_in(1.0, 5.0)


def test_variable_frame_rate_source(coded_vfr: Path, out_dir: Path) -> None:
    info = probe(coded_vfr)
    assert info.vfr
    src = decode(coded_vfr)
    start, end = src[13].time + 0.001, src[61].time  # just after frame 13 begins, up to frame 61
    for mode in ("accurate", "smart"):
        res = render(
            parse_spec({"source": str(coded_vfr), "start": start, "end": end, "mode": mode}), out_dir / f"{mode}.mp4"
        )
        got = decode(res.output)
        assert [f.code for f in got] == [f.code for f in src if start <= f.time < end], mode
        # every frame keeps its own time (source time less the clip's start): no constant-rate grid
        want = [f.time - start for f in src if start <= f.time < end]
        # (within one tick of the source's 2 ms time base: the start itself lies between ticks)
        assert max(abs(g.time - w) for g, w in zip(got, want, strict=True)) < 0.0015, mode
        assert {round(b.time - a.time, 2) for a, b in itertools.pairwise(got)} == {0.04, 0.06}


def test_copy_starts_on_the_keyframe_before_and_says_how_far(coded: Path, out_dir: Path) -> None:
    res = render(parse_spec({"source": str(coded), "start": 3.12, "end": 7.0, "mode": "copy"}), out_dir / "copy.mp4")
    assert res.mode == "copy"
    assert res.start_offset == pytest.approx(1.12, abs=1e-6)
    assert any("1.120 s before" in n for n in res.notes)
    got = [f.code for f in decode(res.output)]
    assert got[0] == 50  # the keyframe at 2.0 s
    assert got[: 7 * FPS - 50] == list(range(50, 7 * FPS))


def test_copy_on_a_keyframe_is_exact_at_the_start(coded: Path, out_dir: Path) -> None:
    res = render(parse_spec({"source": str(coded), "start": 4.0, "end": 8.0, "mode": "copy"}), out_dir / "copy.mp4")
    assert res.start_offset == 0.0
    assert decode(res.output)[0].code == 100


@pytest.mark.parametrize("mode", ["copy", "smart"])
def test_copy_modes_never_carry_unredacted_pictures(coded: Path, out_dir: Path, mode: str) -> None:
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 3.12,
            "end": 7.0,
            "mode": mode,
            "audio": [{"kind": "mute", "start": 4, "end": 5}],
        }
    )
    res = render(spec, out_dir / "r.mp4")
    assert res.mode == "accurate"
    assert res.notes and "re-encoded" in res.notes[0]
    assert [f.code for f in decode(res.output)] == frames_in(3.12, 7.0)


def test_audio_follows_the_cut(coded: Path, out_dir: Path) -> None:
    from tests.media_tools.conftest import decode_audio

    res = render(parse_spec({"source": str(coded), "start": 2.5, "end": 5.5}), out_dir / "a.mp4")
    samples, rate = decode_audio(res.output)
    assert abs(len(samples) / rate - 3.0) < 0.03


def test_smart_refuses_open_gop_keyframes(tmp_path: Path) -> None:
    """Copying from an I-frame of an open GOP would bring in pictures that refer to frames left out."""
    src = make_coded_recording(tmp_path / "open gop.mp4", seconds=12, gop=50, open_gop=True)
    res = render(parse_spec({"source": str(src), "start": 2.5, "end": 11.3, "mode": "smart"}), tmp_path / "o.mp4")
    assert res.mode == "accurate"
    assert any("IDR" in n for n in res.notes)
    assert [f.code for f in decode(res.output)] == frames_in(2.5, 11.3)


def test_rotated_source_is_not_smart_cut(coded: Path, tmp_path: Path) -> None:
    rotated = tmp_path / "phone.mp4"
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-i", str(coded), "-c", "copy", "-metadata:s:v", "rotate=90", str(rotated)],
        check=True,
    )
    res = render(parse_spec({"source": str(rotated), "start": 1.5, "end": 7.5, "mode": "smart"}), tmp_path / "r.mp4")
    assert res.mode == "accurate" and "rotated" in res.notes[0]
    frames = decode(res.output)
    assert {f.luma.shape for f in frames} == {(320, 192)}  # every frame upright


def test_mpeg_ts_source_with_long_gops(coded_long_gop: Path, tmp_path: Path) -> None:
    """A container without an index (camera .ts/.mts): seeks land anywhere, the cut must still be exact."""
    ts = tmp_path / "camera.ts"
    subprocess.run([find_ffmpeg().path, "-v", "error", "-i", str(coded_long_gop), "-c", "copy", str(ts)], check=True)
    info = probe(ts)
    assert info.start_time > 0  # a player's time 0 is the first packet of any stream
    source = [(f.time - info.start_time, f.code) for f in decode(ts)]
    for a, b in [(3.5, 3.7), (15.0, 15.2), (9.0, 12.04)]:
        res = render(parse_spec({"source": str(ts), "start": a, "end": b}), tmp_path / "c.mp4")
        want = [code for t, code in source if a - 1e-6 <= t < b - 1e-6]
        assert len(want) in (5, 76) and [f.code for f in decode(res.output)] == want


def test_copy_says_when_it_runs_past_the_end(coded: Path, out_dir: Path) -> None:
    res = render(parse_spec({"source": str(coded), "start": 2.0, "end": 6.0, "mode": "copy"}), out_dir / "c.mp4")
    codes = [f.code for f in decode(res.output)]
    extra = len([c for c in codes if c >= 150])
    assert codes[:100] == list(range(50, 150))
    if extra:
        assert f"runs {extra} frame(s) past the requested end" in " ".join(res.notes)
    else:
        assert not any("past the requested end" in n for n in res.notes)
